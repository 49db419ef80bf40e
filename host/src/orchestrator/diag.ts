/**
 * Board diagnostics: what a bench engineer asks first of a target. Collected through the public
 * client API only, so a script can do the same.
 */
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import type { LinkStats, PoolClient } from '../client/pool-client.js';
import { type Hello, type LinkCounters, type Stats, linkCountersOf } from '../protocol/messages.js';
import { latencyAdvice, readLatencyTimer } from '../transport/adapter-latency.js';
import { LinkEmulator } from '../transport/emulator.js';
import { SerialTransport } from '../transport/serial.js';
import type { Transport } from '../transport/transport.js';

/** The device's link-layer counters (stats keys 15..19, PROTOCOL.md §3.3, §6). */
export type DeviceLinkCounters = LinkCounters;

/** Link quality after the measurement: the client's retransmission figures and the device's counters. */
export interface LinkQuality {
  client: LinkStats;
  device: DeviceLinkCounters;
}

export interface LinkFigures {
  /** Round trips measured. */
  samples: number;
  medianMs: number;
  p99Ms: number;
  /** Echo payload bytes per second, both directions counted once. */
  echoBytesPerS: number;
  /** Every round trip timed, ms (to the microsecond), in the order measured: kept for the report's histogram (`hil diag --json > <run folder>/diag.json`). */
  rttMs: number[];
}

/** The USB-UART adapter's latency timer, when the target's port is on one that has it (FTDI). */
export interface AdapterLatency {
  /** The tty, e.g. ttyUSB0. */
  tty: string;
  /** Its latency timer, in ms. */
  ms: number;
  /** What it costs and how to set it to 1 ms (adapter-latency.ts latencyAdvice); empty at 1 ms. */
  advice: string[];
}

export interface Diagnostics {
  target: string;
  hello: Hello;
  stats: Stats;
  link: LinkFigures;
  linkQuality: LinkQuality;
  adapter?: AdapterLatency;
}

/**
 * The latency timer of the adapter under `transport` (through the link emulator, if any), read
 * from sysfs; undefined for a link that is not a serial port with one (twin, pty, TCP, CDC-ACM).
 */
export function adapterLatencyOf(transport: Transport, sysfsRoot = '/sys'): AdapterLatency | undefined {
  const inner = transport instanceof LinkEmulator ? transport.inner : transport;
  if (!(inner instanceof SerialTransport)) return undefined;
  let tty: string;
  try {
    tty = basename(realpathSync(inner.path)); // /dev/serial/by-id/usb-FTDI_... -> ttyUSB0
  } catch {
    tty = basename(inner.path);
  }
  const ms = readLatencyTimer(tty, sysfsRoot);
  return ms === undefined ? undefined : { tty, ms, advice: latencyAdvice(tty, ms, sysfsRoot) };
}

/** The report's adapter lines: the timer, then the advice. */
export function formatAdapterLatency(a: AdapterLatency): string[] {
  const [cost, ...fixes] = a.advice;
  const head = `adapter         ${a.tty}: latency timer ${a.ms} ms`;
  if (!cost) return [`${head} (the lowest it goes)`];
  return [`${head}: ${cost.replace(/^\S+: latency timer \d+ ms: /, '')}`, ...fixes.map((l) => `                ${l.trim()}`)];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * Measures round-trip latency with sequential 1-byte echoes and throughput with pipelined 64-byte
 * echoes; `samples` (a positive integer, else RangeError) is the number of round trips timed.
 */
export async function measureLink(client: PoolClient, samples = 200): Promise<LinkFigures> {
  if (!Number.isInteger(samples) || samples < 1) throw new RangeError(`samples must be a positive integer (got ${samples})`);
  const times: number[] = [];
  const one = new Uint8Array([0x55]);
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await client.echo(one);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const rttMs = times.map((t) => Math.round(t * 1000) / 1000);
  times.sort((a, b) => a - b);
  const payload = new Uint8Array(64).fill(0xa5);
  const n = Math.max(16, samples / 2);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: n }, () => client.echo(payload)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { samples, medianMs: percentile(times, 50), p99Ms: percentile(times, 99), echoBytesPerS: Math.round((n * payload.length) / seconds), rttMs };
}

