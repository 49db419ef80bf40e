/**
 * Runs a HIL suite in this process against one target with Mocha's programmatic API: the built-in
 * conformance suite (hil-tests/), or the user's own spec files (TypeScript or JavaScript). The
 * runner owns the target (labgrid's habit): it makes a HilSession for the descriptor, brings it to
 * ready before Mocha runs (so a target that cannot be brought up is one error, and no run), hands it to
 * the suite through root hooks it builds itself (mocha/fixture.ts rootHooks) and gives the same
 * run record to the reporter. Spec files are loaded as ES modules only (loadSpecFiles), so the
 * suite and the runner share one instance of every module, and no state needs a global.
 *
 * Every test runs inside a guard (guardTests) instead of behind Mocha root hooks that could
 * throw: Mocha stops the whole run when a root hook fails, and the tests after it would appear
 * nowhere. The guard asks the suite's harness to bring the target to the state a test starts from
 * (open, a fresh handshake when needed, reset_pool) as part of the test itself, so:
 * - a setup step that fails with a device error fails that test, and the next test tries again;
 * - a test that cannot run (TestNotRun: the target cannot be opened again after a disconnect, or a
 *   check that needs intact bytes never got them through the link) or that ends in a link error (run-context.ts
 *   LINK_ERRORS) is skipped and reported as not run with its reason;
 * - the run always goes on with the next test.
 *
 * Interrupted (SIGINT, SIGTERM, SIGHUP: process/interrupt.ts), the run stops as a run, not as a
 * process: no test starts after the signal, the running one is given up (its target closed under
 * it, so its requests fail at once) and reported as not run, "interrupted by SIGINT", as is every
 * test it kept from running; the root hooks close the target (its processes stopped, its temp
 * folders removed), the reporter writes junit.xml and run.json, and the run resolves with exit code
 * 128 + the signal's number (130, 143, 129). Bounded by INTERRUPT_GRACE_MS.
 */
import Mocha from 'mocha';
import { HilReporter, ReporterError, consoleReporter } from './reporter.js';
import { EXIT } from './exit-codes.js';
import { onInterrupt, signalExitCode, type InterruptSignal } from '../process/interrupt.js';
import { HilSession, RunLog, linkReason, rootHooks } from '../mocha/index.js';
import { displayPath, type Target } from '../targets/descriptor.js';
import type { LinkSpec } from '../transport/emulator.js';
import type { ClientOptions } from '../client/pool-client.js';
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
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
  /** Console reporter: "spec" (default), "dot", "silent", or any Mocha reporter by name or module path; the report files are written whichever it is. */
  reporter?: string;
  /** Directory for junit.xml, run.json and index.html. */
  reportDir?: string;
  /** Board name recorded in the reports (default: the descriptor's name). */
  board?: string;
  /** Spec files (paths) to run instead of the built-in suite: the user's own, or the orchestrator's fixtures. */
  files?: string[];
  /** Per-test timeout in ms (default 30000: generous for a slow link; requests have their own timeouts). */
  timeoutMs?: number;
}

/**
 * The run's exit code (exit-codes.ts), decided here once: 0 every test that ran passed and none
 * was kept from running; 1 a test failed (a firmware verdict); 3 no test failed but some could not
 * run because of the link or the target (a verdict must never depend on the cable, so this is not
 * "failed", but it is not a pass either); 2 no test ran (every one skipped itself).
 */
export type SuiteExitCode = typeof EXIT.ok | typeof EXIT.testsFailed | typeof EXIT.usage | typeof EXIT.target | 129 | 130 | 143;

/**
 * Longest time an interrupted run takes to stop: give up the running test, close the target,
 * write the reports. Past it the process stops its children and exits (process/interrupt.ts).
 */
export const INTERRUPT_GRACE_MS = 10_000;

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
  /** The signal that interrupted the run, if one did (then exitCode is 128 + its number). */
  interrupted?: InterruptSignal;
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
  /**
   * Confirms the preparation prepare() left in flight (the reset_pool issued ahead of the test's
   * own requests): called after the test's body, whatever its outcome; throws as prepare would.
   */
  confirmPrepared?(): Promise<void>;
}

