/**
 * Two local runs on one serial port: the second is refused with "board busy: held by PID N
 * (command line)" (exit 3) while the first holds it, and a stale lock of a dead process is taken
 * over. Real runs of `bin/hil.js` on the pty of a running sim (as `serial:PATH`), real /var/lock.
 */
import { expect } from 'chai';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess, liveChildPids } from '../../host/src/process/managed.js';
import { REPO_ROOT } from '../../host/src/targets/toolchain.js';
import { startSim, type RunningSim } from '../../host/src/targets/sim.js';
import { runHil } from '../../host/src/testing/run-cli.js';
import { LOCK_DIR, lockFileName } from '../../host/src/transport/lock.js';

describe('local lock: two runs on one port', function () {
  this.timeout(120_000);
  let sim: RunningSim | undefined;
  let lockFile = '';
  before(async () => {
    sim = await startSim('default', []);
    lockFile = join(LOCK_DIR, lockFileName(sim.path));
  });
  after(async () => {
    await sim?.close();
    rmSync(lockFile, { force: true });
    expect(liveChildPids()).to.deep.equal([]);
  });

  it('the second run exits 3 with "board busy: … held by PID N (command line)" while the first holds the port', async () => {
    const first = new ManagedProcess('hil test (first run)', process.execPath, [join(REPO_ROOT, 'bin', 'hil.js'), 'test', '--target', `serial:${sim!.path}`, '--reporter', 'dot', '--report-dir', join(REPO_ROOT, 'reports', 'lock-test')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      // The first run holds the lock once its file names it (bounded by the test's timeout).
      while (!(existsSync(lockFile) && Number(readFileSync(lockFile, 'latin1').trim()) === first.pid)) {
        if (!first.running) throw new Error(`the first run ended before taking the port: ${first.output}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const second = await runHil(['diag', '--target', `serial:${sim!.path}`]);
      expect(second.code, second.stderr).to.equal(3);
      expect(second.stderr.trim().split('\n')).to.have.length(1);
      expect(second.stderr).to.contain(`board busy: ${sim!.path} held by PID ${first.pid} (`).and.contain(`test --target serial:${sim!.path}`);
      await first.exitWithin(100_000);
      expect(first.exitCode, first.output).to.equal(0);
      expect(existsSync(lockFile), 'the lock file is removed with the run').to.equal(false);
    } finally {
      await first.stop();
      rmSync(join(REPO_ROOT, 'reports', 'lock-test'), { recursive: true, force: true });
    }
  });

  it('a stale lock (its PID is dead) is taken over', async () => {
    const gone = new ManagedProcess('true (a pid that ends)', 'true', []);
    await gone.exited;
    writeFileSync(lockFile, `${String(gone.pid).padStart(10)}\n`);
    const r = await runHil(['diag', '--target', `serial:${sim!.path}`]);
    expect(r.code, r.stderr).to.equal(0);
    expect(existsSync(lockFile)).to.equal(false);
  });
});