export async function collectDiagnostics(client: PoolClient, options: { samples?: number; adapter?: AdapterLatency } = {}): Promise<Diagnostics> {
  const hello = await client.hello();
  const stats = await client.stats();
  const link = await measureLink(client, options.samples ?? 200);
  // Read after the measurement, so the counters cover it.
  const device = linkCountersOf(await client.stats());
  return { target: client.target, hello, stats, link, linkQuality: { client: client.linkStats(), device }, ...(options.adapter ? { adapter: options.adapter } : {}) };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A readable report; one fact a line, the pool as a table. */
export function formatDiagnostics(d: Diagnostics): string {
  const h = d.hello;
  const s = d.stats;
  const lines = [
    `target          ${d.target}`,
    `firmware        ${h.firmwareId}`,
    `protocol        v${h.protoVersion}, line ≤ ${h.maxLine} bytes, batch ≤ ${h.maxBatch} ops`,
    `limits          ${h.maxVms} contexts × ${h.maxGlobals} globals, ${h.maxArrays} arrays × ${h.arrayElements} elements`,
    `uptime          ${(h.uptimeMs / 1000).toFixed(3)} s`,
    `reset cause     ${h.resetCause}`,
    `boot nonce      ${h.bootNonce.toString(16).padStart(8, '0')}`,
    `unique id       ${h.uniqueId.length ? hex(h.uniqueId) : '(not readable on this target)'}`,
    `pool            ${s.contextsAcquired}/${h.maxVms} acquired (high-water ${s.contextsHw}), ${s.acquires} acquires, ${s.releases} releases, ${s.ops} ops, ${s.opErrors} errors`,
    '',
    '  vm  state     globals  arrays  elements  bytes   hw globals/arrays/elements',
    ...s.contexts.map((c, vm) =>
      `  ${String(vm).padStart(2)}  ${(c.acquired ? 'acquired' : 'free').padEnd(8)}  ${String(c.globalsInUse).padStart(7)}  ${String(c.arraysActive).padStart(6)}  ${String(c.elements).padStart(8)}  ${String(c.bytesUsed).padStart(5)}   ${c.hwGlobals}/${c.hwArrays}/${c.hwElements}`),
    '',
    `link rx         ${s.rxFrames} frames, ${s.rxBadFrame} bad frames, ${s.rxBadCrc} bad CRC, ${s.rxOverlong} overlong, ${s.rxMalformed} malformed, ${s.rxNoise} noise, ${s.rxOverrun} overrun`,
    `round trip      median ${d.link.medianMs.toFixed(3)} ms, p99 ${d.link.p99Ms.toFixed(3)} ms (${d.link.samples} echoes)`,
    `throughput      ${(d.link.echoBytesPerS / 1024).toFixed(1)} KiB/s echo payload, pipelined`,
    ...formatLinkQuality(d.linkQuality),
    ...(d.adapter ? formatAdapterLatency(d.adapter) : []),
  ];
  return lines.join('\n');
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${v < 10 ? v.toFixed(3) : v.toFixed(1)} ms`);

/** Two lines: what the client had to do to get every request through, and what the device saw. */
export function formatLinkQuality(q: LinkQuality): string[] {
  const c = q.client;
  const d = q.device;
  return [
    `link quality    ${c.transmissions} transmissions, ${c.retransmits} retransmits (${c.goBacks} go-backs, ${c.fastRetransmits} fast, ${c.timeouts} timeouts; ${c.recalls} recalls), ${c.held} held, most attempts ${c.maxAttemptsUsed}; RTO ${ms(c.rtoMs)}, SRTT ${ms(c.srttMs)}, RTTVAR ${ms(c.rttvarMs)}`,
    `device link     ${d.replayed} replayed from cache, ${d.held} held past a gap, ${d.outOfSequence} out of sequence, ${d.noSession} no session, ${d.sessions} sessions`,
  ];
}
