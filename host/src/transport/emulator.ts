/**
 * The link emulator: a Transport wrapper that runs any target's link through a model of a noisy
 * cable and, optionally, of a USB-UART adapter. Users check their cable budget with it; the HIL
 * suite, the differential test and `hil bench` use it to prove that verdicts do not depend on the
 * cable (protocol v2, PROTOCOL.md §3.3).
 *
 * What it models, per direction (h2d: host → device, d2h: device → host):
 * - **Byte faults** (FaultInjector): each byte starts a fault with probability `ber / burst`; a
 *   fault hits a run of `burst` bytes (default 1) and is one of flip (one random bit of each byte
 *   of the run inverted), drop (the run is lost) or dup (the run is delivered twice), chosen by
 *   the configured shares (default equal). The long-run share of damaged bytes is therefore about
 *   `ber`. Seeded (util/prng.ts): the faults depend only on the seed and the byte sequence, never
 *   on how the bytes are split into chunks, so a run replays exactly from its printed seed.
 * - **Pacing** (when `baud` is set): 10 bits a byte (8N1), full duplex. Host → device bytes leave
 *   at the baud rate, one after another. Device → host bytes cross the wire at the baud rate into
 *   the adapter, which hands them to the host in packets of at most `packet` bytes (62: an FTDI
 *   chip's 64-byte USB packet less its 2 status bytes), as soon as a packet is full or when the
 *   adapter's latency timer (`latency` ms, started by the first byte of a packet; 16 ms is the
 *   FTDI default on Linux) expires. `latency=0` hands bytes over as they arrive (still in packets).
 * - **A cut** (cut()/restore()): everything is dropped both ways, as a cable pulled out of a board
 *   that keeps its port open; the transport itself stays open, so the host sees silence.
 *
 * Faults are applied where the bytes enter the emulated wire (in write() for h2d, on the inner
 * transport's data for d2h), then the bytes are paced. Everything injected is counted (counters).
 */
import { EventEmitter } from 'node:events';
import { prng } from '../util/prng.js';
import { TransportError, type Transport, type TransportEvents } from './transport.js';

