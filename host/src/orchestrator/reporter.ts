/**
 * The suite's reporter: console progress as Mocha's spec reporter prints it (or dot, for CI logs),
 * plus, when given a report directory, a JUnit XML file for CI and a JSON run record (board,
 * firmware id, boot nonce, every test with duration, outcome, error and the device log lines that
 * arrived during it).
 */
import Mocha from 'mocha';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beginTest, endTest, runContext, type LoggedLine } from './run-context.js';

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_TEST_BEGIN, EVENT_TEST_END, EVENT_TEST_FAIL, EVENT_TEST_PENDING } = Mocha.Runner.constants;

export interface TestRecord {
  suite: string;
  title: string;
  fullTitle: string;
  file: string | undefined;
  outcome: 'passed' | 'failed' | 'pending';
  durationMs: number;
  error?: { name: string; message: string; stack?: string };
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
    if (t.deviceLog.length) body.push(`      <system-out>${xml(t.deviceLog.map((l) => `${l.t} ${l.text}`).join('\n'))}</system-out>`);
    return body.length ? `${head}>\n${body.join('\n')}\n    </testcase>` : `${head}/>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="hil" tests="${run.tests.length}" failures="${run.failed}" skipped="${run.pending}" time="${(run.durationMs / 1000).toFixed(3)}">`,
    `  <testsuite name="${xml(run.board)}" tests="${run.tests.length}" failures="${run.failed}" skipped="${run.pending}" time="${(run.durationMs / 1000).toFixed(3)}" timestamp="${run.startedAt}">`,
    `    <properties><property name="target" value="${xml(run.target ?? '')}"/><property name="firmware_id" value="${xml(run.firmwareId ?? '')}"/><property name="boot_nonce" value="${run.bootNonce ?? ''}"/></properties>`,
    ...cases,
    '  </testsuite>',
    '</testsuites>',
    '',
  ].join('\n');
}

export class HilReporter extends Mocha.reporters.Base {
  readonly tests: TestRecord[] = [];

  constructor(runner: Mocha.Runner, options: { reporterOptions?: HilReporterOptions } = {}) {
    super(runner, options as Mocha.MochaOptions);
    const o = options.reporterOptions ?? {};
    if (o.console !== 'silent') {
      const Console = o.console === 'dot' ? Mocha.reporters.Dot : Mocha.reporters.Spec;
      new Console(runner, options as Mocha.MochaOptions);
    }
    let started = new Date();
    const failures = new Map<Mocha.Test, Error>();
    runner.on(EVENT_RUN_BEGIN, () => (started = new Date()));
    runner.on(EVENT_TEST_BEGIN, () => beginTest());
    runner.on(EVENT_TEST_FAIL, (test, err: Error) => failures.set(test, err));
    runner.on(EVENT_TEST_PENDING, (test) => this.record(test, 'pending', undefined, []));
    runner.on(EVENT_TEST_END, (test) => {
      const err = failures.get(test);
      this.record(test, err ? 'failed' : 'passed', err, endTest());
    });
    // Failures in hooks (e.g. the target could not be opened) have no test end: record them too.
    runner.on(EVENT_TEST_FAIL, (test, err: Error) => {
      if ((test as unknown as { type: string }).type === 'hook') this.record(test, 'failed', err, endTest());
    });
    runner.once(EVENT_RUN_END, () => {
      if (!o.reportDir) return;
      const ctx = runContext();
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
        resets: [...ctx.resets],
        tests: this.tests,
        deviceLogBetweenTests: [...ctx.between],
      };
      mkdirSync(o.reportDir, { recursive: true });
      writeFileSync(join(o.reportDir, 'junit.xml'), junitXml(run));
      writeFileSync(join(o.reportDir, 'run.json'), JSON.stringify(run, null, 1) + '\n');
    });
  }

  private record(test: Mocha.Runnable, outcome: TestRecord['outcome'], err: Error | undefined, deviceLog: LoggedLine[]): void {
    this.tests.push({
      suite: test.parent?.fullTitle() ?? '',
      title: test.title,
      fullTitle: test.fullTitle(),
      file: test.file,
      outcome,
      durationMs: test.duration ?? 0,
      ...(err ? { error: { name: err.name, message: err.message, stack: err.stack } } : {}),
      deviceLog,
    });
  }
}
