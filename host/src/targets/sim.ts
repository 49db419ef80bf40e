/**
 * The "sim" target: the firmware's portable C core built for the host (firmware/port/host), serving
 * the protocol on a pseudo-terminal it creates. Reached with the serial transport, the same code
 * path as a board.
 */
import { buildFirmware, type FirmwareConfig } from './toolchain.js';
import { ManagedProcess } from '../process/managed.js';
import { existsSync } from 'node:fs';

export interface RunningSim {
  /** The pty a client opens. */
  path: string;
  process: ManagedProcess;
  close(): Promise<void>;
}

/**
 * Starts the sim and waits for its pty path; stops it if that fails. `binary` runs a sim the user
 * built (an absolute path; TargetSpecError-like Error when it does not exist); without it the
 * package's own sim of `config` is built if needed.
 */
export async function startSim(config: FirmwareConfig = 'default', extraArgs: string[] = [], options: { binary?: string } = {}): Promise<RunningSim> {
  if (options.binary && !existsSync(options.binary)) throw new Error(`the sim binary ${options.binary} does not exist; build it, or fix firmware.sim`);
  const bin = options.binary ?? (await buildFirmware('sim', config));
  const p = new ManagedProcess(`cvm-sim (${config})`, bin, ['--pty', ...extraArgs]);
  try {
    const m = await p.waitFor(/^PTY (\S+)$/m, 10_000, 'pty path ("PTY /dev/pts/N")');
    return { path: m[1]!, process: p, close: () => p.stop() };
  } catch (e) {
    await p.stop();
    throw e;
  }
}
