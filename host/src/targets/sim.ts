/**
 * The "sim" target: the firmware's portable C core built for the host (firmware/port/host), serving
 * the protocol on a pseudo-terminal it creates. Reached with the serial transport, the same code
 * path as a board.
 */
import { buildFirmware, type FirmwareConfig } from './toolchain.js';
import { TargetSpecError } from './descriptor.js';
import { ManagedProcess } from '../process/managed.js';
import { existsSync } from 'node:fs';

export interface RunningSim {
  /** The pty a client opens. */
  path: string;
  process: ManagedProcess;
  /**
   * With `haltedUntilBoot`: releases the sim from reset (one line on its stdin), so it writes its
   * banner now, to a host that has opened the pty. Without it the sim booted at start.
   */
  boot(): Promise<void>;
  /**
   * With `haltedUntilBoot`, once booted: pulls its reset line (one more line on its stdin): it
   * reboots with a new nonce and reset cause "pin" and writes a new banner, as a board does.
   */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the sim and waits for its pty path; stops it if that fails. `binary` runs a sim the user
 * built (an absolute path; TargetSpecError, exit 2, when it does not exist); without it the
 * package's own sim of `config` is built if needed.
 */
export async function startSim(config: FirmwareConfig = 'default', extraArgs: string[] = [], options: { binary?: string; haltedUntilBoot?: boolean } = {}): Promise<RunningSim> {
  if (options.binary && !existsSync(options.binary)) throw new TargetSpecError(`the sim binary ${options.binary} does not exist; build it, or fix firmware.sim`);
  const bin = options.binary ?? (await buildFirmware('sim', config));
  // --exit-on-stdin-eof: the sim's stdin is our pipe, so it ends with this process, even a killed one.
  const halted = options.haltedUntilBoot ? ['--boot-on-stdin'] : [];
  const p = new ManagedProcess(`cvm-sim (${config})`, bin, ['--pty', ...halted, '--exit-on-stdin-eof', ...extraArgs]);
  try {
    const m = await p.waitFor(/^PTY (\S+)$/m, 10_000, 'pty path ("PTY /dev/pts/N")');
    /** One line on its stdin: the release from reset, then each a reset pulse (cvm_sim.c --boot-on-stdin). */
    const pulse = (what: string): Promise<void> =>
      new Promise((resolve, reject) => {
        const stdin = p.child.stdin;
        if (!stdin || stdin.destroyed) return reject(new Error(`${p.label}: cannot ${what}: its stdin is closed (did it exit?)`));
        stdin.write('\n', (e) => (e ? reject(new Error(`${p.label}: ${what} failed: ${e.message}`)) : resolve()));
      });
    const boot = (): Promise<void> => (options.haltedUntilBoot ? pulse('release it from reset') : Promise.resolve());
    const reset = (): Promise<void> => (options.haltedUntilBoot ? pulse('reset it') : Promise.reject(new Error(`${p.label}: reset needs a sim started with haltedUntilBoot (--boot-on-stdin)`)));
    return { path: m[1]!, process: p, boot, reset, close: () => p.stop() };
  } catch (e) {
    await p.stop();
    throw e;
  }
}
