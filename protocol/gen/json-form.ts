/**
 * The vectors' JSON form of CBOR values (PROTOCOL.md §7) → the values the host's encoder takes,
 * and → CBOR bytes. One reading of the form for the vector generator (protocol/gen/vectors.ts) and
 * the C table generator (protocol/gen/vectors-c.ts).
 */
import { encodeCbor } from '../../host/src/codec/cbor.js';

/** A value of the form that cannot be read; `where` names the field (e.g. `"case": expect[0].map[1]`). */
export class JsonFormError extends Error {
  constructor(readonly where: string, readonly what: string) {
    super(`${where}: ${what}`);
    this.name = 'JsonFormError';
  }
}

function hexBytes(v: unknown, where: string): Buffer {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(v)) throw new JsonFormError(where, 'not a hex string');
  return Buffer.from(v, 'hex');
}

/** Integers and text as they are, arrays element by element, `{bstr}` as bytes, `{map}` as a Map. `{raw}` only at the top (cborOfJsonForm). */
export function fromJsonForm(v: unknown, where = 'value'): unknown {
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map((x, i) => fromJsonForm(x, `${where}[${i}]`));
  if (v !== null && typeof v === 'object') {
    if ('bstr' in v) return hexBytes(v.bstr, `${where}.bstr`);
    if ('map' in v && Array.isArray(v.map)) {
      return new Map(
        v.map.map((kv: unknown, i: number) => {
          if (!Array.isArray(kv) || kv.length !== 2) throw new JsonFormError(`${where}.map[${i}]`, 'not a [key, value] pair');
          return [fromJsonForm(kv[0], `${where}.map[${i}][0]`), fromJsonForm(kv[1], `${where}.map[${i}][1]`)];
        }),
      );
    }
  }
  throw new JsonFormError(where, `${JSON.stringify(v)} is not in the JSON form of §7 (raw only at top level)`);
}

/** The CBOR bytes of a message in the JSON form: `{"raw": hex}` as given, anything else encoded (core deterministic encoding). */
export function cborOfJsonForm(v: unknown, where = 'value'): Buffer {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && 'raw' in v) return hexBytes(v.raw, `${where}.raw`);
  return encodeCbor(fromJsonForm(v, where));
}
