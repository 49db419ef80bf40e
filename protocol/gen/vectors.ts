/**
 * Writes protocol/vectors/*.json from the cases below. The MEANINGS here are written by hand from
 * PROTOCOL.md (what a device must answer); only their byte forms are computed, with cbor-x and the
 * framing module, so a vector checks an implementation against the spec, not against itself.
 * `--check` writes nothing and fails when a vector file is stale.
 */
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeCbor } from '../../host/src/codec/cbor.js';
import { encodeFrame } from '../../host/src/framing/frame.js';
import { crc16xmodem } from '../../host/src/framing/crc16.js';
import { ErrorCode as E, Op, Framing } from '../../host/src/protocol/constants.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** JSON form of a CBOR value (PROTOCOL.md §7). */
type J = number | string | J[] | { bstr: string } | { map: [number, J][] } | { raw: string } | { float: number };

function toCbor(v: J): unknown {
  if (typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(toCbor);
  if ('bstr' in v) return Buffer.from(v.bstr, 'hex');
  if ('map' in v) return new Map(v.map.map(([k, x]) => [k, toCbor(x)]));
  throw new Error('raw/float only at top level');
}
function cborOf(v: J): Buffer {
  if (typeof v === 'object' && !Array.isArray(v) && 'raw' in v) return Buffer.from(v.raw, 'hex');
  return encodeCbor(toCbor(v));
}
const frame = (v: J): Buffer => encodeFrame(cborOf(v));
const hex = (b: Buffer): string => b.toString('hex');
const printable = (b: Buffer): string | undefined => (/^[\x20-\x7e\r\n]*$/.test(b.toString('latin1')) ? b.toString('latin1') : undefined);

/** A frame whose CRC is wrong by one bit. */
function badCrc(v: J): Buffer {
  const m = cborOf(v);
  const raw = Buffer.concat([m, Buffer.from([0, 0])]);
  raw.writeUInt16BE(crc16xmodem(m) ^ 0x0001, m.length);
  return Buffer.from('~' + raw.toString('base64') + '\n', 'latin1');
}

// ---- frames.json: one line ↔ what a receiver makes of it -------------------------------------
type FrameCase = { name: string; line: Buffer; class: 'frame' | 'log' | 'empty' | 'bad_frame' | 'bad_crc' | 'overlong'; message?: J };
const good: J = [7, Op.store_global, 1, 2, -3];
const frames: FrameCase[] = [
  { name: 'store_global request', line: frame(good), class: 'frame', message: good },
  { name: 'ok response with result', line: frame([4294967295, 0, -2147483648]), class: 'frame', message: [4294967295, 0, -2147483648] },
  { name: 'echo of 0..15', line: frame([1, Op.echo, { bstr: '000102030405060708090a0b0c0d0e0f' }]), class: 'frame', message: [1, Op.echo, { bstr: '000102030405060708090a0b0c0d0e0f' }] },
  { name: 'CRLF terminator', line: Buffer.concat([frame(good).subarray(0, -1), Buffer.from('\r\n')]), class: 'frame', message: good },
  { name: 'log line', line: Buffer.from('CVM-BOOT proto=1 fw=x nonce=00000000 vms=4 globals=64 arrays=16 elements=64\n'), class: 'log' },
  { name: 'empty line', line: Buffer.from('\n'), class: 'empty' },
  { name: 'lone CR', line: Buffer.from('\r\n'), class: 'empty' },
  { name: 'marker only', line: Buffer.from('~\n'), class: 'bad_frame' },
  { name: 'base64 without padding', line: Buffer.from('~' + frame(good).toString('latin1', 1).replace(/=+\n$/, '') + '\n'), class: 'bad_frame' },
  { name: 'base64 with a space', line: Buffer.from('~gwcE AQIi' + '\n'), class: 'bad_frame' },
  { name: 'URL-safe alphabet', line: Buffer.from('~-_-_\n'), class: 'bad_frame' },
  { name: 'non-zero pad bits', line: Buffer.from('~AAB=\n'), class: 'bad_frame' },
  { name: 'two bytes only (no room for a message)', line: Buffer.from('~AAA=\n'), class: 'bad_frame' },
  { name: 'CRC off by one bit', line: badCrc(good), class: 'bad_crc' },
  { name: 'line of exactly max_line_bytes', line: Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes - 1) + '\n'), class: 'bad_frame' },
  { name: 'line one past max_line_bytes', line: Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes) + '\n'), class: 'overlong' },
  { name: 'log line one past max_line_bytes', line: Buffer.from('x'.repeat(Framing.maxLineBytes + 1) + '\n'), class: 'overlong' },
  { name: 'binary noise', line: Buffer.from([0x00, 0xff, 0x80, 0x7e, 0x0a]), class: 'log' },
];

