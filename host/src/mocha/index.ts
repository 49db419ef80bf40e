/**
 * The Mocha integration, public: the fixture (`target()`, `openExtraTarget()`), the session the
 * runner holds, the root hooks that hand it to a suite, and the run record. The built-in
 * conformance suite (hil-tests/) uses exactly this; so does a user's own suite.
 */
export { currentSession, openExtraTarget, rootHooks, target } from './fixture.js';
export { HilSession, OPEN_TIMEOUT_MS, contextOf, type SessionOptions, type TargetContext } from './session.js';
export { LINK_ERRORS, RunLog, TestNotRun, linkReason, type LinkQuality, type LoggedLine, type WireBytes } from './run-log.js';
