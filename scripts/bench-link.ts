/**
 * `npm run bench:link`: the lossy-link figures (issue: protocol v2 over a noisy cable), measured
 * through the product's link emulator. Prints
 *   (a) the HIL suite at byte error rates × targets × seeds: passed / failed / not run, retransmits;
 *   (b) write-then-verify at every rate: lost, applied twice, out of order, never settled, goodput
 *       as a share of the clean run measured in this same run;
 *   (c) requests queued on a link that went silent: time until all failed with LinkDead;
 * and a JSON line of all figures last. A failing cell is reported, never the end of the run.
 * Replay any suite cell with `hil test --target T --link ber=R,seed=S`.
 *
 * Options: --targets sim,twin-pty  --rates 0,1e-4,1e-3,1e-2  --seeds 1,2,3,4,5  --qemu-rate 1e-3
 *          (--qemu-rate none to skip QEMU)  --jobs N (suite runs at once, default 4)
 *          --writes N (default 3072)  --wv-target sim  --only suite|wv|dead (repeatable)
 */
import { parseArgs } from 'node:util';
import { openTarget } from '../host/src/targets/index.js';
import { WRITE_VERIFY_PACING, deadLink, suiteCell, writeThenVerify, type SuiteCell, type WriteVerifyFigures } from '../host/src/orchestrator/bench-link.js';

function fail(message: string): never {
  console.error(`bench:link: ${message}`);
  process.exit(2);
}

let values: Record<string, string | string[] | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      targets: { type: 'string', default: 'sim,twin-pty' },
      rates: { type: 'string', default: '0,1e-4,1e-3,1e-2' },
      seeds: { type: 'string', default: '1,2,3,4,5' },
      'qemu-rate': { type: 'string', default: '1e-3' },
      jobs: { type: 'string', default: '4' },
      writes: { type: 'string', default: '3072' },
      'wv-target': { type: 'string', default: 'sim' },
      only: { type: 'string', multiple: true },
    },
  }));
} catch (e) {
  fail(`${(e as Error).message}; options: --targets, --rates, --seeds, --qemu-rate, --jobs, --writes, --wv-target, --only suite|wv|dead`);
}
const list = (name: string, parse: (s: string) => number): number[] =>
  String(values[name]).split(',').map((s) => {
    const n = parse(s.trim());
    if (!Number.isFinite(n) || n < 0) fail(`--${name}: "${s}" is not a number ≥ 0 (give a comma-separated list, e.g. --${name} ${name === 'rates' ? '0,1e-3' : '1,2'})`);
    return n;
  });
const targets = String(values.targets).split(',').map((s) => s.trim()).filter(Boolean);
const rates = list('rates', Number);
const seeds = list('seeds', (s) => (/^\d+$/.test(s) ? Number(s) : NaN));
const qemuRate = values['qemu-rate'] === 'none' ? undefined : list('qemu-rate', Number)[0];
const jobs = Math.max(1, Number(values.jobs) || 1);
const writes = Number(values.writes);
if (!Number.isInteger(writes) || writes < 1) fail(`--writes must be a positive integer (got "${values.writes}")`);
const only = new Set((values.only as string[] | undefined) ?? ['suite', 'wv', 'dead']);
for (const o of only) if (!['suite', 'wv', 'dead'].includes(o)) fail(`--only takes suite, wv or dead (got "${o}")`);
const wvTarget = String(values['wv-target']);

const out: Record<string, unknown> = {};

/** Runs tasks with at most `n` at once, keeping their order in the result. */
async function pool<T>(tasks: Array<() => Promise<T>>, n: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  }));
  return results;
}

const pad = (s: string | number, w: number): string => String(s).padStart(w);

