/**
 * `npx tsx scripts/suite-on-link.ts [--base main]`: the HIL suite through the link emulator paced
 * like a USB-UART adapter (issue 13): per link, the suite time, bytes each way, the wire limit and
 * the ratio; then the suite time on a clean link per target; a JSON line of every figure last.
 * Figures only. With --base, the same cells also for the suite of that git revision (exported with
 * git archive into a temp folder, removed afterwards; it runs its own `hil`), run alternately
 * with this tree's so that the machine's load hits both alike. Each tree first runs the hello
 * suite once per target (builds the sim and QEMU images, so no cell times a build).
 * (host/src/orchestrator/suite-on-link.ts does the measuring.)
 *
 * Options: --target sim (the target the paced links run on)
 *          --links 'baud=115200,latency=1,packet=62;...' (default: the three adapter links)
 *          --clean twin,sim,qemu (targets timed on a clean link; 'none' for none)
 *          --runs N (each cell N times, the median kept; default 1)
 *          --base REV (also measure the suite of that revision)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ADAPTER_LINKS, SUITE_ON_LINK_HEADER, formatSuiteOnLink, suiteOnLink, type SuiteOnLink } from '../host/src/orchestrator/suite-on-link.js';
import { REPO_ROOT } from '../host/src/targets/toolchain.js';

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
      base: { type: 'string' },
    },
  }));
} catch (e) {
  fail(`${(e as Error).message}; options: --target, --links, --clean, --runs, --base REV`);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) fail(`--runs must be an integer ≥ 1 (got ${values.runs})`);
const cells: [string, string][] = [
  ...values.links!.split(';').filter(Boolean).map((l): [string, string] => [values.target!, l]),
  ...(values.clean === 'none' ? [] : values.clean!.split(',').filter(Boolean)).map((t): [string, string] => [t, 'none']),
];

interface Tree {
  name: string;
  root: string;
}
const trees: Tree[] = [{ name: 'this tree', root: REPO_ROOT }];
let baseDir: string | undefined;
if (values.base) {
  baseDir = mkdtempSync(join(tmpdir(), 'hil-suite-on-link-base-'));
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', REPO_ROOT, values.base, baseDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(baseDir, 'node_modules'));
  trees.unshift({ name: values.base, root: baseDir });
}

const median = (all: SuiteOnLink[]): SuiteOnLink => [...all].sort((a, b) => a.suiteMs - b.suiteMs)[(all.length - 1) >> 1]!;
const results = new Map<string, SuiteOnLink[]>();
try {
  for (const tree of trees) {
    for (const target of new Set(cells.map(([t]) => t))) {
      const w = await suiteOnLink(target, 'none', { hil: join(tree.root, 'bin', 'hil.js'), files: [join(tree.root, 'hil-tests', 'hello.test.ts')] });
      if (w.problem) console.log(`warm-up of ${target} (${tree.name}): ${w.problem}`);
    }
  }
  for (const [target, link] of cells) {
    for (let i = 0; i < runs; i++) {
      for (const tree of trees) {
        const key = `${tree.name}\u0000${target}\u0000${link}`;
        const r = await suiteOnLink(target, link, { hil: join(tree.root, 'bin', 'hil.js') });
        results.set(key, [...(results.get(key) ?? []), r]);
      }
    }
  }
} finally {
  if (baseDir) rmSync(baseDir, { recursive: true, force: true });
}
const rows: (SuiteOnLink & { tree: string; runsMs: number[] })[] = [];
for (const tree of trees) {
  console.log(`\n${tree.name}${runs > 1 ? ` (median of ${runs} runs)` : ''}:`);
  console.log(SUITE_ON_LINK_HEADER);
  for (const [target, link] of cells) {
    const all = results.get(`${tree.name}\u0000${target}\u0000${link}`)!;
    const r = median(all);
    rows.push({ ...r, tree: tree.name, runsMs: all.map((x) => x.suiteMs) });
    console.log(formatSuiteOnLink(r));
  }
}
if (values.base) {
  console.log(`\nsuite time, ${values.base} → this tree:`);
  for (const [target, link] of cells) {
    const b = rows.find((r) => r.tree === values.base && r.target === target && r.link === link)!;
    const a = rows.find((r) => r.tree === 'this tree' && r.target === target && r.link === link)!;
    console.log(`  ${target} ${link}: ${(b.suiteMs / 1000).toFixed(2)} s → ${(a.suiteMs / 1000).toFixed(2)} s (${(b.suiteMs / a.suiteMs).toFixed(2)}× faster)`);
  }
}
console.log(JSON.stringify({ suiteOnLink: rows, runs }));
