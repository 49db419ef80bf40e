/**
 * Runs the HIL suite (hil-tests/) in this process against one target with Mocha's programmatic
 * API. The target is handed to the suite through HIL_TARGET, the same variable a user sets when
 * running mocha by hand, so the suite has one way of finding its target.
 *
 * Every test runs inside a guard (guardTests) instead of behind Mocha root hooks that could
 * throw: Mocha stops the whole run when a root hook fails, and the tests after it would appear
 * nowhere. The guard asks the suite's harness to bring the target to the state a test starts from
 * (open, a fresh handshake when needed, reset_pool) as part of the test itself, so:
 * - a setup step that fails with a device error fails that test, and the next test tries again;
 * - a test that cannot run (TestNotRun: the target cannot be opened, or a check that needs intact
 *   bytes never got them through the link) or that ends in a link error (run-context.ts
 *   LINK_ERRORS) is skipped and reported as not run with its reason;
 * - the run always goes on with the next test.
 */
import Mocha from 'mocha';
import { HilReporter } from './reporter.js';
import { beginRun, linkReason, noteNotRun } from './run-context.js';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUITE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'hil-tests');

export interface SuiteOptions {
  /** Target spec, e.g. "twin", "serial:/dev/ttyUSB0". */
  target: string;
  grep?: string;
  /** Console style, "spec" (default), "dot" or "silent"; or any other Mocha reporter by name (then no report files). */
  reporter?: string;
  /** Directory for junit.xml and run.json. */
  reportDir?: string;
  /** Board name recorded in the reports (default: the target spec). */
  board?: string;
  /** Test files to run instead of the suite's (for the orchestrator's own tests). */
  files?: string[];
  /** Per-test timeout in ms (default 30000: generous for a slow link; requests have their own timeouts). */
  timeoutMs?: number;
}

/**
 * The run's exit code, decided here once: 0 every test that ran passed and none was kept from
 * running; 1 a test failed (a firmware verdict); 3 no test failed but some could not run because
 * of the link or the target's setup (a verdict must never depend on the cable, so this is not
 * "failed", but it is not a pass either); 2 nothing ran at all (a --grep matching nothing).
 */
export type SuiteExitCode = 0 | 1 | 2 | 3;

export interface SuiteResult {
  passes: number;
  failures: number;
  /** Tests the suite skipped itself (it.skip, or a test that does not apply to this target). */
  pending: number;
  /** Tests that could not run (link error, setup failure), each reported with its reason. */
  notRun: number;
  /** Of notRun, those that ended in a link error. */
  notRunLink: number;
  exitCode: SuiteExitCode;
}

/**
 * What the guard needs from a suite: how to bring the target to the state a test starts from,
 * and what to do after a test ended in an error (e.g. ask for a fresh handshake before the next).
 */
export interface TestHarness {
  /**
   * Runs before each test, inside it, under its timeout (it may raise the timeout while it opens a
   * target). Throws TestNotRun when the test cannot run, a link error when the link failed, any
   * other error when the target misbehaved (then the test fails).
   */
  prepare(ctx: Mocha.Context): Promise<void>;
  /** Called with the error a test (or its preparation) ended in, before it is reported. */
  afterError(error: unknown): void;
}

/** Counts of what the guard did, read by runSuite for the exit code. */
interface GuardTally {
  notRun: number;
  notRunLink: number;
}

function runOriginal(fn: Mocha.Func | Mocha.AsyncFunc, ctx: Mocha.Context): Promise<unknown> {
  // A callback-style test or hook (it('x', (done) => ...)) gets a done that settles the promise.
  if (fn.length > 0) {
    return new Promise((resolve, reject) => {
      (fn as Mocha.Func).call(ctx, (err?: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve(undefined)));
    });
  }
  return Promise.resolve((fn as Mocha.AsyncFunc).call(ctx));
}

type Guarded = (Mocha.Func | Mocha.AsyncFunc) & { guarded?: true };

function suitesOf(suite: Mocha.Suite): Mocha.Suite[] {
  return [suite, ...suite.suites.flatMap(suitesOf)];
}

/**
 * Guards every test under `suite` (see the file comment): adds `harness.prepare` as the first
 * root beforeEach, and wraps every beforeEach hook and test. A beforeEach step that fails with a
 * link error, or throws TestNotRun, skips the test (not run, with the reason; the steps after it
 * do not run); one that fails otherwise is kept and fails the test itself ("before the test: …"),
 * so Mocha never abandons the suite or the run. A test ending in a link error is skipped as not
 * run. Call once per loaded suite.
 */