/** The kinds of byte fault, in the order their shares are drawn. */
export const FAULT_KINDS = ['flip', 'drop', 'dup'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The fault model of one direction. */
export interface FaultOptions {
  /** Byte error rate: long-run share of bytes damaged, in [0, 1]. 0 turns faults off. */
  ber: number;
  /** Relative weights of the fault kinds (non-negative, not all 0); default 1 each (equal shares). */
  shares?: Readonly<Record<FaultKind, number>>;
  /** Bytes one fault hits, ≥ 1 (default 1: independent byte faults). */
  burst?: number;
}

/** What a FaultInjector did. Byte counts; `faults` counts fault events (a burst is one event). */
export interface FaultCounts {
  /** Bytes given to apply(). */
  bytesIn: number;
  /** Bytes apply() returned (bytesIn − drops + dups). */
  bytesOut: number;
  /** Bytes with one bit inverted. */
  flips: number;
  /** Bytes dropped. */
  drops: number;
  /** Bytes delivered a second time. */
  dups: number;
  /** Fault events started (each hits `burst` bytes). */
  faults: number;
}

const zeroCounts = (): FaultCounts => ({ bytesIn: 0, bytesOut: 0, flips: 0, drops: 0, dups: 0, faults: 0 });

/**
 * The pure fault function of one direction: bytes in, damaged bytes out, driven by a PRNG.
 * Stateful only across chunk boundaries (a burst may span chunks), so that the output for a byte
 * sequence is the same however it is chunked. Draws, per byte not inside a burst: one number
 * (does a fault start here?); per fault: one more (which kind); per flipped byte: one more (which
 * bit). Keep this order: the differential test relies on it to apply the same faults elsewhere.
 */
export class FaultInjector {
  readonly counts: FaultCounts = zeroCounts();
  private readonly startP: number;
  private readonly burst: number;
  /** Cumulative share thresholds of flip, drop (dup is the rest). */
  private readonly cut1: number;
  private readonly cut2: number;
  private left = 0; // bytes of the current burst still to hit
  private kind: FaultKind = 'flip';
  private run: number[] = []; // a dup burst's bytes so far, delivered again when it ends

  /** Throws RangeError for options outside their bounds (see FaultOptions). */
  constructor(options: FaultOptions, private readonly random: () => number) {
    const { ber } = options;
    const burst = options.burst ?? 1;
    const shares = options.shares ?? { flip: 1, drop: 1, dup: 1 };
    if (!(ber >= 0 && ber <= 1)) throw new RangeError(`byte error rate must be in [0, 1] (got ${ber})`);
    if (!Number.isInteger(burst) || burst < 1) throw new RangeError(`burst must be an integer ≥ 1 (got ${burst})`);
    const total = shares.flip + shares.drop + shares.dup;
    if (!FAULT_KINDS.every((k) => shares[k] >= 0) || !(total > 0)) throw new RangeError(`fault shares must be ≥ 0 and not all 0 (got ${JSON.stringify(shares)})`);
    this.burst = burst;
    this.startP = ber / burst;
    this.cut1 = shares.flip / total;
    this.cut2 = (shares.flip + shares.drop) / total;
  }

  /** A FaultInjector driven by prng(seed). */
  static seeded(options: FaultOptions, seed: number): FaultInjector {
    return new FaultInjector(options, prng(seed));
  }

  /** Whether this injector can damage anything (ber > 0). */
  get active(): boolean {
    return this.startP > 0;
  }

  /** Returns the chunk as the wire delivers it. Never modifies `chunk`; may return it when nothing was hit. */
  apply(chunk: Buffer): Buffer {
    const c = this.counts;
    c.bytesIn += chunk.length;
    if (!this.active) {
      c.bytesOut += chunk.length;
      return chunk;
    }
    let out: number[] | undefined; // allocated at the first fault in this chunk
    for (let i = 0; i < chunk.length; i++) {
      let b = chunk[i]!;
      if (this.left === 0 && this.random() < this.startP) {
        const k = this.random();
        this.kind = k < this.cut1 ? 'flip' : k < this.cut2 ? 'drop' : 'dup';
        this.left = this.burst;
        this.run = [];
        c.faults++;
      }
      if (this.left === 0) {
        out?.push(b);
        continue;
      }
      out ??= Array.from(chunk.subarray(0, i));
      this.left--;
      if (this.kind === 'flip') {
        b ^= 1 << Math.floor(this.random() * 8);
        c.flips++;
        out.push(b);
      } else if (this.kind === 'drop') {
        c.drops++;
      } else {
        out.push(b);
        this.run.push(b);
        if (this.left === 0) {
          for (const r of this.run) out.push(r);
          c.dups += this.run.length;
          this.run = [];
        }
      }
    }
    const result = out ? Buffer.from(out) : chunk;
    c.bytesOut += result.length;
    return result;
  }
}

/** The direction a seed stream belongs to. */
export type LinkDirection = 'h2d' | 'd2h';

/**
 * The PRNG seed of one direction's faults, derived from the link's seed (so that the two
 * directions are independent streams). The differential test uses it to apply, to a request
 * stream, exactly the faults the emulator applies to host → device bytes.
 */
export function directionSeed(seed: number, direction: LinkDirection): number {
  return direction === 'h2d' ? seed >>> 0 : (Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ 0x27d4eb2f) >>> 0;
}

/** A link model: faults per direction, and optional adapter pacing. Written as a spec string (parseLinkSpec). */
export interface LinkSpec {
  h2d: FaultOptions;
  d2h: FaultOptions;
  /** uint32 seed of the faults; undefined: chosen at random when the link opens (and shown in its name). */
  seed?: number;
  /** Line rate in baud (8N1, 10 bits a byte) when paced; undefined: no pacing. */
  baud?: number;
  /** Adapter latency timer in ms (paced links only); default 16 (FTDI on Linux). */
  latencyMs?: number;
  /** Largest device → host USB packet in bytes (paced links only); default 62 (FTDI). */
  packetBytes?: number;
}

export const DEFAULT_LATENCY_MS = 16;
export const DEFAULT_PACKET_BYTES = 62;

export const LINK_SPEC_HELP = [
  'KEY=VALUE,... (or "none"): ber=RATE (both directions, 0..1, e.g. 1e-3), ber-h2d=RATE, ber-d2h=RATE,',
  'flip=W,drop=W,dup=W (shares of the fault kinds, default 1 each), burst=N (bytes a fault hits, default 1),',
  'seed=N (uint32; default random, printed), baud=N (pace like a USB-UART adapter, 8N1),',
  `latency=MS (adapter latency timer, default ${DEFAULT_LATENCY_MS}), packet=N (USB packet bytes, default ${DEFAULT_PACKET_BYTES})`,
].join(' ');

/** A link spec that cannot be parsed; the message is one line naming the key and the valid forms. */
export class LinkSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LinkSpecError';
  }
}

