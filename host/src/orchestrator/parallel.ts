/**
 * Runs the HIL suite against several boards at once, each in its own `hil test` process with its
 * own console log, JUnit file and JSON run record under reportRoot/<board>/. Output lines are
 * shown live, prefixed with the board, so a CI log stays readable; a board's serial output can
 * never be credited to another board's run because each run owns its process and its port.
 * Ends with a table: board, passed, failed, pending, duration, result, not run; and writes
 * reportRoot/index.html, one page with every board's run, linking each board's own page.
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
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
  if (new Set(names).size !== names.length) throw new UsageError(`two boards would share a report folder: ${names.join(', ')}; give boards with different names`);
  const width = Math.max(...names.map((n) => n.length));
  const runs = await Promise.all(
    boards.map(async (board, i): Promise<BoardRun> => {
      const name = names[i]!;
      const reportDir = join(options.reportRoot, name);
      const made = !existsSync(reportDir);
      mkdirSync(reportDir, { recursive: true });
      // A record an earlier run left here would pass for this run's.
      for (const f of ['run.json', 'junit.xml']) rmSync(join(reportDir, f), { force: true });
      const log = createWriteStream(join(reportDir, 'console.log'));
      const args = [join(REPO_ROOT, 'bin', 'hil.js'), 'test', '--board', board, '--report-dir', reportDir, '--reporter', 'dot', ...(options.grep ? ['--grep', options.grep] : []), ...(options.args ?? [])];
      const t0 = Date.now();
      const p = new ManagedProcess(`hil test --board ${board}`, process.execPath, args, { env: { ...process.env, FORCE_COLOR: '0' } });
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
      const base = { board, reportDir, exitCode: p.exitCode, durationMs: Date.now() - t0 };
      if (!existsSync(recordFile)) {
        // A run that never started said why in one line (`hil: ...`): the summary shows it.
        const said = [...`${partial}`.split('\n'), ...lastLines].reverse().find((l) => l.startsWith('hil: '));
        const setup = p.exitCode === EXIT.usage || p.exitCode === EXIT.target;
        const problem = setup && said ? `did not start (exit ${p.exitCode}): ${said.slice(5)}` : `no run record: the run ended (${p.exitSignal ?? `exit ${p.exitCode}`}) before the suite finished; see ${join(reportDir, 'console.log')}`;
        // A run that never started leaves no report folder (its one line is in the summary).
        if (setup && said) rmSync(made ? reportDir : join(reportDir, 'console.log'), { recursive: true, force: true });
        return { ...base, passed: 0, failed: setup ? 0 : 1, pending: 0, notRun: 0, problem };
      }
      const rec = JSON.parse(readFileSync(recordFile, 'utf8')) as RunRecord;
      return { ...base, passed: rec.passed, failed: rec.failed, pending: rec.pending, notRun: rec.notRun, durationMs: rec.durationMs };
    }),
  );
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
 * be reached (exited 3), else 2 if a board exited 2 (its setup or options), else 0.
 */
export function parallelExitCode(runs: BoardRun[]): 0 | 1 | 2 | 3 {
  if (runs.some((r) => r.failed > 0 || (r.problem !== undefined && !neverStarted(r)) || r.exitCode === EXIT.testsFailed || r.exitCode === null)) return EXIT.testsFailed;
  if (runs.some((r) => r.notRun > 0 || r.exitCode === EXIT.target)) return EXIT.target;
  if (runs.some((r) => r.exitCode !== EXIT.ok)) return EXIT.usage;
  return EXIT.ok;
}

export function formatSummary(runs: BoardRun[]): string {
  const w = Math.max(5, ...runs.map((r) => r.board.length));
  const result = (r: BoardRun) => (neverStarted(r) ? 'NOT RUN' : r.failed || r.problem || (r.exitCode !== 0 && r.exitCode !== 3) ? 'FAIL' : r.notRun || r.exitCode === 3 ? 'NOT RUN' : 'ok');
  const rows = runs.map((r) =>
    `${r.board.padEnd(w)}  ${String(r.passed).padStart(6)}  ${String(r.failed).padStart(6)}  ${String(r.pending).padStart(7)}  ${(r.durationMs / 1000).toFixed(1).padStart(8)} s  ${result(r).padEnd(7)}  ${String(r.notRun).padStart(7)}  ${r.problem ?? join(r.reportDir, 'junit.xml')}`);
  return [`${'board'.padEnd(w)}  passed  failed  pending  duration    result   not run  report`, ...rows].join('\n');
}
