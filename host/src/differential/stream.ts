/**
 * Seeded pseudo-random request streams for the differential test, as a protocol v2 host would
 * send them over a bad link (PROTOCOL.md §3.3): a request before any hello (no_session), then a
 * session opened by hello and requests with consecutive seqs, among them go-backs (the last few
 * requests sent again, byte for byte: duplicates answered from the replay cache, or executed when
 * the first copy was lost), duplicates older than the cache, requests past a gap, hellos
 * mid-session (one close to the seq wrap), and, as before, valid operations across every context
 * and limit, batches, invalid arguments of every kind, malformed CBOR with a good CRC and damaged
 * lines (sent at the next seq without using it up, as a corrupted copy before the good one).
 * With `faults`, every item then crosses a link with those host → device faults (the link
 * emulator's FaultInjector, seeded as `--link` seeds it), and the stream reacts as a host does:
 * a request the link damaged is sent again, with everything after it, a little later (go-back-N,
 * as after the device's gap reply). The same seed always gives the same bytes, so a mismatch
 * replays exactly.
 */
import { encodeCbor } from '../codec/cbor.js';
import { encodeFrame } from '../framing/frame.js';
import { Framing, Op } from '../protocol/constants.js';
import { FaultInjector, directionSeed, type FaultOptions } from '../transport/emulator.js';
import { prng } from '../util/prng.js';
import type { PoolLimits } from '../protocol/limits.js';

export interface StreamItem {
  /** Bytes to send: one or more whole lines. */
  bytes: Buffer;
  /** What it is, for a mismatch report. */
  what: string;
  /** The seq it carries, when it carries one (the answer to it echoes this seq). */
  seq?: number;
  /** Meant to be executed (a request at the session's next seq that the device will decode). */
  advances?: boolean;
  /** A hello: it opens a session. */
  opens?: boolean;
}

/** Most requests a go-back sends again (well within the default replay_depth of 32). */
const GO_BACK_MAX = 8;
/** Regular requests remembered for go-backs and for duplicates older than the replay cache. */
const HISTORY = 64;

/** The request generator; next() yields one item at a time. */
export class RequestStream {
  private readonly r: () => number;
  /** The seq of the session's next request, as this host believes it. */
  private seq = 0;
  private started = false;
  private hellos = 0;
  private readonly history: StreamItem[] = [];
  private readonly resend: StreamItem[] = [];
  private readonly injector: FaultInjector | undefined;
  /** The oldest request of the session the link damaged and no go-back has sent again yet. */
  private lost: number | undefined;

  /**
   * @param limits the pool limits of the build under test (the one limits type, protocol/limits.ts); ids, indexes and sizes are drawn around them
   * @param faults host → device faults the items cross (seeded from `seed` by directionSeed, as the link emulator does)
   */
  constructor(readonly seed: number, private readonly limits: PoolLimits, faults?: FaultOptions) {
    this.r = prng(seed);
    this.injector = faults && faults.ber > 0 ? FaultInjector.seeded(faults, directionSeed(seed, 'h2d')) : undefined;
  }

  /** The faults the link applied so far (undefined without faults). */
  get faultCounts(): Readonly<FaultInjector['counts']> | undefined {
    return this.injector?.counts;
  }

