/**
 * Runs the HIL suite against several boards at once, each in its own `hil test` process with its
 * own console log, JUnit file and JSON run record under reportRoot/<board>/. Output lines are
 * shown live, prefixed with the board, so a CI log stays readable; a board's serial output can
 * never be credited to another board's run because each run owns its process and its port.
 * Ends with a table: board, passed, failed, pending, duration, result, not run; and writes
 * reportRoot/index.html, one page with every board's run, linking each board's own page.
 *
 * Interrupted (SIGINT, SIGTERM, SIGHUP), the signal is forwarded to every board process, which
 * stops its run as one run does (run-suite.ts: reports written, target closed); each gets
 * BOARD_STOP_GRACE_MS to end before SIGKILL. The table is printed from their records as usual, with
 * the boards marked INTERRUPTED, and the exit code is 128 + the signal's number. Each board process
 * gets SIGTERM should this one die without a word (its parent-death signal, process/managed.ts).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { onInterrupt, signalExitCode, type InterruptSignal } from '../process/interrupt.js';
import { INTERRUPT_GRACE_MS } from './run-suite.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import type { RunRecord } from './reporter.js';
import { EXIT, UsageError } from './exit-codes.js';
import { writeCombinedPage } from './report-merge.js';

export interface BoardRun {
  board: string;
  passed: number;
  failed: number;
  pending: number;
  /** Tests that could not run (link error, setup failure): see run.json for each reason. */
  notRun: number;
  durationMs: number;
  exitCode: number | null;
  reportDir: string;
  /** Why the run has no record (crashed before the suite ran, ...). */
  problem?: string;
  /** The signal the parallel run was interrupted by (forwarded to this board's process), if one was. */
  interrupted?: InterruptSignal;
}

/** Longest wait for a board process to stop after the forwarded signal, before SIGKILL: its own bound, and a margin. */
export const BOARD_STOP_GRACE_MS = INTERRUPT_GRACE_MS + 2_000;

/** A file-system-safe folder name for a board given by name or path. */
export function reportName(board: string): string {
  return board.replace(/\.json$/, '').replace(/^.*\//, '').replace(/[^A-Za-z0-9._-]+/g, '_') || 'board';
}

export async function runBoardsInParallel(
  boards: string[],
  options: { grep?: string; /** Each board's console reporter (default dot: its lines are prefixed with the board). */ reporter?: string; reportRoot: string; out?: (line: string) => void; /** More `hil test` arguments for every board (spec files, --config). */ args?: string[] },
): Promise<BoardRun[]> {
  const out = options.out ?? ((l: string) => console.log(l));
  const names = boards.map(reportName);
  if (new Set(names).size !== names.length) throw new UsageError(`two boards would share a report folder: ${names.join(', ')}; give boards with different names`);
  const width = Math.max(...names.map((n) => n.length));
  const running = new Set<ManagedProcess>();
  let interrupted: InterruptSignal | undefined;
  const off = onInterrupt((signal) => {
    interrupted = signal;
    out(`hil: ${signal}: forwarding it to ${running.size} board run(s) and waiting for their reports`);
    for (const p of running) {
      p.child.kill(signal);
      setTimeout(() => p.killNow(), BOARD_STOP_GRACE_MS).unref();
    }
  }, BOARD_STOP_GRACE_MS + 3_000);
  const runs = await Promise.all(
    boards.map(async (board, i): Promise<BoardRun> => {
      const name = names[i]!;
      const reportDir = join(options.reportRoot, name);
      const made = !existsSync(reportDir);
      mkdirSync(reportDir, { recursive: true });
      // A record an earlier run left here would pass for this run's.
      for (const f of ['run.json', 'junit.xml']) rmSync(join(reportDir, f), { force: true });
      const log = createWriteStream(join(reportDir, 'console.log'));
      const args = [join(REPO_ROOT, 'bin', 'hil.js'), 'test', '--board', board, '--report-dir', reportDir, '--reporter', options.reporter ?? 'dot', ...(options.grep ? ['--grep', options.grep] : []), ...(options.args ?? [])];
      const t0 = Date.now();
      const p = new ManagedProcess(`hil test --board ${board}`, process.execPath, args, { env: { ...process.env, FORCE_COLOR: '0' }, deathSignal: 'SIGTERM' });
      running.add(p);
      void p.exited.then(() => running.delete(p));
      let partial = '';
      const lastLines: string[] = [];
      const onData = (d: Buffer) => {
        log.write(d);
        const text = partial + d.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const l of lines) {
          if (!l.trim()) continue;
          out(`[${name.padEnd(width)}] ${l}`);
          lastLines.push(l);
          if (lastLines.length > 5) lastLines.shift();
        }
      };
      p.child.stdout!.on('data', onData);
      p.child.stderr!.on('data', onData);
      await p.exited;
      if (partial.trim()) out(`[${name.padEnd(width)}] ${partial}`);
      await new Promise<void>((resolve) => log.end(resolve));
      const recordFile = join(reportDir, 'run.json');
      const base = { board, reportDir, exitCode: p.exitCode, durationMs: Date.now() - t0, ...(interrupted ? { interrupted } : {}) };
      if (!existsSync(recordFile)) {
        // A run that never started said why in one line (`hil: ...`): the summary shows it.
        const said = [...`${partial}`.split('\n'), ...lastLines].reverse().find((l) => l.startsWith('hil: '));
        const setup = p.exitCode === EXIT.usage || p.exitCode === EXIT.target;
        if (setup && said) {
          // A run that never started leaves no report folder (its one line is in the summary).
          rmSync(made ? reportDir : join(reportDir, 'console.log'), { recursive: true, force: true });
          return { ...base, passed: 0, failed: 0, pending: 0, notRun: 0, problem: `did not start (exit ${p.exitCode}): ${said.slice(5)}` };
        }
      }
      const rec = existsSync(recordFile) ? (JSON.parse(readFileSync(recordFile, 'utf8')) as RunRecord) : undefined;
      const counts = rec ? { passed: rec.passed, failed: rec.failed, pending: rec.pending, notRun: rec.notRun } : { passed: 0, failed: 1, pending: 0, notRun: 0 };
      // A record the run did not finish (written while it went on) counts what it holds, and says so.
      if (!rec?.finished) return { ...base, ...counts, problem: `${rec ? 'an unfinished run record' : 'no run record'}: the run ended (${p.exitReason}) before the suite finished; see ${join(reportDir, 'console.log')}` };
      return { ...base, ...counts, durationMs: rec.durationMs };
    }),
  );
  off();
  // One page with every board, linking each board's own page (hil report merges folders the same way).
  const page = writeCombinedPage(options.reportRoot, runs.map((r) => r.reportDir));
  if (page) out(`report: ${page}`);
  return runs;
}

