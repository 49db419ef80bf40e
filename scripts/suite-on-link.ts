/**
 * `npx tsx scripts/suite-on-link.ts`: the HIL suite through the link emulator paced like a USB-UART
 * adapter (issue 13): per link, the suite time, bytes each way, the wire limit and the ratio; then
 * the suite time on a clean link per target; a JSON line of every figure last. Figures only.
 * (host/src/orchestrator/suite-on-link.ts does the measuring.)
 *
 * Options: --target sim (the target the paced links run on)
 *          --links 'baud=115200,latency=1,packet=62;...' (default: the three adapter links)
 *          --clean twin,sim,qemu (targets timed on a clean link; 'none' for none)
 *          --runs N (each cell N times, the median kept; default 1)
 */
import { parseArgs } from 'node:util';
import { ADAPTER_LINKS, SUITE_ON_LINK_HEADER, formatSuiteOnLink, suiteOnLink, type SuiteOnLink } from '../host/src/orchestrator/suite-on-link.js';

function fail(message: string): never {
  console.error(`suite-on-link: ${message}`);
  process.exit(2);
}

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      target: { type: 'string', default: 'sim' },
      links: { type: 'string', default: ADAPTER_LINKS.join(';') },
      clean: { type: 'string', default: 'twin,sim,qemu' },
      runs: { type: 'string', default: '1' },
    },
  }));
} catch (e) {
  fail(`${(e as Error).message}; options: --target, --links, --clean, --runs`);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be an integer ≥ 1 (got ${values.runs})`);
const links = values.links!.split(';').filter(Boolean);
const clean = values.clean === 'none' ? [] : values.clean!.split(',').filter(Boolean);

/** The run of median suite time among `runs` runs of one cell. */
async function cell(target: string, link: string): Promise<SuiteOnLink> {
  const all: SuiteOnLink[] = [];
  for (let i = 0; i < runs; i++) all.push(await suiteOnLink(target, link));
  all.sort((a, b) => a.suiteMs - b.suiteMs);
  return all[(all.length - 1) >> 1]!;
}

const rows: SuiteOnLink[] = [];
console.log(SUITE_ON_LINK_HEADER);
for (const link of links) {
  const r = await cell(values.target!, link);
  rows.push(r);
  console.log(formatSuiteOnLink(r));
}
for (const target of clean) {
  const r = await cell(target, 'none');
  rows.push(r);
  console.log(formatSuiteOnLink(r));
}
console.log(JSON.stringify({ suiteOnLink: rows, runs }));
