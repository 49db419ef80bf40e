/**
 * Turns the shared vectors (protocol/vectors/frames.json, exchanges.json) into a C table for the
 * firmware's unit test firmware/tests/test_vectors.c, so the C core runs the very cases the TS
 * tests run (pigweed pw_hdlc's habit: one case table drives every language).
 *
 *   tsx protocol/gen/vectors-c.ts OUT.h
 *
 * The Makefile runs it before compiling the test, into the build folder, whenever a vector file
 * or this generator changes: the table is never committed, so it cannot be stale. It carries the
 * JSON's data only (bytes, classes as their spec names, expectations); what they mean is the
 * test's business. A frame's message becomes its CBOR bytes through the host's encoder (core
 * deterministic encoding, as protocol/gen/vectors.ts made the line from it). Writes OUT.h
 * atomically; on a vector it cannot use, writes nothing and exits 2 with one line naming the file,
 * the case and the field.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { JsonFormError, cborOfJsonForm } from './json-form.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

class VectorError extends Error {}
function fail(where: string, what: string): never {
  throw new VectorError(`${where}: ${what} (fix protocol/gen/vectors.ts and run npm run gen)`);
}

function hexBytes(v: unknown, where: string): Buffer {
  if (typeof v !== 'string' || v.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(v)) fail(where, 'not a hex string');
  return Buffer.from(v, 'hex');
}

/** The CBOR bytes of a message in JSON form (protocol/gen/json-form.ts), its errors as this generator's. */
function cborOf(v: unknown, where: string): Buffer {
  try {
    return cborOfJsonForm(v, where);
  } catch (e) {
    if (e instanceof JsonFormError) fail(e.where, e.what);
    throw e;
  }
}

/** A C string literal of text: printable ASCII as is, everything else as 3-digit octal escapes. */
function cString(text: string): string {
  let out = '"';
  for (const b of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(b);
    out += b >= 0x20 && b < 0x7f && c !== '"' && c !== '\\' && c !== '?' ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out + '"';
}

function uint(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(where, `${JSON.stringify(v)} is not an unsigned integer`);
  return v;
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(where, 'not a list');
  return v;
}

function text(v: unknown, where: string): string {
  if (typeof v !== 'string') fail(where, 'not a string');
  return v;
}

type Obj = Record<string, unknown>;
function obj(v: unknown, where: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail(where, 'not an object');
  return v as Obj;
}

/** The C declarations of the table, built up as the cases are read. */
class Table {
  readonly decls: string[] = [];
  private n = 0;

  /** Declares a byte array and returns its `name, length` initializer pair. */
  bytes(b: Buffer): string {
    if (b.length === 0) return 'NULL, 0u';
    const name = `vec_b${this.n++}`;
    const rows: string[] = [];
    for (let i = 0; i < b.length; i += 16) rows.push('    ' + [...b.subarray(i, i + 16)].map((x) => `0x${x.toString(16).padStart(2, '0')},`).join(' '));
    this.decls.push(`static const uint8_t ${name}[${b.length}] = {\n${rows.join('\n')}\n};`);
    return `${name}, ${b.length}u`;
  }

  /** Declares an array of the given element type and returns its `name, count` pair. */
  array(type: string, items: string[]): string {
    if (items.length === 0) return 'NULL, 0u';
    const name = `vec_a${this.n++}`;
    this.decls.push(`static const ${type} ${name}[${items.length}] = {\n${items.map((s) => `    ${s},`).join('\n')}\n};`);
    return `${name}, ${items.length}u`;
  }
}

function readCases(file: string): unknown[] {
  const where = `protocol/vectors/${file}`;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(root, where), 'utf8'));
  } catch (e) {
    fail(where, `cannot be read as JSON: ${(e as Error).message}`);
  }
  const cases = list(obj(json, where).cases, `${where}: cases`);
  if (cases.length === 0) fail(where, 'no cases');
  return cases;
}

