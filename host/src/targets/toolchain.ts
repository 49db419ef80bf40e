/**
 * Finding and building the firmware artefacts the sim and QEMU targets need. A missing tool is an
 * error naming the Debian package; under CI=true a test that needs one fails instead of pending.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const FIRMWARE_DIR = join(REPO_ROOT, 'firmware');

/** A build configuration of the firmware (firmware/Makefile CONFIG=...). */
export type FirmwareConfig = 'default' | 'small';

export class MissingToolError extends Error {
  readonly exitCode = 2;
  constructor(readonly tool: string, readonly debianPackage: string, purpose: string) {
    super(`${tool} not found: it is needed to ${purpose}; install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
  }
}

/** True when `tool` is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

export function requireTool(tool: string, debianPackage: string, purpose: string): void {
  if (!hasTool(tool)) throw new MissingToolError(tool, debianPackage, purpose);
}

export function simBinary(config: FirmwareConfig = 'default'): string {
  return join(FIRMWARE_DIR, 'build', config, 'sim', 'cvm-sim');
}

export function armElf(config: FirmwareConfig = 'default'): string {
  return join(FIRMWARE_DIR, 'build', config, 'arm', 'cvm-fw.elf');
}

/** Builds (incrementally) one firmware make target; the error carries make's output. */
export async function buildFirmware(target: 'sim' | 'arm', config: FirmwareConfig = 'default'): Promise<string> {
  requireTool('make', 'make', `build the firmware ${target}`);
  if (target === 'sim') requireTool('gcc', 'gcc', 'build the sim (the firmware core for the host)');
  else requireTool('arm-none-eabi-gcc', 'gcc-arm-none-eabi', 'build the ARM firmware');
  try {
    await promisify(execFile)('make', ['-C', FIRMWARE_DIR, target, `CONFIG=${config}`], { maxBuffer: 16 << 20 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string };
    throw new Error(`building firmware ${target} (CONFIG=${config}) failed: make -C firmware ${target} CONFIG=${config}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  const out = target === 'sim' ? simBinary(config) : armElf(config);
  if (!existsSync(out)) throw new Error(`make -C firmware ${target} CONFIG=${config} succeeded but ${out} is missing`);
  return out;
}

/**
 * For a test that needs tools: under CI (CI set) a missing tool fails the test naming its Debian
 * package; elsewhere the test is reported as pending with the same reason.
 * `tools` pairs a command with its Debian package.
 */
export function needTools(ctx: Mocha.Context, tools: Array<[tool: string, debianPackage: string]>): void {
  const missing = tools.filter(([t]) => !hasTool(t));
  if (!missing.length) return;
  const reason = missing.map(([t, p]) => `${t} (Debian package ${p})`).join(', ');
  if (process.env.CI) throw new Error(`missing ${reason}: install with apt-get install -y ${missing.map(([, p]) => p).join(' ')}`);
  console.log(`      pending: missing ${reason}`);
  ctx.skip();
}