// ---- exchanges.json: a fresh device (default limits) must answer exactly this ---------------
type Step = { send: Buffer; meaning: string; expect: J[] };
type Exchange = { name: string; doc: string; steps: Step[] };
let seq = 0;
const req = (op: number, ...args: J[]): { m: J; s: number } => { const s = ++seq; return { m: [s, op, ...args], s }; };
function call(op: number, args: J[], answer: J[] | number): Step {
  const r = req(op, ...args);
  const expect: J = typeof answer === 'number' ? [r.s, answer] : [r.s, 0, ...answer];
  return { send: frame(r.m), meaning: JSON.stringify(r.m), expect: [expect] };
}
const ok = (op: number, ...args: J[]): Step => call(op, args, []);
const val = (v: J, op: number, ...args: J[]): Step => call(op, args, [v]);
const err = (code: number, op: number, ...args: J[]): Step => call(op, args, code);
const silent = (send: Buffer, meaning: string): Step => ({ send, meaning, expect: [] });

type Ctx = [number, number, number, number, number, number, number, number];
const idle: Ctx = [0, 0, 0, 0, 0, 0, 0, 0];
interface StatsSpec { acq?: number; hw?: number; acquires?: number; releases?: number; ops: number; errors?: number; frames: number; badFrame?: number; badCrc?: number; overlong?: number; malformed?: number; noise?: number; ctx?: Ctx[] }
function stats(s: StatsSpec): Step {
  const ctx = s.ctx ?? [idle, idle, idle, idle];
  const m: J = { map: [[1, s.acq ?? 0], [2, s.hw ?? 0], [3, s.acquires ?? 0], [4, s.releases ?? 0], [5, s.ops], [6, s.errors ?? 0], [7, s.frames], [8, s.badFrame ?? 0], [9, s.badCrc ?? 0], [10, s.overlong ?? 0], [11, s.malformed ?? 0], [12, s.noise ?? 0], [13, 0], [14, ctx]] };
  return call(Op.stats, [], [m]);
}

const exchanges: Exchange[] = [];
function exchange(name: string, doc: string, steps: () => Step[]): void { seq = 0; exchanges.push({ name, doc, steps: steps() }); }

