/**
 * Mutation testing of the TypeScript twin (issue 14): the mutants of
 * host/src/twin/{pool,line,dispatch,link,device}.ts, generated and placed by Stryker's instrumenter
 * (@stryker-mutator/instrumenter: every mutant compiled into the code behind a switch), run
 * against the HIL suite on the twin, then the HIL survivors against the twin's unit tests
 * (host/src/twin/*.test.ts), the second column.
 *
 *   npx tsx scripts/mutate-ts.ts [--files pool.ts,...] [--sample N --seed S] [--json PATH]
 *
 * In-process: each suite is loaded once into a long-lived Mocha process (scripts/mutate-runner.ts,
 * for the HIL suite the fixture's root hooks with HIL_TARGET=twin) and run again per mutant with
 * Stryker's switch `__stryker__.activeMutant` set, stopping at the first failure. A first run with
 * no mutant active must pass and records which mutants the suite reaches at all: one it never
 * reaches survives without a run (Stryker's "no coverage"), one reached only while the modules load
 * (a constant) runs in a fresh process started with it active. Why not Stryker's own Mocha runner:
 * its 9.x release needs mocha < 12 (this project has 12) and its 10.x release Node 22.
 *
 * The instrumented files are written into a private copy of the repository (git HEAD, with the
 * working tree's twin, HIL suite and mutate-runner.ts over it), so nothing in the checkout changes.
 * `--sample N --seed S` runs only N of the files' mutants, chosen by the seed (replayable).
 * Equivalent mutants are read from mutation/equivalent.txt (`file | id | reason`, the id being
 * `line:col:mutator:replacement`, line and column 1-based) and excluded from the score.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Instrumenter, type File as InstrumentedFile } from '@stryker-mutator/instrumenter';
import { printTable, readEquivalents, readUnreachable, rowOf, unreachableReport, SuiteRunner, type Counted, type FileRow, type MutantOutcome, type SuiteRun } from './mutate-lib.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const TWIN_DIR = 'host/src/twin';
/** The files measured by default. */
export const TS_FILES = ['pool.ts', 'line.ts', 'dispatch.ts', 'link.ts', 'device.ts'];

export interface TsMutantResult extends Counted {
  id: string;
  file: string;
  /** What killed it: the first failing test, or "no coverage" for a mutant no test reaches. */
  note?: string;
  seconds: number;
}

