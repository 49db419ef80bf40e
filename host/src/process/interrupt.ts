/**
 * What this process does when it is told to stop (SIGINT, SIGTERM, SIGHUP) or exits, and the temp
 * folders it owns: the one place signals are handled, so that every path (normal end, error,
 * signal) reaps the children (managed.ts) and removes the temp folders (tempDir below).
 *
 * A signal with no graceful handler registered (onInterrupt) reaps at once and exits 128 + the
 * signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP). With handlers (a suite run, a parallel
 * run), each is called once with the signal and the process is left to end by itself: the
 * handlers stop the run, write its reports and close its targets. That is bounded: past the
 * largest grace a handler asked for, the process reaps and exits anyway. A repeated signal meanwhile
 * changes nothing (a Ctrl-C reaches a whole process group: a board process of a parallel run gets it
 * from the terminal and again forwarded by its parent), so the bound, not a second Ctrl-C, ends a
 * cleanup that hangs.
 *
 * SIGKILL cannot be caught: for it, children are started with a parent-death signal (managed.ts),
 * and temp folders carry their owner's pid in their name, so the next tempDir() of the same prefix
 * removes those whose owner is gone.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';

export type InterruptSignal = 'SIGINT' | 'SIGTERM' | 'SIGHUP';
const SIGNALS: readonly InterruptSignal[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit code of a run ended by `signal`: 128 + its number (130 SIGINT, 143 SIGTERM, 129 SIGHUP). */
export function signalExitCode(signal: InterruptSignal): number {
  return 128 + constants.signals[signal];
}

/** The signal an exit code stands for (130 → SIGINT), when it is one of ours. */
export function signalOfExitCode(code: number | null): InterruptSignal | undefined {
  return SIGNALS.find((s) => signalExitCode(s) === code);
}

interface Handler {
  fn: (signal: InterruptSignal) => void;
  graceMs: number;
}

// Module state: one instance per process (see managed.ts).
const state = {
  hooked: false,
  handlers: new Set<Handler>(),
  /** Run at the end, synchronously: kill the live children (managed.ts registers it). */
  reapers: new Set<() => void>(),
  temps: new Set<string>(),
  interrupted: undefined as InterruptSignal | undefined,
};

/** Kills every live child and removes every temp folder, synchronously (exit hooks, the bound). */
export function reapNow(): void {
  for (const r of state.reapers) r();
  for (const d of state.temps) rmSync(d, { recursive: true, force: true });
  state.temps.clear();
}

function onSignal(signal: InterruptSignal): void {
  if (state.interrupted) {
    // Once is enough: see the file comment.
    process.stderr.write(`hil: ${signal} again: still stopping (bounded), please wait\n`);
    return;
  }
  state.interrupted = signal;
  // The terminal or the parent that reads our output may be gone: a write must not end the cleanup.
  for (const s of [process.stdout, process.stderr]) s.on('error', () => undefined);
  const handlers = [...state.handlers];
  if (!handlers.length) {
    reapNow();
    process.exit(signalExitCode(signal));
  }
  const grace = Math.max(...handlers.map((h) => h.graceMs));
  // unref: the bound must not keep a process alive that has finished its cleanup.
  setTimeout(() => {
    process.stderr.write(`hil: cleanup after ${signal} did not finish within ${grace} ms: stopping its processes now\n`);
    reapNow();
    process.exit(signalExitCode(signal));
  }, grace).unref();
  for (const h of handlers) h.fn(signal);
}

/** Installs the signal and exit hooks (once per process). */
export function hookProcess(): void {
  if (state.hooked) return;
  state.hooked = true;
  process.on('exit', reapNow);
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

/** Adds a synchronous last-resort step (kill the live children) run on exit and past the bound. */
export function addReaper(reap: () => void): void {
  hookProcess();
  state.reapers.add(reap);
}

/**
 * Calls `fn` once with the signal when this process is told to stop, instead of exiting at once;
 * the caller then stops what it runs, and the process ends by itself. Past `graceMs` (the largest
 * of the registered handlers') it is ended anyway. Returns the unregister function.
 */
export function onInterrupt(fn: (signal: InterruptSignal) => void, graceMs: number): () => void {
  hookProcess();
  const h = { fn, graceMs };
  state.handlers.add(h);
  return () => state.handlers.delete(h);
}

/** The signal that interrupted this process, if one did. */
export function interruptedBy(): InterruptSignal | undefined {
  return state.interrupted;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface TempDir {
  readonly path: string;
  /** Removes it (and forgets it); safe to call twice. */
  remove(): void;
}

/**
 * A fresh folder `<tmpdir>/<prefix><pid>-XXXXXX`, removed by remove(), or when this process exits
 * or is interrupted, whichever comes first. Folders of the same prefix whose owner (the pid in
 * their name) is no longer running, left by a process that was SIGKILLed, are removed first.
 */
export function tempDir(prefix: string): TempDir {
  hookProcess();
  const root = tmpdir();
  const mine = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)-`);
  for (const name of readdirSync(root)) {
    const m = mine.exec(name);
    if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) rmSync(join(root, name), { recursive: true, force: true });
  }
  const path = mkdtempSync(join(root, `${prefix}${process.pid}-`));
  state.temps.add(path);
  return {
    path,
    remove() {
      state.temps.delete(path);
      rmSync(path, { recursive: true, force: true });
    },
  };
}