function frameRows(t: Table): string[] {
  return readCases('frames.json').map((c, i) => {
    const where = `protocol/vectors/frames.json: case ${i}`;
    const o = obj(c, where);
    const name = text(o.name, `${where}: name`);
    const at = `protocol/vectors/frames.json: "${name}"`;
    const cls = text(o.class, `${at}: class`);
    const line = t.bytes(hexBytes(o.line_hex, `${at}: line_hex`));
    const message = cls === 'frame' ? t.bytes(cborOf(o.message, `${at}: message`)) : 'NULL, 0u';
    return `{${cString(name)}, ${line}, ${cString(cls)}, ${message}}`;
  });
}

function expectRow(t: Table, e: unknown, at: string): string {
  const o = obj(e, at);
  const meaning = cString(typeof o.meaning === 'string' ? o.meaning : JSON.stringify(o.meaning ?? null));
  if ('line' in o) {
    return `{VEC_LINE, ${meaning}, ${t.bytes(Buffer.from(text(o.line, `${at}: line`), 'latin1'))}, 0u, NULL, 0u, 0u}`;
  }
  if ('hello' in o) {
    const h = obj(o.hello, `${at}: hello`);
    const pairs = list(obj(h.fixed, `${at}: hello.fixed`).map, `${at}: hello.fixed.map`).map((kv, j) => {
      const p = list(kv, `${at}: hello.fixed.map[${j}]`);
      if (p.length !== 2) fail(`${at}: hello.fixed.map[${j}]`, 'not a [key, value] pair');
      return `{${uint(p[0], `${at}: hello.fixed.map[${j}][0]`)}u, ${uint(p[1], `${at}: hello.fixed.map[${j}][1]`)}u}`;
    });
    return `{VEC_HELLO, ${meaning}, NULL, 0u, ${uint(h.seq, `${at}: hello.seq`)}u, ${t.array('vec_pair', pairs)}, 0u}`;
  }
  if ('same_as' in o) return `{VEC_SAME_AS, ${meaning}, NULL, 0u, 0u, NULL, 0u, ${uint(o.same_as, `${at}: same_as`)}u}`;
  return fail(at, 'neither line, hello nor same_as (PROTOCOL.md §7)');
}

function exchangeRows(t: Table): string[] {
  return readCases('exchanges.json').map((c, i) => {
    const o = obj(c, `protocol/vectors/exchanges.json: case ${i}`);
    const name = text(o.name, `protocol/vectors/exchanges.json: case ${i}: name`);
    const at = `protocol/vectors/exchanges.json: "${name}"`;
    const steps = list(o.steps, `${at}: steps`).map((s, j) => {
      const so = obj(s, `${at}: step ${j}`);
      const expect = list(so.expect, `${at}: step ${j}: expect`).map((e, k) => expectRow(t, e, `${at}: step ${j}: expect[${k}]`));
      return `{${cString(text(so.meaning, `${at}: step ${j}: meaning`))}, ${t.bytes(hexBytes(so.send_hex, `${at}: step ${j}: send_hex`))}, ${t.array('vec_expect', expect)}}`;
    });
    return `{${cString(name)}, ${t.array('vec_step', steps)}}`;
  });
}

function main(): void {
  const out = process.argv[2];
  if (!out || process.argv.length !== 3) {
    console.error('usage: tsx protocol/gen/vectors-c.ts OUT.h');
    process.exit(2);
  }
  const t = new Table();
  let frames: string[];
  let exchanges: string[];
  try {
    frames = frameRows(t);
    exchanges = exchangeRows(t);
  } catch (e) {
    if (!(e instanceof VectorError)) throw e;
    console.error(`vectors-c: ${e.message}`);
    process.exit(2);
  }
  const body = [
    '/* Generated from protocol/vectors/frames.json and exchanges.json by protocol/gen/vectors-c.ts at build time. Do not edit. */',
    '/* Included by tests/test_vectors.c, which defines vec_frame, vec_exchange, vec_step, vec_expect, vec_pair. */',
    '',
    ...t.decls,
    '',
    `static const vec_frame vec_frames[${frames.length}] = {\n${frames.map((s) => `    ${s},`).join('\n')}\n};`,
    `static const vec_exchange vec_exchanges[${exchanges.length}] = {\n${exchanges.map((s) => `    ${s},`).join('\n')}\n};`,
    '',
  ].join('\n');
  writeFileSync(`${out}.tmp`, body);
  renameSync(`${out}.tmp`, out);
}

main();
