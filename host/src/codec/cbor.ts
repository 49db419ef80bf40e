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

/** Encodes a value. Integers must be safe integers or bigints; a non-integer number becomes a float. */
export function encodeCbor(value: unknown): Buffer {
  return cbor.encode(value);
}

/** Decodes exactly one CBOR item; throws on malformed input or trailing bytes. */
export function decodeCbor(bytes: Uint8Array): unknown {
  return cbor.decode(bytes);
}