if (only.has('suite')) {
  const cells: Array<[string, number, number]> = [];
  for (const target of targets) for (const ber of rates) for (const seed of seeds) cells.push([target, ber, seed]);
  if (qemuRate !== undefined) for (const seed of seeds) cells.push(['qemu', qemuRate, seed]);
  console.log(`(a) the HIL suite through the link emulator: ${cells.length} runs, ${jobs} at a time (flip/drop/dup in equal shares, both directions)`);
  // Build what each target needs once, so that parallel runs do not race to build it.
  for (const t of new Set(cells.map((c) => c[0]))) {
    try {
      await (await openTarget(t)).close();
    } catch (e) {
      console.log(`  ${t}: cannot be opened (${(e as Error).message.split('\n')[0]}); its runs will report it`);
    }
  }
  const results: SuiteCell[] = await pool(cells.map(([t, b, s]) => async () => {
    const r = await suiteCell(t, b, s);
    console.log(`  ${t} ber=${b} seed=${s}: ${r.passed} passed, ${r.failed} failed, ${r.notRun} not run, ${r.retransmits ?? '?'} retransmits, ${(r.durationMs / 1000).toFixed(1)} s${r.problem ? `; PROBLEM: ${r.problem}` : ''}`);
    return r;
  }), jobs);
  console.log('\ntarget     byte error rate   passed / failed / not run (per seed)            retransmits (per seed)');
  const groups = new Map<string, SuiteCell[]>();
  for (const r of results) {
    const k = `${r.target}\u0000${r.ber}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const rs of groups.values()) {
    const r0 = rs[0]!;
    const counts = rs.map((r) => (r.problem && !r.passed && !r.failed ? 'error' : `${r.passed}/${r.failed}/${r.notRun}`)).join(', ');
    console.log(`${r0.target.padEnd(10)} ${pad(r0.ber, 15)}   ${counts.padEnd(45)}   ${rs.map((r) => r.retransmits ?? '?').join(', ')}`);
  }
  for (const r of results) for (const line of r.notPassed ?? []) if (line.startsWith('failed') || r.ber === 0) console.log(`  ${r.target} ber=${r.ber} seed=${r.seed}: ${line}`);
  const falseFailures = results.reduce((a, r) => a + r.failed + r.notRun, 0);
  console.log(`false failures (failed + not run) over all runs: ${falseFailures}${results.some((r) => r.problem) ? `; ${results.filter((r) => r.problem).length} runs had a problem (above)` : ''}\n`);
  out.suite = results;
}

if (only.has('wv')) {
  console.log(`(b) write-then-verify on ${wvTarget}: ${writes} pipelined distinct writes through the emulator (paced: ${WRITE_VERIFY_PACING}), read back over a clean link`);
  const figs: WriteVerifyFigures[] = [];
  // Clean first (it warms the target up) and again last; the ratio is against the mean of both,
  // so that a machine whose load changed during the run shows as two different clean figures.
  const cleanFirst = await writeThenVerify(wvTarget, 0, seeds[0] ?? 1, { writes });
  figs.push(cleanFirst);
  for (const ber of rates.filter((r) => r > 0)) for (const seed of seeds) figs.push(await writeThenVerify(wvTarget, ber, seed, { writes }));
  const cleanLast = await writeThenVerify(wvTarget, 0, seeds[0] ?? 1, { writes });
  figs.push(cleanLast);
  const clean = (cleanFirst.goodput + cleanLast.goodput) / 2;
  console.log('byte error rate  seed  acknowledged  lost  applied twice  out of order  never settled  goodput (writes/s)  vs clean  retransmits  resent B  out_of_seq  RTOs (waited ms)  h2d idle ms');
  for (const f of figs) {
    const ratio = clean > 0 ? f.goodput / clean : undefined;
    (f as WriteVerifyFigures & { goodput_vs_clean?: number }).goodput_vs_clean = ratio === undefined ? undefined : +ratio.toFixed(3);
    const s = f.linkStats;
    console.log(`${pad(f.ber, 15)}  ${pad(f.seed, 4)}  ${pad(f.acknowledged, 12)}  ${pad(f.lost, 4)}  ${pad(f.appliedTwice ?? '?', 13)}  ${pad(f.outOfOrder, 12)}  ${pad(f.neverSettled, 13)}  ${pad(f.goodput, 18)}  ${pad(ratio === undefined ? '?' : `${Math.round(ratio * 100)}%`, 8)}  ${pad(f.retransmits ?? '?', 11)}  ${pad(s?.retransmittedBytes ?? '?', 8)}  ${pad(s?.outOfSequence ?? '?', 10)}  ${pad(s ? `${s.timeouts} (${Math.round(s.timeoutWaitMs)})` : '?', 16)}  ${pad(f.idleH2dMs ?? '?', 11)}${f.problem ? `  PROBLEM: ${f.problem}` : ''}`);
  }
  console.log(`clean goodput first ${cleanFirst.goodput}/s, last ${cleanLast.goodput}/s (the ratios are against their mean, ${Math.round(clean)}/s)`);
  for (const ber of rates.filter((r) => r > 0)) {
    const rs = figs.filter((f) => f.ber === ber).map((f) => f.goodput / clean).sort((a, b) => a - b);
    if (rs.length) console.log(`  ber ${ber}: goodput vs clean min ${Math.round(rs[0]! * 100)}%, median ${Math.round(rs[rs.length >> 1]! * 100)}%, max ${Math.round(rs[rs.length - 1]! * 100)}% over ${rs.length} seeds`);
  }
  console.log('');
  out.write_verify = figs;
}

if (only.has('dead')) {
  const d = await deadLink(wvTarget);
  console.log(`(c) dead link on ${wvTarget}: ${d.requests} requests queued on a cut link: all failed in ${d.allFailedMs} ms, ${d.linkDead} with LinkDead${Object.keys(d.other).length ? `, others: ${JSON.stringify(d.other)}` : ''}${d.problem ? `; PROBLEM: ${d.problem}` : ''}\n`);
  out.dead_link = d;
}

console.log(JSON.stringify(out));
