/**
 * `npm run bench:link:model`: the write-then-verify workload of bench:link in virtual time — the
 * real client link layer (PoolClient, Link) and the real link emulator (faults and USB-UART
 * pacing) against the twin, all driven by one simulated clock. Deterministic (a seed gives the
 * same figures on any machine, loaded or not) and fast: a tool to see where the wire time goes
 * and to compare retransmission policies, not a replacement for bench:link on the real targets.
 *
 * Prints per rate and seed: goodput as a share of the clean run, the h2d wire's busy share, the
 * bytes resent, go-backs, out_of_sequence replies, RTO expiries and the wire time they left idle.
 *
 * Options: --rates 0,1e-4,1e-3,1e-2  --seeds 1,2,3,4,5  --writes 3072  --device-ms 0.3 (the
 *          device's turnaround per line)  --baud 115200  --latency 1
 */
import { EventEmitter } from 'node:events';
import { parseArgs } from 'node:util';
import type { Clock } from '../host/src/client/link.js';
import { PoolClient } from '../host/src/client/pool-client.js';
import { LinkEmulator, type LinkClock } from '../host/src/transport/emulator.js';
import type { Transport, TransportEvents } from '../host/src/transport/transport.js';
import { TwinTransport } from '../host/src/twin/index.js';

/** A simulated clock: timers fire in time order, each after the event loop has gone quiet. */
class VirtualClock implements Clock, LinkClock {
  t = 0;
  private timers: { fn: () => void; at: number; id: number }[] = [];
  private io: (() => void)[] = [];
  private ids = 0;
  now = (): number => this.t;
  setTimer = (fn: () => void, ms: number): unknown => this.add(fn, ms);
  setTimeout = (fn: () => void, ms: number): unknown => this.add(fn, ms);
  clearTimer = (h: unknown): void => this.remove(h);
  clearTimeout = (h: unknown): void => this.remove(h);
  refTimer = (): void => {};
  afterIo = (fn: () => void): void => void this.io.push(fn);
  private add(fn: () => void, ms: number): number {
    const id = ++this.ids;
    const at = this.t + Math.max(0, ms);
    let i = this.timers.length;
    while (i > 0 && this.timers[i - 1]!.at > at) i--;
    this.timers.splice(i, 0, { fn, at, id });
    return id;
  }
  private remove(h: unknown): void {
    const i = this.timers.findIndex((x) => x.id === h);
    if (i >= 0) this.timers.splice(i, 1);
  }
  /** Runs until `done()` holds or nothing is left to do; throws past `limitMs` of virtual time. */
  async run(done: () => boolean, limitMs = 3_600_000): Promise<void> {
    for (;;) {
      await quiet();
      for (const fn of this.io.splice(0)) fn();
      await quiet();
      if (done()) return;
      const next = this.timers.shift();
      if (!next) return;
      if (next.at > limitMs) throw new Error(`virtual time past ${limitMs} ms`);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
  }
}

const quiet = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r));
};

