/**
 * What the C and TypeScript mutation runs share (issue 14): the reviewed list of equivalent
 * mutants, one table row per file, and the table itself.
 */
import { existsSync, readFileSync } from 'node:fs';

/** A mutant's outcome, the same words for C and TypeScript. */
export type MutantOutcome = 'killed' | 'timeout' | 'survived' | 'invalid' | 'equivalent';

/** The fields of a mutant result a row is counted from. */
export interface Counted {
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

export function rowOf(file: string, results: Counted[], equivalent: number): FileRow {
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
  };
}

const pct = (n: number, d: number) => (d ? `${((100 * n) / d).toFixed(1)}%` : '-');

/** The score a goal is checked against: killed / run, in percent (100 when nothing ran). */
export function score(row: Pick<FileRow, 'run'> & { killed: number }): number {
  return row.run ? (100 * row.killed) / row.run : 100;
}

/** Prints the table of issue 14 as Markdown (one row per file and a total). */
export function printTable(rows: FileRow[]): void {
  const total = rows.reduce<FileRow>((t, r) => ({
    file: 'total', run: t.run + r.run, killedHil: t.killedHil + r.killedHil, killedWithUnit: t.killedWithUnit + r.killedWithUnit,
    timeouts: t.timeouts + r.timeouts, survived: t.survived + r.survived, invalid: t.invalid + r.invalid, equivalent: t.equivalent + r.equivalent,
  }), { file: 'total', run: 0, killedHil: 0, killedWithUnit: 0, timeouts: 0, survived: 0, invalid: 0, equivalent: 0 });
  console.log('| file | mutants run | killed by the HIL suite | + unit tests | survived | equivalent | timeouts | not compiling |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of [...rows, total]) {
    console.log(`| ${r.file} | ${r.run} | ${pct(r.killedHil, r.run)} | ${pct(r.killedWithUnit, r.run)} | ${r.survived} | ${r.equivalent} | ${r.timeouts} | ${r.invalid} |`);
  }
}
