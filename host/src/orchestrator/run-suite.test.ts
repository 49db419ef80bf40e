import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunRecord } from './reporter.js';
import { exitCodeOf } from './exit-codes.js';
import { liveChildPids } from '../process/managed.js';

// The runner loads the fixture suites as ES modules; under `mocha` (tsx's CommonJS hook) this test
// file is CommonJS, so the runner is imported the same way the suites are, as ESM, for the suites
// and the runner to share one fixture module, as they do under `hil test`.
const { runSuite } = await import('./run-suite.js');

const here = dirname(fileURLToPath(import.meta.url));

const fixture = (name: string) => join(here, 'fixtures', name);
const readRun = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;

describe('runSuite: a board that resets mid-run', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hil-run-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the test during which it reset as "board reset", goes on after a re-handshake, and reports both', async () => {
    const result = await runSuite({ target: 'twin', files: [join(here, 'fixtures', 'reset-mid-run.suite.ts')], reportDir: dir, board: 'twin-fixture', reporter: 'silent' });
    expect(result).to.deep.equal({ passes: 2, failures: 1, pending: 0, notRun: 0, notRunLink: 0, exitCode: 1 });
    const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
    expect(run.board).to.equal('twin-fixture');
    expect(run.tests.map((t) => t.outcome)).to.deep.equal(['passed', 'failed', 'passed']);
    const failed = run.tests[1]!;
    expect(failed.error!.name).to.equal('BoardReset');
    expect(failed.error!.message).to.match(/board reset \(store_global not completed\): boot banner: CVM-BOOT/);
    // Device lines are credited to the test during which they arrived.
    expect(failed.deviceLog.map((l) => l.text)).to.include('about to reboot');
    expect(failed.deviceLog.some((l) => l.text.startsWith('CVM-BOOT'))).to.equal(true);
    expect(run.tests[0]!.deviceLog).to.deep.equal([]);
    expect(run.resets).to.have.length(1);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).to.match(/<testsuite name="twin-fixture" tests="3" failures="1"/);
    expect(junit).to.match(/<failure message="twin: board reset/);
    expect(junit).to.include('about to reboot');
  });
});

describe('runSuite: the link fails mid-run', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hil-run-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('reports a test whose preparation or body ends in a link error as not run, runs the next after a fresh handshake, and exits 3', async () => {
    const result = await runSuite({ target: 'twin', files: [fixture('link-error-mid-run.suite.ts')], reportDir: dir, board: 'link-fixture', reporter: 'silent' });
    expect(result).to.deep.equal({ passes: 4, failures: 0, pending: 0, notRun: 2, notRunLink: 2, exitCode: 3 });
    const run = readRun(dir);
    expect(run.tests.map((t) => [t.title.slice(0, 1), t.outcome])).to.deep.equal([['1', 'passed'], ['2', 'passed'], ['3', 'not_run'], ['4', 'passed'], ['5', 'not_run'], ['6', 'passed']]);
    expect(run).to.deep.include({ passed: 4, failed: 0, pending: 0, notRun: 2, notRunLink: 2 });
    expect(run.tests[2]!.reason).to.match(/^link: (RequestTimeout|LinkDead|RetriesExhausted): twin: reset_pool .* \(before the test, preparing the target(; [^)]*)?\)$/);
    expect(run.tests[4]!.reason).to.match(/^link: (RequestTimeout|LinkDead|RetriesExhausted): twin: store_global/);
    expect(run.tests[2]!.error, 'a link error is not a firmware failure').to.equal(undefined);
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).to.match(/<testsuite name="link-fixture" tests="6" failures="0" skipped="2"/);
    expect(junit.match(/<skipped message="not run: link: /g)).to.have.length(2);
    expect(junit).to.not.include('<failure');
    // Link quality: the client's counters and the device's, at the end of the run.
    expect(run.link?.client?.transmissions).to.be.greaterThan(0);
    expect(run.link?.client?.retransmits, 'the hung twin made the client retransmit').to.be.greaterThan(0);
    expect(run.link?.device).to.have.all.keys('replayed', 'outOfSequence', 'noSession', 'sessions', 'held');
    expect(run.link!.device!.sessions, 'the first hello and two re-handshakes').to.be.at.least(3);
    expect(run.link?.instances, 'the client counters are summed over every instance the run opened').to.be.at.least(1);
    expect(junit).to.match(/<property name="link.client.retransmits" value="[1-9]\d*"\/>/);
    expect(junit).to.match(/<property name="link.device.sessions" value="\d+"\/>/);
  });
});

