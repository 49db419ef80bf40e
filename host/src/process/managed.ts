/**
 * Child processes a target needs (socat, the sim, QEMU, make, a flash tool, a board's `hil test`):
 * started, watched, and always reaped. This is the one place the product starts a process.
 * Every live child is in one registry; stopping sends SIGTERM, then SIGKILL by pid after a
 * bounded wait (QEMU blocked on a pty write ignores SIGTERM). The registry is emptied when this
 * process exits or is interrupted (interrupt.ts), so no run, passing or failing or Ctrl-C'd, leaves
 * an orphan.
 *
 * A SIGKILLed parent (a CI time limit, the OOM killer) runs no hook, so every child is also started
 * with a parent-death signal: `setpriv --pdeathsig SIG -- command ...` (util-linux, on every Debian
 * system) sets PR_SET_PDEATHSIG and then execs the command, so the child keeps its pid and gets SIG
 * the moment this process dies, however it dies. Why setpriv rather than the alternatives: a
 * watched stdin pipe needs every tool's cooperation (only the sim has --exit-on-stdin-eof; QEMU and
 * socat have no such option), and a supervisor process would be one more process to orphan. The
 * death signal fires when the *thread* that forked exits: libuv forks from the thread that calls
 * spawn(), Node's main thread here, which lives as long as the process (a ManagedProcess made in a
 * worker thread would die with that worker). It is not inherited by the child's own children (make
 * → gcc: they finish their file and exit), and a parent killed in the moment between the fork and
 * setpriv's prctl (microseconds, before the child has become the command) is not seen. A child that would die at once with setpriv missing is
 * worse than one that may outlive a SIGKILL, so without setpriv the children are started plainly
 * with one warning, except under CI=true, where it is an error naming the package.
 *
 * Every child gets its own process group (spawn's `detached`): a Ctrl-C at the terminal, or a
 * signal to hil's group, reaches hil alone, which stops its run in order (the running test given
 * up, reports written, then its children stopped: interrupt.ts), rather than the children dying
 * under a run that still thinks they are there. A parallel run forwards the signal to its board
 * processes itself (orchestrator/parallel.ts).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { addReaper } from './interrupt.js';
import { MissingToolError, whichCommand } from './tools.js';

// One registry for the process. Module state (one per process): the runner loads the suite as ESM
// only (orchestrator/run-suite.ts loadSpecFiles), so this module has one instance per process.
const registry = { live: new Set<ManagedProcess>(), hooked: false, setpriv: undefined as string | null | undefined };
const live = registry.live;

function hookExit(): void {
  if (registry.hooked) return;
  registry.hooked = true;
  addReaper(() => {
    for (const p of live) p.killNow();
  });
}

/** setpriv's path, or null without it (warned once; an error under CI=true). */
function setprivPath(): string | null {
  if (registry.setpriv !== undefined) return registry.setpriv;
  const found = whichCommand('setpriv') ?? null;
  if (!found) {
    const err = new MissingToolError('setpriv', 'util-linux', 'stop the processes hil starts when hil itself is killed (SIGKILL)');
    if (process.env.CI === 'true') throw err;
    process.stderr.write(`hil: warning: ${err.message}; without it a SIGKILLed hil leaves its children running\n`);
  }
  registry.setpriv = found;
  return found;
}

/** The signal a child gets when this process dies: SIGKILL for tools; SIGTERM for a child that cleans up itself (a board's hil test). */
export type DeathSignal = 'SIGKILL' | 'SIGTERM';

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

  /**
   * @param options spawn's options, and `deathSignal`: what the child gets when this process dies
   *   (default SIGKILL)
   */
  constructor(readonly label: string, command: string, args: string[], options: SpawnOptions & { deathSignal?: DeathSignal } = {}) {
    hookExit();
    const { deathSignal = 'SIGKILL', ...spawnOptions } = options;
    const setpriv = setprivPath();
    // setpriv would start and then fail to exec: find the command first, to fail here as spawn does.
    const resolved = setpriv ? whichCommand(command, typeof spawnOptions.cwd === 'string' ? spawnOptions.cwd : undefined) : command;
    if (resolved === undefined) throw new Error(`${label}: could not start ${command} (not found)`);
    const opts: SpawnOptions = { stdio: ['pipe', 'pipe', 'pipe'], detached: true, ...spawnOptions };
    this.child = setpriv ? spawn(setpriv, ['--pdeathsig', deathSignal.slice(3), '--', resolved, ...args], opts) : spawn(command, args, opts);
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

  /** How it ended, for messages: "killed by SIGSEGV", "exit code 1"; "running" while it runs. */
  get exitReason(): string {
    if (this.exitSignal) return `killed by ${this.exitSignal}`;
    return this.exitCode === null ? 'running' : `exit code ${this.exitCode}`;
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
        reject(new Error(`${this.label} exited (${this.exitReason}) before ${what}; its output:\n${this.output.trim() || '(none)'}`));
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
