/**
 * The lossy-link benchmark (the "done when" figures of protocol v2): figures, never pass/fail.
 * - suiteCell: the whole HIL suite through the link emulator, in its own `hil test` process,
 *   read back from its run.json (passed / failed / not run, retransmits, faults injected);
 * - writeThenVerify: pipelined distinct writes through the emulator, then a read-back over the
 *   same running target with the faults turned off; lost, applied twice, out of order, never
 *   settled, and goodput;
 * - deadLink: requests queued on a link the emulator cut, and how long until all have failed.
 * Every cell catches its own errors and reports them as a problem, so one bad cell never ends
 * the benchmark.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LinkStats, PoolClient } from '../client/pool-client.js';
import { openTarget } from '../targets/index.js';
import { ManagedProcess } from '../process/managed.js';
import { tempDir } from '../process/interrupt.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import type { LinkCounters } from '../transport/emulator.js';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The link spec of one benchmark cell: equal shares of flip/drop/dup, both directions. */
export function cellLink(ber: number, seed: number): string {
  return ber === 0 ? 'ber=0' : `ber=${ber},seed=${seed}`;
}

export interface SuiteCell {
  target: string;
  ber: number;
  seed: number;
  passed: number;
  failed: number;
  notRun: number;
  /** The client's retransmits, from run.json's link section (undefined when the run has none). */
  retransmits: number | undefined;
  exitCode: number | null;
  durationMs: number;
  /** Each test not run or failed: its title and the first line of its reason or error (run.json). */
  notPassed?: string[];
  /** Why the cell has no (or a partial) result. */
  problem?: string;
}

/**
 * Counts finished tests in the output of Mocha's dot reporter, fed chunk by chunk: one character a
 * test ("." passed, "," pending, "!" failed) in runs between the lines tests print (which hold
 * dots of their own: only whitespace-separated runs of those characters count), until the summary.
 * Returns the count so far when a chunk added to it, else undefined.
 */
export function dotReporterCounter(): (chunk: string) => number | undefined {
  let finished = 0;
  let summary = false;
  let carry = '';
  return (chunk) => {
    if (summary) return undefined;
    let text = carry + chunk;
    const end = text.search(/\d+ (passing|failing)/);
    if (end >= 0) {
      summary = true;
      text = text.slice(0, end);
    }
    const tokens = text.split(/\s+/);
    carry = summary || /\s$/.test(text) ? '' : tokens.pop()!;
    if (/^[.,!]+$/.test(carry)) {
      tokens.push(carry);
      carry = '';
    }
    const dots = tokens.filter((t) => /^[.,!]+$/.test(t)).reduce((n, t) => n + t.length, 0);
    if (!dots) return undefined;
    finished += dots;
    return finished;
  };
}

/** What a run.json says that the benches read: counts, duration, and the link's counters (summed over the run's target instances). */
export interface RunFigures {
  passed: number;
  failed: number;
  pending: number;
  notRun: number;
  /** run.json's durationMs: the Mocha run, the target's bring-up included. */
  durationMs: number;
  /** False for a record the run wrote while it went on and never replaced (it was killed). */
  finished: boolean;
  tests: Array<{ title?: string; outcome?: string; reason?: string; error?: { message?: string }; wireBytes?: { h2d: number; d2h: number } }>;
  /** The client's link counters. */
  client: Record<string, number> | undefined;
  /** The link emulator's counters; undefined when the run did not go through one. */
  emulator: Record<string, number> | undefined;
}

/** Reads a run.json (reporter.ts RunRecord) once for every bench: absent or mistyped fields read as 0 / empty. */
export function runFigures(rec: Record<string, unknown>): RunFigures {
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const link = (typeof rec.link === 'object' && rec.link !== null ? rec.link : {}) as { client?: Record<string, number>; emulator?: Record<string, number> };
  return {
    passed: num(rec.passed),
    failed: num(rec.failed),
    pending: num(rec.pending),
    notRun: num(rec.notRun),
    durationMs: num(rec.durationMs),
    finished: rec.finished === true,
    tests: Array.isArray(rec.tests) ? (rec.tests as RunFigures['tests']) : [],
    client: link.client,
    emulator: link.emulator,
  };
}

