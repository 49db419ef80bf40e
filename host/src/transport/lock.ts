/**
 * Exclusive use of a local serial port for one run, by two locks together:
 *
 * - the UUCP lock file, /var/lock/LCK..<device> holding the owner's PID as ten ASCII digits and a
 *   newline (the HDB convention of minicom, ser2net, lockdev and picocom built with it): it names
 *   the holder, so a second run can say "held by PID N (its command line)", and it is honoured by
 *   the terminal programs people open beside a run. A lock whose PID is dead is stale and taken
 *   over. The file is made atomically (a private file, link()ed to the lock's name), removed on
 *   close, and, were the process killed, found stale by the next run.
 * - flock(2) on the open device (serialport's `lock: true`): the kernel drops it with the process,
 *   and picocom (flock by default) and other serialport programs take it too.
 *
 * Either alone misses someone: the lock file alone misses flock users, flock alone cannot say who
 * holds the port. When /var/lock cannot be written (no permission), the flock alone remains.
 */
import { closeSync, linkSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, unlinkSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';

/** Where UUCP lock files live (FHS: /var/lock, on Debian a link to /run/lock, mode 1777). */
export const LOCK_DIR = '/var/lock';

/** A port is held by another process: its PID and command line, when known. */
export class PortBusyError extends Error {
  constructor(readonly path: string, readonly pid: number | undefined, readonly commandLine: string | undefined, how: string) {
    super(`board busy: ${path} held by ${pid !== undefined ? `PID ${pid}${commandLine ? ` (${commandLine})` : ''}` : 'another program'} (${how}); wait for it to end, or stop it`);
    this.name = 'PortBusyError';
  }
}

/** The lock file's name for a device: LCK..ttyUSB0; a device in a subfolder of /dev, LCK..pts_3 (lockdev's habit). */
export function lockFileName(device: string): string {
  const rel = device.startsWith('/dev/') ? device.slice(5) : basename(device);
  return `LCK..${rel.replace(/\//g, '_')}`;
}

/** The command line of a process, as a person would read it (at most 200 characters); undefined when unknown. */
export function commandLineOf(pid: number): string | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'latin1').replace(/\0+$/, '').split('\0').join(' ');
    return raw ? (raw.length > 200 ? `${raw.slice(0, 197)}...` : raw) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a process with this PID exists (EPERM: it does, owned by someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PID in a UUCP lock file (ASCII, spaces allowed; or the old binary 4-byte form); undefined when unreadable. */
function lockPid(file: string): number | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch {
    return undefined;
  }
  const text = buf.toString('latin1').trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (buf.length === 4) return buf.readInt32LE(0);
  return undefined;
}

/** A process other than this one that has `device` open (a /proc scan, like fuser); undefined when none is found. */
export function openerOf(device: string): number | undefined {
  let real: string;
  try {
    real = realpathSync(device);
  } catch {
    return undefined;
  }
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid);
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === real) return Number(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  return undefined;
}

/** A held lock file; release() removes it (only while it is still ours). Safe to call twice. */
export interface PortLock {
  /** The lock file, or undefined when the lock folder could not be written (flock alone then). */
  file: string | undefined;
  release(): void;
}

/**
 * Takes the UUCP lock of `device` for this process. Throws PortBusyError when a live process
 * holds it; takes over a stale one (its PID is dead, or the file is unreadable garbage).
 * `dir` is for tests; the lock is meaningful only in LOCK_DIR.
 */
export function lockPort(device: string, dir = LOCK_DIR): PortLock {
  let real = device;
  try {
    real = realpathSync(device);
  } catch {
    // opening it will say what is wrong
  }
  const file = join(dir, lockFileName(real));
  const tmp = join(dir, `LTMP.${process.pid}.${Math.random().toString(36).slice(2, 8)}`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, `${String(process.pid).padStart(10)}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    return { file: undefined, release: () => {} }; // no lock folder we may write: flock alone
  }
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(tmp, file);
        let released = false;
        return {
          file,
          release: () => {
            if (released) return;
            released = true;
            if (lockPid(file) === process.pid) {
              try {
                unlinkSync(file);
              } catch {
                // already gone
              }
            }
          },
        };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return { file: undefined, release: () => {} };
      }
      const pid = lockPid(file);
      if (pid !== undefined && pid > 0 && (pid === process.pid || processAlive(pid))) {
        throw new PortBusyError(device, pid, pid === process.pid ? 'this process' : commandLineOf(pid), `UUCP lock ${file}`);
      }
      // Stale: its process is gone (or the file is not a lock). Take it over.
      try {
        unlinkSync(file);
      } catch {
        // someone else took it over first: try again
      }
    }
    throw new PortBusyError(device, undefined, undefined, `UUCP lock ${file} keeps being taken`);
  } finally {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
  }
}
