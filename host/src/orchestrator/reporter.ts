/**
 * The suite's reporter: console progress as Mocha's spec reporter prints it (or dot, for CI logs),
 * then the tests that did not run, each with its reason; plus, when given a report directory, a
 * JUnit XML file for CI and a JSON run record (board, firmware id, boot nonce, link quality, every
 * test with duration, outcome, error or reason and the device log lines that arrived during it).
 *
 * Every test of the loaded suite appears in both files, whatever happened: one that the harness
 * skipped (a link error, a target that could not be opened) is `not_run` with its reason, and one
 * Mocha never reached (a suite's own `before` hook failed) is `not_run` with that hook's failure.
 *
 * The files are written when the run begins and again after every test, each time with the tests
 * still to come as `not_run` ("the run did not finish: ..."), and a last time when it ends
 * (`finished: true`). So a run that is interrupted (`interrupted: "SIGINT"`, the tests it kept
 * from running `not_run` with reason "interrupted by SIGINT"), or even SIGKILLed, leaves both files
 * with every test that ran. Each write replaces the file atomically (a temp file renamed over it).
 */
import Mocha from 'mocha';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { RunLog, linkReason, type LinkQuality, type LoggedLine, type ResetEvent, type WireBytes } from '../mocha/run-log.js';
import type { PoolLimits } from '../protocol/limits.js';
import { writeRunPage } from './report-html.js';

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_BEGIN, EVENT_TEST_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

/** The reason of the tests still to come in a record written while the run goes on. */
export const UNFINISHED_REASON = 'the run did not finish (hil stopped before this test: killed?)';

export interface TestRecord {
  suite: string;
  title: string;
  fullTitle: string;
  file: string | undefined;
  /** `pending`: skipped by the suite itself (it.skip, or a test that skips where it does not apply); `not_run`: could not run, see `reason`. */
  outcome: 'passed' | 'failed' | 'pending' | 'not_run';
  /** ISO time the test began (its preparation included); undefined for a test that never started. */
  startedAt?: string;
  /** ISO time the test ended (its body; afterEach hooks not included); with startedAt, the span a timeline draws. */
  endedAt?: string;
  /** The test body's own time (Mocha's duration; its beforeEach hooks not included). */
  durationMs: number;
  error?: FailureRecord;
  /**
   * Bytes the host wrote to the target and received from it from the test's start to its end
   * (its preparation included, retransmissions included); undefined for a test that never started.
   */
  wireBytes?: WireBytes;
  /** Why a `not_run` test did not run: `link: …` (the link failed, not the firmware), `setup: …`, or the hook that stopped the run. */
  reason?: string;
  deviceLog: LoggedLine[];
}

/**
 * Why a test failed. `expected` and `actual` are kept as an assertion library gave them (chai's
 * AssertionError), printed as Mocha prints them for its diff (strings as they are, other values
 * through Mocha's stringify), so the report can show the same diff; `showDiff: false` when the
 * assertion said a diff means nothing.
 */
export interface FailureRecord {
  name: string;
  message: string;
  stack?: string;
  expected?: string;
  actual?: string;
  showDiff?: boolean;
}

export interface RunRecord {
  board: string;
  /** The machine that ran it (os.hostname()). */
  host?: string;
  target: string | undefined;
  firmwareId: string | undefined;
  bootNonce: string | undefined;
  /** The pool's build-time limits, protocol version and line and batch bounds, from hello. */
  limits?: PoolLimits & { protoVersion: number; maxLine: number; maxBatch: number };
  startedAt: string;
  durationMs: number;
  passed: number;
  failed: number;
  pending: number;
  /** Tests that could not run (`outcome: 'not_run'`). */
  notRun: number;
  /** Of those, how many for a link error (`reason` starting `link:`): the run's exit code says so (see runSuite). */
  notRunLink: number;
  /** The link's quality: client counters and the device's link counters at the end of the run. */
  link: LinkQuality | undefined;
  /** Every board reset seen during the run: when, and why the client knew. */
  resets: ResetEvent[];
  /** False in a record written while the run went on: a run that never got to write its last one was killed. */
  finished: boolean;
  /** The signal that interrupted the run ("SIGINT", "SIGTERM"), if one did. */
  interrupted?: string;
  tests: TestRecord[];
  /** Device lines that arrived outside any test. */
  deviceLogBetweenTests: LoggedLine[];
}

