/**
 * Runs the HIL suite against several boards at once, each in its own `hil test` process with its
 * own console log, JUnit file and JSON run record under reportRoot/<board>/. Output lines are
 * shown live, prefixed with the board, so a CI log stays readable; a board's serial output can
 * never be credited to another board's run because each run owns its process and its port.
 * Ends with a table: board, passed, failed, pending, duration, result, not run; and writes
 * reportRoot/index.html, one page with every board's run, linking each board's own page.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import type { RunRecord } from './reporter.js';
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
}

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
  const runs = await Promise.all(
    boards.map(async (board, i): Promise<BoardRun> => {
      const name = names[i]!;
      const reportDir = join(options.reportRoot, name);
      mkdirSync(reportDir, { recursive: true });
      const log = createWriteStream(join(reportDir, 'console.log'));
      const args = [join(REPO_ROOT, 'bin', 'hil.js'), 'test', '--board', board, '--report-dir', reportDir, '--reporter', 'dot', ...(options.grep ? ['--grep', options.grep] : []), ...(options.args ?? [])];
      const t0 = Date.now();
      const p = new ManagedProcess(`hil test --board ${board}`, process.execPath, args, { env: { ...process.env, FORCE_COLOR: '0' } });
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
      const base = { board, reportDir, exitCode: p.exitCode, durationMs: Date.now() - t0 };
      if (!existsSync(recordFile)) return { ...base, passed: 0, failed: 1, pending: 0, notRun: 0, problem: `no run record: the run ended (${p.exitSignal ?? `exit ${p.exitCode}`}) before the suite finished; see ${join(reportDir, 'console.log')}` };
      const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as RunRecord;
      return { ...base, passed: rec.passed, failed: rec.failed, pending: rec.pending, notRun: rec.notRun, durationMs: rec.durationMs };
    }),
  );
  // One page with every board, linking each board's own page (hil report merges folders the same way).
  const page = writeCombinedPage(options.reportRoot, runs.map((r) => r.reportDir));
  if (page) out(`report: ${page}`);
  return runs;
}

/**
 * The exit code of a parallel run, by the same rule as one run's (run-suite.ts SuiteExitCode):
 * 1 if any board had a failing test or ended without a record, else 3 if any board had tests that
 * could not run (or exited 3), else 2 if a board exited 2, else 0.
 */
export function parallelExitCode(runs: BoardRun[]): 0 | 1 | 2 | 3 {
  if (runs.some((r) => r.failed > 0 || r.problem !== undefined || r.exitCode === 1 || r.exitCode === null)) return 1;
  if (runs.some((r) => r.notRun > 0 || r.exitCode === 3)) return 3;
  if (runs.some((r) => r.exitCode !== 0)) return 2;
  return 0;
}

export function formatSummary(runs: BoardRun[]): string {
  const w = Math.max(5, ...runs.map((r) => r.board.length));
  const result = (r: BoardRun) => (r.failed || r.problem || (r.exitCode !== 0 && r.exitCode !== 3) ? 'FAIL' : r.notRun || r.exitCode === 3 ? 'NOT RUN' : 'ok');
  const rows = runs.map((r) =>
    `${r.board.padEnd(w)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.pending).padStart(7)}  ${(r.durationMs / 1000).toFixed(1).padStart(8)} s  ${result(r).padEnd(7)}  ${String(r.notRun).padStart(7)}  ${r.problem ?? join(r.reportDir, 'junit.xml')}`);
  return [`${'board'.padEnd(w)}  passed  failed  pending  duration    result   not run  report`, ...rows].join('\n');
}
