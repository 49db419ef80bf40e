/**
 * The "sim" target: the firmware's portable C core built for the host (firmware/port/host), serving
 * the protocol on a pseudo-terminal it creates. Reached with the serial transport, the same code
 * path as a board.
 */
import { buildFirmware, type FirmwareConfig } from './toolchain.js';
import { ManagedProcess } from './process.js';

export interface RunningSim {
  /** The pty a client opens. */
  path: string;
  process: ManagedProcess;
  close(): Promise<void>;
}

/** Builds the sim if needed, starts it and waits for its pty path; stops it if that fails. */
export async function startSim(config: FirmwareConfig = 'default', extraArgs: string[] = []): Promise<RunningSim> {
  const bin = await buildFirmware('sim', config);
  const p = new ManagedProcess(`cvm-sim (${config})`, bin, ['--pty', ...extraArgs]);
  try {
    const m = await p.waitFor(/^PTY (\S+)$/m, 10_000, 'pty path ("PTY /dev/pts/N")');
    return { path: m[1]!, process: p, close: () => p.stop() };
  } catch (e) {
    await p.stop();
    throw e;
  }
}
