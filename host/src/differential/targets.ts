/**
 * The three implementations the differential test compares, each fed raw bytes and returning
 * every frame line it wrote, in order: the twin (in-process), the C core built for the host (the
 * sim, through its --stdio mode) and the ARM ELF under QEMU (through its USART2 pty, with the
 * serial transport, in windows of at most max_inflight_bytes, since serialport on a pty stalls on
 * large unanswered writes). `runQemu` tells `onChunk` how many chunks it has fed (for progress).
 */
import { decodeCbor } from '../codec/cbor.js';
import { classifyLine } from '../framing/frame.js';
import { LineReader } from '../framing/line-reader.js';
import { Framing } from '../protocol/constants.js';
import { SerialTransport } from '../transport/serial.js';
import { TwinDevice } from '../twin/device.js';
import { configLimits } from '../targets/build-info.js';
import { startQemu } from '../targets/qemu.js';
import { ManagedProcess } from '../process/managed.js';
import { buildFirmware, type FirmwareConfig } from '../targets/toolchain.js';
import type { StreamItem } from './stream.js';

const isFrame = (line: string) => line.startsWith('~');

/** The seq of a response frame line, or undefined for anything else. */
export function seqOfLine(line: string): unknown {
  const c = classifyLine(Buffer.from(line.trimEnd(), 'latin1'));
  if (c.kind !== 'frame') return undefined;
  try {
    const m = decodeCbor(c.message);
    return Array.isArray(m) ? m[0] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Groups items into chunks of at most `limit` bytes (the device's receive ring), each closed by a
 * sync item that always gets an answer (it must begin with '\n', so that a chunk ending inside a
 * damaged line cannot swallow it).
 */
export function chunk(items: StreamItem[], limit: number, sync: (i: number) => StreamItem): StreamItem[][] {
  const chunks: StreamItem[][] = [];
  let cur: StreamItem[] = [];
  let bytes = 0;
  const close = () => {
    const s = sync(chunks.length);
    cur.push(s);
    chunks.push(cur);
    cur = [];
    bytes = 0;
  };
  for (const it of items) {
    if (bytes + it.bytes.length > limit - 64 && cur.length) close();
    cur.push(it);
    bytes += it.bytes.length;
  }
  close();
  return chunks;
}

/** Feeds the twin, built with the limits of `config` (as the sim and QEMU are), every chunk at once. */
export async function runTwin(chunks: StreamItem[][], config: FirmwareConfig = 'default'): Promise<string[]> {
  const device = new TwinDevice({ bootNonce: 0, limits: configLimits(config) });
  const out: string[] = [];
  device.on('output', (line: Buffer) => {
    for (const l of line.toString('latin1').split(/(?<=\n)/)) if (isFrame(l)) out.push(l);
  });
  for (const c of chunks) for (const it of c) device.feed(it.bytes);
  await new Promise((r) => setImmediate(r));
  return out;
}

/** Builds the sim for `config` and feeds it every chunk through --stdio at once. */
export async function runSim(chunks: StreamItem[][], config: FirmwareConfig = 'default'): Promise<string[]> {
  const bin = await buildFirmware('sim', config);
  // A ManagedProcess, as every child: reaped if this process is interrupted or killed.
  const p = new ManagedProcess(`cvm-sim --stdio (${config})`, bin, ['--stdio', '--nonce', '0']);
  const parts: Buffer[] = [];
  p.child.stdout!.on('data', (d: Buffer) => parts.push(d));
  p.child.stdin!.end(Buffer.concat(chunks.flat().map((i) => i.bytes)));
  await p.exited;
  if (p.exitCode !== 0) throw new Error(`cvm-sim --stdio exited (${p.exitReason}): ${p.output.slice(-2000)}`);
  const out = Buffer.concat(parts).toString('latin1');
  return out.split(/(?<=\n)/).filter(isFrame);
}

/**
 * Feeds QEMU chunk by chunk, waiting for each chunk's sync answer before the next: the frame
 * whose seq is the chunk's sync item's (its content is the device's to choose: under v2 a sync
 * outside the session is answered out_of_sequence or no_session, and is compared like the rest).
 */
export async function runQemu(chunks: StreamItem[][], config: FirmwareConfig = 'default', timeoutMs = 10_000, onChunk?: (done: number) => void): Promise<string[]> {
  const q = await startQemu(config);
  const port = new SerialTransport({ path: q.path, name: `qemu (${q.path})`, peer: { label: q.process.label, exited: q.process.exited } });
  const out: string[] = [];
  let waiting: { seq: number; resolve: () => void } | undefined;
  let banner: (() => void) | undefined;
  const reader = new LineReader((line) => {
    const l = line.toString('latin1') + '\n';
    if (l.startsWith('CVM-BOOT')) banner?.();
    if (!isFrame(l)) return;
    out.push(l);
    if (waiting && seqOfLine(l) === waiting.seq) waiting.resolve();
  });
  port.on('data', (d) => reader.push(d));
  try {
    await port.open();
    const booted = new Promise<void>((resolve) => (banner = resolve));
    await q.resume();
    await withTimeout(booted, timeoutMs, 'QEMU boot banner');
    for (let i = 0; i < chunks.length; i++) {
      const sync = chunks[i]![chunks[i]!.length - 1]!;
      if (sync.seq === undefined) throw new Error(`chunk ${i} does not end with a sync request`);
      const seq = sync.seq;
      const done = new Promise<void>((resolve) => (waiting = { seq, resolve }));
      await port.write(Buffer.concat(chunks[i]!.map((it) => it.bytes)));
      await withTimeout(done, timeoutMs, `QEMU's answer to sync ${i} (after ${out.length} frames)`);
      onChunk?.(i + 1);
    }
    return out;
  } finally {
    await port.close().catch(() => undefined);
    await q.close();
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((_, reject) => {
    t = setTimeout(() => reject(new Error(`no ${what} within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export const WINDOW_BYTES = Framing.maxInflightBytes;