const KEYS = ['ber', 'ber-h2d', 'ber-d2h', 'flip', 'drop', 'dup', 'burst', 'seed', 'baud', 'latency', 'packet'] as const;
type Key = (typeof KEYS)[number];
const FORMS: Record<Key, string> = {
  ber: 'a rate in [0, 1], e.g. ber=1e-3',
  'ber-h2d': 'a rate in [0, 1], e.g. ber-h2d=1e-4',
  'ber-d2h': 'a rate in [0, 1], e.g. ber-d2h=1e-4',
  flip: 'a weight ≥ 0, e.g. flip=1',
  drop: 'a weight ≥ 0, e.g. drop=2',
  dup: 'a weight ≥ 0, e.g. dup=0',
  burst: 'an integer 1..4096, e.g. burst=8',
  seed: 'an integer 0..4294967295, e.g. seed=7',
  baud: 'an integer 50..20000000, e.g. baud=115200',
  latency: 'an integer 0..255 ms, e.g. latency=16',
  packet: 'an integer 1..4096, e.g. packet=62',
};

/**
 * Parses a link spec, e.g. "ber=1e-3,seed=7,baud=115200,latency=16". `where` names its source in
 * errors (e.g. "--link", "boards/x.json: /link"). "none" or "" is a clean link (returns undefined).
 * Throws LinkSpecError naming the bad key or value and the valid forms.
 */
export function parseLinkSpec(text: string, where = '--link'): LinkSpec | undefined {
  const t = text.trim();
  if (t === '' || t === 'none') return undefined;
  const bad = (what: string): never => {
    throw new LinkSpecError(`${where} "${text}": ${what}; the form is ${LINK_SPEC_HELP}`);
  };
  const v: Partial<Record<Key, number>> = {};
  for (const part of t.split(',')) {
    const m = /^\s*([a-z2-]+)\s*=\s*(\S+)\s*$/.exec(part);
    if (!m) bad(`"${part}" is not KEY=VALUE`);
    const key = m![1] as Key;
    if (!KEYS.includes(key)) bad(`unknown key "${m![1]}" (keys: ${KEYS.join(', ')})`);
    if (key in v) bad(`${key} is given twice`);
    const n = Number(m![2]);
    const ok =
      key.startsWith('ber') ? n >= 0 && n <= 1
      : key === 'flip' || key === 'drop' || key === 'dup' ? n >= 0 && Number.isFinite(n)
      : key === 'seed' ? Number.isInteger(n) && n >= 0 && n <= 0xffffffff
      : key === 'baud' ? Number.isInteger(n) && n >= 50 && n <= 20_000_000
      : key === 'latency' ? Number.isInteger(n) && n >= 0 && n <= 255
      : Number.isInteger(n) && n >= 1 && n <= 4096;
    if (!ok || m![2]!.trim() === '') bad(`${key}=${m![2]} is out of range: ${key} takes ${FORMS[key]}`);
    v[key] = n;
  }
  if (v.ber !== undefined && (v['ber-h2d'] !== undefined || v['ber-d2h'] !== undefined)) bad('give ber, or ber-h2d and ber-d2h, not both');
  if ((v.latency !== undefined || v.packet !== undefined) && v.baud === undefined) bad('latency and packet model the adapter of a paced link: give baud too');
  const shares = { flip: v.flip ?? 1, drop: v.drop ?? 1, dup: v.dup ?? 1 };
  if (shares.flip + shares.drop + shares.dup === 0) bad('flip, drop and dup are all 0: give one a weight > 0');
  const dir = (ber: number): FaultOptions => ({ ber, shares, burst: v.burst ?? 1 });
  return {
    h2d: dir(v['ber-h2d'] ?? v.ber ?? 0),
    d2h: dir(v['ber-d2h'] ?? v.ber ?? 0),
    ...(v.seed !== undefined ? { seed: v.seed } : {}),
    ...(v.baud !== undefined ? { baud: v.baud, latencyMs: v.latency ?? DEFAULT_LATENCY_MS, packetBytes: v.packet ?? DEFAULT_PACKET_BYTES } : {}),
  };
}