function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twin-mutate-'));
  const archive = spawnSync('sh', ['-c', `git -C "${REPO}" archive HEAD | tar -x -C "${dir}"`], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (archive.status !== 0) throw new Error(`copying the repository (git archive HEAD) failed: ${archive.stderr}`);
  for (const f of readdirSync(join(REPO, TWIN_DIR))) cpSync(join(REPO, TWIN_DIR, f), join(dir, TWIN_DIR, f));
  cpSync(join(REPO, 'hil-tests'), join(dir, 'hil-tests'), { recursive: true });
  // The runner that loads the suite in-process, as checked out (it may be newer than HEAD).
  cpSync(join(REPO, 'scripts', 'mutate-runner.ts'), join(dir, 'scripts', 'mutate-runner.ts'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** The instrumenter's logger: quiet but for warnings. */
const logger = {
  isTraceEnabled: () => false, isDebugEnabled: () => false, isInfoEnabled: () => false, isWarnEnabled: () => true, isErrorEnabled: () => true, isFatalEnabled: () => true,
  trace() {}, debug() {}, info() {},
  warn: (...a: unknown[]) => console.warn('instrumenter:', ...a), error: (...a: unknown[]) => console.error('instrumenter:', ...a), fatal: (...a: unknown[]) => console.error('instrumenter:', ...a),
};

interface Placed { id: string; key: string; file: string }

/** Instruments `files` (repository-relative) in `dir`: every mutant placed behind its switch. */
async function instrument(dir: string, files: string[]): Promise<Placed[]> {
  const input: InstrumentedFile[] = files.map((f) => ({ name: join(dir, f), content: readFileSync(join(dir, f), 'utf8'), mutate: true }));
  // `plugins: null`: the TypeScript parser's defaults; no ignorers.
  const result = await new Instrumenter(logger as never).instrument(input, { plugins: null, ignorers: [], excludedMutations: [], noHeader: false } as never);
  for (const f of result.files) writeFileSync(f.name, f.content);
  return distinctKeys(result.mutants.map((m) => {
    const file = m.fileName.slice(dir.length + 1);
    const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60);
    return { id: m.id, file, key: `${m.location.start.line + 1}:${m.location.start.column + 1}:${m.mutatorName}:${replacement}` };
  }));
}

/**
 * Mutants of one file whose keys collide (two replacements at one place that read the same once
 * cut to 60 characters and their white space folded) get `#2`, `#3`, ... in the instrumenter's
 * order, the first keeping the plain key: every mutant has its own id (a listed equivalent names
 * one mutant, never two).
 */
export function distinctKeys<T extends { file: string; key: string }>(placed: T[]): T[] {
  const seen = new Map<string, number>();
  return placed.map((p) => {
    const k = `${p.file}\t${p.key}`;
    const n = (seen.get(k) ?? 0) + 1;
    seen.set(k, n);
    return n === 1 ? p : { ...p, key: `${p.key}#${n}` };
  });
}

const detected = (r: SuiteRun): MutantOutcome => (r.timedOut ? 'timeout' : r.failures ? 'killed' : 'survived');

/** Runs each mutant through `runner`; returns the outcome per Stryker id. The dry run must pass. */
async function measure(runner: SuiteRunner, mutants: Placed[], what: string, progress?: (m: Placed, o: MutantOutcome, r: SuiteRun | undefined) => void): Promise<Map<string, { outcome: MutantOutcome; run?: SuiteRun }>> {
  const dry = await runner.run(undefined, 600_000);
  if (dry.failures || dry.timedOut) throw new Error(`${what} fails with no mutant active: fix that first (${dry.failed ?? 'timed out'})`);
  const warm = await runner.run(undefined, 600_000);
  if (warm.failures || warm.timedOut) throw new Error(`${what} fails when run again with no mutant active: ${warm.failed ?? 'timed out'}`);
  const reached = new Set(dry.coverage);
  const atLoad = new Set(dry.static);
  // Bounds from the warm run, generous for a loaded machine (a false timeout would count as a kill).
  const testTimeoutMs = Math.max(3_000, 4 * warm.slowestMs);
  const boundMs = Math.max(8_000, 3_000 * warm.seconds);
  const out = new Map<string, { outcome: MutantOutcome; run?: SuiteRun }>();
  for (const m of mutants) {
    if (!reached.has(m.id)) {
      out.set(m.id, { outcome: 'survived' });
      progress?.(m, 'survived', undefined);
      continue;
    }
    const r = await runner.run(m.id, atLoad.has(m.id) ? boundMs + 30_000 : boundMs, atLoad.has(m.id), testTimeoutMs, warm.pendingTitles ?? []);
    out.set(m.id, { outcome: detected(r), run: r });
    progress?.(m, detected(r), r);
  }
  return out;
}

export interface TsOptions {
  files?: string[];
  sample?: number;
  seed?: number;
  unit?: boolean;
  /** Called with each mutant's final result. */
  progress?: (r: TsMutantResult) => void;
  /** Called with a line per mutant run, as it is run. */
  log?: (line: string) => void;
}

export interface TsReport { rows: FileRow[]; results: TsMutantResult[]; equivalents: number }

export async function mutateTs(o: TsOptions = {}, sampler?: <T>(items: T[], n: number, seed: number) => T[]): Promise<TsReport> {
  const files = (o.files ?? TS_FILES).map((f) => `${TWIN_DIR}/${f}`);
  const equivalents = readEquivalents(join(REPO, 'mutation', 'equivalent.txt'));
  const unreachable = readUnreachable(); // read first: a stale entry stops the run before it starts
  const dir = makeCopy();
  const hilFiles = readdirSync(join(dir, 'hil-tests')).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, 'hil-tests', f));
  const unitFiles = readdirSync(join(dir, TWIN_DIR)).filter((f) => f.endsWith('.test.ts')).sort().map((f) => join(dir, TWIN_DIR, f));
  const hilRunner = new SuiteRunner(dir, hilFiles, { HIL_TARGET: 'twin', MUTATE_HOOKS: join(dir, 'host/src/mocha/register.ts') });
  const unitRunner = new SuiteRunner(dir, unitFiles, {});
  // An interrupted run (Ctrl-C, a kill) still ends its runners and removes its copy.
  const onSignal = () => { hilRunner.kill(); unitRunner.kill(); rmSync(dir, { recursive: true, force: true }); process.exit(130); };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const placed = await instrument(dir, files);
    // The sample: N of all the mutants (all are compiled in; only the chosen ones are run), drawn
    // before the equivalents are left out so that reviewing one does not change the others drawn.
    const drawn = o.sample !== undefined && sampler ? sampler(placed, o.sample, o.seed ?? 1) : placed;
    const live = drawn.filter((m) => !equivalents.has(`${m.file}\t${m.key}`));
    const say = (what: string) => (m: Placed, outcome: MutantOutcome, r: SuiteRun | undefined) =>
      o.log?.(`  [ts ${what}] ${m.file} ${m.key}: ${outcome}${r ? ` (${r.seconds.toFixed(1)} s)` : ' (no coverage)'}`);
    const hil = live.length ? await measure(hilRunner, live, 'the HIL suite on the twin', say('hil')) : new Map();
    hilRunner.kill();
    const survivors = live.filter((m) => hil.get(m.id)?.outcome === 'survived');
    const unit = survivors.length && o.unit !== false ? await measure(unitRunner, survivors, "the twin's unit tests", say('unit')) : new Map();
    unitRunner.kill();
    const results: TsMutantResult[] = live.map((m) => {
      const h = hil.get(m.id)!;
      const u = unit.get(m.id);
      const note = h.run?.failed ?? (h.run ? undefined : 'no coverage: no HIL test reaches it');
      const r: TsMutantResult = { id: m.key, file: m.file, hil: h.outcome, withUnit: h.outcome === 'survived' && u ? u.outcome : h.outcome, ...(note ? { note } : {}), seconds: (h.run?.seconds ?? 0) + (u?.run?.seconds ?? 0) };
      o.progress?.(r);
      return r;
    });
    // The equivalent column counts those of the mutants drawn (all of them without a sample).
    const drawnEquiv = drawn.filter((m) => equivalents.has(`${m.file}\t${m.key}`));
    const rows = files.map((f) => rowOf(f, results.filter((r) => r.file === f), drawnEquiv.filter((m) => m.file === f).length, unreachable));
    for (const line of unreachableReport(files.map((f) => ({ file: f, results: results.filter((r) => r.file === f) })), unreachable)) o.log?.(line);
    return { rows, results, equivalents: drawnEquiv.length };
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    hilRunner.kill();
    unitRunner.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { files: { type: 'string' }, sample: { type: 'string' }, seed: { type: 'string' }, json: { type: 'string' }, 'no-unit': { type: 'boolean' } } });
  const { sample } = await import('./mutate-c.js');
  const report = await mutateTs({
    ...(values.files ? { files: values.files.split(',') } : {}),
    ...(values.sample ? { sample: Number(values.sample), seed: Number(values.seed ?? 1) } : {}),
    unit: !values['no-unit'],
    log: (line) => console.log(line),
  }, sample);
  printTable(report.rows);
  for (const r of report.results) if (r.withUnit === 'survived') console.log(`survived: ${r.file} ${r.id}${r.note ? ` (${r.note})` : ''}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
