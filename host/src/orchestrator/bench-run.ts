/**
 * `hil bench`: the benchmark run as a whole, every ratio from figures of the same run.
 * - per target: boot to ready, round trip, pipelined / batched throughput, protocol echo (bench.ts);
 * - the raw link's ceiling: the raw-echo build of the USART2 port (`make -C firmware arm-echo`)
 *   under QEMU, started here, bytes/s each way; QEMU's protocol echo is a share of it;
 * - the HIL suite through the link emulator paced like a USB-UART adapter (115200 baud with a
 *   1 ms and a 16 ms latency timer, 921600 with 1 ms): suite time, bytes each way, the wire limit
 *   (bytes × 10 bits / baud, the busier direction) and suite time over it.
 * Figures, never pass/fail; a JSON line of everything last.
 */
import { noRecordProblem, runSuiteProcess, wireBytes } from './bench-link.js';
import { benchCodec, benchTarget, wireLimitSeconds, type BenchFigures, type CodecFigures } from './bench.js';
import type { Progress } from './progress.js';
import { Framing } from '../protocol/constants.js';
import { openTarget, type Target } from '../targets/index.js';
import { startQemu } from '../targets/qemu.js';
import { buildFirmware, type FirmwareConfig } from '../targets/toolchain.js';
import { SerialTransport } from '../transport/serial.js';
import { formatLinkSpec, parseLinkSpec } from '../transport/emulator.js';

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The raw link's echo, measured on the raw-echo ELF under QEMU. */
export interface RawEchoFigures {
  /** Bytes sent (and echoed back) in the timed part: lines of RAW_ECHO_LINE bytes. */
  bytes: number;
  /** Most bytes sent and not yet echoed, at any time (the host's window). */
  window_bytes: number;
  seconds: number;
  /** Host → device: bytes sent over the time from the first write to the last. */
  h2d_bytes_per_s: number;
  /** Device → host: bytes echoed over the time from the first echoed byte to the last. */
  d2h_bytes_per_s: number;
  /** Both directions counted (2 × bytes over the whole time): the unit of the protocol echo's figure. */
  both_bytes_per_s: number;
}

/** The line the raw-echo build (firmware/port/stm32f407/echo/main.c) sends once its receiver is on. */
export const RAW_ECHO_READY = 'CVM-ECHO ready\n';

/** The length of the lines streamed through the raw echo, '\n' included (a divisor of the 1,024-byte ring). */
export const RAW_ECHO_LINE = 128;

/** The raw-echo build running under QEMU, ready to be measured again and again. */
export interface RawEcho {
  /** Streams `bytes` (rounded up to whole lines) through the echo and times it (see openRawEcho). */
  measure(bytes: number, onProgress?: (done: number) => void): Promise<RawEchoFigures>;
  close(): Promise<void>;
}

/**
 * Starts the raw-echo build under QEMU (building it if needed: `make -C firmware arm-echo`) and
 * warms it up. Each measure() streams its bytes with at most `window` unanswered (the protocol's
 * own in-flight bound by default: a single large write to QEMU's pty can stall it,
 * shared/qemu-notes.md), in writes of `chunk` bytes (256), checking every byte comes back in order; it
 * rejects when one comes back wrong or the echo stalls for `stallMs`.
 */