/** Whether a spec injects faults in either direction. */
export function hasFaults(spec: LinkSpec): boolean {
  return spec.h2d.ber > 0 || spec.d2h.ber > 0;
}

/** The spec with its seed fixed (a random uint32 when it has none): what a run prints to be replayable. */
export function withSeed(spec: LinkSpec, seed?: number): LinkSpec & { seed: number } {
  return { ...spec, seed: spec.seed ?? seed ?? (Math.random() * 0x100000000) >>> 0 };
}

/**
 * The canonical text of a spec, parseable by parseLinkSpec back to the same spec: only what
 * differs from the defaults ("ber=0" for a transparent emulator).
 */
export function formatLinkSpec(spec: LinkSpec): string {
  const parts: string[] = [];
  const { h2d, d2h } = spec;
  if (h2d.ber === d2h.ber) {
    if (h2d.ber > 0) parts.push(`ber=${h2d.ber}`);
  } else {
    parts.push(`ber-h2d=${h2d.ber}`, `ber-d2h=${d2h.ber}`);
  }
  const s = h2d.shares ?? { flip: 1, drop: 1, dup: 1 };
  if (!(s.flip === s.drop && s.drop === s.dup)) parts.push(`flip=${s.flip}`, `drop=${s.drop}`, `dup=${s.dup}`);
  if ((h2d.burst ?? 1) !== 1) parts.push(`burst=${h2d.burst}`);
  if (spec.seed !== undefined && hasFaults(spec)) parts.push(`seed=${spec.seed}`);
  if (spec.baud !== undefined) {
    parts.push(`baud=${spec.baud}`);
    if ((spec.latencyMs ?? DEFAULT_LATENCY_MS) !== DEFAULT_LATENCY_MS) parts.push(`latency=${spec.latencyMs}`);
    if ((spec.packetBytes ?? DEFAULT_PACKET_BYTES) !== DEFAULT_PACKET_BYTES) parts.push(`packet=${spec.packetBytes}`);
  }
  return parts.join(',') || 'ber=0';
}

/** Timers the pacing runs on; injectable so tests drive time by hand (no wall-clock assertions). */
export interface LinkClock {
  /** Milliseconds, monotonic. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: LinkClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Everything the emulator injected or carried. */
export interface LinkCounters {
  h2d: FaultCounts;
  d2h: FaultCounts;
  /** Bytes lost to cut(), per direction (not in the fault counts). */
  cutH2d: number;
  cutD2h: number;
  /** Device → host packets handed to the host (paced links only). */
  packetsToHost: number;
  /**
   * Time each paced wire carried nothing between its first byte and now, ms (paced links only;
   * 0 otherwise): on a saturated link, what retransmission timeouts and round trips left unused.
   */
  idleH2dMs: number;
  idleD2hMs: number;
}

/**
 * One direction of a paced wire: bytes go out one after another at `byteMs` each; `deliver` gets
 * them in packets of at most `packet` bytes, when a packet is full or `latencyMs` after its first
 * byte arrived (latency 0: as they arrive). Driven by `pump`, which works out analytically what
 * happened by `now`, so late timers only make deliveries late, never reorder or lose them.
 */
class PacedWire {
  private pending: Buffer[] = []; // bytes on the wire, not yet arrived at the far end
  private pendingBytes = 0;
  private headOffset = 0; // bytes of pending[0] already arrived
  private cursor = 0; // time the next pending byte starts arriving (its start bit)
  private packet: number[] = []; // arrived, held by the adapter
  private packetFirst = 0; // arrival time of the packet's first byte
  private timer: unknown;
  private timerAt = Infinity;
  private started = false;
  private idle = 0;

