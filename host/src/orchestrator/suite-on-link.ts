/**
 * The HIL suite through the link emulator, paced like a USB-UART adapter, measured against the
 * wire: how long the suite took, the bytes each way, and the least time those bytes need on the
 * wire (the "wire limit"). Figures only, never pass/fail: a slow machine must not fail anything.
 *
 * The suite runs in its own `hil test` process (as a user runs it), reporting into a temp folder
 * whose run.json gives the figures: `durationMs` (the Mocha run, bring-up of the target included)
 * and the emulator's counters (`link.emulator`: bytes the host wrote, `h2d.bytesIn`, and bytes the
 * device sent, `d2h.bytesIn`, retransmissions included). The link is full duplex and 8N1, so the
 * wire limit is the larger direction's bytes × 10 bits / baud.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import { parseLinkSpec } from '../transport/emulator.js';

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
  /** Set when the run gave no (or partial) figures: why. */
  problem?: string;
}

/** Bits a byte takes on an 8N1 line. */
export const BITS_PER_BYTE = 10;

/** The least time `bytesH2d` and `bytesD2h` need on a full-duplex 8N1 link at `baud`, ms. */
export function wireLimitMs(bytesH2d: number, bytesD2h: number, baud: number): number {
  return (Math.max(bytesH2d, bytesD2h) * BITS_PER_BYTE * 1000) / baud;
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
  const dir = mkdtempSync(join(tmpdir(), 'hil-suite-on-link-'));
  const empty = { target, link, baud, passed: 0, failed: 0, pending: 0, notRun: 0, suiteMs: 0, bytesH2d: 0, bytesD2h: 0, retransmits: 0, wireLimitMs: 0, ratio: 0 };
  try {
    const args = [options.hil ?? join(REPO_ROOT, 'bin', 'hil.js'), 'test', ...(options.files ?? []), '--target', target, '--link', link, '--reporter', 'dot', '--report-dir', dir];
    const env: NodeJS.ProcessEnv = { ...process.env, FORCE_COLOR: '0', ...options.env };
    delete env.HIL_LINK; // --link says it
    const p = new ManagedProcess(`hil test --target ${target} --link ${link}`, process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timeoutMs = options.timeoutMs ?? 600_000;
    const { timedOut } = await p.exitWithin(timeoutMs);
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      const tail = p.output.trim().split('\n').slice(-3).join(' | ');
      return { ...empty, exitCode: p.exitCode, problem: `${timedOut ? `timed out after ${timeoutMs} ms` : `exit ${p.exitSignal ?? p.exitCode}`}, no run.json: ${tail}` };
    }
    const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
    const linkRec = (rec.link ?? {}) as { client?: Record<string, unknown>; emulator?: Record<string, unknown> };
    const bytesH2d = num(linkRec.emulator?.['h2d.bytesIn']);
    const bytesD2h = num(linkRec.emulator?.['d2h.bytesIn']);
    const suiteMs = num(rec.durationMs);
    const limit = baud === undefined ? 0 : wireLimitMs(bytesH2d, bytesD2h, baud);
    const problems = [
      ...(linkRec.emulator || baud === undefined ? [] : ['the run has no link.emulator counters (the target was not opened through the emulator)']),
      ...(timedOut ? [`timed out after ${timeoutMs} ms`] : []),
      ...(num(rec.failed) > 0 || num(rec.notRun) > 0 ? [`${num(rec.failed)} failed, ${num(rec.notRun)} not run`] : []),
    ];
    return {
      ...empty,
      passed: num(rec.passed),
      failed: num(rec.failed),
      pending: num(rec.pending),
      notRun: num(rec.notRun),
      exitCode: p.exitCode,
      suiteMs,
      bytesH2d,
      bytesD2h,
      retransmits: num(linkRec.client?.retransmits),
      wireLimitMs: baud === undefined ? 0 : limit,
      ratio: baud !== undefined && limit > 0 ? suiteMs / limit : 0,
      ...(problems.length ? { problem: problems.join('; ') } : {}),
    };
  } catch (e) {
    return { ...empty, exitCode: null, problem: (e as Error).message.split('\n')[0]! };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The adapter links of issue 13's table: 115200 with latency timers 1 and 16 ms (the FTDI default), 921600 with 1 ms. */
export const ADAPTER_LINKS = ['baud=115200,latency=1,packet=62', 'baud=115200,latency=16,packet=62', 'baud=921600,latency=1,packet=62'] as const;

/** One markdown table row: `| target | link | suite s | KB h→d / d→h | wire limit s | ratio | retransmits |`. */
export function formatSuiteOnLink(r: SuiteOnLink): string {
  const kb = (n: number) => (n / 1000).toFixed(1);
  const paced = r.baud !== undefined;
  const bytes = paced ? `${kb(r.bytesH2d)} KB / ${kb(r.bytesD2h)} KB` : '—';
  const limit = paced ? `${(r.wireLimitMs / 1000).toFixed(2)} s` : '—';
  const ratio = paced ? `${r.ratio.toFixed(2)}×` : '—';
  return `| ${r.target} | ${r.link} | ${(r.suiteMs / 1000).toFixed(2)} s | ${bytes} | ${limit} | ${ratio} | ${r.retransmits} |${r.problem ? ` ${r.problem} |` : ''}`;
}

/** The header of formatSuiteOnLink's table. */
export const SUITE_ON_LINK_HEADER = '| target | link | suite time | bytes host→device / device→host | wire limit | ratio | retransmits |\n|---|---|---|---|---|---|---|';
