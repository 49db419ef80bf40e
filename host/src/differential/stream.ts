/**
 * Seeded pseudo-random request streams for the differential test: valid operations across every
 * context and limit, batches, invalid arguments of every kind, malformed CBOR with a good CRC, and
 * damaged lines. The same seed always gives the same bytes, so a mismatch replays exactly.
 */
import { encodeCbor } from '../codec/cbor.js';
import { encodeFrame } from '../framing/frame.js';
import { Framing, Op } from '../protocol/constants.js';
import { prng } from '../util/prng.js';

export interface Limits {
  maxVms: number;
  maxGlobals: number;
  maxArrays: number;
  arrayElements: number;
}

export interface StreamItem {
  /** Bytes to send: one or more whole lines. */
  bytes: Buffer;
  /** What it is, for a mismatch report. */
  what: string;
}

/** The request generator; next() yields one item, each with a distinct seq where it has one. */
export class RequestStream {
  private readonly r: () => number;
  private seq = 0;

  constructor(readonly seed: number, private readonly limits: Limits) {
    this.r = prng(seed);
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

  next(): StreamItem {
    const seq = ++this.seq;
    const x = this.r();
    if (x < 0.55) {
      const op = this.poolOp();
      return { bytes: this.frameOf(encodeCbor([seq, ...op])), what: `request ${JSON.stringify([seq, ...op])}` };
    }
    if (x < 0.65) {
      if (this.chance(0.05)) {
        // One past the limit, of the smallest entries so that the request still fits a frame.
        const ops = Array.from({ length: Framing.maxBatchOps + 1 }, () => [Op.reset_pool]);
        return { bytes: this.frameOf(encodeCbor([seq, Op.batch, ops])), what: `batch of ${ops.length} reset_pool` };
      }
      const n = this.int(0, 12);
      const ops: unknown[] = Array.from({ length: n }, () => {
        const y = this.r();
        if (y < 0.8) return this.poolOp();
        if (y < 0.9) return [this.pick([Op.hello, Op.stats, Op.batch, Op.echo, 12, 200])];
        return this.pick<unknown>([[], 'x', 7, [Op.acquire], [Op.store_global, 0, 0, this.wrongType()]]);
      });
      return { bytes: this.frameOf(encodeCbor([seq, Op.batch, ops])), what: `batch ${JSON.stringify([seq, Op.batch, ops], replacer)}` };
    }
    if (x < 0.7) {
      const payload = Buffer.from(Array.from({ length: this.int(0, 300) }, () => this.int(0, 255)));
      return { bytes: this.frameOf(encodeCbor([seq, Op.echo, payload])), what: `echo of ${payload.length} bytes` };
    }
    if (x < 0.75) return { bytes: this.frameOf(encodeCbor([seq, Op.stats])), what: `[${seq}, stats]` };
    if (x < 0.83) {
      // Invalid arguments: wrong arity, wrong types, unknown ops.
      const op = this.poolOp();
      const y = this.r();
      let msg: unknown[];
      if (y < 0.3 && op.length > 1) msg = [seq, ...op.slice(0, -1)];
      else if (y < 0.5) msg = [seq, ...op, 0];
      else if (y < 0.8 && op.length > 1) { const i = this.int(1, op.length - 1); msg = [seq, ...op]; msg[i + 1] = this.wrongType(); }
      else msg = [seq, this.pick([12, 13, 255, 65536, 2 ** 32, this.wrongType()])];
      return { bytes: this.frameOf(encodeCbor(msg)), what: `invalid ${JSON.stringify(msg, replacer)}` };
    }
    if (x < 0.91) {
      // A valid request's CBOR with one byte changed (or cut), re-framed with a good CRC: decoder parity.
      const cbor = Buffer.from(encodeCbor([seq, ...this.poolOp()]));
      const m = Buffer.from(cbor);
      if (this.chance(0.2) && m.length > 1) {
        const cut = m.subarray(0, this.int(1, m.length - 1));
        return { bytes: this.frameOf(cut), what: `truncated CBOR ${cut.toString('hex')} (from ${cbor.toString('hex')})` };
      }
      m[this.int(0, m.length - 1)] = this.int(0, 255);
      return { bytes: this.frameOf(m), what: `mutated CBOR ${m.toString('hex')} (from ${cbor.toString('hex')})` };
    }
    // Damaged lines: a flipped character, a cut line, noise, an overlong line.
    const line = this.frameOf(encodeCbor([seq, ...this.poolOp()]));
    const y = this.r();
    if (y < 0.4) {
      const b = Buffer.from(line);
      const i = this.int(1, b.length - 2);
      b[i] = this.pick([...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=~ \r'].map((c) => c.charCodeAt(0)));
      return { bytes: b, what: `line with byte ${i} changed: ${b.toString('latin1').trimEnd()}` };
    }
    if (y < 0.6) return { bytes: Buffer.concat([line.subarray(0, this.int(1, line.length - 1)), Buffer.from('\n')]), what: 'cut line' };
    if (y < 0.8) {
      const noise = Buffer.from(Array.from({ length: this.int(1, 60) }, () => { const c = this.int(0, 255); return c === 0x0a ? 0x20 : c; }));
      return { bytes: Buffer.concat([noise, Buffer.from('\n')]), what: `noise ${noise.toString('hex')}` };
    }
    const n = this.int(Framing.maxLineBytes - 2, Framing.maxLineBytes + 2);
    return { bytes: Buffer.concat([Buffer.from('~'), Buffer.alloc(n - 1, 0x41), Buffer.from('\n')]), what: `line of ${n} bytes` };
  }
}

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Uint8Array) return `h'${Buffer.from(v).toString('hex')}'`;
  if (v instanceof Map) return `map(${v.size})`;
  if (typeof v === 'bigint') return String(v);
  return v;
}
