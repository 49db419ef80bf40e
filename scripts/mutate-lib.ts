/**
 * What the C and TypeScript mutation runs share (issue 14): the reviewed list of equivalent
 * mutants, one table row per file, and the table itself.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A mutant's outcome, the same words for C and TypeScript. */
export type MutantOutcome = 'killed' | 'timeout' | 'survived' | 'invalid' | 'equivalent';

/** The fields of a mutant result a row is counted from. */
export interface Counted {
  /** The mutant's id: `<file>:<line>:<col>:...` (C) or `<line>:<col>:...` (TypeScript). */
  id: string;
  /** After the HIL suite alone. */
  hil: MutantOutcome;
  /** After the unit tests too. */
  withUnit: MutantOutcome;
}

/** One table row. Percentages are of the non-equivalent mutants that compiled (`run`). */
export interface FileRow {
  file: string;
  /** Mutants run: generated, minus equivalents, minus those that do not compile. */
  run: number;
  killedHil: number;
  killedWithUnit: number;
  /** Of `killed*`, how many were killed by the time bound (a hang). */
  timeouts: number;
  survived: number;
  invalid: number;
  equivalent: number;
  /**
   * Of `run`, the HIL survivors in code no wire request reaches (mutation/unreachable.txt). Every
   * mutant the HIL suite killed was reached, so its score on the rest is killedHil / (run - unreachable).
   */
  unreachable: number;
}

/**
 * The reviewed equivalent mutants: lines `file | mutant id | reason` (blank lines and '#'
 * comments ignored). Returns the set of `file\tid` keys. A line without a reason is an error:
 * every equivalent mutant is there for a stated reason.
 */
export function readEquivalents(path: string): Set<string> {
  const set = new Set<string>();
  if (!existsSync(path)) return set;
  readFileSync(path, 'utf8').split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(' | ');
    if (parts.length < 3 || !parts[2]!.trim()) throw new Error(`${path}:${i + 1}: expected "file | mutant id | reason", got "${line}"`);
    set.add(`${parts[0]!.trim()}\t${parts[1]!.trim()}`);
  });
  return set;
}

/** The repository root (scripts/..). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const UNREACHABLE_PATH = join(ROOT, 'mutation', 'unreachable.txt');

/** The source line a mutant id names: `cvm_pool.c:12:5:rel:<=` and `12:5:EqualityOperator:...` are line 12. */
export function mutantLine(id: string): number {
  return Number(/^(?:[^:]*\.(?:c|ts):)?(\d+):/.exec(id)?.[1] ?? NaN);
}

/** Whether a mutant lies in code no wire request reaches: (file as in a table row, mutant id). */
export type Unreachable = (file: string, id: string) => boolean;

/**
 * The reviewed list of code the wire cannot reach (mutation/unreachable.txt): the twin's host-side
 * API and option checks, the firmware's log sanitising, ... Mutants there still run and count in
 * every column; the table adds the HIL suite's share of the others, so a hole in code a test could
 * reach is never hidden among them. A killed mutant always counts as reached. Lines: `file | L<a>[-L<b>] | <text line a holds> | reason` (a
 * range of lines; the text guards against an entry left behind when the file changed: a mismatch
 * is an error) or `file | <mutant id> | reason` (one mutant). Blank lines and '#' comments ignored.
 */
export function readUnreachable(path = UNREACHABLE_PATH, root = ROOT): Unreachable {
  const ranges: { file: string; from: number; to: number }[] = [];
  const ids = new Set<string>();
  const sources = new Map<string, string[]>();
  const linesOf = (file: string): string[] => {
    let lines = sources.get(file);
    if (!lines) sources.set(file, (lines = readFileSync(join(root, file), 'utf8').split('\n')));
    return lines;
  };
  if (existsSync(path)) {
    readFileSync(path, 'utf8').split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const where = `${path}:${i + 1}`;
      const parts = line.split(' | ').map((p) => p.trim());
      const m = /^L(\d+)(?:-L(\d+))?$/.exec(parts[1] ?? '');
      if (m) {
        if (parts.length < 4 || !parts[2] || !parts[3]) throw new Error(`${where}: expected "file | L<a>-L<b> | <text of line a> | reason", got "${line}"`);
        const from = Number(m[1]);
        const to = Number(m[2] ?? m[1]);
        const text = linesOf(parts[0]!)[from - 1] ?? '';
        if (to < from || !text.includes(parts[2])) throw new Error(`${where}: line ${from} of ${parts[0]} no longer holds "${parts[2]}" (it holds "${text.trim()}"): review the entry`);
        ranges.push({ file: parts[0]!, from, to });
      } else {
        if (parts.length < 3 || !parts[2]) throw new Error(`${where}: expected "file | mutant id | reason", got "${line}"`);
        ids.add(`${parts[0]}\t${parts[1]}`);
      }
    });
  }
  return (file, id) => {
    if (ids.has(`${file}\t${id}`)) return true;
    const n = mutantLine(id);
    return ranges.some((r) => r.file === file && n >= r.from && n <= r.to);
  };
}