export interface HilReporterOptions {
  /** Directory for junit.xml and run.json; nothing is written without it. */
  reportDir?: string;
  /** Board (or target) name recorded in the files. */
  board?: string;
  /** Console reporter: "spec" (default), "dot", "silent" (report files only), or any Mocha reporter by name or module path (consoleReporter). */
  console?: string;
  /** The run's record the session fills (device lines, resets, not-run reasons, link quality). */
  log?: RunLog;
}

const xml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 cannot carry most control characters, which binary noise from a board may contain.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

/** One run as a JUnit `<testsuite>` element (indented for a `<testsuites>` document). */
function junitSuite(run: RunRecord): string[] {
  const cases = run.tests.map((t) => {
    const head = `    <testcase classname="${xml(t.suite)}" name="${xml(t.title)}" time="${(t.durationMs / 1000).toFixed(3)}"`;
    const body: string[] = [];
    if (t.outcome === 'failed') body.push(`      <failure message="${xml(t.error?.message ?? 'failed')}" type="${xml(t.error?.name ?? 'Error')}">${xml(t.error?.stack ?? '')}</failure>`);
    if (t.outcome === 'pending') body.push('      <skipped/>');
    if (t.outcome === 'not_run') body.push(`      <skipped message="${xml(`not run: ${t.reason ?? 'unknown'}`)}"/>`);
    if (t.deviceLog.length) body.push(`      <system-out>${xml(t.deviceLog.map((l) => `${l.t} ${l.text}`).join('\n'))}</system-out>`);
    return body.length ? `${head}>\n${body.join('\n')}\n    </testcase>` : `${head}/>`;
  });
  const skipped = run.pending + run.notRun;
  const properties: [string, string | number][] = [['target', run.target ?? ''], ['firmware_id', run.firmwareId ?? ''], ['boot_nonce', run.bootNonce ?? ''], ['not_run', run.notRun], ['not_run_link', run.notRunLink], ['finished', String(run.finished)]];
  if (run.interrupted) properties.push(['interrupted', run.interrupted]);
  for (const [side, counters] of [['client', run.link?.client], ['device', run.link?.device], ['emulator', run.link?.emulator]] as const) {
    for (const [k, v] of Object.entries(counters ?? {})) properties.push([`link.${side}.${k}`, v]);
  }
  if (run.link?.instances !== undefined) properties.push(['link.instances', run.link.instances]);
  if (run.link?.note) properties.push(['link.note', run.link.note]);
  if (run.host) properties.push(['host', run.host]);
  return [
    `  <testsuite name="${xml(run.board)}" tests="${run.tests.length}" failures="${run.failed}" skipped="${skipped}" time="${(run.durationMs / 1000).toFixed(3)}" timestamp="${run.startedAt}"${run.host ? ` hostname="${xml(run.host)}"` : ''}>`,
    `    <properties>${properties.map(([n, v]) => `<property name="${xml(n)}" value="${xml(String(v))}"/>`).join('')}</properties>`,
    ...cases,
    '  </testsuite>',
  ];
}

/** A JUnit XML document: one `<testsuite>` per run (one board's, or several merged by `hil report`). */
export function junitXml(runs: RunRecord | RunRecord[]): string {
  const all = Array.isArray(runs) ? runs : [runs];
  const sum = (f: (r: RunRecord) => number) => all.reduce((n, r) => n + f(r), 0);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hil" tests="${sum((r) => r.tests.length)}" failures="${sum((r) => r.failed)}" skipped="${sum((r) => r.pending + r.notRun)}" time="${(Math.max(0, ...all.map((r) => r.durationMs)) / 1000).toFixed(3)}">`,
    ...all.flatMap(junitSuite),
    '</testsuites>',
    '',
  ].join('\n');
}

/** A console reporter given by name or path that cannot be found: the user's to fix (exit 2). */
export class ReporterError extends Error {
  override readonly name = 'ReporterError';
}

/**
 * The console reporter for a name, as Mocha resolves `--reporter`: one of Mocha's own (spec, dot,
 * tap, list, min, json, ...), else a module by package name or path from the working directory.
 * undefined for "silent". Throws ReporterError naming the reporter and the choices.
 */