export async function openRawEcho(options: { config?: FirmwareConfig; window?: number; chunk?: number; stallMs?: number } = {}): Promise<RawEcho> {
  const config = options.config ?? 'default';
  const window = options.window ?? Framing.maxInflightBytes;
  const chunk = Math.min(options.chunk ?? 2 * RAW_ECHO_LINE, window);
  const stallMs = options.stallMs ?? 5000;
  const elf = await buildFirmware('arm-echo', config);
  const q = await startQemu(config, { elf });
  const t = new SerialTransport({ path: q.path, name: `qemu raw echo (${q.path})`, peer: { label: q.process.label, exited: q.process.exited } });
  const close = async () => {
    await t.close().catch(() => undefined);
    await q.close();
  };
  // Lines of RAW_ECHO_LINE bytes (printable, then '\n'), which the firmware echoes a line at a time
  // as the product answers; a divisor of its 1,024-byte ring, so that no line straddles the wrap.
  const pattern = (i: number): number => (i % RAW_ECHO_LINE === RAW_ECHO_LINE - 1 ? 0x0a : 0x21 + ((i * 131 + (i >> 7)) % 94));
  const run = (bytes: number, onDone?: (done: number) => void) =>
    new Promise<{ n: number; t0: number; lastWrite: number; firstEcho: number; end: number }>((resolve, reject) => {
      const n = Math.max(1, Math.ceil(bytes / RAW_ECHO_LINE)) * RAW_ECHO_LINE;
      const data = Buffer.from(Array.from({ length: n }, (_, i) => pattern(i)));
      let sent = 0;
      let received = 0;
      let t0 = 0;
      let lastWrite = 0;
      let firstEcho = 0;
      let stall: NodeJS.Timeout | undefined;
      const arm = () => {
        clearTimeout(stall);
        stall = setTimeout(() => finish(new Error(`the raw echo stalled: ${received} of ${n} bytes back, nothing for ${stallMs} ms`)), stallMs);
      };
      const finish = (e?: Error) => {
        clearTimeout(stall);
        t.off('data', onData);
        if (e) reject(e);
        else resolve({ n, t0, lastWrite, firstEcho, end: now() });
      };
      // Writes whole chunks only: writing each byte of window freed by each echoed byte would time
      // one-byte writes (a syscall and a poller round each), not the link.
      const pump = () => {
        while (sent < n && window - (sent - received) >= Math.min(chunk, n - sent)) {
          const k = Math.min(chunk, n - sent);
          const part = data.subarray(sent, sent + k);
          sent += k;
          const last = sent === n;
          t.write(part).then(() => void (last && (lastWrite = now())), (e: Error) => finish(e));
        }
      };
      const onData = (d: Buffer) => {
        if (received === 0) firstEcho = now();
        for (let i = 0; i < d.length; i++) {
          if (d[i] !== data[received + i]) return finish(new Error(`the raw echo returned byte ${received + i} as 0x${d[i]!.toString(16)}, sent 0x${data[received + i]!.toString(16)}`));
        }
        received += d.length;
        onDone?.(received);
        if (received >= n) return finish();
        arm();
        pump();
      };
      t.on('data', onData);
      arm();
      t0 = now();
      pump();
    });
  try {
    await t.open();
    // Bytes sent before the firmware's receiver is on are lost: stream only after its ready line.
    const ready = new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => done(new Error(`the raw-echo build sent no "${RAW_ECHO_READY.trim()}" line within 10 s of starting (it printed ${JSON.stringify(seen.slice(-80))})`)), 10_000);
      const onData = (d: Buffer) => {
        seen += d.toString('latin1');
        if (seen.includes(RAW_ECHO_READY)) done();
      };
      const done = (e?: Error) => {
        clearTimeout(timer);
        t.off('data', onData);
        if (e) reject(e);
        else resolve();
      };
      t.on('data', onData);
    });
    await q.resume();
    await ready;
    await run(4096); // warm-up: JIT, QEMU's translation cache, the pty's buffers
  } catch (e) {
    await close();
    throw e;
  }
  return {
    async measure(bytes, onProgress) {
      const r = await run(bytes, onProgress);
      const seconds = (r.end - r.t0) / 1000;
      bytes = r.n;
      return {
        bytes,
        window_bytes: window,
        seconds: +seconds.toFixed(3),
        h2d_bytes_per_s: Math.round(bytes / ((r.lastWrite - r.t0) / 1000)),
        d2h_bytes_per_s: Math.round(bytes / ((r.end - r.firstEcho) / 1000)),
        both_bytes_per_s: Math.round((2 * bytes) / seconds),
      };
    },
    close,
  };
}

/** One row of the suite through the emulated adapter: the link it ran on. */
export interface SuiteLink {
  baud: number;
  latencyMs: number;
}

