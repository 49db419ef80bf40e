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

/** Parses bytes as one request item or throws MalformedCbor. */
export function readStrict(bytes: Uint8Array, maxDepth: number = Framing.maxCborDepth): CborItem {
  let pos = 0;

  function need(n: number): void {
    if (pos + n > bytes.length) throw new MalformedCbor('truncated', pos);
  }

  // Reads the argument of a head; returns bigint so 64-bit lengths and values stay exact.
  function argument(ai: number, at: number): bigint {
    if (ai < 24) return BigInt(ai);
    const size = ai === 24 ? 1 : ai === 25 ? 2 : ai === 26 ? 4 : ai === 27 ? 8 : 0;
    if (size === 0) throw new MalformedCbor(ai === 31 ? 'indefinite length' : `reserved additional information ${ai}`, at);
    need(size);
    let v = 0n;
    for (let i = 0; i < size; i++) v = (v << 8n) | BigInt(bytes[pos++]!);
    return v;
  }

  function length(ai: number, at: number): number {
    const n = argument(ai, at);
    // Every item takes at least one byte, so a count past the remaining bytes is truncation.
    if (n > BigInt(bytes.length - pos)) throw new MalformedCbor('truncated', at);
    return Number(n);
  }

  function item(depth: number): CborItem {
    if (depth > maxDepth) throw new MalformedCbor(`nesting deeper than ${maxDepth}`, pos);
    const at = pos;
    need(1);
    const head = bytes[pos++]!;
    const major = head >> 5;
    const ai = head & 0x1f;
    switch (major) {
      case 0:
      case 1: {
        const n = argument(ai, at);
        const v = major === 0 ? n : -1n - n;
        return { t: 'int', v: v >= -SAFE && v <= SAFE ? Number(v) : v };
      }
      case 2:
      case 3: {
        const n = length(ai, at);
        const v = bytes.subarray(pos, pos + n);
        pos += n;
        return major === 2 ? { t: 'bytes', v } : { t: 'text' };
      }
      case 4: {
        const n = length(ai, at);
        const v: CborItem[] = [];
        for (let i = 0; i < n; i++) v.push(item(depth + 1));
        return { t: 'array', v };
      }
      case 5: {
        const n = length(ai, at);
        for (let i = 0; i < 2 * n; i++) item(depth + 1);
        return { t: 'map' };
      }
      case 6:
        argument(ai, at);
        item(depth + 1);
        return { t: 'tag' };
      default: {
        if (ai === 31) throw new MalformedCbor('break outside an indefinite-length item', at);
        if (ai >= 28) throw new MalformedCbor(`reserved additional information ${ai}`, at);
        if (ai === 24) {
          need(1);
          if (bytes[pos++]! < 32) throw new MalformedCbor('two-byte simple value below 32', at);
          return { t: 'simple' };
        }
        if (ai >= 25) {
          const size = ai === 25 ? 2 : ai === 26 ? 4 : 8;
          need(size);
          pos += size;
          return { t: 'float' };
        }
        return { t: 'simple' };
      }
    }
  }

  const top = item(1);
  if (pos !== bytes.length) throw new MalformedCbor(`${bytes.length - pos} bytes after the item`, pos);
  return top;
}
