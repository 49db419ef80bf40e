/**
 * Runs the HIL suite against several boards at once, each in its own `hil test` process with its
 * own console log, JUnit file and JSON run record under reportRoot/<board>/. Output lines are
 * shown live, prefixed with the board, so a CI log stays readable; a board's serial output can
 * never be credited to another board's run because each run owns its process and its port.
 * Ends with a table: board, passed, failed, pending, duration, result, not run.
 *
 * Interrupted (SIGINT, SIGTERM, SIGHUP), the signal is forwarded to every board process, which
 * stops its run as one run does (run-suite.ts: reports written, target closed); each gets
 * BOARD_STOP_GRACE_MS to end before SIGKILL. The table is printed from their records as usual, with
 * the boards marked INTERRUPTED, and the exit code is 128 + the signal's number. Each board process
 * gets SIGTERM should this one die without a word (its parent-death signal, process/managed.ts).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { onInterrupt, signalExitCode, type InterruptSignal } from '../process/interrupt.js';
import { INTERRUPT_GRACE_MS } from './run-suite.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import type { RunRecord } from './reporter.js';

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
  options: { grep?: string; reportRoot: string; out?: (line: string) => void; /** More `hil test` arguments for every board (spec files, --config). */ args?: string[] },
): Promise<BoardRun[]> {
  const out = options.out ?? ((l: string) => console.log(l));
  const names = boards.map(reportName);
  if (new Set(names).size !== names.length) throw new Error(`two boards would share a report folder: ${names.join(', ')}`);
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
      mkdirSync(reportDir, { recursive: true });
      const log = createWriteStream(join(reportDir, 'console.log'));
      const args = [join(REPO_ROOT, 'bin', 'hil.js'), 'test', '--board', board, '--report-dir', reportDir, '--reporter', 'dot', ...(options.grep ? ['--grep', options.grep] : []), ...(options.args ?? [])];
      const t0 = Date.now();
      const p = new ManagedProcess(`hil test --board ${board}`, process.execPath, args, { env: { ...process.env, FORCE_COLOR: '0' }, deathSignal: 'SIGTERM' });
      running.add(p);
      void p.exited.then(() => running.delete(p));
      let partial = '';
      const onData = (d: Buffer) => {
        log.write(d);
        const text = partial + d.toString('utf8');
        const lines = text.split('\n');
        partial = lines.pop()!;
        for (const l of lines) if (l.trim()) out(`[${name.padEnd(width)}] ${l}`);
      };
      p.child.stdout!.on('data', onData);
      p.child.stderr!.on('data', onData);
      await p.exited;
      if (partial.trim()) out(`[${name.padEnd(width)}] ${partial}`);
      await new Promise<void>((resolve) => log.end(resolve));
      const recordFile = join(reportDir, 'run.json');
      const base = { board, reportDir, exitCode: p.exitCode, durationMs: Date.now() - t0, ...(interrupted ? { interrupted } : {}) };
      const rec = existsSync(recordFile) ? (JSON.parse(readFileSync(recordFile, 'utf8')) as RunRecord) : undefined;
      const counts = rec ? { passed: rec.passed, failed: rec.failed, pending: rec.pending, notRun: rec.notRun } : { passed: 0, failed: 1, pending: 0, notRun: 0 };
      // A record the run did not finish (written while it went on) counts what it holds, and says so.
      if (!rec?.finished) return { ...base, ...counts, problem: `${rec ? 'an unfinished run record' : 'no run record'}: the run ended (${p.exitReason}) before the suite finished; see ${join(reportDir, 'console.log')}` };
      return { ...base, ...counts, durationMs: rec.durationMs };
    }),
  );
  off();
  return runs;
}

/**
 * The exit code of a parallel run, by the same rule as one run's (run-suite.ts SuiteExitCode):
 * 1 if any board had a failing test or ended without a record, else 3 if any board had tests that
 * could not run (or exited 3), else 2 if a board exited 2, else 0; 128 + the signal's number
 * (130 SIGINT, 143 SIGTERM) when the run was interrupted.
 */
export function parallelExitCode(runs: BoardRun[]): number {
  const signal = runs.find((r) => r.interrupted)?.interrupted;
  if (signal) return signalExitCode(signal);
  if (runs.some((r) => r.failed > 0 || r.problem !== undefined || r.exitCode === 1 || r.exitCode === null)) return 1;
  if (runs.some((r) => r.notRun > 0 || r.exitCode === 3)) return 3;
  if (runs.some((r) => r.exitCode !== 0)) return 2;
  return 0;
}

export function formatSummary(runs: BoardRun[]): string {
  const w = Math.max(5, ...runs.map((r) => r.board.length));
  const rw = runs.some((r) => r.interrupted) ? 11 : 7;
  const result = (r: BoardRun) => (r.interrupted ? 'INTERRUPTED' : r.failed || r.problem || (r.exitCode !== 0 && r.exitCode !== 3) ? 'FAIL' : r.notRun || r.exitCode === 3 ? 'NOT RUN' : 'ok');
  const rows = runs.map((r) =>
    `${r.board.padEnd(w)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.pending).padStart(7)}  ${(r.durationMs / 1000).toFixed(1).padStart(8)} s  ${result(r).padEnd(rw)}  ${String(r.notRun).padStart(7)}  ${r.problem ?? join(r.reportDir, 'junit.xml')}`);
  return [`${'board'.padEnd(w)}  passed  failed  pending  duration    ${'result'.padEnd(rw)}  not run  report`, ...rows].join('\n');
}