export function rowOf(file: string, results: Counted[], equivalent: number, unreachable: Unreachable = () => false): FileRow {
  const valid = results.filter((r) => r.hil !== 'invalid');
  const detected = (o: MutantOutcome) => o === 'killed' || o === 'timeout';
  return {
    file,
    run: valid.length,
    killedHil: valid.filter((r) => detected(r.hil)).length,
    killedWithUnit: valid.filter((r) => detected(r.withUnit)).length,
    timeouts: valid.filter((r) => r.withUnit === 'timeout').length,
    survived: valid.filter((r) => r.withUnit === 'survived').length,
    invalid: results.length - valid.length,
    equivalent,
    // A mutant the HIL suite killed was reached, listed or not: only the survivors of listed code are set apart.
    unreachable: valid.filter((r) => !detected(r.hil) && unreachable(file, r.id)).length,
  };
}

/**
 * The HIL survivors outside mutation/unreachable.txt: the holes a HIL test could close, one line
 * each. (A listed line may hold killed mutants too: a check whose failing branch only a host-side
 * caller reaches still runs for every request; those count as reached and killed.)
 */
export function unreachableReport(rows: { file: string; results: Counted[] }[], unreachable: Unreachable): string[] {
  const out: string[] = [];
  for (const { file, results } of rows) {
    for (const r of results) if (r.hil === 'survived' && !unreachable(file, r.id)) out.push(`survived the HIL suite in code a wire request reaches: ${file} ${r.id}`);
  }
  return out;
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');

/** The score a goal is checked against: killed / run, in percent (100 when nothing ran). */
export function score(row: Pick<FileRow, 'run'> & { killed: number }): number {
  return row.run ? (100 * row.killed) / row.run : 100;
}

/**
 * Prints the table of issue 14 as Markdown (one row per file and a total). Without unit tests
 * (`unit: false`, mutate.ts --no-unit) the unit-test column says "not run" and "survived" counts
 * the HIL suite's survivors.
 */
export function printTable(rows: FileRow[], unit = true): void {
  const total = rows.reduce<FileRow>((t, r) => ({
    file: 'total', run: t.run + r.run, killedHil: t.killedHil + r.killedHil, killedWithUnit: t.killedWithUnit + r.killedWithUnit,
    timeouts: t.timeouts + r.timeouts, survived: t.survived + r.survived, invalid: t.invalid + r.invalid, equivalent: t.equivalent + r.equivalent,
    unreachable: t.unreachable + r.unreachable,
  }), { file: 'total', run: 0, killedHil: 0, killedWithUnit: 0, timeouts: 0, survived: 0, invalid: 0, equivalent: 0, unreachable: 0 });
  console.log('| file | mutants run | killed by the HIL suite | + unit tests | survived | equivalent | timeouts | not compiling | in code the wire cannot reach | HIL suite, the rest |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of [...rows, total]) {
    const withUnit = unit ? pct(r.killedWithUnit, r.run) : 'not run';
    console.log(`| ${r.file} | ${r.run} | ${pct(r.killedHil, r.run)} | ${withUnit} | ${r.survived} | ${r.equivalent} | ${r.timeouts} | ${r.invalid} | ${r.unreachable} | ${pct(r.killedHil, r.run - r.unreachable)} |`);
  }
}

// ------------------------------------------------------------------------------------------------
// The in-process suite runner (scripts/mutate-runner.ts), driven from the mutation scripts.

/** One run's result: the suite's counts, or `timedOut` when the bound expired (the runner was killed). */
export interface SuiteRun {
  failures: number;
  passes: number;
  pending: number;
  /** The tests that were pending (skipped): a mutant's run expects only the unmutated run's. */
  pendingTitles?: string[];
  /** The slowest passing test, ms (a mutant run's test timeout is set from the baseline's). */
  slowestMs: number;
  /** The first failing test and its error's first line. */
  failed?: string;
  timedOut?: boolean;
  /** Stryker mutant ids reached so far (instrumented TS only): at load, or inside tests. */
  coverage: string[];
  /** Of those, the ones reached at load: switching them needs a fresh process. */
  static: string[];
  seconds: number;
}

/**
 * A long-lived child running one Mocha suite again and again (bail: the first failure ends a run).
 * `cwd` is the copy of the repository whose code (and sim) is measured; env adds e.g. HIL_TARGET.
 * A run past its bound kills the child's process group (a sim it started goes with it) and the
 * next run starts a fresh child.
 */
interface RunnerChild { proc: ChildProcess; ready: Promise<{ static: string[] }> }

/**
 * A long-lived child running one Mocha suite again and again (bail: the first failure ends a run).
 * `cwd` is the copy of the repository whose code (and sim) is measured; env adds e.g. HIL_TARGET.
 * A child is reused only after a run that passed whole: a run that failed (the mutant killed) or
 * passed its bound is ended at once by killing the child's process group (its sim goes with it,
 * and nothing the bailed test left running can reach the next run), and a spare child, loaded
 * meanwhile, takes over.
 */
export class SuiteRunner {
  private child: RunnerChild | undefined;
  private spare: RunnerChild | undefined;

  constructor(
    private readonly cwd: string,
    private readonly files: string[],
    private readonly env: Record<string, string>,
    private readonly timeoutMs = 10_000,
  ) {}

  private start(extraEnv: Record<string, string> = {}): RunnerChild {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(this.cwd, 'scripts', 'mutate-runner.ts')], {
      cwd: this.cwd,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: { ...process.env, HIL_LINK: '', ...this.env, ...extraEnv, MUTATE_FILES: JSON.stringify(this.files), MUTATE_TIMEOUT_MS: String(this.timeoutMs) },
    });
    let err = '';
    proc.stderr!.on('data', (d) => { err = (err + d).slice(-4000); });
    const ready = new Promise<{ static: string[] }>((resolve, reject) => {
      proc.once('message', (m: { ready?: boolean; static: string[] }) => resolve(m));
      proc.once('exit', (code) => reject(new Error(`the suite runner exited (${code}) before it was ready:\n${err}`)));
    });
    ready.catch(() => { /* reported when awaited */ });
    return { proc, ready };
  }

  /**
   * Runs the suite once, with a Stryker mutant active (TS) or none (C: the rebuilt sim).
   * `fresh`: in a new child with the mutant set from its start (a mutant reached at load time).
   * Resolves with the static coverage the child reported at load in `static` when it passed.
   */
  async run(mutant: string | undefined, boundMs: number, fresh = false, testTimeoutMs?: number, expectPending?: string[]): Promise<SuiteRun> {
    let c: RunnerChild;
    if (fresh) c = this.start(mutant !== undefined ? { __STRYKER_ACTIVE_MUTANT__: mutant } : {});
    else {
      c = this.child ?? this.spare ?? this.start();
      if (c === this.spare) this.spare = undefined;
      this.child = c;
    }
    let loaded: { static: string[] };
    try {
      loaded = await c.ready;
    } catch (e) {
      // A mutant active from the start that stops the suite loading (a module's own check throws) is detected.
      if (fresh && mutant !== undefined) return { failures: 1, passes: 0, pending: 0, slowestMs: 0, failed: `the suite did not load: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`, coverage: [], static: [], seconds: 0 };
      throw e;
    }
    const proc = c.proc;
    const t0 = Date.now();
    const seconds = () => (Date.now() - t0) / 1000;
    const result = await new Promise<SuiteRun>((resolve) => {
      const timer = setTimeout(() => done({ failures: 1, passes: 0, pending: 0, slowestMs: 0, timedOut: true, coverage: [], static: [], seconds: seconds() }), boundMs);
      const onExit = (code: number | null) => done({ failures: 1, passes: 0, pending: 0, slowestMs: 0, failed: `the suite runner exited (${code}) during the run`, coverage: [], static: [], seconds: seconds() });
      const onMessage = (m: Omit<SuiteRun, 'seconds'> & { firstFailure?: string }) => {
        if (m.firstFailure !== undefined) done({ failures: 1, passes: 0, pending: 0, slowestMs: 0, failed: m.firstFailure, coverage: [], static: [], seconds: seconds() });
        else done({ ...m, static: loaded.static, seconds: seconds() });
      };
      function done(r: SuiteRun) {
        clearTimeout(timer);
        proc.off('exit', onExit).off('message', onMessage);
        resolve(r);
      }
      proc.once('exit', onExit);
      proc.on('message', onMessage);
      proc.send({ ...(mutant !== undefined ? { mutant } : {}), ...(testTimeoutMs ? { timeoutMs: testTimeoutMs } : {}), ...(expectPending ? { expectPending } : {}) });
    });
    if (fresh || result.failures || result.timedOut) {
      kill(c);
      if (c === this.child) this.child = undefined;
    }
    // Load the next child while the caller builds the next mutant.
    if (!this.child && !this.spare) this.spare = this.start();
    return result;
  }

  kill(): void {
    for (const c of [this.child, this.spare]) if (c) kill(c);
    this.child = this.spare = undefined;
  }
}

function kill(c: RunnerChild): void {
  if (c.proc.pid && c.proc.exitCode === null) {
    try { process.kill(-c.proc.pid, 'SIGKILL'); } catch { /* gone */ }
  }
}