  constructor(
    private readonly byteMs: number,
    private readonly latencyMs: number,
    private readonly packetBytes: number,
    private readonly clock: LinkClock,
    private readonly deliver: (packet: Buffer) => void,
  ) {}

  push(data: Buffer): void {
    if (data.length === 0) return;
    const now = this.clock.now();
    if (this.pendingBytes === 0) {
      if (this.started && now > this.cursor) this.idle += now - this.cursor;
      this.started = true;
      this.cursor = Math.max(this.cursor, now);
    }
    this.pending.push(data);
    this.pendingBytes += data.length;
    this.pump();
  }

  /** Time the wire carried nothing since its first byte, ms. */
  idleMs(): number {
    const now = this.clock.now();
    return this.idle + (this.started && this.pendingBytes === 0 && now > this.cursor ? now - this.cursor : 0);
  }

  /** Hands over everything at once (the link is closing) and stops the timer. */
  flushAll(): void {
    this.stop();
    for (;;) {
      const b = this.take();
      if (b === undefined) break;
      this.packet.push(b);
      if (this.packet.length === this.packetBytes) this.flush();
    }
    this.flush();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private take(): number | undefined {
    const head = this.pending[0];
    if (!head) return undefined;
    const b = head[this.headOffset++]!;
    this.pendingBytes--;
    if (this.headOffset === head.length) {
      this.pending.shift();
      this.headOffset = 0;
    }
    return b;
  }

  private flush(): void {
    if (this.packet.length === 0) return;
    const p = Buffer.from(this.packet);
    this.packet = [];
    this.deliver(p);
  }

  private readonly pump = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    const eps = 1e-9;
    while (this.pendingBytes > 0) {
      const arrival = this.cursor + this.byteMs;
      if (arrival > now + eps) break;
      // The latency timer of a held packet expired before this byte arrived: that packet left first.
      if (this.packet.length > 0 && this.latencyMs > 0 && this.packetFirst + this.latencyMs < arrival) this.flush();
      if (this.packet.length === 0) this.packetFirst = arrival;
      this.packet.push(this.take()!);
      this.cursor = arrival;
      if (this.packet.length === this.packetBytes) this.flush();
    }
    if (this.packet.length > 0 && (this.latencyMs === 0 || this.packetFirst + this.latencyMs <= now + eps)) {
      // With latency 0 a packet leaves as soon as no further byte has arrived by now.
      this.flush();
    }
    // The next moment something can leave: a packet fills, its latency timer expires, or (latency 0) the bytes on the wire have all arrived.
    let next = Infinity;
    if (this.pendingBytes > 0) {
      const need = this.packetBytes - this.packet.length;
      if (this.pendingBytes >= need) next = this.cursor + need * this.byteMs;
      else if (this.latencyMs === 0) next = this.cursor + this.pendingBytes * this.byteMs;
      if (this.latencyMs > 0) next = Math.min(next, (this.packet.length > 0 ? this.packetFirst : this.cursor + this.byteMs) + this.latencyMs);
    } else if (this.packet.length > 0) {
      next = this.packetFirst + this.latencyMs;
    }
    if (next < Infinity) this.arm(next);
  };

  private arm(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(this.pump, Math.max(0, Math.ceil(at - this.clock.now())));
  }
}

export interface EmulatorOptions {
  /** Drives the pacing's timers (default: performance.now and the global timers). */
  clock?: LinkClock;
}

/**
 * A Transport through the link emulator: wraps `inner` (any target's transport) and behaves as
 * it does, with the link model of `spec` between them. Owns `inner`: close() closes it.
 * The name is the inner one's plus the link, seed included, so every error names the seed.
 */
export class LinkEmulator extends EventEmitter<TransportEvents> implements Transport {
  readonly name: string;
  /** The spec in force, its seed fixed. */
  readonly spec: LinkSpec & { seed: number };
  private readonly faultsH2d: FaultInjector;
  private readonly faultsD2h: FaultInjector;
  private readonly wireH2d: PacedWire | undefined;
  private readonly wireD2h: PacedWire | undefined;
  private isCut = false;
  private faultsOn = true;
  private cutH2d = 0;
  private cutD2h = 0;
  private packets = 0;

