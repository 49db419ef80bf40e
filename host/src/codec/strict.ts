/**
 * Strict reader for the requests a device accepts (PROTOCOL.md §3.1 step 1): exactly one
 * well-formed item, definite lengths only, nesting at most max_cbor_depth. It keeps the CBOR type
 * of every item, which a general decoder loses (cbor-x turns 1.0 into 1), because a device must
 * tell an integer from a float to answer bad_arg exactly as the C core does.
 * C counterpart: the decoder in cvm_cbor.c.
 */
import { Framing } from '../protocol/constants.js';

/** An integer keeps full precision: number when safe, bigint beyond. */
export type CborItem =
  | { t: 'int'; v: number | bigint }
  | { t: 'bytes'; v: Uint8Array }
  | { t: 'array'; v: CborItem[] }
  | { t: 'text' | 'map' | 'tag' | 'float' | 'simple' };

/** Thrown for input that is not a well-formed request item; `reason` says what and `offset` where. */
export class MalformedCbor extends Error {
  constructor(readonly reason: string, readonly offset: number) {
    super(`malformed CBOR at byte ${offset}: ${reason}`);
  }
}

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * The reader's state; methods rather than per-call closures, and plain numbers for arguments of
 * up to 4 bytes (bigint only for 8-byte ones), keep this off the profile of a device's hot path.
 */
class Reader {
  pos = 0;
  constructor(readonly bytes: Uint8Array, readonly maxDepth: number) {}

  need(n: number): void {
    if (this.pos + n > this.bytes.length) throw new MalformedCbor('truncated', this.pos);
  }

  /** The argument of a head: a number, or a bigint when it came in 8 bytes. */
  argument(ai: number, at: number): number | bigint {
    const b = this.bytes;
    if (ai < 24) return ai;
    if (ai === 24) { this.need(1); return b[this.pos++]!; }
    if (ai === 25) { this.need(2); const v = (b[this.pos]! << 8) | b[this.pos + 1]!; this.pos += 2; return v; }
    if (ai === 26) {
      this.need(4);
      const v = ((b[this.pos]! << 24) >>> 0) + ((b[this.pos + 1]! << 16) | (b[this.pos + 2]! << 8) | b[this.pos + 3]!);
      this.pos += 4;
      return v;
    }
    if (ai === 27) {
      this.need(8);
      let v = 0n;
      for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[this.pos++]!);
      return v;
    }
    throw new MalformedCbor(ai === 31 ? 'indefinite length' : `reserved additional information ${ai}`, at);
  }

  length(ai: number, at: number): number {
    const n = this.argument(ai, at);
    // Every item takes at least one byte, so a count past the remaining bytes is truncation.
    if (n > this.bytes.length - this.pos) throw new MalformedCbor('truncated', at);
    return Number(n);
  }

  item(depth: number): CborItem {
    if (depth > this.maxDepth) throw new MalformedCbor(`nesting deeper than ${this.maxDepth}`, this.pos);
    const at = this.pos;
    this.need(1);
    const head = this.bytes[this.pos++]!;
    const major = head >> 5;
    const ai = head & 0x1f;
    switch (major) {
      case 0: {
        const n = this.argument(ai, at);
        return { t: 'int', v: typeof n === 'number' || n > SAFE ? n : Number(n) };
      }
      case 1: {
        const n = this.argument(ai, at);
        if (typeof n === 'number') return { t: 'int', v: -1 - n };
        const v = -1n - n;
        return { t: 'int', v: v >= -SAFE ? Number(v) : v };
      }
      case 2:
      case 3: {
        const n = this.length(ai, at);
        const v = this.bytes.subarray(this.pos, this.pos + n);
        this.pos += n;
        return major === 2 ? { t: 'bytes', v } : { t: 'text' };
      }
      case 4: {
        const n = this.length(ai, at);
        const v: CborItem[] = new Array(n);
        for (let i = 0; i < n; i++) v[i] = this.item(depth + 1);
        return { t: 'array', v };
      }
      case 5: {
        const n = this.length(ai, at);
        for (let i = 0; i < 2 * n; i++) this.item(depth + 1);
        return { t: 'map' };
      }
      case 6:
        this.argument(ai, at);
        this.item(depth + 1);
        return { t: 'tag' };
      default: {
        if (ai === 31) throw new MalformedCbor('break outside an indefinite-length item', at);
        if (ai >= 28) throw new MalformedCbor(`reserved additional information ${ai}`, at);
        if (ai === 24) {
          this.need(1);
          if (this.bytes[this.pos++]! < 32) throw new MalformedCbor('two-byte simple value below 32', at);
          return { t: 'simple' };
        }
        if (ai >= 25) {
          const size = ai === 25 ? 2 : ai === 26 ? 4 : 8;
          this.need(size);
          this.pos += size;
          return { t: 'float' };
        }
        return { t: 'simple' };
      }
    }
  }
}

/** Parses bytes as one request item or throws MalformedCbor. */
export function readStrict(bytes: Uint8Array, maxDepth: number = Framing.maxCborDepth): CborItem {
  const r = new Reader(bytes, maxDepth);
  const top = r.item(1);
  if (r.pos !== bytes.length) throw new MalformedCbor(`${bytes.length - r.pos} bytes after the item`, r.pos);
  return top;
}
