/**
 * Tools a step runs (socat, make, gcc, qemu-system-arm, a flash tool): whether they are on PATH,
 * and the error naming the Debian package when one is missing (exit 2, orchestrator/exit-codes.ts: the user's to install).
 */
import { spawnSync } from 'node:child_process';

/** A tool is missing: `message` names it, what it was needed for, and the Debian package. */
export class MissingToolError extends Error {
  constructor(readonly tool: string, readonly debianPackage: string, purpose: string) {
    super(`${tool} not found: it is needed to ${purpose}; install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
    this.name = 'MissingToolError';
  }
}

/** True when `tool` is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/** Throws MissingToolError when `tool` is not on PATH. */
export function requireTool(tool: string, debianPackage: string, purpose: string): void {
  if (!hasTool(tool)) throw new MissingToolError(tool, debianPackage, purpose);
}