describe('runSuite: a run that cannot start', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hil-run-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** runSuite's rejection (undefined when it resolved), its exit code, and what it left in the report folder. */
  // Only two of these load their suite (a file loads once per process): never-starts and three-tests.
  async function refused(options: Parameters<typeof runSuite>[0], suite = 'three-tests.suite.ts'): Promise<{ err: Error | undefined; code: number; written: string[] }> {
    const reportDir = join(dir, 'reports');
    const err = await runSuite({ files: [fixture(suite)], reporter: 'silent', reportDir, ...options }).then(() => undefined, (e: unknown) => e as Error);
    return { err, code: exitCodeOf(err), written: existsSync(reportDir) ? readdirSync(reportDir) : [] };
  }

  it('rejects with bringUp\'s own error, before any test and without a report, when the target cannot be brought up', async () => {
    // A descriptor that parses but cannot be brought up: its sim binary (the user's build) is missing.
    const missing = { name: 'missing-sim', kind: 'sim' as const, firmware: { sim: join(dir, 'no-such-cvm-sim') } };
    const r = await refused({ target: missing }, 'never-starts.suite.ts');
    expect(r.err?.message).to.match(/^the sim binary .*no-such-cvm-sim does not exist; build it, or fix firmware\.sim$/);
    expect(r.written, 'no report for a run that never started').to.deep.equal([]);
    expect(liveChildPids()).to.deep.equal([]);
  });

  it('rejects a bad target spec before anything runs (TargetSpecError, exit 2)', async () => {
    const r = await refused({ target: 'no-such-target' });
    expect(r.err?.message).to.match(/^unknown target "no-such-target"/);
    expect(r.code).to.equal(2);
    expect(r.written).to.deep.equal([]);
  });

  it('rejects a --grep that is not a regular expression, or that matches no test (RunOptionError, exit 2)', async () => {
    const bad = await refused({ target: 'twin', grep: '(' });
    expect(bad.err?.name).to.equal('RunOptionError');
    expect(bad.code).to.equal(2);
    const none = await refused({ target: 'twin', grep: 'no test is called this' });
    expect(none.err?.message).to.equal('no test matches --grep no test is called this (of the 3 tests in 1 spec files); fix the pattern (it matches a test\'s full title: its describe blocks and its own title)');
    expect(none.code).to.equal(2);
    expect(none.written).to.deep.equal([]);
  });

  it('rejects a report folder that is a file, and a reporter that does not exist (exit 2)', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const r = await runSuite({ target: 'twin', files: [fixture('three-tests.suite.ts')], reporter: 'silent', reportDir: join(file, 'sub') }).then(() => undefined, (e: unknown) => e as Error);
    expect(r?.message).to.equal(`--report-dir ${join(file, 'sub')}: ${file} is a file, not a folder; give a folder for junit.xml and run.json`);
    const rep = await refused({ target: 'twin', reporter: 'no-such-reporter' });
    expect(rep.err?.message).to.match(/^--reporter no-such-reporter: no such reporter; use spec or dot/);
    expect(rep.code).to.equal(2);
  });
});