/** The rows `hil bench` measures: 115200 with the latency timer at 1 and 16 ms (the FTDI default on Linux), 921600 with 1 ms. */
export const SUITE_LINKS: readonly SuiteLink[] = [
  { baud: 115200, latencyMs: 1 },
  { baud: 115200, latencyMs: 16 },
  { baud: 921600, latencyMs: 1 },
];

/** The link spec of a row, e.g. "baud=115200,latency=1". */
export function suiteLinkSpec(l: SuiteLink): string {
  return formatLinkSpec(parseLinkSpec(`baud=${l.baud},latency=${l.latencyMs}`)!);
}

export interface SuiteRow {
  target: string;
  link: string;
  baud: number;
  latency_ms: number;
  /** The run's duration (run.json: from Mocha's start to its end, the target's bring-up included), in s. */
  suite_s: number;
  bytes_h2d: number;
  bytes_d2h: number;
  /** wireLimitSeconds(bytes_h2d, bytes_d2h, baud). */
  wire_limit_s: number;
  /** suite_s / wire_limit_s. */
  ratio: number;
  /** Tests in the run, and their outcomes. */
  tests: number;
  passed: number;
  failed: number;
  not_run: number;
  /** Why the row's figures are missing or not to be trusted. */
  problem?: string;
}

/**
 * A row from a run's figures: the wire limit and the ratio computed here, once.
 * `bytes` are what crossed the emulated wire each way (the emulator's counters).
 */
export function suiteRow(target: string, l: SuiteLink, suiteMs: number, bytes: { h2d: number; d2h: number }, outcome: { tests: number; passed: number; failed: number; notRun: number; problem?: string }): SuiteRow {
  const wire = wireLimitSeconds(bytes.h2d, bytes.d2h, l.baud);
  return {
    target,
    link: suiteLinkSpec(l),
    baud: l.baud,
    latency_ms: l.latencyMs,
    suite_s: +(suiteMs / 1000).toFixed(2),
    bytes_h2d: bytes.h2d,
    bytes_d2h: bytes.d2h,
    wire_limit_s: +wire.toFixed(2),
    ratio: wire > 0 ? +(suiteMs / 1000 / wire).toFixed(1) : 0,
    tests: outcome.tests,
    passed: outcome.passed,
    failed: outcome.failed,
    not_run: outcome.notRun,
    ...(outcome.problem ? { problem: outcome.problem } : {}),
  };
}

/** Runs the whole HIL suite on `target` through the emulated adapter `l` (a `hil test` process) and makes its row. Never throws. */
export async function benchSuiteOnLink(target: string, l: SuiteLink, onTest?: (finished: number) => void): Promise<SuiteRow> {
  const failed = (problem: string) => suiteRow(target, l, 0, { h2d: 0, d2h: 0 }, { tests: 0, passed: 0, failed: 0, notRun: 0, problem });
  try {
    const r = await runSuiteProcess(target, suiteLinkSpec(l), 900_000, onTest);
    const f = r.figures;
    if (!f) return failed(noRecordProblem(r, 900_000));
    // The emulator's counters are summed over every instance of the target the run opened (a
    // reopen after a link error included), so the bytes cover the whole run.
    const problems = [
      ...(f.emulator ? [] : ['the run has no link.emulator counters (did it run through the emulator?)']),
      ...(f.failed || f.notRun ? [`${f.failed} failed, ${f.notRun} not run`] : []),
    ];
    const bytes = wireBytes(f);
    return suiteRow(target, l, f.durationMs, { h2d: bytes.h2d, d2h: bytes.d2h }, { tests: f.tests.length, passed: f.passed, failed: f.failed, notRun: f.notRun, ...(problems.length ? { problem: problems.join('; ') } : {}) });
  } catch (e) {
    return failed((e as Error).message.split('\n')[0]!);
  }
}

const kb = (n: number): string => `${(n / 1000).toFixed(1)} KB`;

