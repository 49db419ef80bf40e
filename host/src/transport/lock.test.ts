/**
 * The UUCP lock file (lock.ts) in a temporary lock folder: its name and HDB format, a live holder
 * named with its PID and command line, a stale one taken over, release only while ours.
 * Two real runs on one pty, with the real /var/lock, are in hil-tests/remote/lock.test.ts.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { PortBusyError, lockFileName, lockPort } from './lock.js';

describe('UUCP port lock', () => {
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hil-lock-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('names the lock as minicom and lockdev do', () => {
    expect(lockFileName('/dev/ttyUSB0')).to.equal('LCK..ttyUSB0');
    expect(lockFileName('/dev/pts/3')).to.equal('LCK..pts_3');
  });

  it('writes the PID as ten ASCII columns and a newline, and removes it on release', () => {
    const l = lockPort('/dev/ttyFAKE0', dir);
    expect(l.file).to.equal(join(dir, 'LCK..ttyFAKE0'));
    expect(readFileSync(l.file!, 'latin1')).to.equal(`${String(process.pid).padStart(10)}\n`);
    l.release();
    l.release();
    expect(existsSync(l.file!)).to.equal(false);
  });

  it('a live holder: PortBusyError with its PID and command line', async () => {
    const holder = new ManagedProcess('sleep (lock holder)', 'sleep', ['30']);
    try {
      // ManagedProcess starts it through setpriv, which then execs sleep in the same pid: wait for that.
      for (let i = 0; i < 500 && readFileSync(`/proc/${holder.pid}/cmdline`, 'latin1').includes('setpriv'); i++) await new Promise((r) => setTimeout(r, 10));
      writeFileSync(join(dir, 'LCK..ttyFAKE0'), `${String(holder.pid).padStart(10)}\n`);
      expect(() => lockPort('/dev/ttyFAKE0', dir)).to.throw(PortBusyError, new RegExp(`^board busy: /dev/ttyFAKE0 held by PID ${holder.pid} \\((?:\\S*/)?sleep 30\\) \\(UUCP lock `));
    } finally {
      await holder.stop();
    }
  });

  it('a stale lock (dead PID, or garbage) is taken over; a lock no longer ours is left alone', async () => {
    const gone = new ManagedProcess('true (a pid that ends)', 'true', []);
    await gone.exited;
    const file = join(dir, 'LCK..ttyFAKE0');
    for (const stale of [`${String(gone.pid).padStart(10)}\n`, 'not a pid\n']) {
      writeFileSync(file, stale);
      const l = lockPort('/dev/ttyFAKE0', dir);
      expect(Number(readFileSync(file, 'latin1').trim())).to.equal(process.pid);
      l.release();
    }
    const l = lockPort('/dev/ttyFAKE0', dir);
    writeFileSync(file, `${String(gone.pid).padStart(10)}\n`); // someone took it over meanwhile
    l.release();
    expect(existsSync(file)).to.equal(true);
  });

  it('a lock folder it cannot write leaves flock alone to guard the port', () => {
    const l = lockPort('/dev/ttyFAKE0', join(dir, 'missing'));
    expect(l.file).to.equal(undefined);
    l.release();
  });
});
