/**
 * Mutation testing of the TypeScript twin (issue 14) with Stryker: every mutant of
 * host/src/twin/{pool,line,dispatch,link,device}.ts is run against the HIL suite on the twin
 * (`hil test --target twin`, through Stryker's command runner), then the HIL survivors against the
 * twin's unit tests (host/src/twin/*.test.ts), the second column.
 *
 *   npx tsx scripts/mutate-ts.ts [--files pool.ts,...] [--sample N --seed S] [--concurrency N] [--json PATH]
 *
 * Why the command runner and not the Mocha runner: the suite's tests are prepared inside each
 * test by orchestrator/run-suite.ts (guardTests: open, handshake, reset_pool), not by root hooks a
 * plain Mocha instance could load, so the faithful killer is `hil test` itself. It costs a process
 * per mutant (about a second on the twin) and no per-test coverage.
 *
 * Stryker runs in a private copy of the repository (git HEAD, with the working tree's twin and HIL
 * test files over it), so half-finished work elsewhere in the checkout cannot fail the dry run.
 * `--sample N --seed S` mutates only N code lines of the files chosen by the seed (replayable).
 * Equivalent mutants are read from mutation/equivalent.txt (`file | id | reason`, the id being
 * `line:col:mutator:replacement`) and excluded from the score.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printTable, readEquivalents, rowOf, type Counted, type FileRow, type MutantOutcome } from './mutate-lib.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const TWIN_DIR = 'host/src/twin';
/** The files measured by default. */
export const TS_FILES = ['pool.ts', 'line.ts', 'dispatch.ts', 'link.ts', 'device.ts'];

interface StrykerMutant {
  id: string;
  mutatorName: string;
  replacement?: string;
  status: string;
  location: { start: { line: number; column: number }; end: { line: number; column: number } };
}

export interface TsMutantResult extends Counted {
  id: string;
  file: string;
}

/** Where Stryker is: the project's devDependency, or STRYKER_HOME (a folder with node_modules/@stryker-mutator/core). */
function strykerBin(): string {
  const homes = [REPO, process.env.STRYKER_HOME].filter((h): h is string => !!h);
  for (const home of homes) {
    try {
      const pkg = createRequire(join(home, 'package.json')).resolve('@stryker-mutator/core/package.json');
      return join(dirname(pkg), 'bin', 'stryker.js');
    } catch { /* next */ }
  }
  throw new Error('@stryker-mutator/core is not installed: npm install (it is a devDependency), or set STRYKER_HOME to a folder where it is installed');
}

function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'twin-mutate-'));
  const archive = spawnSync('sh', ['-c', `git -C "${REPO}" archive HEAD | tar -x -C "${dir}"`], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (archive.status !== 0) throw new Error(`copying the repository (git archive HEAD) failed: ${archive.stderr}`);
  for (const f of readdirSync(join(REPO, TWIN_DIR))) cpSync(join(REPO, TWIN_DIR, f), join(dir, TWIN_DIR, f));
  for (const f of readdirSync(join(REPO, 'hil-tests'))) if (f.endsWith('.test.ts')) cpSync(join(REPO, 'hil-tests', f), join(dir, 'hil-tests', f));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/** Runs Stryker once in `dir` with the command as the killer; returns the JSON report's mutants per file. */
async function stryker(dir: string, mutate: string[], command: string, concurrency: number, name: string): Promise<Map<string, StrykerMutant[]>> {
  const report = join(dir, `stryker-${name}.json`);
  const config = {
    $schema: './node_modules/@stryker-mutator/core/schema/stryker-schema.json',
    testRunner: 'command',
    commandRunner: { command },
    mutate,
    concurrency,
    reporters: ['json'],
    jsonReporter: { fileName: report },
    timeoutMS: 30_000,
    timeoutFactor: 3,
    ignorePatterns: ['firmware/build', 'reports', '.stryker-tmp'],
    tempDirName: `.stryker-tmp-${name}`,
    cleanTempDir: 'always',
    disableTypeChecks: 'host/src/twin/**/*.ts',
  };
  const configPath = join(dir, `stryker-${name}.config.json`);
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [strykerBin(), 'run', configPath], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, HIL_LINK: '' } });
    child.on('close', resolve);
  });
  if (code !== 0 || !existsSync(report)) throw new Error(`stryker (${name}) failed with exit ${code}: see its output above`);
  const json = JSON.parse(readFileSync(report, 'utf8')) as { files: Record<string, { mutants: StrykerMutant[] }> };
  return new Map(Object.entries(json.files).map(([f, v]) => [f.replace(/^.*?(host\/src\/twin\/)/, '$1'), v.mutants]));
}

