/**
 * `npx tsx scripts/suite-checks.ts --base main`: proves a rewrite of the HIL suite kept every
 * check. Runs the suite of this tree and the suite of `--base` (a git revision, exported with git
 * archive into a temp folder that is removed afterwards) on the same target with the same seed
 * (HIL_SEED, so the random tests draw the same steps), counting per test the chai assertions made
 * and the values they compared (hil-tests/support/count-checks.ts); prints both per test and
 * exits 1 when a test of the base is missing or checks fewer values or assertions now.
 *
 * Options: --base REV (default main)  --target twin (repeatable: --target twin --target sim)
 *          --seed N (default 1)
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ManagedProcess } from '../host/src/process/managed.js';
import { REPO_ROOT } from '../host/src/targets/toolchain.js';

type Counts = Record<string, { asserts: number; values: number }>;

function fail(message: string): never {
  console.error(`suite-checks: ${message}`);
  process.exit(2);
}

let values: { base?: string; target?: string[]; seed?: string };
try {
  ({ values } = parseArgs({ options: { base: { type: 'string', default: 'main' }, target: { type: 'string', multiple: true }, seed: { type: 'string', default: '1' } } }));
} catch (e) {
  fail(`${(e as Error).message}; options: --base REV, --target T (repeatable), --seed N`);
}
const targets = values.target?.length ? values.target : ['twin'];
const COUNTER = join(REPO_ROOT, 'hil-tests', 'support', 'count-checks.ts');

/** Runs the suite of the tree at `root` on `target` with the counter loaded first; returns its counts. */
async function countsOf(root: string, target: string, label: string): Promise<Counts> {
  const out = join(mkdtempSync(join(tmpdir(), 'hil-suite-checks-')), 'counts.json');
  const suite = join(root, 'hil-tests');
  const files = readdirSync(suite).filter((f) => /\.test\.ts$/.test(f)).sort().map((f) => join(suite, f));
  const reports = join(out, '..', 'reports');
  const args = [join(root, 'bin', 'hil.js'), 'test', COUNTER, ...files, '--target', target, '--reporter', 'dot', '--report-dir', reports];
  const env: NodeJS.ProcessEnv = { ...process.env, HIL_SEED: values.seed!, HIL_CHECK_COUNTS: out, FORCE_COLOR: '0' };
  delete env.HIL_LINK;
  const p = new ManagedProcess(`hil test (${label}, ${target})`, process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  await p.exitWithin(600_000);
  try {
    return JSON.parse(readFileSync(out, 'utf8')) as Counts;
  } catch {
    fail(`${label} on ${target}: no counts (exit ${p.exitCode}): ${p.output.trim().split('\n').slice(-3).join(' | ')}`);
  } finally {
    rmSync(join(out, '..'), { recursive: true, force: true });
  }
}

const baseDir = mkdtempSync(join(tmpdir(), 'hil-suite-base-'));
let bad = 0;
try {
  execFileSync('sh', ['-c', `git -C "$1" archive "$2" | tar -x -C "$3"`, 'sh', REPO_ROOT, values.base!, baseDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  // The same packages: the counter and the base suite then share one chai.
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(baseDir, 'node_modules'));
  for (const target of targets) {
    const before = await countsOf(baseDir, target, `base ${values.base}`);
    const after = await countsOf(REPO_ROOT, target, 'this tree');
    console.log(`\n${target}: checks per test, ${values.base} → this tree (asserts, values compared; HIL_SEED=${values.seed})`);
    let tb = 0;
    let ta = 0;
    for (const title of Object.keys({ ...before, ...after }).sort()) {
      const b = before[title];
      const a = after[title];
      const worse = !a || (b !== undefined && (a.values < b.values || a.asserts < b.asserts));
      if (worse && b) bad++;
      tb += b?.values ?? 0;
      ta += a?.values ?? 0;
      const f = (c: { asserts: number; values: number } | undefined) => (c ? `${c.asserts} / ${c.values}` : 'absent');
      console.log(`  ${worse && b ? 'FEWER ' : a && b && a.values === b.values && a.asserts === b.asserts ? 'same  ' : b ? 'more  ' : 'new   '} ${f(b).padStart(11)} → ${f(a).padEnd(11)} ${title}`);
    }
    console.log(`  ${target}: ${Object.keys(before).length} tests before, ${Object.keys(after).length} after; values compared ${tb} → ${ta}`);
  }
} finally {
  rmSync(baseDir, { recursive: true, force: true });
}
if (bad) {
  console.log(`\n${bad} test(s) check less than in ${values.base}`);
  process.exit(1);
}
console.log(`\nevery test of ${values.base} is here and checks at least as much`);
