/**
 * The suite's reporter: console progress as Mocha's spec reporter prints it (or dot, for CI logs),
 * then the tests that did not run, each with its reason; plus, when given a report directory, a
 * JUnit XML file for CI and a JSON run record (board, firmware id, boot nonce, link quality, every
 * test with duration, outcome, error or reason and the device log lines that arrived during it).
 *
 * Every test of the loaded suite appears in both files, whatever happened: one that the harness
 * skipped (a link error, a target that could not be opened) is `not_run` with its reason, and one
 * Mocha never reached (a suite's own `before` hook failed) is `not_run` with that hook's failure.
 */
import Mocha from 'mocha';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RunLog, linkReason, type LinkQuality, type LoggedLine } from '../mocha/run-log.js';

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_BEGIN, EVENT_TEST_END, EVENT_TEST_FAIL } = Mocha.Runner.constants;

export interface TestRecord {
  suite: string;
  title: string;
  fullTitle: string;
  file: string | undefined;
  /** `pending`: skipped by the suite itself (it.skip, or a test that skips where it does not apply); `not_run`: could not run, see `reason`. */
  outcome: 'passed' | 'failed' | 'pending' | 'not_run';
  durationMs: number;
  error?: { name: string; message: string; stack?: string };
  /** Why a `not_run` test did not run: `link: …` (the link failed, not the firmware), `setup: …`, or the hook that stopped the run. */
  reason?: string;
  deviceLog: LoggedLine[];
}

export interface RunRecord {
  board: string;
  target: string | undefined;
  firmwareId: string | undefined;
  bootNonce: string | undefined;
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
  /** Reasons of every board reset seen during the run. */
  resets: string[];
  tests: TestRecord[];
  /** Device lines that arrived outside any test. */
  deviceLogBetweenTests: LoggedLine[];
}

export interface HilReporterOptions {
  /** Directory for junit.xml and run.json; nothing is written without it. */
  reportDir?: string;
  /** Board (or target) name recorded in the files. */
  board?: string;
  /** Console style: "spec" (default), "dot", or "silent" (report files only). */
  console?: 'spec' | 'dot' | 'silent';
  /** The run's record the session fills (device lines, resets, not-run reasons, link quality). */
  log?: RunLog;
}

