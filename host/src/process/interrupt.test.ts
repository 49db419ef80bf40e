/**
 * The process layer's guarantees that need no target: temp folders named by their owner's pid
 * (stale ones reaped by the next tempDir, live ones kept), exit codes of signals, children started
 * with a parent-death signal (they die with a SIGKILLed parent), and setpriv missing: an error
 * naming util-linux under CI=true, a warning elsewhere. The whole-run cases (sim, QEMU, parallel)
 * are scripts/signals.test.ts.
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, liveChildPids } from './managed.js';
import { signalExitCode, signalOfExitCode, tempDir } from './interrupt.js';

/** A pid that is not running: a child that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const p = new ManagedProcess('true', 'true', []);
  await p.exited;
  return p.pid;
}

/** Runs `code` (TypeScript, an ES module) in a fresh node with tsx, with `env`; its exit code and output. */
async function node(code: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const p = new ManagedProcess('node (test)', process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  await p.exitWithin(30_000);
  return { code: p.exitCode, output: p.output };
}

describe('process: interruption, temp folders, parent-death signal', function () {
  this.timeout(30_000);
  let dir: string;
  let saved: string | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hil-interrupt-test-'));
    saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(dir, { recursive: true, force: true });
    expect(liveChildPids(), 'no child outlives a test').to.deep.equal([]);
  });

  it('exit codes: 128 + the signal number, and back', () => {
    expect([signalExitCode('SIGINT'), signalExitCode('SIGTERM'), signalExitCode('SIGHUP')]).to.deep.equal([130, 143, 129]);
    expect([signalOfExitCode(130), signalOfExitCode(143), signalOfExitCode(1)]).to.deep.equal(['SIGINT', 'SIGTERM', undefined]);
  });

  it('tempDir: named with its pid, removed by remove(); a stale folder of a dead owner is reaped, a live owner\'s kept', async () => {
    const dead = await deadPid();
    const stale = join(dir, `hil-t-${dead}-abc123`);
    const live = join(dir, `hil-t-${process.ppid}-def456`);
    const other = join(dir, `hil-u-${dead}-ghi789`);
    for (const d of [stale, live, other]) mkdirSync(d);
    const t = tempDir('hil-t-');
    expect(t.path.startsWith(join(dir, `hil-t-${process.pid}-`))).to.equal(true);
    expect(existsSync(t.path)).to.equal(true);
    expect(existsSync(stale), 'stale folder of a dead pid').to.equal(false);
    expect(existsSync(live), 'a running owner keeps its folder').to.equal(true);
    expect(existsSync(other), 'another prefix is not ours to reap').to.equal(true);
    t.remove();
    t.remove();
    expect(existsSync(t.path)).to.equal(false);
  });

  it('a SIGKILLed parent takes its children with it (setpriv --pdeathsig: the forking thread, Node\'s main thread), and its temp folder is reaped by the next tempDir', async () => {
    // The parent: starts a long sleep and makes a temp folder, prints both, then waits to be killed.
    const code = `
      import { ManagedProcess } from ${JSON.stringify(join(import.meta.dirname, 'managed.ts'))};
      import { tempDir } from ${JSON.stringify(join(import.meta.dirname, 'interrupt.ts'))};
      import { Worker } from 'node:worker_threads';
      const p = new ManagedProcess('sleep', 'sleep', ['300']);
      const t = tempDir('hil-t-');
      // The death signal follows the forking thread: a child forked from a worker thread dies when
      // that worker ends; the main thread's (every ManagedProcess of hil) lives on.
      const worker = new Worker(\`
        const { spawn } = await import('node:child_process');
        const { readFileSync } = await import('node:fs');
        const { parentPort } = await import('node:worker_threads');
        const c = spawn('setpriv', ['--pdeathsig', 'KILL', '--', 'sleep', '301'], { stdio: 'ignore' });
        const exec = () => { try { return readFileSync('/proc/' + c.pid + '/cmdline', 'utf8').includes('301'); } catch { return false; } };
        const wait = () => (exec() ? parentPort.postMessage(c.pid) : setTimeout(wait, 10));
        wait();
      \`, { eval: true });
      const workerChild = await new Promise((resolve) => worker.once('message', resolve));
      await worker.terminate();
      console.log('READY ' + p.pid + ' ' + t.path + ' ' + workerChild);
      setInterval(() => {}, 1000);
    `;
    const parent = new ManagedProcess('node (parent)', process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { env: { ...process.env, TMPDIR: dir }, stdio: ['ignore', 'pipe', 'pipe'] });
    const m = await parent.waitFor(/READY (\d+) (\S+) (\d+)/, 20_000, 'READY');
    const child = Number(m[1]);
    const startOf = (pid: number) => {
      try {
        const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return s.slice(s.lastIndexOf(')') + 2).split(' ')[19];
      } catch {
        return undefined;
      }
    };
    // setpriv sets the death signal, then execs: once the child is sleep, the signal is set (a parent
    // killed in the microseconds before that is the documented window, managed.ts).
    const cmd = () => {
      try {
        return readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0')[0];
      } catch {
        return undefined;
      }
    };
    for (let i = 0; i < 200 && !/(^|\/)sleep$/.test(cmd() ?? ''); i++) await new Promise((r) => setTimeout(r, 25));
    expect(cmd(), 'the child has become sleep').to.match(/(^|\/)sleep$/);
    const start = startOf(child);
    expect(start, 'the sleep runs').to.be.a('string');
    const workerChild = Number(m[3]);
    const gone = (pid: number) => {
      const st = (() => {
        try {
          const x = readFileSync(`/proc/${pid}/stat`, 'utf8');
          return x.slice(x.lastIndexOf(')') + 2).split(' ')[0];
        } catch {
          return undefined;
        }
      })();
      return st === undefined || st === 'Z';
    };
    for (let i = 0; i < 100 && !gone(workerChild); i++) await new Promise((r) => setTimeout(r, 50));
    expect(gone(workerChild), "the worker thread's child died with that thread").to.equal(true);
    expect(startOf(child), "the main thread's child lives on").to.equal(start);
    process.kill(parent.pid, 'SIGKILL');
    await parent.exited;
    for (let i = 0; i < 100 && startOf(child) === start; i++) await new Promise((r) => setTimeout(r, 50));
    expect(startOf(child), 'the child died with its parent').to.not.equal(start);
    expect(existsSync(m[2]!), 'SIGKILL runs no hook: the folder is still there').to.equal(true);
    tempDir('hil-t-').remove();
    expect(existsSync(m[2]!), 'the next tempDir reaped it').to.equal(false);
  });

  describe('setpriv missing', () => {
    const start = `
      import { ManagedProcess } from ${JSON.stringify(join(import.meta.dirname, 'managed.ts'))};
      import { exitCodeOf } from ${JSON.stringify(join(import.meta.dirname, '..', 'orchestrator', 'exit-codes.ts'))};
      try { const p = new ManagedProcess('true', '/bin/true', []); await p.exited; console.log('RAN ' + p.exitReason); }
      catch (e) { console.log('ERROR ' + e.message); process.exitCode = exitCodeOf(e); }
    `;
    it('under CI=true: an error naming the package util-linux (exit 2)', async () => {
      const r = await node(start, { ...process.env, PATH: dir, CI: 'true' });
      expect(r.output).to.match(/^ERROR setpriv not found: it is needed to stop the processes hil starts when hil itself is killed \(SIGKILL\); install the Debian package util-linux/m);
      expect(r.code).to.equal(2);
    });
    it('elsewhere: one warning, and the child runs without it', async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: dir };
      delete env.CI;
      const r = await node(start, env);
      expect(r.output).to.match(/hil: warning: setpriv not found: .*util-linux.*without it a SIGKILLed hil leaves its children running/);
      expect(r.output).to.match(/^RAN exit code 0$/m);
      expect(r.code).to.equal(0);
    });
  });
});
