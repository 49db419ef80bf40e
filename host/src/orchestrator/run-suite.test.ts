import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSuite } from './run-suite.js';
import type { RunRecord } from './reporter.js';

const here = dirname(fileURLToPath(import.meta.url));

describe('runSuite: a board that resets mid-run', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hil-run-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('fails the test during which it reset as "board reset", goes on after a re-handshake, and reports both', async () => {
    const result = await runSuite({ target: 'twin', files: [join(here, 'fixtures', 'reset-mid-run.suite.ts')], reportDir: dir, board: 'twin-fixture', reporter: 'silent' });
    expect(result).to.deep.equal({ passes: 2, failures: 1, pending: 0 });
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