export function consoleReporter(name: string): Mocha.ReporterConstructor | undefined {
  if (name === 'silent') return undefined;
  const builtin = (Mocha.reporters as unknown as Record<string, Mocha.ReporterConstructor | undefined>)[name];
  if (builtin && name !== 'base' && name !== 'Base') return builtin;
  const require = createRequire(join(process.cwd(), 'noop.js'));
  for (const id of [name, resolve(name)]) {
    let path: string;
    try {
      path = require.resolve(id);
    } catch {
      continue;
    }
    const m = require(path) as Mocha.ReporterConstructor | { default?: Mocha.ReporterConstructor };
    const ctor = typeof m === 'function' ? m : m.default;
    if (typeof ctor === 'function') return ctor;
    throw new ReporterError(`reporter ${name}: ${path} does not export a Mocha reporter (a class taking the runner)`);
  }
  throw new ReporterError(`unknown reporter "${name}": give one of Mocha's (spec, dot, tap, list, min, progress, json, json-stream, xunit, markdown, ...), a reporter package installed here, or a path to one`);
}

/** What a failure keeps of an error: chai's expected/actual printed as Mocha's diff prints them. */
function failureOf(err: Error): FailureRecord {
  const e = err as Error & { expected?: unknown; actual?: unknown; showDiff?: boolean };
  const text = (v: unknown): string => (typeof v === 'string' ? v : (Mocha.utils as unknown as { stringify(v: unknown): string }).stringify(v));
  const hasValues = 'expected' in e && 'actual' in e && e.expected !== undefined;
  return {
    name: err.name,
    message: err.message,
    ...(err.stack !== undefined ? { stack: err.stack } : {}),
    ...(hasValues ? { expected: text(e.expected), actual: text(e.actual), showDiff: e.showDiff !== false } : {}),
  };
}

type Outcome = TestRecord['outcome'];

/** Mocha's grep as the runner applies it (Runner#grep sets these), so tests left out by --grep are not reported as not run. */
function grepOf(runner: Mocha.Runner): (title: string) => boolean {
  const r = runner as unknown as { _grep?: RegExp; _invert?: boolean };
  return (title) => (r._grep ? r._grep.test(title) !== Boolean(r._invert) : true);
}

function allTests(suite: Mocha.Suite): Mocha.Test[] {
  return [...suite.tests, ...suite.suites.flatMap(allTests)];
}

export class HilReporter extends Mocha.reporters.Base {
  readonly tests: TestRecord[] = [];
  private readonly recorded = new Set<Mocha.Runnable>();
  private readonly startedAt = new Map<Mocha.Runnable, string>();

  constructor(runner: Mocha.Runner, options: { reporterOptions?: HilReporterOptions } = {}) {
    super(runner, options as Mocha.MochaOptions);
    const o = options.reporterOptions ?? {};
    // The run's record, handed over by the runner (run-suite.ts); a fresh one when used alone.
    const log = o.log ?? new RunLog();
    const style = o.console ?? 'spec';
    const Console = consoleReporter(style);
    if (Console) new Console(runner, options as Mocha.MochaOptions);
    let started = new Date();
    const failures = new Map<Mocha.Runnable, Error>();
    let hookFailure: string | undefined;
    runner.on(EVENT_RUN_BEGIN, () => (started = new Date()));
    runner.on(EVENT_TEST_BEGIN, (test) => {
      log.beginTest();
      this.startedAt.set(test, log.testStartedAt!);
    });
    runner.on(EVENT_TEST_FAIL, (test, err: Error) => {
      failures.set(test, err);
      // A failing hook has no test end, and stops the tests of its suite: record it, and remember
      // why for the tests it kept from running.
      if ((test as unknown as { type: string }).type === 'hook') {
        hookFailure = `${test.fullTitle()} failed: ${err.message.split('\n')[0]}`;
        // A hook that fails once the run is interrupted (its target closed under it) is no verdict.
        const reason = log.interrupted ?? linkReason(err);
        const { lines, wire } = log.endTest();
        this.record(test, reason ? 'not_run' : 'failed', reason ? undefined : err, lines, reason, wire);
      }
    });
    runner.on(EVENT_TEST_END, (test) => {
      const { lines, notRun, wire } = log.endTest();
      if (test.isPending()) this.record(test, notRun ? 'not_run' : 'pending', undefined, lines, notRun, wire);
      else {
        const err = failures.get(test);
        this.record(test, err ? 'failed' : 'passed', err, lines, undefined, wire);
      }
    });
    runner.once(EVENT_RUN_BEGIN, () => this.write(runner, o, log, started, false));
    runner.on(EVENT_TEST_END, () => this.write(runner, o, log, started, false));
    runner.once(EVENT_RUN_END, () => {
      // Tests Mocha never reached (a suite's before hook failed, the run was interrupted) are listed too.
      for (const t of this.unreached(runner)) this.record(t, 'not_run', undefined, [], log.interrupted ?? `never started: ${hookFailure ?? 'the run ended before it'}`);
      const notRun = this.tests.filter((t) => t.outcome === 'not_run');
      // Only beside spec and dot: another reporter's output may be a format (JSON, TAP) a line would break.
      if ((style === 'spec' || style === 'dot') && notRun.length) {
        console.log(`  ${notRun.length} not run:`);
        notRun.forEach((t, i) => console.log(`  ${i + 1}) ${t.fullTitle}\n     ${t.reason}`));
        console.log('');
      }
      this.write(runner, o, log, started, true);
    });
  }

