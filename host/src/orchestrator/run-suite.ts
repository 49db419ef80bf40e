/**
 * Runs the HIL suite (hil-tests/) in this process against one target with Mocha's programmatic
 * API. The target is handed to the suite through HIL_TARGET, the same variable a user sets when
 * running mocha by hand, so the suite has one way of finding its target.
 */
import Mocha from 'mocha';
import { HilReporter } from './reporter.js';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SUITE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'hil-tests');

export interface SuiteOptions {
  /** Target spec, e.g. "twin", "serial:/dev/ttyUSB0". */
  target: string;
  grep?: string;
  /** Console style, "spec" (default), "dot" or "silent"; or any other Mocha reporter by name (then no report files). */
  reporter?: string;
  /** Directory for junit.xml and run.json. */
  reportDir?: string;
  /** Board name recorded in the reports (default: the target spec). */
  board?: string;
  /** Test files to run instead of the suite's (for the orchestrator's own tests). */
  files?: string[];
  /** Per-test timeout in ms (default 30000: generous for a slow link; requests have their own timeouts). */
  timeoutMs?: number;
}

export interface SuiteResult {
  passes: number;
  failures: number;
  pending: number;
}

/** The suite's test files, in a stable order. */
export function suiteFiles(): string[] {
  return readdirSync(SUITE_DIR)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(SUITE_DIR, f));
}

/** Runs the suite once; resolves with its counts (never rejects for failing tests). */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  process.env.HIL_TARGET = options.target;
  const { mochaHooks } = await import('../../../hil-tests/support/target.js');
  const mocha = new Mocha({
    timeout: options.timeoutMs ?? 30_000,
    ...(options.reporter && !['spec', 'dot', 'silent'].includes(options.reporter)
      ? { reporter: options.reporter }
      : { reporter: HilReporter, reporterOptions: { reportDir: options.reportDir, board: options.board ?? options.target, console: options.reporter ?? 'spec' } }),
    rootHooks: mochaHooks as Mocha.RootHookObject,
    ...(options.grep ? { grep: options.grep } : {}),
  });
  for (const f of options.files ?? suiteFiles()) mocha.addFile(f);
  await mocha.loadFilesAsync();
  return new Promise((resolve) => {
    const runner = mocha.run(() => {
      const s = runner.stats!;
      resolve({ passes: s.passes, failures: s.failures, pending: s.pending });
    });
  });
}