/** The suite rows as a table (one line a row, a header first). */
export function formatSuiteTable(rows: SuiteRow[]): string[] {
  const head = ['link', 'suite time', 'bytes host→device / device→host', 'wire limit', 'ratio', 'passed/failed/not run'];
  const cells = rows.map((r) => [
    `${r.baud}, latency timer ${r.latency_ms} ms`,
    `${r.suite_s.toFixed(1)} s`,
    `${kb(r.bytes_h2d)} / ${kb(r.bytes_d2h)}`,
    `${r.wire_limit_s.toFixed(1)} s`,
    `${r.ratio.toFixed(1)}×`,
    `${r.passed}/${r.failed}/${r.not_run}${r.problem ? `  PROBLEM: ${r.problem}` : ''}`,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === c.length - 1 ? x : x.padEnd(w[i]!))).join('  ').trimEnd();
  return [line(head), ...cells.map(line)];
}

export interface TargetBench extends BenchFigures, CodecFigures {
  boot_to_ready_ms: number;
  link?: string;
  link_counters?: unknown;
}

/** Everything one `hil bench` measured; its JSON line is this object. */
export interface BenchReport {
  /** Per target (key: the target's name, with " [link SPEC]" when it ran through the emulator). */
  targets: Record<string, TargetBench>;
  /** Every raw-echo measurement of this run (before and after each QEMU target's echo phase, `beside` it), or why there is none. */
  qemu_raw_echo?: Array<(RawEchoFigures & { beside: string }) | { problem: string }>;
  /** The HIL suite through the emulated adapter (when asked for). */
  suite_on_link?: SuiteRow[];
}

/**
 * The JSON line: the per-target figures at the top level under their names (as before, so scripts
 * reading `.sim.pipelined_ops_per_s` keep working), the ceiling and the suite rows beside them.
 */
export function benchJsonLine(r: BenchReport): string {
  return JSON.stringify({ ...r.targets, ...(r.qemu_raw_echo ? { qemu_raw_echo: r.qemu_raw_echo } : {}), ...(r.suite_on_link ? { suite_on_link: r.suite_on_link } : {}) });
}

export interface BenchRunOptions {
  targets: Target[];
  /** The link spec of each target ("none": clean), in the same order. */
  links: string[];
  quick?: boolean;
  /** The target the suite rows run the HIL suite on (a target spec), or undefined for none. */
  suiteTarget?: string;
  /** The suite rows' links (default SUITE_LINKS). */
  suiteLinks?: readonly SuiteLink[];
  progress: Progress;
}

