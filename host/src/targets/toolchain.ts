/**
 * Finding and building the firmware artefacts the sim and QEMU targets need. A missing tool is an
 * error naming the Debian package (process/tools.ts).
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MissingToolError, hasTool, requireTool } from '../process/tools.js';
import { ManagedProcess } from '../process/managed.js';

export { MissingToolError, hasTool, requireTool };

/** A firmware build that failed (make's output in the message) or made nothing: setup, exit 2. */
export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/**
 * The package's root: the nearest folder above this module holding a package.json. The same in a
 * checkout (host/src/targets/) and in the installed package (dist/host/src/targets/), where a
 * fixed number of `..` would land inside dist/.
 */
export const REPO_ROOT = packageRoot(dirname(fileURLToPath(import.meta.url)));

function packageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`componentvm-hil: no package.json above ${from}: the package is incomplete (reinstall it)`);
  }
}
export const FIRMWARE_DIR = join(REPO_ROOT, 'firmware');

/** A build configuration of the firmware (firmware/Makefile CONFIG=...). */
export type FirmwareConfig = 'default' | 'small';

export function simBinary(config: FirmwareConfig = 'default'): string {
  return join(FIRMWARE_DIR, 'build', config, 'sim', 'cvm-sim');
}

export function armElf(config: FirmwareConfig = 'default'): string {
  return join(FIRMWARE_DIR, 'build', config, 'arm', 'cvm-fw.elf');
}

/** The raw-echo ELF (`make -C firmware arm-echo`): the port's USART2 driver echoing bytes, no core; the bench's link ceiling. */
export function armEchoElf(config: FirmwareConfig = 'default'): string {
  return join(FIRMWARE_DIR, 'build', config, 'arm', 'cvm-echo.elf');
}

/** Builds (incrementally) one firmware make target; the error carries make's output. */
export async function buildFirmware(target: 'sim' | 'arm' | 'arm-echo', config: FirmwareConfig = 'default'): Promise<string> {
  requireTool('make', 'make', `build the firmware ${target}`);
  if (target === 'sim') requireTool('gcc', 'gcc', 'build the sim (the firmware core for the host)');
  else requireTool('arm-none-eabi-gcc', 'gcc-arm-none-eabi', 'build the ARM firmware');
  // A ManagedProcess like every child: reaped if this process is interrupted or killed.
  const make = new ManagedProcess(`make ${target}`, 'make', ['-C', FIRMWARE_DIR, target, `CONFIG=${config}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  await make.exited;
  if (make.exitCode !== 0) {
    throw new BuildError(`building firmware ${target} (CONFIG=${config}) failed (${make.exitReason}): make -C firmware ${target} CONFIG=${config}\n${make.output}`);
  }
  const out = target === 'sim' ? simBinary(config) : target === 'arm' ? armElf(config) : armEchoElf(config);
  if (!existsSync(out)) throw new BuildError(`make -C firmware ${target} CONFIG=${config} succeeded but ${out} is missing`);
  return out;
}