  private int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }
  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }
  private chance(p: number): boolean {
    return this.r() < p;
  }

  /** Mostly in range, sometimes at or just past the limit, or negative. */
  private id(limit: number): number {
    const x = this.r();
    if (x < 0.85) return this.int(0, limit - 1);
    if (x < 0.95) return this.int(limit, limit + 2);
    return this.pick([-1, 255, 65536, 2 ** 31]);
  }
  private value(): number {
    if (this.chance(0.03)) return this.pick([2 ** 31, -(2 ** 31) - 1, 2 ** 40]);
    return this.pick([0, 1, -1, 2147483647, -2147483648, this.int(-1000, 1000), (this.r() * 2 ** 32) | 0]);
  }
  private size(): number {
    return this.chance(0.9) ? this.int(1, this.limits.arrayElements) : this.pick([0, this.limits.arrayElements + 1, -1]);
  }

  /** A pool operation as [op, ...args], valid in shape. */
  private poolOp(): unknown[] {
    const L = this.limits;
    const vm = this.id(L.maxVms);
    switch (this.int(0, 9)) {
      case 0: return [Op.acquire, vm];
      case 1: return [Op.release, vm];
      case 2: return [Op.load_global, vm, this.id(L.maxGlobals)];
      case 3: case 4: return [Op.store_global, vm, this.id(L.maxGlobals), this.value()];
      case 5: return [Op.create_array, vm, this.id(L.maxArrays), this.size()];
      case 6: return [Op.load_array, vm, this.id(L.maxArrays), this.id(L.arrayElements)];
      case 7: case 8: return [Op.store_array, vm, this.id(L.maxArrays), this.id(L.arrayElements), this.value()];
      default: return this.chance(0.1) ? [Op.reset_pool] : [Op.acquire, this.int(0, L.maxVms - 1)];
    }
  }

  /** A wrong-typed stand-in for an argument. */
  private wrongType(): unknown {
    return this.pick<unknown>(['x', new Uint8Array([1]), [1], new Map([[1, 2]]), null, true, 1.5, -0.25]);
  }

  private frameOf(message: Uint8Array): Buffer {
    return encodeFrame(message);
  }

  /** A seq for a hello: anywhere but near the top (the sync requests' range) or, once, just below the wrap. */
  private helloSeq(): number {
    if (++this.hellos === 3) return (0xffffffff - this.int(0, 40)) >>> 0;
    return this.int(0x100000, 0x70000000);
  }

  private hello(seq: number, what: string): StreamItem {
    this.seq = (seq + 1) >>> 0;
    this.history.length = 0;
    this.lost = undefined;
    // A host begins a session with '\n' (§3.3): it ends any partial line the device holds.
    return { bytes: Buffer.concat([Buffer.from('\n'), this.frameOf(encodeCbor([seq, Op.hello]))]), what: `${what} [${seq}, hello]`, seq, opens: true };
  }

  /** The next item, as the link delivers it. */
  next(): StreamItem {
    const item = this.nextSent();
    if (!this.injector) return item;
    const bytes = this.injector.apply(item.bytes);
    if (bytes === item.bytes || bytes.equals(item.bytes)) return item;
    if (item.advances && item.seq !== undefined && this.lost === undefined) this.lost = item.seq;
    // A damaged hello opened nothing: a host sends it again (it times out).
    if (item.opens) this.resend.unshift(item);
    return { ...item, bytes, what: `${item.what} (damaged on the link: sent ${JSON.stringify(item.bytes.toString('latin1'))})` };
  }

  /** The next item as the host sends it. */
  private nextSent(): StreamItem {
    const queued = this.resend.shift();
    if (queued) return { ...queued, what: `again: ${queued.what}` };
    if (!this.started) {
      this.started = true;
      // Before any hello: answered [seq, no_session], executed nowhere.
      const seq = this.helloSeq();
      const item = this.request(seq);
      this.resend.push(this.hello(this.helloSeq(), 'session:'));
      return { ...item, what: `before hello: ${item.what}` };
    }
    if (this.lost !== undefined && this.r() < 0.3) {
      // The gap reply to a request after the damaged one has come back: go back to it.
      const from = this.history.findIndex((h) => h.seq === this.lost);
      this.lost = undefined;
      if (from >= 0) {
        this.resend.push(...this.history.slice(from));
        return this.nextSent();
      }
    }
    const x = this.r();
    if (x < 0.004) return this.hello(this.helloSeq(), 'hello mid-session:');
    if (x < 0.05 && this.history.length) {
      // Go-back: the last k requests again, as a host does after a gap reply or a timeout.
      const k = this.int(1, Math.min(GO_BACK_MAX, this.history.length));
      this.resend.push(...this.history.slice(-k));
      return this.nextSent();
    }
    if (x < 0.056 && this.history.length > 40) {
      // A duplicate older than the replay cache holds: refused with out_of_sequence.
      const old = this.history[this.history.length - this.int(33, Math.min(HISTORY, this.history.length))]!;
      return { ...old, what: `old duplicate: ${old.what}` };
    }
    if (x < 0.07) {
      // Past a gap: not executed, answered [seq, out_of_sequence, next].
      const item = this.request((this.seq + this.int(1, 3)) >>> 0);
      return { ...item, what: `past a gap: ${item.what}` };
    }
    const seq = this.seq;
    const item = this.request(seq);
    if (item.advances) {
      this.seq = (seq + 1) >>> 0;
      this.history.push(item);
      if (this.history.length > HISTORY) this.history.shift();
    }
    return item;
  }

  /**
   * One request (or damaged line) carrying `seq`; `advances` when it is meant to be executed: not
   * a request nested deeper than max_cbor_depth (a wrong-typed batch argument can be), which the
   * device drops as malformed.
   */
  private request(seq: number): StreamItem & { advances: boolean } {
    const item = this.requestOf(seq);
    return item.advances && item.depth > Framing.maxCborDepth ? { ...item, advances: false } : item;
  }

  private requestOf(seq: number): StreamItem & { advances: boolean; depth: number } {
    const x = this.r();
    if (x < 0.55) {
      const op = this.poolOp();
      return { bytes: this.frameOf(encodeCbor([seq, ...op])), what: `request ${JSON.stringify([seq, ...op])}`, seq, advances: true, depth: depthOf([seq, ...op]) };
    }
    if (x < 0.65) {
      if (this.chance(0.05)) {
        // One past the limit, of the smallest entries so that the request still fits a frame.
        const ops = Array.from({ length: Framing.maxBatchOps + 1 }, () => [Op.reset_pool]);
        return { bytes: this.frameOf(encodeCbor([seq, Op.batch, ops])), what: `batch of ${ops.length} reset_pool`, seq, advances: true, depth: depthOf([seq, Op.batch, ops]) };
      }
      const n = this.int(0, 12);
      const ops: unknown[] = Array.from({ length: n }, () => {
        const y = this.r();
        if (y < 0.8) return this.poolOp();
        if (y < 0.9) return [this.pick([Op.hello, Op.stats, Op.batch, Op.echo, 12, 200])];
        return this.pick<unknown>([[], 'x', 7, [Op.acquire], [Op.store_global, 0, 0, this.wrongType()]]);
      });
      return { bytes: this.frameOf(encodeCbor([seq, Op.batch, ops])), what: `batch ${JSON.stringify([seq, Op.batch, ops], replacer)}`, seq, advances: true, depth: depthOf([seq, Op.batch, ops]) };
    }
    if (x < 0.7) {
      const payload = Buffer.from(Array.from({ length: this.int(0, 300) }, () => this.int(0, 255)));
      return { bytes: this.frameOf(encodeCbor([seq, Op.echo, payload])), what: `echo of ${payload.length} bytes`, seq, advances: true, depth: depthOf([seq, Op.echo, payload]) };
    }
    if (x < 0.75) return { bytes: this.frameOf(encodeCbor([seq, Op.stats])), what: `[${seq}, stats]`, seq, advances: true, depth: depthOf([seq, Op.stats]) };
    if (x < 0.83) {
      // Invalid arguments: wrong arity, wrong types, unknown ops.
      const op = this.poolOp();
      const y = this.r();
      let msg: unknown[];
      if (y < 0.3 && op.length > 1) msg = [seq, ...op.slice(0, -1)];
      else if (y < 0.5) msg = [seq, ...op, 0];
      else if (y < 0.8 && op.length > 1) { const i = this.int(1, op.length - 1); msg = [seq, ...op]; msg[i + 1] = this.wrongType(); }
      else msg = [seq, this.pick([12, 13, 255, 65536, 2 ** 32, this.wrongType()])];
      return { bytes: this.frameOf(encodeCbor(msg)), what: `invalid ${JSON.stringify(msg, replacer)}`, seq, advances: true, depth: depthOf(msg) };
    }
    if (x < 0.91) {
      // A valid request's CBOR with one byte changed (or cut), re-framed with a good CRC: decoder parity.
      const cbor = Buffer.from(encodeCbor([seq, ...this.poolOp()]));
      const m = Buffer.from(cbor);
      if (this.chance(0.2) && m.length > 1) {
        const cut = m.subarray(0, this.int(1, m.length - 1));
        return { bytes: this.frameOf(cut), what: `truncated CBOR ${cut.toString('hex')} (from ${cbor.toString('hex')})`, seq, advances: false, depth: 0 };
      }
      m[this.int(0, m.length - 1)] = this.int(0, 255);
      return { bytes: this.frameOf(m), what: `mutated CBOR ${m.toString('hex')} (from ${cbor.toString('hex')})`, seq, advances: false, depth: 0 };
    }
    // Damaged lines: a flipped character, a cut line, noise, an overlong line.
    const line = this.frameOf(encodeCbor([seq, ...this.poolOp()]));
    const y = this.r();
    if (y < 0.4) {
      const b = Buffer.from(line);
      const i = this.int(1, b.length - 2);
      b[i] = this.pick([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=~ \r'].map((c) => c.charCodeAt(0)));
      return { bytes: b, what: `line with byte ${i} changed: ${b.toString('latin1').trimEnd()}`, seq, advances: false, depth: 0 };
    }
    if (y < 0.6) return { bytes: Buffer.concat([line.subarray(0, this.int(1, line.length - 1)), Buffer.from('\n')]), what: 'cut line', seq, advances: false, depth: 0 };
    if (y < 0.8) {
      const noise = Buffer.from(Array.from({ length: this.int(1, 60) }, () => { const c = this.int(0, 255); return c === 0x0a ? 0x20 : c; }));
      return { bytes: Buffer.concat([noise, Buffer.from('\n')]), what: `noise ${noise.toString('hex')}`, advances: false, depth: 0 };
    }
    const n = this.int(Framing.maxLineBytes - 2, Framing.maxLineBytes + 2);
    return { bytes: Buffer.concat([Buffer.from('~'), Buffer.alloc(n - 1, 0x41), Buffer.from('\n')]), what: `line of ${n} bytes`, advances: false, depth: 0 };
  }
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return `h'${Buffer.from(v).toString('hex')}'`;
  if (v instanceof Map) return `map(${v.size})`;
  if (typeof v === 'bigint') return String(v);
  return v;
}

/** Nesting depth of a request value as CBOR counts it (§3.1: the top-level item is depth 1). */
function depthOf(v: unknown): number {
  if (Array.isArray(v)) return 1 + Math.max(0, ...v.map(depthOf));
  if (v instanceof Map) return 1 + Math.max(0, ...[...v].flat().map(depthOf));
  return 1;
}
