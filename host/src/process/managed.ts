/**
 * Child processes a target needs (socat, the sim, QEMU, make, a flash tool): started, watched, and always reaped.
 * Every live child is in one registry; stopping sends SIGTERM, then SIGKILL by pid after a
 * bounded wait (QEMU blocked on a pty write ignores SIGTERM). The registry is emptied when this
 * process exits or is interrupted, so no run, passing or failing or Ctrl-C'd, leaves an orphan.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

// One registry for the process. Module state, not globalThis: the runner loads the suite as ESM
// only (orchestrator/run-suite.ts loadSpecFiles), so this module has one instance per process.
const registry = { live: new Set<ManagedProcess>(), hooked: false };
const live = registry.live;

function hookExit(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  process.on('exit', () => {
    for (const p of live) p.killNow();
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      for (const p of live) p.killNow();
      process.kill(process.pid, sig);
    });
  }
}

/** The pids of the children started by this process that are still running. */
export function liveChildPids(): number[] {
  return [...live].map((p) => p.pid);
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything the child wrote, both streams, for error messages (last 16 KiB). */
  output = '';
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  readonly exited: Promise<void>;

  constructor(readonly label: string, command: string, args: string[], options: SpawnOptions = {}) {
    hookExit();
    this.child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
    if (this.child.pid === undefined) {
      // spawn reports ENOENT asynchronously; make the failure synchronous and specific.
      throw new Error(`${label}: could not start ${command}`);
    }
    this.pid = this.child.pid;
    live.add(this);
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString('latin1')).slice(-16384);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.child.on('error', (e) => keep(Buffer.from(`\n[${label}: ${e.message}]\n`)));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        live.delete(this);
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** Resolves with the first match of `pattern` in the child's output; rejects on exit or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(this.output);
        if (m) {
          done();
          resolve(m);
        }
      };
      const onExit = () => {
        done();
        reject(new Error(`${this.label} exited (${this.exitSignal ?? `code ${this.exitCode}`}) before ${what}; its output:\n${this.output.trim() || '(none)'}`));
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms; its output so far:\n${this.output.trim() || '(none)'}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.child.stdout?.off('data', check);
        this.child.stderr?.off('data', check);
        this.child.off('close', onExit);
      };
      this.child.stdout?.on('data', check);
      this.child.stderr?.on('data', check);
      this.child.on('close', onExit);
      check();
      if (!this.running) onExit();
    });
  }

  /**
   * Waits for the child to exit by itself, at most timeoutMs; past that it is stopped (stop()).
   * Resolves once it is gone, with whether the bound was hit.
   */
  async exitWithin(timeoutMs: number): Promise<{ timedOut: boolean }> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      void this.stop();
    }, timeoutMs);
    await this.exited;
    clearTimeout(timer);
    return { timedOut };
  }

  /** SIGTERM, then SIGKILL after graceMs; resolves once the child is gone. */
  async stop(graceMs = 2000): Promise<void> {
    if (!this.running) return this.exited;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.killNow(), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL by pid, synchronously (for exit hooks). */
  killNow(): void {
    if (!this.running) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