exchange('globals', 'acquire, store, load, zero default, then stats', () => [
  ok(Op.acquire, 0),
  ok(Op.store_global, 0, 5, -7),
  val(-7, Op.load_global, 0, 5),
  val(0, Op.load_global, 0, 6),
  ok(Op.store_global, 0, 63, 2147483647),
  val(2147483647, Op.load_global, 0, 63),
  stats({ acq: 1, hw: 1, acquires: 1, ops: 6, frames: 7, ctx: [[1, 64, 0, 0, 256, 64, 0, 0], idle, idle, idle] }),
]);
exchange('acquire-release rules', 'range, double acquire, not acquired, zeroing on release and re-acquire', () => [
  err(E.out_of_range, Op.acquire, 4),
  err(E.out_of_range, Op.acquire, -1),
  ok(Op.acquire, 3),
  err(E.already_acquired, Op.acquire, 3),
  err(E.not_acquired, Op.release, 2),
  err(E.not_acquired, Op.load_global, 2, 0),
  err(E.out_of_range, Op.load_global, 9, 999),
  err(E.not_acquired, Op.store_global, 1, 999, 1),
  err(E.out_of_range, Op.store_global, 3, 64, 1),
  err(E.out_of_range, Op.store_global, 3, -1, 1),
  ok(Op.store_global, 3, 1, 11),
  ok(Op.release, 3),
  err(E.not_acquired, Op.load_global, 3, 1),
  ok(Op.acquire, 3),
  val(0, Op.load_global, 3, 1),
  stats({ acq: 1, hw: 1, acquires: 2, releases: 1, ops: 15, errors: 10, frames: 16, ctx: [idle, idle, idle, [1, 0, 0, 0, 0, 2, 0, 0]] }),
]);
exchange('arrays', 'create, size, bounds, per-array size check, inactive, double create, check order', () => [
  ok(Op.acquire, 1),
  ok(Op.create_array, 1, 0, 10),
  ok(Op.store_array, 1, 0, 9, 42),
  val(42, Op.load_array, 1, 0, 9),
  val(0, Op.load_array, 1, 0, 0),
  err(E.past_size, Op.load_array, 1, 0, 10),
  err(E.past_size, Op.store_array, 1, 0, 63, 1),
  err(E.out_of_range, Op.load_array, 1, 0, 64),
  err(E.out_of_range, Op.load_array, 1, 0, -1),
  err(E.array_inactive, Op.load_array, 1, 1, 0),
  err(E.array_inactive, Op.store_array, 1, 1, 0, 5),
  err(E.array_exists, Op.create_array, 1, 0, 5),
  err(E.bad_size, Op.create_array, 1, 1, 0),
  err(E.bad_size, Op.create_array, 1, 1, 65),
  err(E.bad_size, Op.create_array, 1, 1, -1),
  err(E.out_of_range, Op.create_array, 1, 16, 0),
  err(E.out_of_range, Op.load_array, 1, 16, 99),
  err(E.not_acquired, Op.create_array, 2, 99, 0),
  err(E.out_of_range, Op.create_array, 4, 0, 1),
  ok(Op.create_array, 1, 15, 64),
  ok(Op.store_array, 1, 15, 63, -1),
  val(-1, Op.load_array, 1, 15, 63),
  stats({ acq: 1, hw: 1, acquires: 1, ops: 22, errors: 14, frames: 23, ctx: [idle, [1, 0, 2, 74, 296, 0, 2, 74], idle, idle] }),
]);
exchange('isolation', 'the same ids in two contexts never see each other', () => [
  ok(Op.acquire, 0),
  ok(Op.acquire, 2),
  ok(Op.store_global, 0, 0, 100),
  ok(Op.store_global, 2, 0, 200),
  val(100, Op.load_global, 0, 0),
  val(200, Op.load_global, 2, 0),
  ok(Op.create_array, 0, 3, 4),
  err(E.array_inactive, Op.load_array, 2, 3, 0),
  ok(Op.create_array, 2, 3, 8),
  ok(Op.store_array, 2, 3, 7, 9),
  err(E.past_size, Op.load_array, 0, 3, 7),
  val(0, Op.load_array, 0, 3, 3),
]);
exchange('batch', 'results per entry, failures do not stop the batch, only pool operations', () => [
  call(Op.batch, [[[Op.acquire, 1], [Op.store_global, 1, 0, 99], [Op.load_global, 1, 0], [Op.hello], [Op.stats], [Op.batch, []], [Op.echo, { bstr: '00' }], [99], [], 'x', [Op.load_global, 1, 64], [Op.acquire], [Op.reset_pool], [Op.load_global, 1, 0]]],
    [[[0], [0], [0, 99], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.unknown_op], [E.bad_arg], [E.bad_arg], [E.out_of_range], [E.bad_arg], [0], [E.not_acquired]]]),
  call(Op.batch, [[]], [[]]),
  call(Op.batch, [Array.from({ length: Framing.maxBatchOps + 1 }, (): J => [Op.reset_pool])], E.too_large),
  call(Op.batch, [5], E.bad_arg),
  stats({ ops: 4, errors: 3, frames: 5 }),
]);
exchange('echo', 'payloads come back unchanged', () => [
  val({ bstr: '' }, Op.echo, { bstr: '' }),
  val({ bstr: '00ff7e0a0d' }, Op.echo, { bstr: '00ff7e0a0d' }),
  val({ bstr: 'ab'.repeat(370) }, Op.echo, { bstr: 'ab'.repeat(370) }),
  err(E.bad_arg, Op.echo, 'text'),
  err(E.bad_arg, Op.echo),
]);
exchange('bad arguments', 'types and arity are checked before anything else', () => {
  const s1 = ++seq, s2 = ++seq, s3 = ++seq, s4 = ++seq, s5 = ++seq, s6 = ++seq;
  return [
    ok(Op.acquire, 0),
    err(E.bad_arg, Op.store_global, 0, 0, 2147483648),
    err(E.bad_arg, Op.store_global, 0, 0, -2147483649),
    err(E.bad_arg, Op.store_global, 0, 0, 'x'),
    err(E.bad_arg, Op.store_global, 0, { bstr: '01' }, 1),
    err(E.bad_arg, Op.acquire, 0, 0),
    err(E.bad_arg, Op.acquire),
    err(E.bad_arg, Op.store_global, 9, 0, 'x'),
    err(E.unknown_op, 99),
    err(E.unknown_op, 4294967296),
    { send: frame({ raw: '8218' + (s1 & 0xff).toString(16).padStart(2, '0') + '6178' }), meaning: `[${s1}, "x"]`, expect: [[s1, E.bad_arg]] },
    { send: frame({ raw: '8118' + (s2 & 0xff).toString(16).padStart(2, '0') }), meaning: `[${s2}]`, expect: [[s2, E.bad_arg]] },
    { send: frame({ raw: '8518' + (s3 & 0xff).toString(16).padStart(2, '0') + '040000f93c00' }), meaning: `[${s3}, 4, 0, 0, 1.0 (half float)]`, expect: [[s3, E.bad_arg]] },
    { send: frame({ raw: '8518' + (s4 & 0xff).toString(16).padStart(2, '0') + '040000fb3ff8000000000000' }), meaning: `[${s4}, 4, 0, 0, 1.5]`, expect: [[s4, E.bad_arg]] },
    { send: frame({ raw: '8518' + (s5 & 0xff).toString(16).padStart(2, '0') + '0400c101f5' }), meaning: `[${s5}, 4, 0, tag1(1), true]`, expect: [[s5, E.bad_arg]] },
    { send: frame({ raw: '8518' + (s6 & 0xff).toString(16).padStart(2, '0') + '04001b00000000000000051a00000007' }), meaning: `[${s6}, 4, 0, 5 as uint64, 7 as uint32]: any integer width is accepted`, expect: [[s6, 0]] },
    val(7, Op.load_global, 0, 5),
  ];
});
exchange('malformed', 'well-formedness and the seq are checked first; no reply, counted', () => [
  silent(frame({ raw: '9f0100ff' }), 'indefinite-length array [_ 1, 0]'),
  silent(frame({ raw: '820100' + '00' }), '[1, 0] followed by a stray byte'),
  silent(frame({ raw: '8201' }), 'array of 2 with one element (truncated)'),
  silent(frame({ raw: '07' }), 'a bare integer, not an array'),
  silent(frame({ raw: '822000' }), 'negative seq'),
  silent(frame({ raw: '821b000000010000000000' }), 'seq 2^32'),
  silent(frame({ raw: '8261730a' }), 'text seq'),
  silent(frame({ raw: '80' }), 'empty array'),
  silent(frame({ raw: '83010a81818180' }), 'nesting depth 5'),
  silent(frame({ raw: '82011c' }), 'reserved additional information 28'),
  silent(frame({ raw: '8201f810' }), 'two-byte simple value below 32'),
  silent(frame({ raw: '8201ff' }), 'stray break'),
  silent(frame({ raw: '83010a5f4101ff' }), 'indefinite-length byte string'),
  call(Op.echo, [[[[]]]], E.bad_arg),
  stats({ ops: 1, errors: 1, frames: 15, malformed: 13 }),
]);
exchange('link defects', 'noise, damaged frames and overlong lines are dropped, counted, and the device stays responsive', () => {
  const hello = frame([999, Op.stats]);
  return [
    silent(Buffer.from('hello world\n'), 'a log-like line (noise)'),
    silent(Buffer.from([0x00, 0xff, 0x80, 0x0d, 0x0a]), 'binary noise'),
    silent(Buffer.from('\n\r\n'), 'empty lines (ignored, not counted)'),
    silent(Buffer.from('~\n'), 'marker only'),
    silent(Buffer.from('~gwcE AQIi\n'), 'bad base64'),
    silent(Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes - 1) + '\n'), 'valid base64 of exactly max_line_bytes, too long a frame'),
    silent(Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes) + '\n'), 'overlong by one'),
    silent(Buffer.from('x'.repeat(3000) + '\n'), 'overlong log-like line'),
    silent(badCrc([1, Op.acquire, 0]), 'bad CRC'),
    silent(Buffer.concat([frame([2, Op.acquire, 0]).subarray(0, 6), Buffer.from('\n')]), 'truncated frame'),
    { send: Buffer.concat([Buffer.from('noise'), hello]), meaning: 'noise glued before a frame on the same line', expect: [] },
    ok(Op.acquire, 0),
    { send: Buffer.concat([frame([seq + 1, Op.load_global, 0, 0]).subarray(0, -1), Buffer.from('\r\n')]), meaning: `[${seq + 1}, 3, 0, 0] with CRLF`, expect: [[++seq, 0, 0]] },
    stats({ acq: 1, hw: 1, acquires: 1, ops: 2, frames: 3, badFrame: 4, badCrc: 1, overlong: 2, noise: 3, ctx: [[1, 0, 0, 0, 0, 0, 0, 0], idle, idle, idle] }),
  ];
});
exchange('pipelining', 'several requests in one write are answered in order', () => {
  const a = req(Op.acquire, 2), b = req(Op.store_global, 2, 1, 5), c = req(Op.load_global, 2, 1), d = req(Op.load_global, 3, 1);
  return [{ send: Buffer.concat([frame(a.m), frame(b.m), frame(c.m), frame(d.m)]), meaning: 'four requests in one write', expect: [[a.s, 0], [b.s, 0], [c.s, 0, 5], [d.s, E.not_acquired]] }];
});
exchange('telemetry and reset_pool', 'high-water marks survive release; reset_pool clears pool figures, keeps link counters', () => [
  ok(Op.acquire, 0),
  ok(Op.acquire, 1),
  ok(Op.store_global, 0, 10, 1),
  ok(Op.create_array, 0, 2, 20),
  ok(Op.create_array, 0, 3, 5),
  ok(Op.release, 0),
  silent(Buffer.from('noise\n'), 'noise, to show link counters survive reset_pool'),
  stats({ acq: 1, hw: 2, acquires: 2, releases: 1, ops: 6, frames: 7, noise: 1, ctx: [[0, 0, 0, 0, 0, 11, 2, 25], [1, 0, 0, 0, 0, 0, 0, 0], idle, idle] }),
  ok(Op.reset_pool),
  stats({ ops: 1, frames: 9, noise: 1 }),
  err(E.not_acquired, Op.load_global, 1, 0),
  ok(Op.acquire, 1),
]);