  /** Throws RangeError for a spec outside its bounds (parseLinkSpec never returns one). */
  constructor(readonly inner: Transport, spec: LinkSpec, options: EmulatorOptions = {}) {
    super();
    this.spec = withSeed(spec);
    this.name = `${inner.name} [link ${formatLinkSpec(this.spec)}]`;
    this.faultsH2d = FaultInjector.seeded(spec.h2d, directionSeed(this.spec.seed, 'h2d'));
    this.faultsD2h = FaultInjector.seeded(spec.d2h, directionSeed(this.spec.seed, 'd2h'));
    if (spec.baud !== undefined) {
      const clock = options.clock ?? realClock;
      const byteMs = 10_000 / spec.baud;
      this.wireH2d = new PacedWire(byteMs, 0, 64, clock, (b) => {
        if (this.inner.isOpen) void this.inner.write(b).catch(() => undefined); // a failed write surfaces as the inner close
      });
      this.wireD2h = new PacedWire(byteMs, spec.latencyMs ?? DEFAULT_LATENCY_MS, spec.packetBytes ?? DEFAULT_PACKET_BYTES, clock, (b) => {
        this.packets++;
        this.emit('data', b);
      });
    }
    inner.on('data', this.onData);
    inner.on('close', this.onClose);
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  /** The counters so far (a snapshot). */
  get counters(): LinkCounters {
    return { h2d: { ...this.faultsH2d.counts }, d2h: { ...this.faultsD2h.counts }, cutH2d: this.cutH2d, cutD2h: this.cutD2h, packetsToHost: this.packets, idleH2dMs: round3(this.wireH2d?.idleMs() ?? 0), idleD2hMs: round3(this.wireD2h?.idleMs() ?? 0) };
  }

  /** Whether cut() is in force. */
  get silent(): boolean {
    return this.isCut;
  }

  /** Cuts the link: from now on every byte either way is dropped (counted in cutH2d/cutD2h) until restore(). */
  cut(): void {
    this.isCut = true;
  }

  restore(): void {
    this.isCut = false;
  }

  /**
   * Turns the byte faults off (false) or on again (true), keeping the pacing: e.g. to read back
   * over a clean link what was written over a noisy one, on the same running target. While off,
   * bytes pass untouched and no fault draws are made (the fault streams resume where they were).
   */
  setFaults(enabled: boolean): void {
    this.faultsOn = enabled;
  }

  open(): Promise<void> {
    return this.inner.open();
  }

  /**
   * Puts bytes on the emulated wire (faults applied now). Resolves once they are handed to the
   * wire: at once when paced (as an OS buffer accepts them), else when the inner transport has them.
   * Rejects with a TransportError when the link is not open.
   */
  write(data: Buffer): Promise<void> {
    if (!this.inner.isOpen) return Promise.reject(new TransportError(this.name, 'write while the link is not open', 'closed'));
    if (this.isCut) {
      this.cutH2d += data.length;
      return Promise.resolve();
    }
    const out = this.faultsOn ? this.faultsH2d.apply(data) : data;
    if (this.wireH2d) {
      this.wireH2d.push(out);
      return Promise.resolve();
    }
    return out.length ? this.inner.write(out) : Promise.resolve();
  }

  async close(): Promise<void> {
    this.wireH2d?.stop();
    this.wireD2h?.stop();
    await this.inner.close();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.isCut) {
      this.cutD2h += chunk.length;
      return;
    }
    const out = this.faultsOn ? this.faultsD2h.apply(chunk) : chunk;
    if (out.length === 0) return;
    if (this.wireD2h) this.wireD2h.push(out);
    else this.emit('data', out);
  };

  private readonly onClose = (error?: TransportError): void => {
    // What had reached the adapter is handed over before the link ends (a last log line, a crash message).
    this.wireD2h?.flushAll();
    this.wireH2d?.stop();
    this.emit('close', error);
  };
}

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000;

/** Runs `inner` through the emulator when `spec` is given; returns `inner` itself for a clean link. */
export function emulateLink(inner: Transport, spec: LinkSpec | undefined, options: EmulatorOptions = {}): Transport {
  return spec ? new LinkEmulator(inner, spec, options) : inner;
}
