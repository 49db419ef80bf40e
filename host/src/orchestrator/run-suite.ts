/**
 * Runs a HIL suite in this process against one target with Mocha's programmatic API: the built-in
 * conformance suite (hil-tests/), or the user's own spec files (TypeScript or JavaScript). The
 * runner owns the target (labgrid's habit): it makes a HilSession for the descriptor, hands it to
 * the suite through root hooks it builds itself (mocha/fixture.ts rootHooks) and gives the same
 * run record to the reporter. Spec files are loaded as ES modules only (loadSpecFiles), so the
 * suite and the runner share one instance of every module, and no state needs a global.
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
import { HilSession, RunLog, linkReason, rootHooks } from '../mocha/index.js';
import type { Target } from '../targets/descriptor.js';
import type { LinkSpec } from '../transport/emulator.js';
import type { ClientOptions } from '../client/pool-client.js';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const SUITE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'hil-tests');

export interface SuiteOptions {
  /** The target: a spec ("twin", "serial:/dev/ttyUSB0") or a descriptor (a board file, the config's default). */
  target: string | Target;
  /** The link emulator spec over the descriptor's `link` ("none": a clean link). */
  link?: LinkSpec | string;
  /** Client options over the descriptor's. */
  client?: ClientOptions;
  grep?: string;
  /** Console style, "spec" (default), "dot" or "silent"; or any other Mocha reporter by name (then no report files). */
  reporter?: string;
  /** Directory for junit.xml and run.json. */
  reportDir?: string;
  /** Board name recorded in the reports (default: the descriptor's name). */
  board?: string;
  /** Spec files (paths) to run instead of the built-in suite: the user's own, or the orchestrator's fixtures. */
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
  /** The link's retransmissions so far (the client's count, plus the emulator's byte faults when there is one), or undefined without a target. */
  linkRetransmits?(): number | undefined;
  /**
   * The running test was given up while its body still runs: end its use of the target (close
   * it, so its pending requests fail at once) so that nothing of it reaches the next test.
   */
  abandon?(): Promise<void>;
}

/**
 * Share of a test's timeout after which a test that is still running, on a link that has been
 * retransmitting meanwhile, is given up as not run (`link: …`) rather than left to fail as a Mocha
 * timeout: a test slowed by the cable is the cable's verdict, not the firmware's. A test still
 * running on a link that did not retransmit is left alone, and Mocha's timeout fails it.
 */
const LINK_DEADLINE_SHARE = 0.9;

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
export function guardTests(suite: Mocha.Suite, harness: TestHarness, log: RunLog, tally: GuardTally = { notRun: 0, notRunLink: 0 }): GuardTally {
  const setupFailed = new WeakMap<Mocha.Runnable, Error>();
  const skip = (ctx: Mocha.Context, reason: string, link: boolean): never => {
    tally.notRun++;
    if (link) tally.notRunLink++;
    log.noteNotRun(reason);
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
        const r0 = harness.linkRetransmits?.();
        const limit = this.timeout();
        let deadline: NodeJS.Timeout | undefined;
        const overLink = new Promise<string>((resolve) => {
          if (r0 === undefined || !(limit > 0)) return;
          const check = (): void => {
            const r = harness.linkRetransmits?.();
            if (r !== undefined && r > r0) resolve(`link: the test had not finished after ${Math.round(limit * LINK_DEADLINE_SHARE)} ms of its ${limit} ms while the link retransmitted or damaged bytes ${r - r0} times`);
          };
          deadline = setTimeout(check, limit * LINK_DEADLINE_SHARE);
        });
        try {
          const body = runOriginal(original, this);
          const outcome = await Promise.race([body.then(() => undefined), overLink]);
          if (outcome !== undefined) {
            body.catch(() => {}); // it ends when the target closes under it
            await harness.abandon?.();
            skip(this, outcome, true);
          }
        } catch (e) {
          if (this.test?.isPending()) throw e; // the test skipped itself
          harness.afterError(e);
          if (e instanceof Error && e.name === 'TestNotRun') skip(this, e.message, e.message.startsWith('link:'));
          const link = linkReason(e);
          if (link) skip(this, link, true);
          throw e;
        } finally {
          clearTimeout(deadline);
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
    .filter((f) => /\.test\.(ts|js)$/.test(f) && !f.endsWith('.test.d.ts'))
    .sort()
    .map((f) => join(SUITE_DIR, f));
}

/** A spec file that cannot be loaded as given: the user's to fix (exit 2). */
export class SpecFileError extends Error {
  readonly exitCode = 2;
}

/** Whether Node loads `file` as an ES module: .mjs/.mts, or .js/.ts under a package.json with "type": "module". */
export function isEsmFile(file: string): boolean {
  if (/\.m[jt]s$/.test(file)) return true;
  if (/\.c[jt]s$/.test(file)) return false;
  for (let d = dirname(file); ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg)) {
      try {
        return (JSON.parse(readFileSync(pkg, 'utf8')) as { type?: string }).type === 'module';
      } catch {
        return false;
      }
    }
    if (dirname(d) === d) return false;
  }
}

