/**
 * The mutation runs' in-process test runner (issue 14): one long-lived child process that loads a
 * Mocha suite once and runs it again on request, so a mutant costs the tests, not a Node start,
 * a TypeScript compile and a module graph load (about 2 s a run on this machine).
 *
 *   node --import tsx scripts/mutate-runner.ts     (spawned by mutate-c.ts / mutate-ts.ts, IPC channel)
 *
 * Environment: MUTATE_FILES (JSON array of spec paths, in run order), MUTATE_HOOKS (optional path
 * of a root-hooks plugin, e.g. host/src/mocha/register.ts with HIL_TARGET), MUTATE_TIMEOUT_MS (a
 * test's timeout). Messages in: `{ mutant?: string, timeoutMs?: number, expectPending?: string[] }` runs the suite with that mutant active
 * (Stryker's mutant switch, `__stryker__.activeMutant`; none for a C mutant, whose sim is rebuilt
 * by the parent); the run stops at the first failure (bail); a test pending that is not in
 * expectPending (the unmutated run's) counts as one. Messages out: `{ ready: true }` once
 * the suite is loaded, `{ firstFailure }` as soon as a test failed, then per run `{ failures, passes, pending, pendingTitles, slowestMs, failed?, coverage }`, coverage
 * being the Stryker mutant ids the instrumented code reached: at load (static) or inside tests.
 * A hung run is the parent's to end: it kills this process's group and starts another.
 */
import Mocha from 'mocha';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadSpecFiles } from '../host/src/orchestrator/run-suite.js';

interface Coverage { static?: Record<string, number>; perTest?: Record<string, Record<string, number>> }
interface StrykerNs { activeMutant?: string; currentTestId?: string; mutantCoverage?: Coverage }

const files = JSON.parse(process.env.MUTATE_FILES ?? '[]') as string[];
let timeout = Number(process.env.MUTATE_TIMEOUT_MS ?? 10_000);
// Stryker's instrumented code reads and writes this namespace (its fixed name, @stryker-mutator/api INSTRUMENTER_CONSTANTS).
const g = globalThis as { __stryker__?: StrykerNs };
const ns: StrykerNs = (g.__stryker__ ??= {});

const plugin = process.env.MUTATE_HOOKS
  ? ((await import(pathToFileURL(resolve(process.env.MUTATE_HOOKS)).href)) as { mochaHooks: Mocha.RootHookObject }).mochaHooks
  : {};
const asArray = <T>(h: T | T[] | undefined): T[] => (h === undefined ? [] : Array.isArray(h) ? h : [h]);
const rootHooks: Mocha.RootHookObject = {
  ...plugin,
  // First: what the tests (and the plugin's own beforeEach, the target's preparation) reach is the test's coverage.
  beforeEach: [function (this: Mocha.Context) { ns.currentTestId = this.currentTest?.fullTitle(); }, ...asArray(plugin.beforeEach)],
  afterEach: [...asArray(plugin.afterEach), () => { ns.currentTestId = undefined; }],
};

class Silent extends Mocha.reporters.Base {}
const mocha = new Mocha({ bail: true, timeout, reporter: Silent, rootHooks });
mocha.cleanReferencesAfterRun(false);
// Through import(), as `hil test` does: Mocha's own loader would require() the .ts specs (a second module graph).
await loadSpecFiles(mocha, files);

function coverage(): string[] {
  const c = ns.mutantCoverage;
  if (!c) return [];
  const ids = new Set(Object.keys(c.static ?? {}));
  for (const t of Object.values(c.perTest ?? {})) for (const id of Object.keys(t)) ids.add(id);
  return [...ids];
}

process.on('message', (msg: { mutant?: string; timeoutMs?: number; expectPending?: string[] }) => {
  ns.activeMutant = msg.mutant;
  const expectPending = msg.expectPending ? new Set(msg.expectPending) : undefined;
  const pendingTitles: string[] = [];
  if (msg.timeoutMs && msg.timeoutMs !== timeout) mocha.timeout((timeout = msg.timeoutMs));
  let failed: string | undefined;
  let slowestMs = 0;
  const runner = mocha.run((failures) => {
    const s = runner.stats!;
    process.send!({ failures, passes: s.passes, pending: s.pending, slowestMs, pendingTitles, ...(failed ? { failed } : {}), coverage: coverage(), static: Object.keys(ns.mutantCoverage?.static ?? {}) });
  });
  runner.on('pass', (t) => { slowestMs = Math.max(slowestMs, t.duration ?? 0); });
  // A test the unmutated code runs that is now not run (its target could not be brought up, the
  // link died): detected, as `hil test` exits 3 for it. Reported at once, like a failure.
  runner.on('pending', (t) => {
    pendingTitles.push(t.fullTitle());
    if (expectPending && !expectPending.has(t.fullTitle()) && !failed) {
      failed = `not run: ${t.fullTitle()}`;
      process.send!({ firstFailure: failed });
    }
  });
  runner.on('fail', (t, err: Error) => {
    if (failed) return;
    failed = `${t.fullTitle()}: ${String(err?.message ?? err).split('\n')[0]}`;
    // At once: the parent ends this process now (the rest of a bailed run, its after-hooks, is not waited for).
    process.send!({ firstFailure: failed });
  });
});
process.on('disconnect', () => process.exit(0));
process.send!({ ready: true, static: Object.keys(ns.mutantCoverage?.static ?? {}) });