/**
 * Share of a test's timeout after which a test that is still running, on a link that has been
 * retransmitting meanwhile, is given more time (LINK_EXTENSIONS), and after those is given up as
 * not run (`link: …`) rather than left to fail as a Mocha timeout: a test slowed by the cable is
 * the cable's verdict, not the firmware's. A test still running on a link that did not retransmit
 * is left alone, and Mocha's timeout fails it.
 */
const LINK_DEADLINE_SHARE = 0.9;
/**
 * Times a test's timeout is granted again while the link retransmits or damages bytes within it:
 * a test that moves long frames over a noisy line needs time in proportion to the noise (at a byte
 * error rate of 1e-2 a 500-byte line crosses intact once in 150 tries), and its verdict must not
 * depend on the cable. Bounded, so a link that never lets the test finish still ends it: after
 * (1 + LINK_EXTENSIONS) timeouts the test is not run.
 */
const LINK_EXTENSIONS = 4;

/** Counts of what the guard did, read by runSuite for the exit code. */
interface GuardTally {
  notRun: number;
  notRunLink: number;
}

/** The run was interrupted: `reason` once it was ("interrupted by SIGINT"); `stopped` resolves with it. */
export class Interruption {
  reason: string | undefined;
  readonly stopped: Promise<string>;
  private resolveStopped!: (reason: string) => void;
  constructor() {
    this.stopped = new Promise((resolve) => (this.resolveStopped = resolve));
  }
  interrupt(reason: string): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.resolveStopped(reason);
  }
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
export function guardTests(suite: Mocha.Suite, harness: TestHarness, log: RunLog, tally: GuardTally = { notRun: 0, notRunLink: 0 }, interruption = new Interruption()): GuardTally {
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
    if (interruption.reason) skip(ctx, interruption.reason, false);
    try {
      const stopped = await Promise.race([run().then(() => undefined), interruption.stopped]);
      if (stopped !== undefined) {
        await harness.abandon?.();
        skip(ctx, stopped, false);
      }
    } catch (e) {
      if (ctx.runnable().isPending()) throw e; // the hook skipped the test itself
      if (interruption.reason) skip(ctx, interruption.reason, false);
      const failed = preparationFailed(ctx, e, what);
      if (test) setupFailed.set(test, failed);
      else throw failed;
    }
  };
  /**
   * A preparation step (`what`) threw `e`: the next test begins with hello; a TestNotRun or a link
   * error makes this test not run (skip() throws); anything else is returned as the error the test
   * fails with, named as `e`.
   */
  const preparationFailed = (ctx: Mocha.Context, e: unknown, what: string): Error => {
    harness.afterError(e);
    if (e instanceof Error && e.name === 'TestNotRun') skip(ctx, e.message, e.message.startsWith('link:'));
    const link = linkReason(e);
    if (link) skip(ctx, `${link} (${what})`, true);
    const err = e instanceof Error ? e : new Error(String(e));
    const failed = new Error(`${what} failed: ${err.message}`, { cause: err });
    failed.name = err.name;
    return failed;
  };
  /**
   * After a test's body: the reset_pool that prepared it (issued ahead of the body) decides first.
   * A failed one makes the test not run (a link error, TestNotRun) or failed, with its reason, as
   * when prepare itself throws.
   */
  const confirm = async (ctx: Mocha.Context): Promise<void> => {
    try {
      await harness.confirmPrepared?.();
    } catch (e) {
      throw preparationFailed(ctx, e, 'before the test, preparing the target; its reset_pool went out ahead of the body: a test that hangs, reboots or resets the target first awaits client.idle');
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
        if (interruption.reason) skip(this, interruption.reason, false);
        const r0 = harness.linkRetransmits?.();
        const limit = this.timeout();
        let deadline: NodeJS.Timeout | undefined;
        const overLink = new Promise<string>((resolve) => {
          if (r0 === undefined || !(limit > 0)) return;
          let granted = 0;
          let seen = r0;
          const check = (): void => {
            const r = harness.linkRetransmits?.();
            if (r === undefined || r <= seen) return; // the link was clean meanwhile: Mocha's timeout decides
            seen = r;
            if (granted < LINK_EXTENSIONS) {
              granted++;
              // Mocha restarts a running test's timer when its timeout is set, and fails a test
              // whose whole duration exceeds it: the timeout from the start, one more `limit`.
              this.timeout(limit * (granted + 1));
              deadline = setTimeout(check, limit);
              return;
            }
            resolve(`link: the test had not finished after ${Math.round(limit * (LINK_EXTENSIONS + LINK_DEADLINE_SHARE))} ms (its ${limit} ms timeout, granted ${LINK_EXTENSIONS} times more) while the link retransmitted or damaged bytes ${r - r0} times`);
          };
          deadline = setTimeout(check, limit * LINK_DEADLINE_SHARE);
        });
        try {
          const body = runOriginal(original, this);
          const stopped = interruption.stopped.then((reason) => ({ reason, link: false }));
          const outcome = await Promise.race([body.then(() => undefined), overLink.then((reason) => ({ reason, link: true })), stopped]);
          if (outcome !== undefined) {
            body.catch(() => {}); // it ends when the target closes under it
            await harness.abandon?.();
            skip(this, outcome.reason, outcome.link);
          }
          await confirm(this);
        } catch (e) {
          if (this.test?.isPending()) throw e; // the test skipped itself
          // Interrupted: whatever the test ended in (its target closed under it), it is no verdict.
          if (interruption.reason) skip(this, interruption.reason, false);
          // A test whose pool was not emptied is no verdict of its own: the reset's failure decides.
          await confirm(this);
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

/** A spec file that cannot be loaded as given: the user's to fix (exit 2, exit-codes.ts). */
export class SpecFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpecFileError';
  }
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
 * imports beside the runner's own (the cause of the global registries this replaced). A
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
  // Mocha's interfaces put describe/it/before... on the context given with pre-require, and a spec
  // file calls them as globals: that context is the global object, as in Mocha's own loader. This
  // is Mocha's API for spec files, not state of ours (none of our modules keeps any there).
  const specGlobals = globalThis;
  for (const f of files) {
    const file = resolve(f);
    mocha.suite.emit('pre-require', specGlobals, file, mocha);
    let m: unknown;
    try {
      m = isEsmFile(file) ? await import(pathToFileURL(file).href) : require(file);
    } catch (e) {
      // The user's file (or one it imports) does not compile or throws as it loads: name where.
      const err = e instanceof Error ? e : new Error(String(e));
      const at = err.stack?.split('\n').find((l) => l.includes(file))?.trim();
      throw new SpecFileError(`${displayPath(file)}: cannot be loaded: ${err.name}: ${err.message.split('\n').slice(0, 3).map((l) => l.trim()).join(' ')}${at && !err.message.includes(file) ? ` (${at})` : ''}; fix the spec file`, { cause: e });
    }
    mocha.suite.emit('require', m, file, mocha);
    mocha.suite.emit('post-require', specGlobals, file, mocha);
  }
}

/** An option of a run that cannot be used (--grep, --reporter, --report-dir), or a selection with no test: exit 2. */
export class RunOptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunOptionError';
  }
}

