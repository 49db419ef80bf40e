/**
 * `npm run mutate` (issue 14): mutation testing of the firmware's C core and the TypeScript twin,
 * the HIL suite as the killer and the unit tests as the second column; one table at the end.
 *
 *   npx tsx scripts/mutate.ts                 every mutant (by hand: tens of minutes)
 *   npx tsx scripts/mutate.ts --ci [--seed S] a seeded sample (CI, `npm run mutate:ci`); exits 1
 *                                             when the sample scores below 98% with the unit tests
 *   --only c|ts                               one half
 *
 * Goal: the HIL suite alone kills >= 95% of the non-equivalent mutants, >= 98% with the unit
 * tests. The seed is printed; `--ci --seed S` replays a sample.
 */
import { parseArgs } from 'node:util';
import { mutateC, sample } from './mutate-c.js';
import { mutateTs } from './mutate-ts.js';
import { printTable, type FileRow } from './mutate-lib.js';

/** The goals, in percent of non-equivalent mutants. */
export const GOAL = { hil: 95, withUnit: 98 };
/** CI sample sizes: C mutants and twin mutants. */
const CI_SAMPLE = { c: 10, ts: 16 };

const { values } = parseArgs({ options: { ci: { type: 'boolean' }, seed: { type: 'string' }, only: { type: 'string' } } });
if (values.only && values.only !== 'c' && values.only !== 'ts') {
  console.error(`mutate: --only "${values.only}": expected c or ts`);
  process.exit(2);
}
if (values.seed !== undefined && !/^\d+$/.test(values.seed)) {
  console.error(`mutate: --seed "${values.seed}" is not a non-negative integer`);
  process.exit(2);
}
const seed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);
if (values.ci) console.log(`mutate: CI sample, seed ${seed} (replay: npx tsx scripts/mutate.ts --ci --seed ${seed})`);
const rows: FileRow[] = [];
if (values.only !== 'ts') {
  const c = await mutateC({
    ...(values.ci ? { sample: CI_SAMPLE.c, seed } : {}),
    progress: (r, done, total) => console.log(`  [c ${done}/${total}] ${r.id}: ${r.hil}${r.hil === 'survived' ? `, with unit tests ${r.withUnit}` : ''} (${r.seconds.toFixed(1)} s)`),
  });
  rows.push(...c.rows);
  for (const r of c.results) if (r.withUnit === 'survived') console.log(`survived: ${r.id}`);
}
if (values.only !== 'c') {
  const t = await mutateTs({
    ...(values.ci ? { sample: CI_SAMPLE.ts, seed } : {}),
    log: (line) => console.log(line),
  }, sample);
  rows.push(...t.rows);
  for (const r of t.results) if (r.withUnit === 'survived') console.log(`survived: ${r.file} ${r.id}${r.note ? ` (${r.note})` : ''}`);
}
printTable(rows);
const run = rows.reduce((n, r) => n + r.run, 0);
const hil = run ? (100 * rows.reduce((n, r) => n + r.killedHil, 0)) / run : 100;
const both = run ? (100 * rows.reduce((n, r) => n + r.killedWithUnit, 0)) / run : 100;
// CI gates the sample on the combined goal (HIL suite and unit tests): code only a unit test can
// reach (the twin's fault controls, the firmware's log sanitising) makes a pooled sample's
// HIL-alone figure no verdict; it is printed, and judged per file by hand (`npm run mutate`).
const low = values.ci ? both < GOAL.withUnit : rows.some((r) => r.run && ((100 * r.killedHil) / r.run < GOAL.hil || (100 * r.killedWithUnit) / r.run < GOAL.withUnit));
const goal = values.ci ? `goal ${GOAL.withUnit}% with unit tests for the sample, seed ${seed}` : `goal ${GOAL.hil}% / ${GOAL.withUnit}% per file`;
console.log(`mutate: HIL suite ${hil.toFixed(1)}%, with unit tests ${both.toFixed(1)}% of ${run} mutants (${goal}): ${low ? 'BELOW THE GOAL' : 'ok'}`);
process.exitCode = low ? 1 : 0;