const framesOut = frames.map((f) => ({ name: f.name, line_hex: hex(f.line), line_text: printable(f.line), class: f.class, message: f.message }));
const exchangesOut = exchanges.map((x) => ({
  name: x.name, doc: x.doc,
  steps: x.steps.map((s) => ({ meaning: s.meaning, send_hex: hex(s.send), send_text: printable(s.send), expect: s.expect.map((e) => ({ meaning: e, line: frame(e).toString('latin1') })) })),
}));

const outputs: Array<[string, unknown]> = [
  ['protocol/vectors/frames.json', { $comment: 'Generated by protocol/gen/vectors.ts from hand-written meanings (npm run gen). One line each; class is what a receiver makes of it (PROTOCOL.md §2.1).', cases: framesOut }],
  ['protocol/vectors/exchanges.json', { $comment: 'Generated by protocol/gen/vectors.ts from hand-written meanings (npm run gen). Each case starts on a freshly booted device with the default limits; after each send the device must have written exactly the expect lines.', cases: exchangesOut }],
];
const check = process.argv.includes('--check');
let stale = 0;
for (const [rel, data] of outputs) {
  const text = JSON.stringify(data, null, 1) + '\n';
  const path = join(root, rel);
  if (existsSync(path) && readFileSync(path, 'utf8') === text) continue;
  if (check) { stale++; console.error(`stale: ${rel}; run \`npm run gen\``); } else { writeFileSync(path, text); console.log(`wrote ${rel}`); }
}
if (check && stale) process.exit(1);