describe("runSuite: a suite's own hook fails", function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hil-run-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('records the hook failure, lists the tests it kept from running as not run, and runs the next suite', async () => {
    const result = await runSuite({ target: 'twin', files: [fixture('suite-hook-failure.suite.ts')], reportDir: dir, reporter: 'silent' });
    expect(result).to.deep.include({ passes: 1, failures: 1, pending: 1, exitCode: 1 });
    const run = readRun(dir);
    const byTitle = Object.fromEntries(run.tests.map((t) => [t.title, t]));
    expect(byTitle['"before all" hook for "is kept from running (a)"']?.outcome).to.equal('failed');
    for (const t of ['is kept from running (a)', 'is kept from running (b)']) {
      expect(byTitle[t]?.outcome, t).to.equal('not_run');
      expect(byTitle[t]?.reason).to.equal('never started: a suite whose before hook fails "before all" hook for "is kept from running (a)" failed: fixture: this before hook always fails');
    }
    expect(byTitle['still runs']?.outcome).to.equal('passed');
    expect(byTitle['is skipped by its author (pending, not "not run")']?.outcome).to.equal('pending');
    expect(run).to.deep.include({ passed: 1, failed: 1, pending: 1, notRun: 2 });
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).to.match(/tests="5" failures="1" skipped="3"/);
  });
});

describe('guardTests: a test slowed by the cable', function () {
  this.timeout(10_000);
  // Runs one Mocha suite holding `body` (its own timeout 400 ms) under guardTests with a harness
  // whose link retransmits while the test runs (`retransmitting`), or stays quiet.
  async function run(retransmitting: boolean, body: () => Promise<void>) {
    const { default: Mocha } = await import('mocha');
    const { guardTests } = await import('./run-suite.js');
    const { RunLog } = await import('../mocha/run-log.js');
    let retransmits = 0;
    let abandoned = 0;
    const ticker = retransmitting ? setInterval(() => retransmits++, 20) : undefined;
    const harness = {
      prepare: async () => {},
      afterError: () => {},
      linkRetransmits: () => retransmits,
      abandon: async () => void abandoned++,
    };
    const mocha = new Mocha({ reporter: function () {} as unknown as Mocha.ReporterConstructor, timeout: 400 });
    mocha.suite.addTest(new Mocha.Test('slow', body));
    const tally = guardTests(mocha.suite, harness, new RunLog());
    const outcome = await new Promise<{ failures: number; pending: number; passes: number }>((resolve) => {
      const runner = mocha.run(() => resolve({ failures: runner.stats!.failures, pending: runner.stats!.pending, passes: runner.stats!.passes }));
    });
    clearInterval(ticker);
    return { outcome, tally, abandoned };
  }

  it('gives up a test still running near its timeout on a retransmitting link as not run (link), and ends its use of the target', async () => {
    const r = await run(true, () => new Promise(() => {}));
    expect(r.outcome).to.include({ failures: 0, pending: 1, passes: 0 });
    expect(r.tally).to.deep.equal({ notRun: 1, notRunLink: 1 });
    expect(r.abandoned).to.equal(1);
  });

  it('leaves a test still running on a quiet link to fail at its timeout (a hang is the firmware\'s)', async () => {
    const r = await run(false, () => new Promise(() => {}));
    expect(r.outcome).to.include({ failures: 1, pending: 0, passes: 0 });
    expect(r.tally).to.deep.equal({ notRun: 0, notRunLink: 0 });
    expect(r.abandoned).to.equal(0);
  });

  it('grants a test more time while the link retransmits within it: one that needs twice its timeout passes', async () => {
    const r = await run(true, () => new Promise((resolve) => setTimeout(resolve, 800)));
    expect(r.outcome).to.include({ failures: 0, pending: 0, passes: 1 });
    expect(r.abandoned).to.equal(0);
  });

  it('grants nothing on a quiet link: the same test fails at its timeout', async () => {
    const r = await run(false, () => new Promise((resolve) => setTimeout(resolve, 800)));
    expect(r.outcome).to.include({ failures: 1, pending: 0, passes: 0 });
  });

  it('does not touch a test that finishes in time, however much the link retransmits', async () => {
    const r = await run(true, () => new Promise((resolve) => setTimeout(resolve, 50)));
    expect(r.outcome).to.include({ failures: 0, pending: 0, passes: 1 });
    expect(r.abandoned).to.equal(0);
  });
});