/** A board's run that never started: it ended, without a record, with a setup code (2 or 3; exit-codes.ts). */
const neverStarted = (r: BoardRun): boolean => r.problem !== undefined && (r.exitCode === EXIT.usage || r.exitCode === EXIT.target);

/**
 * The exit code of a parallel run, by the same rule as one run's (run-suite.ts SuiteExitCode):
 * 1 if any board had a failing test or ended without a record for another reason than a setup
 * error (it crashed, or was killed), else 3 if any board had tests that could not run or could not
 * be reached (exited 3), else 2 if a board exited 2 (its setup or options), else 0; 128 + the
 * signal's number (130 SIGINT, 143 SIGTERM) when the run was interrupted.
 */
export function parallelExitCode(runs: BoardRun[]): number {
  const signal = runs.find((r) => r.interrupted)?.interrupted;
  if (signal) return signalExitCode(signal);
  if (runs.some((r) => r.failed > 0 || (r.problem !== undefined && !neverStarted(r)) || r.exitCode === EXIT.testsFailed || r.exitCode === null)) return EXIT.testsFailed;
  if (runs.some((r) => r.notRun > 0 || r.exitCode === EXIT.target)) return EXIT.target;
  if (runs.some((r) => r.exitCode !== EXIT.ok)) return EXIT.usage;
  return EXIT.ok;
}

export function formatSummary(runs: BoardRun[]): string {
  const w = Math.max(5, ...runs.map((r) => r.board.length));
  const rw = runs.some((r) => r.interrupted) ? 11 : 7;
  const result = (r: BoardRun) => (r.interrupted ? 'INTERRUPTED' : neverStarted(r) ? 'NOT RUN' : r.failed || r.problem || (r.exitCode !== 0 && r.exitCode !== 3) ? 'FAIL' : r.notRun || r.exitCode === 3 ? 'NOT RUN' : 'ok');
  const rows = runs.map((r) =>
    `${r.board.padEnd(w)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.pending).padStart(7)}  ${(r.durationMs / 1000).toFixed(1).padStart(8)} s  ${result(r).padEnd(rw)}  ${String(r.notRun).padStart(7)}  ${r.problem ?? join(r.reportDir, 'junit.xml')}`);
  return [`${'board'.padEnd(w)}  passed  failed  pending  duration    ${'result'.padEnd(rw)}  not run  report`, ...rows].join('\n');
}
