/**
 * Test helper: the CLI as a user runs it, `node bin/hil.js ...` in a child process (a
 * ManagedProcess, reaped on every path), bounded at 60 s by default (then stopped), with what it printed and
 * its exit code. HIL_TARGET and HIL_LINK are not passed on, so the caller's own run cannot steer it.
 */
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runHil(args: readonly string[], options: { cwd?: string; name?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  const env = { ...process.env };
  delete env.HIL_TARGET;
  delete env.HIL_LINK;
  const p = new ManagedProcess(options.name ?? 'hil (test)', process.execPath, [join(REPO_ROOT, 'bin', 'hil.js'), ...args], { cwd: options.cwd ?? REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  p.child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  p.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  await p.exitWithin(options.timeoutMs ?? 60_000);
  return { code: p.exitCode, stdout, stderr };
}
