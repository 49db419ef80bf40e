/**
 * Merging runs: the run folders of several boards, from one parallel run or from several machines
 * (a board farm's CI runners, each uploading its report folder), into one page and one JUnit file.
 * A folder given is a run folder (it holds run.json) or a folder of run folders (a parallel run's
 * report root, a downloaded set of artefacts); each run's own page, where there is one, is linked.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { junitXml } from './reporter.js';
import { ReportInputError, readRunFolder, renderReport, type ReportEntry } from './report-html.js';

/**
 * The run folders under `dirs`, in the order given: each dir itself when it holds run.json, else
 * its sub-folders that do (sorted). Throws ReportInputError for a folder that is neither.
 */
export function findRunFolders(dirs: string[]): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new ReportInputError(`${dir}: no such folder; give run folders (hil test --report-dir) or a parallel run's report root`);
    if (existsSync(join(dir, 'run.json'))) {
      found.push(dir);
      continue;
    }
    const subs = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'run.json'))).map((d) => join(dir, d.name)).sort();
    if (!subs.length) throw new ReportInputError(`${dir}: no run.json in it nor in its sub-folders; give run folders (hil test --report-dir) or a parallel run's report root`);
    found.push(...subs);
  }
  const unique = [...new Map(found.map((f) => [resolve(f), f])).values()];
  return unique;
}

/** The folders' runs as entries of a page written in `outDir`, each linking its own page when it has one. */
function entriesFor(folders: string[], outDir: string): ReportEntry[] {
  return folders.map((f) => {
    const entry = readRunFolder(f);
    const own = join(f, 'index.html');
    if (existsSync(own) && resolve(f) !== resolve(outDir)) entry.href = relative(outDir, own).split('\\').join('/');
    return entry;
  });
}

export interface MergeResult {
  /** The run folders merged, in order. */
  folders: string[];
  page: string;
  junit: string;
  /** Tests over every run, and of them failed, pending and not run. */
  tests: number;
  failed: number;
  pending: number;
  notRun: number;
}

/** `hil report DIR…`: writes `outDir`/index.html (every board) and `outDir`/junit.xml (a testsuite per board). */
export function mergeReports(dirs: string[], outDir: string): MergeResult {
  const folders = findRunFolders(dirs);
  mkdirSync(outDir, { recursive: true });
  const entries = entriesFor(folders, outDir);
  const page = join(outDir, 'index.html');
  const junit = join(outDir, 'junit.xml');
  const runs = entries.map((e) => e.run);
  writeFileSync(page, renderReport(entries));
  writeFileSync(junit, junitXml(runs));
  const sum = (f: (r: (typeof runs)[number]) => number) => runs.reduce((n, r) => n + f(r), 0);
  return { folders, page, junit, tests: sum((r) => r.tests.length), failed: sum((r) => r.failed), pending: sum((r) => r.pending), notRun: sum((r) => r.notRun) };
}

/** A parallel run's combined page, `root`/index.html: every board that left a run record, each linking its own page. */
export function writeCombinedPage(root: string, folders: string[]): string | undefined {
  const withRecord = folders.filter((f) => existsSync(join(f, 'run.json')));
  if (!withRecord.length) return undefined;
  const page = join(root, 'index.html');
  writeFileSync(page, renderReport(entriesFor(withRecord, root)));
  return page;
}
