/**
 * The root-hooks plugin for a plain Mocha run: `mocha --require componentvm-hil/mocha/register
 * 'test/**\/*.test.js'` gives every test the fixture (`target()`, `openExtraTarget()`) against the
 * target named by HIL_TARGET (a spec, default "twin"), through HIL_LINK when set. `hil test [files]`
 * does more (board descriptors and config, reports, not-run accounting for link errors) and does
 * not use this file: it builds its own root hooks around its own session.
 */
import { HilSession } from './session.js';
import { rootHooks } from './fixture.js';

const session = new HilSession(process.env.HIL_TARGET ?? 'twin', process.env.HIL_LINK !== undefined ? { link: process.env.HIL_LINK } : {});

/** Mocha's root-hook plugin export. */
export const mochaHooks: Mocha.RootHookObject = rootHooks(session, { prepareEach: true });