/** `--grep` as Mocha reads it (a string, or /pattern/flags), checked: RunOptionError for a bad regular expression. */
export function grepPattern(text: string): RegExp {
  const m = /^\/(.*)\/([a-z]*)$/.exec(text);
  try {
    return m ? new RegExp(m[1]!, m[2]) : new RegExp(text);
  } catch (e) {
    throw new RunOptionError(`--grep ${JSON.stringify(text)} is not a regular expression (${(e as Error).message.replace(/^Invalid regular expression: /, '')}); escape the special characters, e.g. --grep '\\('`);
  }
}

/**
 * Checks that a report folder can be made and written, without making it (a run that never starts
 * leaves nothing): the path, or its nearest existing ancestor, must be a writable folder.
 */
export function checkReportDir(dir: string, option = '--report-dir'): void {
  const abs = resolve(dir);
  for (let d = abs; ; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch {
      if (dirname(d) === d) return;
      continue;
    }
    if (!st.isDirectory()) throw new RunOptionError(`${option} ${dir}: ${d === abs ? 'is' : `${d} is`} a file, not a folder; give a folder for junit.xml and run.json`);
    try {
      accessSync(d, constants.W_OK);
    } catch {
      throw new RunOptionError(`${option} ${dir}: ${d} is not writable; give a folder you can write to`);
    }
    return;
  }
}

/**
 * Mocha with the HIL reporter, which writes junit.xml, run.json and index.html whatever console
 * reporter is chosen (spec, dot, any of Mocha's, or a module by name or path). An unknown or
 * unloadable reporter is a RunOptionError before anything runs.
 */