/** Throws SpecFileError for a spec file loadSpecFiles cannot load (a TypeScript file that is not an ES module). */
export function checkSpecFiles(files: string[]): void {
  for (const file of files.map((f) => resolve(f))) {
    if (/\.c?ts$/.test(file) && !isEsmFile(file)) {
      throw new SpecFileError(`${file}: a TypeScript spec file must be an ES module: add "type": "module" to its package.json, or name it ${basename(file).replace(/\.c?ts$/, '.mts')}`);
    }
  }
}

/**
 * Loads spec files into `mocha` the way Mocha's own loader does (pre-require, require,
 * post-require), but an ES module spec always through import(): Mocha would require() it first,
 * and with tsx a required .ts file is compiled as CommonJS, a second instance of every module it
 * imports beside the runner's own (the cause of the globalThis registries this replaced). A
 * CommonJS JavaScript spec (a project without "type": "module") is required: the package's modules
 * it imports are ES modules already loaded, and require() returns those same instances. TypeScript
 * specs must be ES modules (SpecFileError otherwise, exit 2).
 */
export async function loadSpecFiles(mocha: Mocha, files: string[]): Promise<void> {
  const require = createRequire(import.meta.url);
  checkSpecFiles(files);
  // Compiled (an installed package under plain node), TypeScript specs need tsx's ESM hook; from
  // the sources (a checkout: bin/hil.js registered it), it is there already.
  if (!import.meta.url.endsWith('.ts') && files.some((f) => /\.m?ts$/.test(f))) {
    const { register } = await import('tsx/esm/api');
    register();
  }
  for (const f of files) {
    const file = resolve(f);
    mocha.suite.emit('pre-require', globalThis, file, mocha);
    const m: unknown = isEsmFile(file) ? await import(pathToFileURL(file).href) : require(file);
    mocha.suite.emit('require', m, file, mocha);
    mocha.suite.emit('post-require', globalThis, file, mocha);
  }
}

/** Runs the suite once; resolves with its counts and exit code (never rejects for failing tests). */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const log = new RunLog();
  const session = new HilSession(options.target, { log, ...(options.link !== undefined ? { link: options.link } : {}), ...(options.client ? { client: options.client } : {}) });
  const mocha = new Mocha({
    timeout: options.timeoutMs ?? 30_000,
    ...(options.reporter && !['spec', 'dot', 'silent'].includes(options.reporter)
      ? { reporter: options.reporter }
      : { reporter: HilReporter, reporterOptions: { reportDir: options.reportDir, board: options.board ?? session.descriptor.name, console: options.reporter ?? 'spec', log } }),
    rootHooks: rootHooks(session),
    ...(options.grep ? { grep: options.grep } : {}),
  });
  await loadSpecFiles(mocha, options.files ?? suiteFiles());
  const tally = guardTests(mocha.suite, session, log);
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