const keyOf = (m: StrykerMutant) => `${m.location.start.line}:${m.location.start.column}:${m.mutatorName}:${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 60)}`;
const outcomeOf = (status: string): MutantOutcome =>
  status === 'Killed' || status === 'RuntimeError' ? 'killed' : status === 'Timeout' ? 'timeout' : status === 'CompileError' ? 'invalid' : 'survived';

/** Code lines of a file (not blank, not comment-only), for the seeded sample. */
function codeLines(path: string): number[] {
  return readFileSync(path, 'utf8').split('\n').flatMap((l, i) => (/^\s*($|\/\/|\/\*|\*|import\b)/.test(l) ? [] : [i + 1]));
}

export interface TsOptions {
  files?: string[];
  sample?: number;
  seed?: number;
  concurrency?: number;
}

export interface TsReport { rows: FileRow[]; results: TsMutantResult[]; equivalents: number }

export async function mutateTs(o: TsOptions = {}, sampler?: <T>(items: T[], n: number, seed: number) => T[]): Promise<TsReport> {
  const files = (o.files ?? TS_FILES).map((f) => `${TWIN_DIR}/${f}`);
  let mutate = files;
  if (o.sample !== undefined && sampler) {
    const lines = files.flatMap((f) => codeLines(join(REPO, f)).map((l) => `${f}:${l}-${l}`));
    mutate = sampler(lines, o.sample, o.seed ?? 1);
  }
  const equivalents = readEquivalents(join(REPO, 'mutation', 'equivalent.txt'));
  const dir = makeCopy();
  try {
    const concurrency = o.concurrency ?? 2;
    const hil = await stryker(dir, mutate, 'node bin/hil.js test --target twin --reporter dot', concurrency, 'hil');
    const survivors = [...hil].flatMap(([f, ms]) => ms.filter((m) => outcomeOf(m.status) === 'survived' && !equivalents.has(`${f}\t${keyOf(m)}`))
      .map((m) => `${f}:${m.location.start.line}:${m.location.start.column}-${m.location.end.line}:${m.location.end.column}`));
    const unit = survivors.length
      ? await stryker(dir, survivors, `npx mocha --reporter dot ${TWIN_DIR}/*.test.ts`, concurrency, 'unit')
      : new Map<string, StrykerMutant[]>();
    const results: TsMutantResult[] = [];
    const equivCount = new Map<string, number>();
    for (const [f, ms] of hil) {
      const unitBy = new Map((unit.get(f) ?? []).map((m) => [keyOf(m), m]));
      for (const m of ms) {
        const id = keyOf(m);
        if (equivalents.has(`${f}\t${id}`)) { equivCount.set(f, (equivCount.get(f) ?? 0) + 1); continue; }
        const h = outcomeOf(m.status);
        const u = h === 'survived' && unitBy.has(id) ? outcomeOf(unitBy.get(id)!.status) : h;
        results.push({ id, file: f, hil: h, withUnit: u });
      }
    }
    const rows = files.map((f) => rowOf(f, results.filter((r) => r.file === f), equivCount.get(f) ?? 0));
    return { rows, results, equivalents: [...equivCount.values()].reduce((a, b) => a + b, 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { files: { type: 'string' }, sample: { type: 'string' }, seed: { type: 'string' }, concurrency: { type: 'string' }, json: { type: 'string' } } });
  const { sample } = await import('./mutate-c.js');
  const report = await mutateTs({
    ...(values.files ? { files: values.files.split(',') } : {}),
    ...(values.sample ? { sample: Number(values.sample), seed: Number(values.seed ?? 1) } : {}),
    ...(values.concurrency ? { concurrency: Number(values.concurrency) } : {}),
  }, sample);
  printTable(report.rows);
  for (const r of report.results) if (r.withUnit === 'survived') console.log(`survived: ${r.file} ${r.id}`);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
