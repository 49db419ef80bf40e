/**
 * Strict, canonical base64 (RFC 4648 §4: standard alphabet, '=' padding required, zero unused
 * bits), encoding into and decoding from byte buffers directly. Node's own decoder skips invalid
 * characters silently, and going through strings costs more than a frame's whole CBOR work, so
 * this module does both by table. C counterpart: cvm_base64.c.
 */
const ALPHABET = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const PAD = 0x3d; // '='
const DECODE = (() => {
  const t = new Int8Array(256).fill(-1);
  ALPHABET.forEach((c, i) => (t[c] = i));
  return t;
})();

/** Length of the base64 text of n bytes. */
export function base64Length(n: number): number {
  return Math.ceil(n / 3) * 4;
}

/** Writes the base64 text of bytes into out at offset; returns the offset after it. */
export function base64EncodeInto(bytes: Uint8Array, out: Uint8Array, offset: number): number {
  let o = offset;
  const n = bytes.length;
  const full = n - (n % 3);
  for (let i = 0; i < full; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ALPHABET[v >> 18]!;
    out[o++] = ALPHABET[(v >> 12) & 63]!;
    out[o++] = ALPHABET[(v >> 6) & 63]!;
    out[o++] = ALPHABET[v & 63]!;
  }
  if (n - full === 1) {
    const v = bytes[full]! << 16;
    out[o++] = ALPHABET[v >> 18]!;
    out[o++] = ALPHABET[(v >> 12) & 63]!;
    out[o++] = PAD;
    out[o++] = PAD;
  } else if (n - full === 2) {
    const v = (bytes[full]! << 16) | (bytes[full + 1]! << 8);
    out[o++] = ALPHABET[v >> 18]!;
    out[o++] = ALPHABET[(v >> 12) & 63]!;
    out[o++] = ALPHABET[(v >> 6) & 63]!;
    out[o++] = PAD;
  }
  return o;
}

/** Encodes bytes as padded standard base64 text. */
export function base64Encode(bytes: Uint8Array): string {
  const out = Buffer.allocUnsafe(base64Length(bytes.length));
  base64EncodeInto(bytes, out, 0);
  return out.toString('latin1');
}

/**
 * Decodes the canonical base64 in text[start, end) (bytes or a string); returns null for anything
 * else: a character outside the alphabet, a length not a multiple of 4, misplaced padding, or
 * non-zero unused bits.
 */
export function base64DecodeStrict(text: Uint8Array | string, start = 0, end = text.length): Buffer | null {
  const src = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
  const len = end - start;
  if (len % 4 !== 0) return null;
  if (len === 0) return Buffer.alloc(0);
  const pad = src[end - 1] === PAD ? (src[end - 2] === PAD ? 2 : 1) : 0;
  const out = Buffer.allocUnsafe((len / 4) * 3 - pad);
  let o = 0;
  const last = end - 4;
  for (let i = start; i < last; i += 4) {
    const a = DECODE[src[i]!]!, b = DECODE[src[i + 1]!]!, c = DECODE[src[i + 2]!]!, d = DECODE[src[i + 3]!]!;
    if ((a | b | c | d) < 0) return null;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >> 16;
    out[o++] = (v >> 8) & 0xff;
    out[o++] = v & 0xff;
  }
  const a = DECODE[src[last]!]!, b = DECODE[src[last + 1]!]!;
  const c = pad === 2 ? 0 : DECODE[src[last + 2]!]!;
  const d = pad >= 1 ? 0 : DECODE[src[last + 3]!]!;
  if ((a | b | c | d) < 0) return null;
  // Unused low bits of the last data character must be zero: 4 bits with '==', 2 with '='.
  if ((pad === 2 && (b & 0x0f)) || (pad === 1 && (c & 0x03))) return null;
  const v = (a << 18) | (b << 12) | (c << 6) | d;
  out[o++] = v >> 16;
  if (pad < 2) out[o++] = (v >> 8) & 0xff;
  if (pad < 1) out[o++] = v & 0xff;
  return out;
}
