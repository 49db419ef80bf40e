/**
 * The one CBOR encoder/decoder configuration of the project (cbor-x). Plain arrays and Maps with
 * small integer keys; no records, no tags for byte strings or maps, so the bytes are RFC 8949
 * core deterministic encoding for every value the protocol uses (integers are always CBOR
 * integers, in their shortest form). C counterpart: cvm_cbor.c.
 */
import { Encoder } from 'cbor-x';

const cbor = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  useTag259ForMaps: false,
  mapsAsObjects: false,
  variableMapSize: true,
  int64AsType: 'bigint',
} as ConstructorParameters<typeof Encoder>[0]);

// cbor-x writes a JS number outside ±2^32 as a float64, even when it is an integer; the protocol
// says an integer is always a CBOR integer, so such numbers go to cbor-x as bigints.
const WIDE = 0xffffffff;
const isWideInt = (v: unknown): v is number => typeof v === 'number' && (v > WIDE || v < -WIDE - 1) && Number.isInteger(v);

function hasWideInt(v: unknown): boolean {
  if (isWideInt(v)) return true;
  if (Array.isArray(v)) return v.some(hasWideInt);
  if (v instanceof Map) for (const [k, x] of v) if (hasWideInt(k) || hasWideInt(x)) return true;
  return false;
}

function widen(v: unknown): unknown {
  if (isWideInt(v)) return BigInt(v);
  if (Array.isArray(v)) return v.map(widen);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [widen(k), widen(x)]));
  return v;
}

/** Encodes a value. Integers (numbers or bigints) stay CBOR integers; a non-integer number becomes a float. */
export function encodeCbor(value: unknown): Buffer {
  return cbor.encode(hasWideInt(value) ? widen(value) : value);
}

/** Decodes exactly one CBOR item; throws on malformed input or trailing bytes. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return cbor.decode(bytes);
}
