/**
 * Nothing left behind, nothing lost (issue 10): a real `node bin/hil.js test ...` run is started,
 * seen to be in progress (a test passed: a line of its output, never a sleep), its process tree is
 * sampled from /proc, a real signal is sent, and then, by process tree and file system:
 * - no process it started survives (each sampled pid, matched with its start time, is gone),
 * - no temp folder it made remains (each run has its own TMPDIR, which must end empty; the only
 *   entry allowed is tsx's compile cache, linked in so that startup stays fast),
 * - the exit code is the documented one (130 SIGINT, 143 SIGTERM; SIGKILL: killed),
 * - junit.xml and run.json exist, with the tests that ran and the rest not run, "interrupted by …".
 *
 * The matrix (see CASES): every signal kind (SIGINT and SIGTERM to the pid and to the process group,
 * SIGKILL) on the sim; SIGINT and SIGTERM to the pid, SIGINT to the group and SIGKILL on QEMU; and
 * for a parallel run of both (--board sim --board qemu-stm32f4) SIGTERM and SIGINT to the pid and to
 * the group, and SIGKILL. A signal to the group reaches hil alone (its children have their own
 * process groups, managed.ts), which then stops them in order. Run by `npm test` as its own step
 * (scripts/test-all.js).
 */
import { expect } from 'chai';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../host/src/process/managed.js';
import { REPO_ROOT } from '../host/src/targets/toolchain.js';

interface Proc {
  pid: number;
  ppid: number;
  state: string;
  start: string;
  cmd: string;
}

/** One process's /proc entry, or undefined when it is gone. */
function procOf(pid: number): Proc | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may hold spaces: the fields after the last ')'.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    return { pid, ppid: Number(f[1]), state: f[0]!, start: f[19]!, cmd };
  } catch {
    return undefined;
  }
}

/** `root` and every process below it, now. */
function processTree(root: number): Proc[] {
  const all = readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map((n) => procOf(Number(n))).filter((p): p is Proc => p !== undefined);
  const tree: Proc[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    const p = all.find((x) => x.pid === pid);
    if (p) tree.push(p);
    for (const c of all) if (c.ppid === pid) queue.push(c.pid);
  }
  return tree;
}

/** The sampled processes still running (same pid and start time, not a zombie). */
function survivors(sample: Proc[]): Proc[] {
  return sample.filter((s) => {
    const now = procOf(s.pid);
    return now !== undefined && now.start === s.start && now.state !== 'Z';
  });
}