/** Runs the benchmark, printing figures through `progress.log` as they come; returns everything measured. */
export async function runBench(o: BenchRunOptions): Promise<BenchReport> {
  const p = o.progress;
  const report: BenchReport = { targets: {} };
  p.step('host codec');
  const codec = benchCodec(o.quick ? 20_000 : 200_000);
  p.log(`host codec: ${codec.codec_ns_per_op} ns/op (frame + CBOR, encode + decode) vs cbor-x alone ${codec.cborx_ns_per_op} ns/op: ${codec.codec_vs_cborx}x`);

  // The raw link's ceiling: the raw-echo build kept running beside the QEMU targets, measured
  // just before and just after each one's echo phase (on a shared machine, minutes apart is noise).
  let raw: RawEcho | undefined;
  if (o.targets.some((t) => t.kind === 'qemu')) {
    p.step('raw link ceiling: starting the raw-echo build of the USART2 port under QEMU');
    try {
      raw = await openRawEcho();
    } catch (e) {
      const problem = (e as Error).message.split('\n')[0]!;
      report.qemu_raw_echo = [{ problem }];
      p.log(`qemu raw link: not measured (${problem}); no share of the ceiling is given`);
    }
  }
  const ceilingOf = (spec: string) => async (bytes: number): Promise<number | undefined> => {
    p.step(`${spec}: the raw link's ceiling (raw-echo bytes)`, bytes);
    let f: RawEchoFigures;
    try {
      f = await raw!.measure(bytes, (d) => p.update(d));
    } catch (e) {
      const problem = (e as Error).message.split('\n')[0]!;
      (report.qemu_raw_echo ??= []).push({ problem });
      p.log(`qemu raw link: not measured (${problem}); no share of the ceiling is given`);
      return undefined;
    }
    (report.qemu_raw_echo ??= []).push({ ...f, beside: spec });
    p.log(`qemu raw link (the raw-echo build of the USART2 port, now): ${(f.h2d_bytes_per_s / 1024).toFixed(1)} KiB/s host→device, ${(f.d2h_bytes_per_s / 1024).toFixed(1)} KiB/s device→host, ${(f.both_bytes_per_s / 1024).toFixed(1)} KiB/s both ways (${f.bytes} bytes, window ${f.window_bytes})`);
    return f.both_bytes_per_s;
  };

  try {
    for (const [i, target] of o.targets.entries()) {
      const spec = target.name;
      const link = o.links[i] ?? 'none';
      // Boot to ready: from starting the target (process, pty, emulator) to its hello answered.
      // A first open builds what is missing, so that the figure is the boot, not the build.
      p.step(`${spec}: build and first boot`);
      await (await openTarget(target, { link })).close();
      p.step(`${spec}: boot to ready`);
      const t0 = performance.now();
      const t = await openTarget(target, { link });
      const bootToReadyMs = +(performance.now() - t0).toFixed(1);
      try {
        const slow = !target.kind.startsWith('twin');
        const f = await benchTarget(t.client, {
          ...(o.quick || slow ? { singleOps: o.quick ? 300 : 2000, pipelinedOps: o.quick ? 2000 : 20_000, batches: o.quick ? 50 : 400 } : {}),
          ...(target.kind === 'qemu' && raw ? { linkCeiling: ceilingOf(spec) } : {}),
          onPhase: (phase, n) => p.step(`${spec}: ${phase}`, n),
          onProgress: (d) => p.update(d),
        });
        const share = f.echo_vs_link_ceiling !== undefined ? ` (${Math.round(f.echo_vs_link_ceiling * 100)}% of the raw link's ${(f.link_ceiling_bytes_per_s! / 1024).toFixed(1)} KiB/s both ways, the mean of its runs just before and after)` : '';
        p.log(`${spec}: boot to ready ${bootToReadyMs} ms; single ${f.single_ops_per_s} ops/s (rtt median ${f.single_rtt_median_ms} ms, p99 ${f.single_rtt_p99_ms} ms), pipelined ${f.pipelined_ops_per_s} ops/s, batched ${f.batched_ops_per_s} ops/s, echo ${(f.echo_line_bytes_per_s / 1024).toFixed(1)} KiB/s of lines both ways${share}`);
        report.targets[link === 'none' ? spec : `${spec} [link ${link}]`] = { boot_to_ready_ms: bootToReadyMs, ...f, ...codec, ...(t.emulator ? { link, link_counters: t.emulator.counters } : {}) };
      } finally {
        await t.close();
      }
    }
  } finally {
    await raw?.close();
  }

  if (o.suiteTarget !== undefined) {
    const target = o.suiteTarget;
    p.step(`HIL suite through the link emulator: preparing ${target}`);
    await (await openTarget(target)).close(); // built once, so that no row times a build
    const rows: SuiteRow[] = [];
    let tests: number | undefined; // known after the first run
    for (const l of o.suiteLinks ?? SUITE_LINKS) {
      p.step(`HIL suite on ${target} through the link emulator, ${suiteLinkSpec(l)}${tests ? ' (tests)' : ''}`, tests);
      const row = await benchSuiteOnLink(target, l, (n) => p.update(n));
      rows.push(row);
      if (row.tests) tests = row.tests;
    }
    report.suite_on_link = rows;
    p.log(`HIL suite through the link emulator (${target}; a USB-UART adapter: 10 bits a byte, full duplex, device→host in 62-byte packets or at the latency timer):`);
    for (const line of formatSuiteTable(rows)) p.log(`  ${line}`);
  }
  p.stop();
  return report;
}