  /** The tests of the run (those --grep selects, not skipped by the suite) not recorded yet. */
  private unreached(runner: Mocha.Runner): Mocha.Test[] {
    const wanted = grepOf(runner);
    return allTests(runner.suite).filter((t) => !this.recorded.has(t) && !t.isPending() && wanted(t.fullTitle()));
  }

  /** Writes junit.xml and run.json (nothing without a report directory); unfinished: the tests to come as not run. */
  private write(runner: Mocha.Runner, o: HilReporterOptions, log: RunLog, started: Date, finished: boolean): void {
    if (!o.reportDir) return;
    const rest: TestRecord[] = finished
      ? []
      : this.unreached(runner).map((t) => ({ suite: t.parent?.fullTitle() ?? '', title: t.title, fullTitle: t.fullTitle(), file: t.file, outcome: 'not_run', durationMs: 0, reason: log.interrupted ?? UNFINISHED_REASON, deviceLog: [] }));
    const tests = [...this.tests, ...rest];
    const notRun = tests.filter((t) => t.outcome === 'not_run');
    const signal = /^interrupted by (SIG[A-Z]+)/.exec(log.interrupted ?? '')?.[1];
    const h = log.hello;
    const run: RunRecord = {
      board: o.board ?? log.target ?? 'unknown',
      host: hostname(),
      target: log.target,
      firmwareId: log.hello?.firmwareId,
      bootNonce: log.hello ? log.hello.bootNonce.toString(16).padStart(8, '0') : undefined,
      ...(h ? { limits: { maxVms: h.maxVms, maxGlobals: h.maxGlobals, maxArrays: h.maxArrays, arrayElements: h.arrayElements, protoVersion: h.protoVersion, maxLine: h.maxLine, maxBatch: h.maxBatch } } : {}),
      startedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
      passed: tests.filter((t) => t.outcome === 'passed').length,
      failed: tests.filter((t) => t.outcome === 'failed').length,
      pending: tests.filter((t) => t.outcome === 'pending').length,
      notRun: notRun.length,
      notRunLink: notRun.filter((t) => t.reason?.startsWith('link:')).length,
      link: log.link,
      resets: [...log.resets],
      finished,
      ...(signal ? { interrupted: signal } : {}),
      tests,
      deviceLogBetweenTests: [...log.between],
    };
    mkdirSync(o.reportDir, { recursive: true });
    const put = (name: string, text: string): void => {
      const file = join(o.reportDir!, name);
      writeFileSync(`${file}.${process.pid}.tmp`, text);
      renameSync(`${file}.${process.pid}.tmp`, file);
    };
    put('junit.xml', junitXml(run));
    put('run.json', JSON.stringify(run, null, 1) + '\n');
    if (!finished) return; // the page once, at the end (hil report draws it from a record a killed run left)
    try {
      writeRunPage(o.reportDir);
    } catch (e) {
      // A diag.json or bench.json the user put in the folder that cannot be read: the run's files stand.
      console.error(`hil: ${join(o.reportDir, 'index.html')} not written: ${(e as Error).message}`);
    }
  }

  private record(test: Mocha.Runnable, outcome: Outcome, err: Error | undefined, deviceLog: LoggedLine[], reason?: string, wire?: WireBytes): void {
    this.recorded.add(test);
    this.tests.push({
      suite: test.parent?.fullTitle() ?? '',
      title: test.title,
      fullTitle: test.fullTitle(),
      file: test.file,
      outcome,
      ...(this.startedAt.has(test) ? { startedAt: this.startedAt.get(test)!, endedAt: new Date().toISOString() } : {}),
      durationMs: test.duration ?? 0,
      ...(err ? { error: failureOf(err) } : {}),
      ...(wire ? { wireBytes: wire } : {}),
      ...(reason ? { reason } : {}),
      deviceLog,
    });
  }
}