/** Resolves once `check` is true (polled every 100 ms); rejects with `what` after timeoutMs. */
async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`not within ${timeoutMs} ms: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Sig = 'SIGINT' | 'SIGTERM' | 'SIGKILL';
interface Case {
  what: string;
  args: string[];
  signal: Sig;
  group: boolean;
  /** Processes the sample must hold (by command), so that the check is not vacuous. */
  expect: RegExp[];
  /** Board report folders (parallel), else the run's own report folder. */
  boards?: string[];
}

const single = (target: string, signal: Sig, group: boolean, proc: RegExp): Case => ({
  what: `hil test --target ${target}: ${signal}${signal === 'SIGKILL' ? '' : group ? ' to the process group' : ' to the pid'}`,
  // Paced like a 115200-baud adapter (the link emulator): on a bare pty the pipelined suite is over
  // in about a second, and the signal must arrive while tests remain.
  args: ['--target', target, '--reporter', 'spec', '--link', 'baud=115200'],
  signal,
  group,
  expect: [proc],
});
const parallel = (signal: Sig, group: boolean): Case => ({
  what: `hil test --board sim --board qemu-stm32f4 (parallel): ${signal}${signal === 'SIGKILL' ? '' : group ? ' to the process group' : ' to the pid'}`,
  // Paced like a 115200-baud USB-UART adapter (the link emulator), so that the sim's run (seconds
  // on a bare pty) is still in progress when QEMU's, slower to start, has passed a test.
  args: ['--board', 'sim', '--board', 'qemu-stm32f4', '--link', 'baud=115200'],
  signal,
  group,
  expect: [/cvm-sim/, /qemu-system-arm/, /hil\.js test --board sim /, /hil\.js test --board qemu-stm32f4 /],
  boards: ['sim', 'qemu-stm32f4'],
});
const SIM = /cvm-sim/;
const QEMU = /qemu-system-arm/;
const CASES: Case[] = [
  single('sim', 'SIGINT', false, SIM),
  single('sim', 'SIGTERM', false, SIM),
  single('sim', 'SIGINT', true, SIM),
  single('sim', 'SIGTERM', true, SIM),
  single('sim', 'SIGKILL', false, SIM),
  single('qemu', 'SIGINT', false, QEMU),
  single('qemu', 'SIGTERM', false, QEMU),
  single('qemu', 'SIGINT', true, QEMU),
  single('qemu', 'SIGKILL', false, QEMU),
  parallel('SIGTERM', false),
  parallel('SIGINT', false),
  parallel('SIGTERM', true),
  parallel('SIGINT', true),
  parallel('SIGKILL', false),
];

/** Checks one board's reports: the tests that ran, the rest not run for `reason` (a RegExp on it). */
function checkReports(dir: string, reason: RegExp, finished: boolean): { passed: number; notRun: number } {
  expect(existsSync(join(dir, 'junit.xml')), `${dir}/junit.xml`).to.equal(true);
  const run = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { finished: boolean; passed: number; notRun: number; tests: Array<{ outcome: string; reason?: string }> };
  expect(run.finished, `${dir}/run.json finished`).to.equal(finished);
  expect(run.passed, `${dir}: tests that passed before the signal`).to.be.greaterThan(0);
  const notRun = run.tests.filter((t) => t.outcome === 'not_run');
  expect(notRun.length, `${dir}: tests not run`).to.be.greaterThan(0);
  expect(run.tests.filter((t) => t.outcome === 'failed'), `${dir}: failed tests`).to.deep.equal([]);
  for (const t of notRun) expect(t.reason, `${dir}: a not-run reason`).to.match(reason);
  expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).to.match(/<skipped message="not run: /);
  return { passed: run.passed, notRun: notRun.length };
}

describe('signals: a run stopped by a signal leaves no process, no temp folder, and its reports', function () {
  this.timeout(120_000);
  let work: string;
  let hil: ManagedProcess | undefined;
  let sample: Proc[] = [];

  beforeEach(() => {
    work = mkdtempSync(join(tmpdir(), 'hil-signals-'));
    mkdirSync(join(work, 'tmp'));
    // tsx keeps its compile cache in the temp folder: linked in, so each run starts warm.
    const cache = `tsx-${userInfo().uid}`;
    if (existsSync(join(tmpdir(), cache))) symlinkSync(join(tmpdir(), cache), join(work, 'tmp', cache));
    sample = [];
  });

  afterEach(async () => {
    // Whatever happened: nothing of the run outlives the test.
    for (const p of survivors(sample)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    if (hil?.running) await hil.stop(500);
    hil = undefined;
    rmSync(work, { recursive: true, force: true });
  });

  for (const c of CASES) {
    it(c.what, async () => {
      const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: join(work, 'tmp'), FORCE_COLOR: '0' };
      delete env.HIL_TARGET;
      delete env.HIL_LINK;
      const reports = join(work, 'reports');
      hil = new ManagedProcess(`hil (${c.what})`, process.execPath, [join(REPO_ROOT, 'bin', 'hil.js'), 'test', ...c.args, '--report-dir', reports], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
      const p = hil;

      // In progress: a test passed (on every board of a parallel run: its console.log, dots).
      if (c.boards) {
        const dots = (b: string) => {
          const f = join(reports, b, 'console.log');
          return existsSync(f) && /^ {2}[.,!]*\./m.test(readFileSync(f, 'utf8'));
        };
        await until(() => c.boards!.every(dots) || !p.running, 90_000, () => `a passed test on every board; output:\n${p.output}`);
      } else {
        // ManagedProcess keeps output as latin1: the spec reporter's check mark, as those bytes.
        await p.waitFor(new RegExp(Buffer.from('✔').toString('latin1')), 90_000, 'a passed test');
        // The check mark is printed as the test passes, its record written as it ends: wait for that too.
        const recorded = () => {
          try {
            return (JSON.parse(readFileSync(join(reports, 'run.json'), 'utf8')) as { passed: number }).passed > 0;
          } catch {
            return false; // not written yet, or being replaced
          }
        };
        await until(() => recorded() || !p.running, 30_000, () => `a passed test in ${reports}/run.json`);
      }
      expect(p.running, `the run ended before the signal:\n${p.output}`).to.equal(true);
      sample = processTree(p.pid);
      for (const want of c.expect) expect(sample.map((s) => s.cmd), `the process tree before the signal`).to.satisfy((cmds: string[]) => cmds.some((x) => want.test(x)));

      process.kill(c.group ? -p.pid : p.pid, c.signal);
      const { timedOut } = await p.exitWithin(60_000);
      expect(timedOut, `hil did not exit after ${c.signal}:\n${p.output}`).to.equal(false);
      if (c.signal === 'SIGKILL') expect(p.exitSignal).to.equal('SIGKILL');
      else expect(p.exitCode, `exit code; output:\n${p.output.slice(-3000)}`).to.equal(c.signal === 'SIGINT' ? 130 : 143);

      // Every process it started is gone (a board process SIGTERMed by its parent's death cleans up first).
      await until(() => survivors(sample).length === 0, 30_000, () => `still running: ${survivors(sample).map((s) => `${s.pid} ${s.cmd}`).join('; ')}`);
      const left = readdirSync(join(work, 'tmp')).filter((n) => !n.startsWith('tsx-'));
      expect(left, 'temp folders left behind').to.deep.equal([]);

      if (c.boards) {
        // A SIGKILLed parent: each board got SIGTERM (its parent-death signal) and reported that.
        const reason = new RegExp(`^interrupted by ${c.signal === 'SIGKILL' ? 'SIGTERM' : c.signal}$`);
        for (const b of c.boards) checkReports(join(reports, b), reason, true);
        if (c.signal !== 'SIGKILL') {
          expect(p.output).to.match(/board +passed +failed +pending +duration +result/);
          for (const b of c.boards) expect(p.output).to.match(new RegExp(`^${b} .* INTERRUPTED `, 'm'));
        }
      } else if (c.signal === 'SIGKILL') {
        // Killed outright: the record written after the last test that ended, the rest not run.
        checkReports(reports, /^the run did not finish/, false);
      } else {
        checkReports(reports, new RegExp(`^interrupted by ${c.signal}$`), true);
      }
    });
  }
});