/** Delays every chunk the device writes by its turnaround (what a pty and a busy sim add). */
class Turnaround extends EventEmitter<TransportEvents> implements Transport {
  readonly name: string;
  constructor(private readonly inner: Transport, clock: VirtualClock, ms: number) {
    super();
    this.name = inner.name;
    inner.on('data', (b) => (ms > 0 ? clock.setTimeout(() => this.emit('data', b), ms) : this.emit('data', b)));
    inner.on('close', (e) => this.emit('close', e));
  }
  get isOpen(): boolean {
    return this.inner.isOpen;
  }
  open(): Promise<void> {
    return this.inner.open();
  }
  write(data: Buffer): Promise<void> {
    return this.inner.write(data);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

const { values } = parseArgs({
  options: {
    rates: { type: 'string', default: '0,1e-4,1e-3,1e-2' },
    seeds: { type: 'string', default: '1,2,3,4,5' },
    writes: { type: 'string', default: '3072' },
    'device-ms': { type: 'string', default: '0.3' },
    baud: { type: 'string', default: '115200' },
    latency: { type: 'string', default: '1' },
    window: { type: 'string', default: '32' },
  },
});
const rates = String(values.rates).split(',').map(Number);
const seeds = String(values.seeds).split(',').map(Number);
const writes = Number(values.writes);
const deviceMs = Number(values['device-ms']);
const baud = Number(values.baud);
const latencyMs = Number(values.latency);
const windowRequests = Number(values.window);

interface Figures {
  ber: number;
  seed: number;
  ms: number;
  acknowledged: number;
  failed: number;
  h2dBusy: number;
  stats: ReturnType<PoolClient['linkStats']>;
  idleMs: number;
}

async function once(ber: number, seed: number): Promise<Figures> {
  const clock = new VirtualClock();
  const faults = { ber };
  const emu = new LinkEmulator(new Turnaround(new TwinTransport(), clock, deviceMs), { h2d: faults, d2h: faults, seed, baud, latencyMs, packetBytes: 62 }, { clock });
  emu.setFaults(false);
  let client!: PoolClient;
  let ready = false;
  void PoolClient.connect(emu, { clock, maxInflightRequests: windowRequests }).then((c) => ((client = c), (ready = true)));
  await clock.run(() => ready);
  const info = client.info!;
  const settle = async <T>(p: Promise<T>): Promise<T> => {
    let v: T | undefined;
    let ok = false;
    void p.then((x) => ((v = x), (ok = true)));
    await clock.run(() => ok);
    return v as T;
  };
  await settle(client.resetPool());
  for (let vm = 0; vm < info.maxVms; vm++) {
    await settle(client.acquire(vm));
    for (let a = 0; a < info.maxArrays; a++) await settle(client.createArray(vm, a, info.arrayElements));
  }
  const cells: Array<{ vm: number; array: number; index: number }> = [];
  for (let g = 0; g < info.maxGlobals; g++) for (let vm = 0; vm < info.maxVms; vm++) cells.push({ vm, array: -1, index: g });
  for (let i = 0; i < info.arrayElements; i++) for (let a = 0; a < info.maxArrays; a++) for (let vm = 0; vm < info.maxVms; vm++) cells.push({ vm, array: a, index: i });
  const write = (i: number, value: number): Promise<void> => {
    const c = cells[(Math.floor(i / 24) * 8 + (i % 8)) % cells.length]!;
    return c.array < 0 ? client.storeGlobal(c.vm, c.index, value) : client.storeArray(c.vm, c.array, c.index, value);
  };
  await settle(Promise.all(Array.from({ length: 512 }, (_, i) => write(i, -(i + 1)))));
  emu.setFaults(true);
  const s0 = client.linkStats();
  const b0 = emu.counters.h2d.bytesIn;
  const idle0 = emu.counters.idleH2dMs;
  const t0 = clock.now();
  let left = writes;
  let acknowledged = 0;
  let failed = 0;
  for (let i = 0; i < writes; i++) void write(i, i + 1).then(() => (acknowledged++, left--), (e: Error) => (failed++ === 0 && process.env.MODEL_DEBUG ? console.error(String(e.message).slice(0, 600)) : 0, left--));
  await clock.run(() => left === 0);
  const ms = clock.now() - t0;
  const s1 = client.linkStats();
  const h2dBytes = emu.counters.h2d.bytesIn - b0;
  const idleMs = emu.counters.idleH2dMs - idle0;
  const stats = { ...s1 } as typeof s1;
  for (const k of Object.keys(s1) as (keyof typeof s1)[]) {
    if (typeof s1[k] === 'number' && typeof s0[k] === 'number' && !['rtoMs', 'srttMs', 'rttvarMs', 'cwnd'].includes(k)) (stats as unknown as Record<string, unknown>)[k] = (s1[k] as number) - (s0[k] as number);
  }
  void client.close();
  await clock.run(() => false, clock.now() + 10_000).catch(() => undefined);
  if (process.env.MODEL_DEBUG) console.error(JSON.stringify(stats));
  return { ber, seed, ms, acknowledged, failed, h2dBusy: (h2dBytes * 10_000) / baud / ms, stats, idleMs };
}

console.log(`write-then-verify in virtual time: ${writes} writes, baud ${baud}, latency ${latencyMs} ms, device turnaround ${deviceMs} ms`);
console.log('ber      seed  ms      goodput/s  vs clean  h2d busy  h2d idle ms  resent B  retransmits  go-backs  out_of_seq  fast  probes  RTOs (waited ms)  cwnd  srtt  rto');
let clean: number | undefined;
for (const ber of rates) {
  const rows: Figures[] = [];
  for (const seed of ber === 0 ? [seeds[0]!] : seeds) {
    const f = await once(ber, seed);
    rows.push(f);
    const gp = (f.acknowledged * 1000) / f.ms;
    if (ber === 0) clean = gp;
    const s = f.stats;
    console.log(
      `${String(ber).padEnd(8)} ${String(seed).padStart(4)}  ${f.ms.toFixed(0).padStart(6)}  ${gp.toFixed(0).padStart(9)}  ${clean ? `${((gp / clean) * 100).toFixed(1)}%` : '?'}`.padEnd(48) +
        `${(f.h2dBusy * 100).toFixed(0).padStart(7)}%  ${f.idleMs.toFixed(0).padStart(11)}  ${String(s.retransmittedBytes).padStart(8)}  ${String(s.retransmits).padStart(11)}  ${String(s.goBacks).padStart(8)}  ${String(s.outOfSequence).padStart(10)}  ${String(s.fastRetransmits).padStart(4)}  ${String(s.probes).padStart(6)}  ${`${s.timeouts} (${s.timeoutWaitMs.toFixed(0)})`.padStart(15)}  ${String(s.cwnd).padStart(4)}  ${(s.srttMs ?? 0).toFixed(1).padStart(4)}  ${s.rtoMs.toFixed(1)}` +
        (f.failed ? `  FAILED ${f.failed}` : ''),
    );
  }
}