const xml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // XML 1.0 cannot carry most control characters, which binary noise from a board may contain.
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export function junitXml(run: RunRecord): string {
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
  const properties: [string, string | number][] = [['target', run.target ?? ''], ['firmware_id', run.firmwareId ?? ''], ['boot_nonce', run.bootNonce ?? ''], ['not_run', run.notRun], ['not_run_link', run.notRunLink]];
  for (const [side, counters] of [['client', run.link?.client], ['device', run.link?.device], ['emulator', run.link?.emulator]] as const) {
    for (const [k, v] of Object.entries(counters ?? {})) properties.push([`link.${side}.${k}`, v]);
  }
  if (run.link?.instances !== undefined) properties.push(['link.instances', run.link.instances]);
  if (run.link?.note) properties.push(['link.note', run.link.note]);
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hil" tests="${run.tests.length}" failures="${run.failed}" skipped="${skipped}" time="${(run.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(run.board)}" tests="${run.tests.length}" failures="${run.failed}" skipped="${skipped}" time="${(run.durationMs / 1000).toFixed(3)}" timestamp="${run.startedAt}">`,
    `    <properties>${properties.map(([n, v]) => `<property name="${xml(n)}" value="${xml(String(v))}"/>`).join('')}</properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
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

  constructor(runner: Mocha.Runner, options: { reporterOptions?: HilReporterOptions } = {}) {
    super(runner, options as Mocha.MochaOptions);
    const o = options.reporterOptions ?? {};
    // The run's record, handed over by the runner (run-suite.ts); a fresh one when used alone.
    const log = o.log ?? new RunLog();
    if (o.console !== 'silent') {
      const Console = o.console === 'dot' ? Mocha.reporters.Dot : Mocha.reporters.Spec;
      new Console(runner, options as Mocha.MochaOptions);
    }
    let started = new Date();
    const failures = new Map<Mocha.Runnable, Error>();
    let hookFailure: string | undefined;
    runner.on(EVENT_RUN_BEGIN, () => (started = new Date()));
    runner.on(EVENT_TEST_BEGIN, () => log.beginTest());
    runner.on(EVENT_TEST_FAIL, (test, err: Error) => {
      failures.set(test, err);
      // A failing hook has no test end, and stops the tests of its suite: record it, and remember
      // why for the tests it kept from running.
      if ((test as unknown as { type: string }).type === 'hook') {
        hookFailure = `${test.fullTitle()} failed: ${err.message.split('\n')[0]}`;
        const reason = linkReason(err);
        this.record(test, reason ? 'not_run' : 'failed', reason ? undefined : err, log.endTest().lines, reason);
      }
    });
    runner.on(EVENT_TEST_END, (test) => {
      const { lines, notRun } = log.endTest();
      if (test.isPending()) this.record(test, notRun ? 'not_run' : 'pending', undefined, lines, notRun);
      else {
        const err = failures.get(test);
        this.record(test, err ? 'failed' : 'passed', err, lines);
      }
    });
    runner.once(EVENT_RUN_END, () => {
      // Tests Mocha never reached (a suite's before hook failed, the run was aborted) are listed too.
      const wanted = grepOf(runner);
      for (const t of allTests(runner.suite)) {
        if (!this.recorded.has(t) && !t.isPending() && wanted(t.fullTitle())) this.record(t, 'not_run', undefined, [], `never started: ${hookFailure ?? 'the run ended before it'}`);
      }
      const notRun = this.tests.filter((t) => t.outcome === 'not_run');
      if (o.console !== 'silent' && notRun.length) {
        console.log(`  ${notRun.length} not run:`);
        notRun.forEach((t, i) => console.log(`  ${i + 1}) ${t.fullTitle}\n     ${t.reason}`));
        console.log('');
      }
      if (!o.reportDir) return;
      const ctx = log;
      const run: RunRecord = {
        board: o.board ?? ctx.target ?? 'unknown',
        target: ctx.target,
        firmwareId: ctx.hello?.firmwareId,
        bootNonce: ctx.hello ? ctx.hello.bootNonce.toString(16).padStart(8, '0') : undefined,
        startedAt: started.toISOString(),
        durationMs: Date.now() - started.getTime(),
        passed: this.tests.filter((t) => t.outcome === 'passed').length,
        failed: this.tests.filter((t) => t.outcome === 'failed').length,
        pending: this.tests.filter((t) => t.outcome === 'pending').length,
        notRun: notRun.length,
        notRunLink: notRun.filter((t) => t.reason?.startsWith('link:')).length,
        link: ctx.link,
        resets: [...ctx.resets],
        tests: this.tests,
        deviceLogBetweenTests: [...ctx.between],
      };
      mkdirSync(o.reportDir, { recursive: true });
      writeFileSync(join(o.reportDir, 'junit.xml'), junitXml(run));
      writeFileSync(join(o.reportDir, 'run.json'), JSON.stringify(run, null, 1) + '\n');
    });
  }

  private record(test: Mocha.Runnable, outcome: Outcome, err: Error | undefined, deviceLog: LoggedLine[], reason?: string): void {
    this.recorded.add(test);
    this.tests.push({
      suite: test.parent?.fullTitle() ?? '',
      title: test.title,
      fullTitle: test.fullTitle(),
      file: test.file,
      outcome,
      durationMs: test.duration ?? 0,
      ...(err ? { error: { name: err.name, message: err.message, stack: err.stack } } : {}),
      ...(reason ? { reason } : {}),
      deviceLog,
    });
  }
}
