/**
 * Link and protocol benchmarks. Figures, not pass/fail: tests never depend on wall-clock time;
 * `hil bench` / `npm run bench` print these for a person or a script to compare.
 */
import { Encoder } from 'cbor-x';
import type { PoolClient } from '../client/pool-client.js';
import { encodeCbor, decodeCbor } from '../codec/cbor.js';
import { classifyLine, encodeFrame } from '../framing/frame.js';
import { Op } from '../protocol/constants.js';

export interface BenchFigures {
  single_ops_per_s: number;
  single_rtt_median_ms: number;
  single_rtt_p99_ms: number;
  pipelined_ops_per_s: number;
  batched_ops_per_s: number;
  /** Line bytes per second of pipelined 64-byte echoes, both directions counted (request + response). */
  echo_line_bytes_per_s: number;
  /**
   * The raw link's echo ceiling, both directions counted, when one was measured in this run: the
   * mean of the measurements just before and just after the echo phase (QEMU: the raw-echo build
   * of the USART2 port, bench-run.ts), so that the share compares figures of the same moment.
   */
  link_ceiling_bytes_per_s?: number;
  /** The ceiling's measurements, before and after the echo phase, in bytes/s both ways. */
  link_ceiling_samples?: [number, number];
  /** echo_line_bytes_per_s / link_ceiling_bytes_per_s. */
  echo_vs_link_ceiling?: number;
}

export interface CodecFigures {
  /** Host path per op: CBOR encode + frame encode + line classify + CBOR decode, in ns. */
  codec_ns_per_op: number;
  /** cbor-x alone: encode + decode of the same message, in ns. */
  cborx_ns_per_op: number;
  /** codec_ns_per_op / cborx_ns_per_op. */
  codec_vs_cborx: number;
}

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** Runs `n` requests with at most `window` in flight; returns elapsed ms. `onDone` hears the count done every 1/64 of n. */
async function windowed(n: number, window: number, request: (i: number) => Promise<unknown>, onDone?: (done: number) => void): Promise<number> {
  const t0 = now();
  let next = 0;
  let done = 0;
  const every = Math.max(1, Math.floor(n / 64));
  const lanes = Array.from({ length: Math.min(window, n) }, async () => {
    while (next < n) {
      await request(next++);
      if (onDone && ++done % every === 0) onDone(done);
    }
  });
  await Promise.all(lanes);
  return now() - t0;
}

export interface BenchOptions {
  /** Operations per phase; scale down for slow links. */
  singleOps?: number;
  pipelinedOps?: number;
  batches?: number;
  window?: number;
  /**
   * Measures the raw link's echo ceiling now, streaming `bytesEachWay` (as many line bytes as the
   * echo phase moves each way, so both are timed over as long), in bytes/s both directions
   * counted; called just before and just after the echo phase, and the echo is reported as a
   * share of their mean (undefined when it could not be measured: then no share is given).
   */
  linkCeiling?: (bytesEachWay: number) => Promise<number | undefined>;
  /** Told which phase runs: "single", "pipelined", "batched", "echo", with its operation count. */
  onPhase?: (phase: string, operations: number) => void;
  /** Told the operations done of the running phase, now and then. */
  onProgress?: (done: number) => void;
}

