/**
 * Tools a step runs (socat, make, gcc, qemu-system-arm, a flash tool): whether they are on PATH,
 * and the error naming the Debian package when one is missing (exit 2, orchestrator/exit-codes.ts: the user's to install).
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';

/** A tool is missing: `message` names it, what it was needed for, and the Debian package. */
export class MissingToolError extends Error {
  constructor(readonly tool: string, readonly debianPackage: string, purpose: string) {
    super(`${tool} not found: it is needed to ${purpose}; install the Debian package ${debianPackage} (apt-get install -y ${debianPackage})`);
    this.name = 'MissingToolError';
  }
}

/** `command` resolved on PATH (as execvp would), or undefined when it is not there. */
export function whichCommand(command: string, cwd = process.cwd()): string | undefined {
  const candidates = command.includes('/') ? [isAbsolute(command) ? command : resolve(cwd, command)] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, command));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** True when `tool` is on PATH (or an executable path). */
export function hasTool(tool: string): boolean {
  return whichCommand(tool) !== undefined;
}

/** Throws MissingToolError when `tool` is not on PATH. */
export function requireTool(tool: string, debianPackage: string, purpose: string): void {
  if (!hasTool(tool)) throw new MissingToolError(tool, debianPackage, purpose);
}

