/**
 * The fixture a test uses: `target()` hands it the connected client (and the link, the hello, the
 * twin's controls), `openExtraTarget(spec)` opens a second target for that test alone. Both read
 * the session the runner's root hooks (rootHooks below) made current for the run; the runner owns
 * the session, this module only points at it while the run lasts.
 *
 * One instance of this module per process is what makes that work: `hil test` loads spec files as
 * ES modules (run-suite.ts loadSpecFiles), so the runner and the suite import the same copy.
 */
import type { Target } from '../targets/descriptor.js';
import type { HilSession, SessionOptions, TargetContext } from './session.js';

let active: HilSession | undefined;

/** The session of the run in progress (root hooks set it); throws outside a run. */
export function currentSession(): HilSession {
  if (!active) {
    throw new Error('no HIL run in progress: run the tests with `hil test [files]`, or with mocha and the componentvm-hil root-hooks plugin (--require componentvm-hil/mocha/register)');
  }
  return active;
}

/** The target under test; valid inside a test (the runner prepared it: open, hello, empty pool). */
export function target(): TargetContext {
  return currentSession().context();
}

/**
 * Opens another target for the running test only, through the same strategy (build, start or
 * flash, hello), e.g. `const twin = await openExtraTarget('twin')`; it is closed after the test,
 * whatever its outcome. The test's timeout bounds the open.
 */
export function openExtraTarget(spec: string | Target, options: SessionOptions = {}): Promise<TargetContext> {
  return currentSession().openExtra(spec, options);
}

/**
 * The Mocha root hooks that hand `session` to the suite: it is current from the first hook to the
 * last, the extra targets of each test are closed after it, and the target is closed (and its
 * link quality recorded) after the run. Per-test preparation is the runner's guard
 * (orchestrator/run-suite.ts), or `prepareEach` for a plain Mocha run.
 */
export function rootHooks(session: HilSession, options: { prepareEach?: boolean } = {}): Mocha.RootHookObject {
  return {
    beforeAll() {
      active = session;
    },
    ...(options.prepareEach
      ? {
          async beforeEach(this: Mocha.Context) {
            try {
              await session.prepare(this);
              await session.confirmPrepared(); // a plain Mocha run confirms the reset before the body
            } catch (e) {
              session.afterError(e);
              if (e instanceof Error && e.name === 'TestNotRun') {
                console.log(`      not run: ${e.message}`);
                this.skip();
              }
              throw e;
            }
          },
        }
      : {}),
    async afterEach() {
      await session.closeExtras();
    },
    async afterAll(this: Mocha.Context) {
      this.timeout(20_000);
      try {
        await session.finish();
      } finally {
        if (active === session) active = undefined;
      }
    },
  };
}