/** Measures one target through an open client; leaves the pool empty. */
export async function benchTarget(client: PoolClient, o: BenchOptions = {}): Promise<BenchFigures> {
  const info = client.info ?? (await client.hello());
  const singleOps = o.singleOps ?? 5000;
  const pipelinedOps = o.pipelinedOps ?? 100_000;
  const batches = o.batches ?? 2000;
  const window = o.window ?? 32;
  await client.resetPool();
  await client.acquire(0);
  const g = (i: number) => i % info.maxGlobals;

  // Warm-up, so JIT and link buffers settle before the clock starts.
  await windowed(Math.min(1000, pipelinedOps), window, (i) => client.storeGlobal(0, g(i), i));

  const rtts: number[] = [];
  o.onPhase?.('single round trips', singleOps);
  const t0 = now();
  for (let i = 0; i < singleOps; i++) {
    const s = now();
    await client.loadGlobal(0, g(i));
    rtts.push(now() - s);
    if (o.onProgress && i % 64 === 63) o.onProgress(i + 1);
  }
  const singleMs = now() - t0;
  rtts.sort((a, b) => a - b);

  o.onPhase?.('pipelined operations', pipelinedOps);
  const pipeMs = await windowed(pipelinedOps, window, (i) => (i & 1 ? client.loadGlobal(0, g(i)) : client.storeGlobal(0, g(i), i)), o.onProgress);

  const size = info.maxBatch;
  const batch = Array.from({ length: size }, (_, i) => ({ op: 'store_global' as const, vm: 0, global: g(i), value: i }));
  o.onPhase?.('batches', batches);
  const batchMs = await windowed(batches, 4, () => client.batch(batch), o.onProgress);

  const payload = new Uint8Array(64).fill(0x5a);
  const echoes = Math.max(200, Math.floor(pipelinedOps / 10));
  // An echo's response line is as long as its request line (same seq, status 0 for op 10).
  const lineBytes = 2 * encodeFrame(encodeCbor([0xffffffff, Op.echo, payload])).length;
  const eachWay = (echoes * lineBytes) / 2;
  const before = o.linkCeiling ? await o.linkCeiling(eachWay) : undefined;
  o.onPhase?.('echoes', echoes);
  const echoMs = await windowed(echoes, window, () => client.echo(payload), o.onProgress);
  const echoRate = Math.round((echoes * lineBytes) / (echoMs / 1000));
  const after = o.linkCeiling ? await o.linkCeiling(eachWay) : undefined;
  const ceiling = before !== undefined && after !== undefined ? Math.round((before + after) / 2) : undefined;

  await client.resetPool();
  return {
    single_ops_per_s: Math.round(singleOps / (singleMs / 1000)),
    single_rtt_median_ms: +rtts[Math.floor(rtts.length / 2)]!.toFixed(4),
    single_rtt_p99_ms: +rtts[Math.floor(rtts.length * 0.99)]!.toFixed(4),
    pipelined_ops_per_s: Math.round(pipelinedOps / (pipeMs / 1000)),
    batched_ops_per_s: Math.round((batches * size) / (batchMs / 1000)),
    echo_line_bytes_per_s: echoRate,
    ...(ceiling !== undefined ? { link_ceiling_bytes_per_s: ceiling, link_ceiling_samples: [before!, after!] as [number, number], echo_vs_link_ceiling: shareOfCeiling(echoRate, ceiling) } : {}),
  };
}

/** The host's per-op codec cost beside cbor-x's own encode+decode of the same message. */
export function benchCodec(iterations = 200_000): CodecFigures {
  const message = [123456, Op.store_global, 1, 42, -123456789];
  const plain = new Encoder({ useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);
  let sink = 0;
  const measure = (fn: () => void): number => {
    for (let i = 0; i < iterations / 10; i++) fn();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fn();
    return Number(process.hrtime.bigint() - t0) / iterations;
  };
  const ours = measure(() => {
    const line = encodeFrame(encodeCbor(message));
    const c = classifyLine(line.subarray(0, line.length - 1));
    if (c.kind === 'frame') sink += (decodeCbor(c.message) as number[]).length;
  });
  const theirs = measure(() => {
    sink += (plain.decode(plain.encode(message)) as number[]).length;
  });
  if (sink < 0) console.log(sink);
  return { codec_ns_per_op: Math.round(ours), cborx_ns_per_op: Math.round(theirs), codec_vs_cborx: +(ours / theirs).toFixed(2) };
}

/** `rate` as a share of `ceiling` (both in the same unit), to 2 decimals; undefined without a ceiling > 0. */
export function shareOfCeiling(rate: number, ceiling: number): number;
export function shareOfCeiling(rate: number, ceiling: number | undefined): number | undefined;
export function shareOfCeiling(rate: number, ceiling: number | undefined): number | undefined {
  return ceiling !== undefined && ceiling > 0 ? +(rate / ceiling).toFixed(2) : undefined;
}

/**
 * The least time a link can carry these bytes in, in seconds: 10 bits a byte (8N1) at `baud`,
 * full duplex, so the busier direction bounds it.
 */
export function wireLimitSeconds(bytesH2d: number, bytesD2h: number, baud: number): number {
  if (!(baud > 0)) throw new RangeError(`baud must be > 0 (got ${baud})`);
  return (Math.max(bytesH2d, bytesD2h) * 10) / baud;
}

/**
 * The wire limit of tests that run one after another: each test's bytes can use both directions
 * only while that test runs, so it is the sum of each test's own wireLimitSeconds (run.json's
 * per-test `wireBytes`). Never below the whole run's wire limit; above it by what the tests could
 * not overlap (a test that mostly writes, then one that mostly reads). Undefined when a test that
 * ran has no byte counts (a record from before they were kept).
 */
export function testByTestWireLimitSeconds(tests: ReadonlyArray<{ outcome?: string; wireBytes?: { h2d: number; d2h: number } }>, baud: number): number | undefined {
  let s = 0;
  for (const t of tests) {
    if (t.wireBytes) s += wireLimitSeconds(t.wireBytes.h2d, t.wireBytes.d2h, baud);
    else if (t.outcome === 'passed' || t.outcome === 'failed') return undefined;
  }
  return s;
}