/** Checks a console reporter's name (`--reporter`) before anything runs: RunOptionError for one that cannot be loaded. */
export function checkReporter(name: string): void {
  try {
    consoleReporter(name);
  } catch (e) {
    if (!(e instanceof ReporterError)) throw e;
    const mochas = Object.keys(Mocha.reporters).filter((k) => k === k.toLowerCase() && k !== 'base' && !['spec', 'dot'].includes(k));
    const found = /^unknown reporter/.test(e.message) ? 'no such reporter' : `cannot load it: ${e.message}`;
    throw new RunOptionError(`--reporter ${name}: ${found}; use spec or dot, one of Mocha's (${mochas.join(', ')}), or a reporter module's name or path (junit.xml, run.json and index.html are written whichever)`, { cause: e });
  }
}

function mochaWith(options: SuiteOptions, session: HilSession, log: RunLog, grep: RegExp | undefined): Mocha {
  const name = options.reporter ?? 'spec';
  checkReporter(name);
  return new Mocha({
    timeout: options.timeoutMs ?? 30_000,
    reporter: HilReporter,
    reporterOptions: { reportDir: options.reportDir, board: options.board ?? session.descriptor.name, console: name, log },
    rootHooks: rootHooks(session),
    ...(grep ? { grep } : {}),
  });
}

function testsOf(suite: Mocha.Suite): Mocha.Test[] {
  return [...suite.tests, ...suite.suites.flatMap(testsOf)];
}

/**
 * Runs the suite once; resolves with its counts and exit code (never rejects for failing tests).
 * Everything that would stop the run is checked before it starts, and rejects with nothing
 * written (no report folder): the options (RunOptionError), the spec files (SpecFileError), a
 * selection with no test in it, and the target, brought to ready here (the error of bringUp:
 * TargetSpecError, TransportError, MissingToolError, ...; exit-codes.ts maps each to 2 or 3).
 */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const grep = options.grep !== undefined ? grepPattern(options.grep) : undefined;
  if (options.reportDir !== undefined) checkReportDir(options.reportDir);
  const log = new RunLog();
  const session = new HilSession(options.target, { log, ...(options.link !== undefined ? { link: options.link } : {}), ...(options.client ? { client: options.client } : {}) });
  const mocha = mochaWith(options, session, log, grep);
  const files = options.files ?? suiteFiles();
  await loadSpecFiles(mocha, files);
  const all = testsOf(mocha.suite);
  if (grep && !all.some((t) => grep.test(t.fullTitle()))) {
    throw new RunOptionError(`no test matches --grep ${options.grep} (of the ${all.length} tests in ${options.files ? `${files.length} spec files` : 'the built-in suite'}); fix the pattern (it matches a test's full title: its describe blocks and its own title)`);
  }
  if (!all.length) throw new RunOptionError(`no test in ${files.map((f) => basename(f)).join(', ')}; add an it() to a spec file`);
  const interruption = new Interruption();
  let signal: InterruptSignal | undefined;
  let runner: Mocha.Runner | undefined;
  const off = onInterrupt((sig) => {
    signal = sig;
    log.interrupted = `interrupted by ${sig}`;
    console.error(`\nhil: ${sig}: stopping the run (the running test is given up; reports are written)`);
    runner?.abort();
    interruption.interrupt(log.interrupted);
  }, INTERRUPT_GRACE_MS);
  try {
    await session.start();
  } catch (e) {
    off();
    throw e;
  }
  const tally = guardTests(mocha.suite, session, log, undefined, interruption);
  return new Promise((resolve) => {
    runner = mocha.run(() => {
      off();
      const s = runner!.stats!;
      const failures = s.failures;
      const ran = s.passes + failures;
      const exitCode: SuiteExitCode = signal ? (signalExitCode(signal) as SuiteExitCode) : failures > 0 ? EXIT.testsFailed : tally.notRun > 0 ? EXIT.target : ran === 0 ? EXIT.usage : EXIT.ok;
      resolve({ passes: s.passes, failures, pending: s.pending - tally.notRun, notRun: tally.notRun, notRunLink: tally.notRunLink, exitCode, ...(signal ? { interrupted: signal } : {}) });
    });
    // Interrupted before the runner existed: no test starts (the guard skips each as interrupted).
    if (signal) runner.abort();
  });
}