/**
 * What crossed the emulated wire each way: h2d.bytesOut, what entered the wire host → device;
 * d2h.bytesOut, what left the device's side for the host (retransmissions included).
 */
export function wireBytes(f: RunFigures): { h2d: number; d2h: number } {
  return { h2d: f.emulator?.['h2d.bytesOut'] ?? 0, d2h: f.emulator?.['d2h.bytesOut'] ?? 0 };
}

/** Why a suite process gave no run.json, in one line. */
export function noRecordProblem(r: SuiteProcessRun, timeoutMs: number): string {
  return `${r.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${r.exitSignal ?? r.exitCode}`}, no run.json: ${r.tail}`;
}

/** What one `hil test` process through the link emulator left behind. */
export interface SuiteProcessRun {
  /** Its run.json, read (runFigures), when it wrote one. */
  figures: RunFigures | undefined;
  exitCode: number | null;
  exitSignal: NodeJS.Signals | null;
  /** How it ended ("exit 0", "killed by SIGTERM"), ManagedProcess.exitReason. */
  exitReason: string;
  timedOut: boolean;
  /** Wall time of the process, in ms. */
  durationMs: number;
  /** The last lines it printed (for a problem report). */
  tail: string;
}

/**
 * Runs `hil test --target T --link L --reporter dot --report-dir <tmp>` in its own process (the
 * suite's modules are ES modules, loaded once a process: a second run needs a fresh one) and reads
 * its run.json; the temp folder is removed. Bounded by timeoutMs (then the run is stopped).
 * `onTest` is called with the count of tests finished so far, from the dot reporter's output.
 */
export async function runSuiteProcess(
  target: string,
  link: string,
  timeoutMs = 600_000,
  onTest?: (finished: number) => void,
  more: {
    /** Spec files (default: the built-in suite). */
    files?: string[];
    /** Extra environment (e.g. HIL_SEED). */
    env?: NodeJS.ProcessEnv;
    /** The `hil` to run: bin/hil.js of a checkout (default this package's; another revision's for before/after figures). */
    hil?: string;
  } = {},
): Promise<SuiteProcessRun> {
  const tmp = tempDir('hil-bench-suite-');
  const dir = tmp.path;
  const t0 = now();
  try {
    const args = [more.hil ?? join(REPO_ROOT, 'bin', 'hil.js'), 'test', ...(more.files ?? []), '--target', target, '--link', link, '--reporter', 'dot', '--report-dir', dir];
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...more.env };
    delete env.HIL_LINK; // --link says it
    const p = new ManagedProcess(`hil test --target ${target} --link ${link} (bench)`, process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'], deathSignal: 'SIGTERM' });
    if (onTest) {
      const count = dotReporterCounter();
      p.child.stdout?.on('data', (d: Buffer) => {
        const n = count(d.toString('utf8'));
        if (n !== undefined) onTest(n);
      });
    }
    const { timedOut } = await p.exitWithin(timeoutMs);
    const durationMs = Math.round(now() - t0);
    let figures: RunFigures | undefined;
    try {
      figures = runFigures(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>);
    } catch {
      figures = undefined;
    }
    return { figures, exitCode: p.exitCode, exitSignal: p.exitSignal, exitReason: p.exitReason, timedOut, durationMs, tail: p.output.trim().split('\n').slice(-3).join(' | ') };
  } finally {
    tmp.remove();
  }
}

/**
 * Runs the suite through `cellLink(ber, seed)` (runSuiteProcess) and reads its outcome. Never throws.
 * The bound is generous: at a byte error rate of 1e-2 a run takes 8 to 10 minutes (tests that move
 * long frames are given their timeout again while the link retransmits), more with runs beside it.
 */
export async function suiteCell(target: string, ber: number, seed: number, timeoutMs = 1_800_000): Promise<SuiteCell> {
  const t0 = now();
  const base = { target, ber, seed };
  try {
    const r = await runSuiteProcess(target, cellLink(ber, seed), timeoutMs);
    const f = r.figures;
    if (!f) return { ...base, passed: 0, failed: 0, notRun: 0, retransmits: undefined, exitCode: r.exitCode, durationMs: r.durationMs, problem: noRecordProblem(r, timeoutMs) };
    // run.json's link section holds what the emulator injected when the suite ran through one.
    const notThrough = f.emulator ? {} : { problem: `the suite did not run through the link emulator (run.json has no link.emulator): its target must be opened with the link HIL_LINK names` };
    // A record written while the run went on (it was killed before its last one) counts only part of the suite.
    const unfinished = f.finished ? {} : { problem: `the run did not finish (${r.exitReason}): run.json holds only the tests before it stopped` };
    const notPassed = f.tests
      .filter((t) => t.outcome === 'not_run' || t.outcome === 'failed')
      .map((t) => `${t.outcome}: ${t.title}: ${(t.reason ?? t.error?.message ?? '').split('\n')[0]!.slice(0, 160)}`);
    return {
      ...base,
      passed: f.passed,
      failed: f.failed,
      notRun: f.notRun,
      retransmits: f.client?.retransmits,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      notPassed,
      ...notThrough,
      ...unfinished,
      ...(r.timedOut ? { problem: `timed out after ${timeoutMs} ms` } : {}),
    };
  } catch (e) {
    return { ...base, passed: 0, failed: 0, notRun: 0, retransmits: undefined, exitCode: null, durationMs: Math.round(now() - t0), problem: (e as Error).message.split('\n')[0]! };
  }
}

/** The cells a write-then-verify writes: every global, then every array element, of every context. */
interface Cell {
  vm: number;
  kind: 'global' | 'array';
  id: number;
  index: number;
}

export interface WriteVerifyFigures {
  target: string;
  ber: number;
  seed: number;
  writes: number;
  /** Writes the device acknowledged (resolved). */
  acknowledged: number;
  /** Writes that failed (rejected) through the lossy link. */
  failedWrites: number;
  /** Acknowledged writes whose cell does not hold them or a later write to it. */
  lost: number;
  /**
   * Operations the device executed beyond one per write (its stats `ops` counter): applied twice.
   * Undefined when the target's stats could not be read.
   */
  appliedTwice: number | undefined;
  /** Cells holding an older write than the last acknowledged one to them. */
  outOfOrder: number;
  /** Writes neither resolved nor rejected when the bound ran out. */
  neverSettled: number;
  seconds: number;
  /** Acknowledged writes per second. */
  goodput: number;
  link?: LinkCounters;
  retransmits?: number;
  /** The client's link counters over the write phase (bytes resent, out_of_sequence replies, RTO expiries and their waits, ...). */
  linkStats?: LinkStats;
  /** Time the host → device wire carried nothing during the write phase, ms. */
  idleH2dMs?: number;
  problem?: string;
}

function cellsOf(info: NonNullable<PoolClient['info']>): Cell[] {
  const cells: Cell[] = [];
  for (let g = 0; g < info.maxGlobals; g++) for (let vm = 0; vm < info.maxVms; vm++) cells.push({ vm, kind: 'global', id: g, index: 0 });
  for (let i = 0; i < info.arrayElements; i++)
    for (let a = 0; a < info.maxArrays; a++) for (let vm = 0; vm < info.maxVms; vm++) cells.push({ vm, kind: 'array', id: a, index: i });
  return cells;
}

/**
 * Write i goes to cell blockBase + i % 8 with value i + 1: each cell of a block of 8 is written 3
 * times, 8 writes apart, so writes to the same cell are in flight together (within any window)
 * and a retransmission that reordered them would show.
 */
function planWrites(n: number, cells: number): Array<{ cell: number; value: number }> {
  const plan: Array<{ cell: number; value: number }> = [];
  for (let i = 0; i < n; i++) plan.push({ cell: (Math.floor(i / 24) * 8 + (i % 8)) % cells, value: i + 1 });
  return plan;
}

/**
 * Pipelined distinct writes (store_global / store_array over every context) through the link
 * emulator at `ber`, then a read-back over the same running target with the faults off.
 * `settleMs` bounds the write phase. Never throws: a failure is the figures' `problem`.
 */
/**
 * The cable write-then-verify measures goodput on: a USB-UART adapter at 115200 baud with a 1 ms
 * latency timer. On an unpaced link (a pty to the sim) goodput is bound by the host's CPU, not by
 * the wire, and a lost frame costs a round trip of microseconds: a share of "clean" there says
 * nothing about a cable.
 */
export const WRITE_VERIFY_PACING = 'baud=115200,latency=1';

export async function writeThenVerify(target: string, ber: number, seed: number, options: { writes?: number; settleMs?: number; pacing?: string } = {}): Promise<WriteVerifyFigures> {
  const writes = options.writes ?? 3072;
  const base: WriteVerifyFigures = { target, ber, seed, writes, acknowledged: 0, failedWrites: 0, lost: 0, appliedTwice: 0, outOfOrder: 0, neverSettled: 0, seconds: 0, goodput: 0 };
  let t: Awaited<ReturnType<typeof openTarget>> | undefined;
  try {
    // Opened clean, with the emulator in place, so that the setup (reset, acquire, create) is not what is measured.
    const pacing = options.pacing ?? WRITE_VERIFY_PACING;
    t = await openTarget(target, { link: pacing ? `${cellLink(ber, seed)},${pacing}` : cellLink(ber, seed) });
    const emu = t.emulator!;
    emu.setFaults(false);
    const c = t.client;
    const info = c.info!;
    await c.resetPool();
    for (let vm = 0; vm < info.maxVms; vm++) {
      await c.acquire(vm);
      for (let a = 0; a < info.maxArrays; a++) await c.createArray(vm, a, info.arrayElements);
    }
    const cells = cellsOf(info);
    const plan = planWrites(writes, cells.length);
    // Warm-up on the clean link (JIT, buffers, the client's RTO estimate), so that every rate's
    // goodput is measured alike; the planned writes overwrite these (negative) values.
    await Promise.all(plan.slice(0, 512).map((w, i) => {
      const cell = cells[w.cell]!;
      return cell.kind === 'global' ? c.storeGlobal(cell.vm, cell.id, -(i + 1)) : c.storeArray(cell.vm, cell.id, cell.index, -(i + 1));
    }));
    // The device's count of executed operations, around the write phase; one stats request's own share measured first.
    const ops = async (): Promise<number | undefined> => c.stats().then((s) => s.ops, () => undefined);
    const ops0 = await ops();
    const ops1 = await ops();
    const perStats = ops0 !== undefined && ops1 !== undefined ? ops1 - ops0 : undefined;
    const s0 = c.linkStats();
    const idle0 = emu.counters.idleH2dMs;
    emu.setFaults(true);
    const state = plan.map(() => 'pending' as 'pending' | 'ok' | 'failed');
    const t0 = now();
    const all = plan.map((w, i) => {
      const cell = cells[w.cell]!;
      const p = cell.kind === 'global' ? c.storeGlobal(cell.vm, cell.id, w.value) : c.storeArray(cell.vm, cell.id, cell.index, w.value);
      return p.then(
        () => void (state[i] = 'ok'),
        () => void (state[i] = 'failed'),
      );
    });
    let bound: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(all), new Promise((r) => (bound = setTimeout(r, options.settleMs ?? 300_000)))]);
    clearTimeout(bound);
    const seconds = (now() - t0) / 1000;
    const s1 = c.linkStats();
    const idleH2dMs = Math.round(emu.counters.idleH2dMs - idle0);
    emu.setFaults(false);
    const acknowledged = state.filter((s) => s === 'ok').length;
    const ops2 = await ops();
    const executed = ops2 !== undefined && ops1 !== undefined && perStats !== undefined ? ops2 - ops1 - perStats : undefined;
    // Read back every cell written, pipelined, over the now clean link.
    const used = [...new Set(plan.map((w) => w.cell))];
    const values = await Promise.all(used.map((k) => {
      const cell = cells[k]!;
      return cell.kind === 'global' ? c.loadGlobal(cell.vm, cell.id) : c.loadArray(cell.vm, cell.id, cell.index);
    }));
    const held = new Map(used.map((k, i) => [k, values[i]!]));
    let lost = 0;
    let outOfOrder = 0;
    for (const k of used) {
      const ws = plan.map((w, i) => ({ ...w, i })).filter((w) => w.cell === k);
      const lastAck = [...ws].reverse().find((w) => state[w.i] === 'ok');
      if (!lastAck) continue;
      const v = held.get(k)!;
      const holder = ws.find((w) => w.value === v);
      if (holder === undefined) lost++; // holds nothing written (0, or garbage)
      else if (holder.i < lastAck.i) outOfOrder++; // an older write landed after the last acknowledged one
    }
    await c.resetPool();
    return {
      ...base,
      acknowledged,
      failedWrites: state.filter((s) => s === 'failed').length,
      lost,
      appliedTwice: executed === undefined ? undefined : Math.max(0, executed - writes),
      outOfOrder,
      neverSettled: state.filter((s) => s === 'pending').length,
      seconds: +seconds.toFixed(3),
      goodput: Math.round(acknowledged / seconds),
      link: emu.counters,
      retransmits: s1.retransmits - s0.retransmits,
      linkStats: since(s0, s1),
      idleH2dMs,
    };
  } catch (e) {
    return { ...base, problem: (e as Error).message.split('\n')[0]! };
  } finally {
    await t?.close().catch(() => undefined);
  }
}

/** The counts of `b` less those of `a`; states (RTO, SRTT, cwnd) are `b`'s. */
function since(a: LinkStats, b: LinkStats): LinkStats {
  const out = { ...b };
  for (const k of ['transmissions', 'retransmits', 'retransmittedBytes', 'outOfSequence', 'goBacks', 'fastRetransmits', 'held', 'probes', 'timeouts', 'timeoutWaitMs', 'resyncs', 'exhausted', 'deadLinks'] as const) out[k] = b[k] - a[k];
  return out;
}

export interface DeadLinkFigures {
  target: string;
  requests: number;
  /** From the cut (all requests queued at once) until the last one failed, in ms. */
  allFailedMs: number;
  linkDead: number;
  /** Other outcomes, by error name (or "resolved"). */
  other: Record<string, number>;
  problem?: string;
}

/** Queues `requests` writes on a link the emulator has cut and times until all have failed. Never throws. */
export async function deadLink(target: string, requests = 640, boundMs = 120_000): Promise<DeadLinkFigures> {
  const base: DeadLinkFigures = { target, requests, allFailedMs: 0, linkDead: 0, other: {} };
  let t: Awaited<ReturnType<typeof openTarget>> | undefined;
  try {
    t = await openTarget(target, { link: 'ber=0' });
    const c = t.client;
    await c.resetPool();
    await c.acquire(0);
    for (let i = 0; i < 50; i++) await c.storeGlobal(0, i % c.info!.maxGlobals, i); // round trips for the RTO
    t.emulator!.cut();
    const other: Record<string, number> = {};
    let linkDeadCount = 0;
    const t0 = now();
    const all = Array.from({ length: requests }, (_, i) =>
      c.storeGlobal(0, i % c.info!.maxGlobals, i).then(
        () => void (other.resolved = (other.resolved ?? 0) + 1),
        (e: Error) => {
          if (e.name === 'LinkDead') linkDeadCount++;
          else other[e.name] = (other[e.name] ?? 0) + 1;
        },
      ),
    );
    let bound: NodeJS.Timeout | undefined;
    const finished = await Promise.race([Promise.all(all).then(() => true), new Promise<boolean>((r) => (bound = setTimeout(() => r(false), boundMs)))]);
    clearTimeout(bound);
    const ms = now() - t0;
    return { ...base, allFailedMs: Math.round(ms), linkDead: linkDeadCount, other, ...(finished ? {} : { problem: `not all failed within ${boundMs} ms` }) };
  } catch (e) {
    return { ...base, problem: (e as Error).message.split('\n')[0]! };
  } finally {
    await t?.close().catch(() => undefined);
  }
}