export function guardTests(suite: Mocha.Suite, harness: TestHarness, tally: GuardTally = { notRun: 0, notRunLink: 0 }): GuardTally {
  const setupFailed = new WeakMap<Mocha.Runnable, Error>();
  const skip = (ctx: Mocha.Context, reason: string, link: boolean): never => {
    tally.notRun++;
    if (link) tally.notRunLink++;
    noteNotRun(reason);
    return ctx.skip();
  };
  /** A beforeEach step for the current test: it passes, skips the test, or records why the test fails. */
  const step = async (ctx: Mocha.Context, what: string, run: () => Promise<unknown>): Promise<void> => {
    const test = ctx.currentTest;
    if (test && setupFailed.has(test)) return; // an earlier step failed: the test reports it
    try {
      await run();
    } catch (e) {
      if (ctx.runnable().isPending()) throw e; // the hook skipped the test itself
      harness.afterError(e);
      if (e instanceof Error && e.name === 'TestNotRun') skip(ctx, e.message, e.message.startsWith('link:'));
      const link = linkReason(e);
      if (link) skip(ctx, `${link} (${what})`, true);
      const err = e instanceof Error ? e : new Error(String(e));
      const failed = new Error(`${what} failed: ${err.message}`, { cause: err });
      failed.name = err.name;
      if (test) setupFailed.set(test, failed);
      else throw failed;
    }
  };
  for (const s of suitesOf(suite)) {
    for (const hook of (s as unknown as { _beforeEach: Mocha.Hook[] })._beforeEach) {
      const original = hook.fn as Guarded | undefined;
      if (!original || original.guarded) continue;
      const guarded: Guarded = async function (this: Mocha.Context): Promise<void> {
        await step(this, `before the test, ${hook.originalTitle ?? hook.title}`, () => runOriginal(original, this));
      };
      guarded.guarded = true;
      hook.fn = guarded;
    }
    for (const test of s.tests) {
      const original = test.fn as Guarded | undefined;
      if (!original || original.guarded) continue;
      const guarded: Guarded = async function (this: Mocha.Context): Promise<void> {
        const failed = setupFailed.get(this.test!);
        if (failed) throw failed;
        try {
          await runOriginal(original, this);
        } catch (e) {
          if (this.test?.isPending()) throw e; // the test skipped itself
          harness.afterError(e);
          if (e instanceof Error && e.name === 'TestNotRun') skip(this, e.message, e.message.startsWith('link:'));
          const link = linkReason(e);
          if (link) skip(this, link, true);
          throw e;
        }
      };
      guarded.guarded = true;
      test.fn = guarded;
    }
  }
  // The target is prepared first, before every other beforeEach (the suites' own expect an empty pool).
  const prepare: Guarded = async function (this: Mocha.Context): Promise<void> {
    await step(this, 'before the test, preparing the target', () => harness.prepare(this));
  };
  prepare.guarded = true;
  suite.beforeEach('prepare the target', prepare);
  const roots = (suite as unknown as { _beforeEach: Mocha.Hook[] })._beforeEach;
  roots.unshift(roots.pop()!);
  return tally;
}

/** The suite's test files, in a stable order. */
export function suiteFiles(): string[] {
  return readdirSync(SUITE_DIR)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(SUITE_DIR, f));
}

/** Runs the suite once; resolves with its counts and exit code (never rejects for failing tests). */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  process.env.HIL_TARGET = options.target;
  const { mochaHooks, harness } = await import('../../../hil-tests/support/target.js');
  const mocha = new Mocha({
    timeout: options.timeoutMs ?? 30_000,
    ...(options.reporter && !['spec', 'dot', 'silent'].includes(options.reporter)
      ? { reporter: options.reporter }
      : { reporter: HilReporter, reporterOptions: { reportDir: options.reportDir, board: options.board ?? options.target, console: options.reporter ?? 'spec' } }),
    rootHooks: mochaHooks as Mocha.RootHookObject,
    ...(options.grep ? { grep: options.grep } : {}),
  });
  for (const f of options.files ?? suiteFiles()) mocha.addFile(f);
  await mocha.loadFilesAsync();
  const tally = guardTests(mocha.suite, harness);
  beginRun();
  return new Promise((resolve) => {
    const runner = mocha.run(() => {
      const s = runner.stats!;
      const failures = s.failures;
      const ran = s.passes + failures;
      const exitCode: SuiteExitCode = failures > 0 ? 1 : tally.notRun > 0 ? 3 : ran === 0 ? 2 : 0;
      resolve({ passes: s.passes, failures, pending: s.pending - tally.notRun, notRun: tally.notRun, notRunLink: tally.notRunLink, exitCode });
    });
  });
}
