/**
 * The HIL suite through the link emulator, paced like a USB-UART adapter, measured against the
 * wire: how long the suite took, the bytes each way, and the least time those bytes need on the
 * wire (the "wire limit"). Figures only, never pass/fail: a slow machine must not fail anything.
 *
 * The suite runs in its own `hil test` process as `hil bench` runs it (bench-link.ts
 * runSuiteProcess), and is read the same way: run.json's `durationMs` (the Mocha run, bring-up of
 * the target included) and the emulator's counters of what crossed the wire each way
 * (`h2d.bytesOut`, `d2h.bytesOut`, retransmissions included); the wire limit is bench.ts's
 * wireLimitSeconds. This module adds what a before/after comparison needs: another checkout's
 * `hil`, other spec files, a clean-link timing, and a markdown row.
 */
import { parseLinkSpec } from '../transport/emulator.js';
import { testByTestWireLimitSeconds, wireLimitSeconds } from './bench.js';
import { noRecordProblem, runSuiteProcess, wireBytes } from './bench-link.js';
import { SUITE_LINKS, suiteLinkSpec } from './bench-run.js';

/** What one run of the suite through a paced emulated link measured. Times in ms, bytes as carried. */
export interface SuiteOnLink {
  target: string;
  /** The link spec given to `hil test --link`; `none`: a clean link, not through the emulator. */
  link: string;
  /** The emulated baud rate; undefined on an unpaced link (no wire limit then). */
  baud: number | undefined;
  passed: number;
  failed: number;
  pending: number;
  notRun: number;
  exitCode: number | null;
  /** run.json's durationMs: the Mocha run, the target's bring-up in the first test included. */
  suiteMs: number;
  /** Bytes the host wrote to the emulated wire (every transmission, retransmissions included). */
  bytesH2d: number;
  /** Bytes the device sent onto the emulated wire. */
  bytesD2h: number;
  /** The client's retransmissions. */
  retransmits: number;
  /** Least time the bytes need on a full-duplex 8N1 wire at `baud`: the larger direction (0 when not paced). */
  wireLimitMs: number;
  /** suiteMs / wireLimitMs (0 when not paced). */
  ratio: number;
  /**
   * The wire limit of the tests one after another (bench.ts testByTestWireLimitSeconds: each
   * test's busier direction, summed), from the client's byte counts per test; 0 when not paced or
   * not counted.
   */
  testWireLimitMs: number;
  /** suiteMs / testWireLimitMs (0 when not known). */
  testRatio: number;
  /** Set when the run gave no (or partial) figures: why. */
  problem?: string;
}

export interface SuiteOnLinkOptions {
  /** Spec files (default: hil test's own default, the built-in suite). */
  files?: string[];
  /** Extra environment for the `hil test` process (e.g. HIL_SEED). */
  env?: NodeJS.ProcessEnv;
  /** Bound on the whole run, ms (default 10 min); the run is stopped and reported past it. */
  timeoutMs?: number;
  /**
   * The `hil` to run: bin/hil.js of a checkout (default this package's own). Another checkout's
   * (e.g. an older revision) runs that checkout's runner and suite, for before/after figures.
   */
  hil?: string;
}

/**
 * Runs `hil test --target <target> --link <link> --reporter dot` in its own process and returns
 * its figures; the report folder is removed. `link` is any `--link` spec; with `baud` the wire
 * limit and ratio are worked out, with `none` (a clean link) only the time is. Throws
 * LinkSpecError for a bad spec; never rejects for a failing run: `problem` says what failed.
 */
export async function suiteOnLink(target: string, link: string, options: SuiteOnLinkOptions = {}): Promise<SuiteOnLink> {
  const baud = parseLinkSpec(link)?.baud;
  const empty = { target, link, baud, passed: 0, failed: 0, pending: 0, notRun: 0, suiteMs: 0, bytesH2d: 0, bytesD2h: 0, retransmits: 0, wireLimitMs: 0, ratio: 0, testWireLimitMs: 0, testRatio: 0 };
  const timeoutMs = options.timeoutMs ?? 600_000;
  try {
    const r = await runSuiteProcess(target, link, timeoutMs, undefined, options);
    const f = r.figures;
    if (!f) return { ...empty, exitCode: r.exitCode, problem: noRecordProblem(r, timeoutMs) };
    // What crossed the emulated wire each way, counted as hil bench counts it.
    const { h2d: bytesH2d, d2h: bytesD2h } = wireBytes(f);
    const suiteMs = f.durationMs;
    const limit = baud === undefined ? 0 : wireLimitSeconds(bytesH2d, bytesD2h, baud) * 1000;
    const testLimit = baud === undefined ? 0 : (testByTestWireLimitSeconds(f.tests, baud) ?? 0) * 1000;
    const problems = [
      ...(f.emulator || baud === undefined ? [] : ['the run has no link.emulator counters (the target was not opened through the emulator)']),
      ...(r.timedOut ? [`timed out after ${timeoutMs} ms`] : []),
      ...(f.failed > 0 || f.notRun > 0 ? [`${f.failed} failed, ${f.notRun} not run`] : []),
    ];
    return {
      ...empty,
      passed: f.passed,
      failed: f.failed,
      pending: f.pending,
      notRun: f.notRun,
      exitCode: r.exitCode,
      suiteMs,
      bytesH2d,
      bytesD2h,
      retransmits: f.client?.retransmits ?? 0,
      wireLimitMs: limit,
      ratio: limit > 0 ? suiteMs / limit : 0,
      testWireLimitMs: testLimit,
      testRatio: testLimit > 0 ? suiteMs / testLimit : 0,
      ...(problems.length ? { problem: problems.join('; ') } : {}),
    };
  } catch (e) {
    return { ...empty, exitCode: null, problem: (e as Error).message.split('\n')[0]! };
  }
}

/** The adapter links of issue 13's table: 115200 with latency timers 1 and 16 ms (the FTDI default), 921600 with 1 ms. */
export const ADAPTER_LINKS: readonly string[] = SUITE_LINKS.map(suiteLinkSpec);

/**
 * One markdown table row: `| target | link | suite s | KB h→d / d→h | wire limit s | ratio |
 * test-by-test wire limit s | ratio to it | retransmits |`.
 */
export function formatSuiteOnLink(r: SuiteOnLink): string {
  const kb = (n: number) => (n / 1000).toFixed(1);
  const paced = r.baud !== undefined;
  const bytes = paced ? `${kb(r.bytesH2d)} KB / ${kb(r.bytesD2h)} KB` : '—';
  const limit = paced ? `${(r.wireLimitMs / 1000).toFixed(2)} s` : '—';
  const ratio = paced ? `${r.ratio.toFixed(2)}×` : '—';
  const known = paced && r.testWireLimitMs > 0;
  const testLimit = known ? `${(r.testWireLimitMs / 1000).toFixed(2)} s` : '—';
  const testRatio = known ? `${r.testRatio.toFixed(2)}×` : '—';
  return `| ${r.target} | ${r.link} | ${(r.suiteMs / 1000).toFixed(2)} s | ${bytes} | ${limit} | ${ratio} | ${testLimit} | ${testRatio} | ${r.retransmits} |${r.problem ? ` ${r.problem} |` : ''}`;
}

/** The header of formatSuiteOnLink's table. */
export const SUITE_ON_LINK_HEADER =
  '| target | link | suite time | bytes host→device / device→host | wire limit | ratio | test-by-test wire limit | ratio to it | retransmits |\n|---|---|---|---|---|---|---|---|---|';
