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
import { cborOfJsonForm } from './json-form.js';
import { encodeFrame } from '../../host/src/framing/frame.js';
import { crc16xmodem } from '../../host/src/framing/crc16.js';
import { ErrorCode as E, Framing, Link, Op, PROTOCOL_VERSION } from '../../host/src/protocol/constants.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** JSON form of a CBOR value (PROTOCOL.md §7). */
type J = number | string | J[] | { bstr: string } | { map: [number, J][] } | { raw: string } | { float: number };

/** The CBOR bytes of a message in the JSON form (one reading of it: protocol/gen/json-form.ts). */
const cborOf = (v: J): Buffer => cborOfJsonForm(v);
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
  { name: 'log line', line: Buffer.from('CVM-BOOT proto=3 fw=x nonce=00000000 vms=4 globals=64 arrays=16 elements=64\n'), class: 'log' },
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
/**
 * What one response line must be: a fixed message (its line follows from it), a hello response
 * checked by its structure (its firmware id, nonce, uptime, reset cause and unique id differ
 * between devices and boots), or the very line of an earlier response of the exchange (0-based,
 * counting every expected line), which is what a replay from the cache must be.
 */
type Expect = J | { hello: number } | { same_as: number };
type Step = { send: Buffer; meaning: string; expect: Expect[] };
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
/** A hello at seq s: opens a new session whose next request is s + 1 (§3.3 rule 2). */
function hello(s: number, meaning = `[${s}, 0]: hello opens a session`): Step { seq = s; return { send: frame([s, Op.hello]), meaning, expect: [{ hello: s }] }; }
/** The next request given as raw CBOR hex after its seq (for bytes cbor-x would not write). */
function rawCall(arrayHead: string, rest: string, meaning: string, answer: number | J[]): Step {
  const s = ++seq;
  const expect: J = typeof answer === 'number' ? [s, answer] : [s, 0, ...answer];
  return { send: frame({ raw: arrayHead + hex(encodeCbor(s)) + rest }), meaning: `[${s}, ${meaning}]`, expect: [expect] };
}
/** Sends an earlier step's bytes again (a retransmission), expecting what `expect` says. */
const again = (step: Step, meaning: string, expect: Expect[]): Step => ({ send: step.send, meaning: `again ${step.meaning}: ${meaning}`, expect });

type Ctx = [number, number, number, number, number, number, number, number];
const idle: Ctx = [0, 0, 0, 0, 0, 0, 0, 0];
interface StatsSpec {
  acq?: number; hw?: number; acquires?: number; releases?: number; ops: number; errors?: number; frames: number; badFrame?: number; badCrc?: number; overlong?: number; malformed?: number; noise?: number; ctx?: Ctx[];
  replayed?: number; outOfSequence?: number; noSession?: number; sessions?: number; held?: number;
}
/** stats; sessions defaults to 1 (the exchange's opening hello). */
function stats(s: StatsSpec): Step {
  const ctx = s.ctx ?? [idle, idle, idle, idle];
  const m: J = { map: [[1, s.acq ?? 0], [2, s.hw ?? 0], [3, s.acquires ?? 0], [4, s.releases ?? 0], [5, s.ops], [6, s.errors ?? 0], [7, s.frames], [8, s.badFrame ?? 0], [9, s.badCrc ?? 0], [10, s.overlong ?? 0], [11, s.malformed ?? 0], [12, s.noise ?? 0], [13, 0], [14, ctx],
    [15, s.replayed ?? 0], [16, s.outOfSequence ?? 0], [17, s.noSession ?? 0], [18, s.sessions ?? 1], [19, s.held ?? 0]] };
  return call(Op.stats, [], [m]);
}

const exchanges: Exchange[] = [];
/**
 * An exchange on a fresh device. Unless `noHello`, it begins with a hello at seq 0 (counted in
 * every stats: ops 1, rx_frames 1, sessions 1), so its requests number from 1.
 */
function exchange(name: string, doc: string, steps: () => Step[], noHello = false): void {
  seq = 0;
  const first = noHello ? [] : [hello(0)];
  exchanges.push({ name, doc, steps: [...first, ...steps()] });
}

exchange('globals', 'acquire, store, load, zero default, then stats', () => [
  ok(Op.acquire, 0),
  ok(Op.store_global, 0, 5, -7),
  val(-7, Op.load_global, 0, 5),
  val(0, Op.load_global, 0, 6),
  ok(Op.store_global, 0, 63, 2147483647),
  val(2147483647, Op.load_global, 0, 63),
  stats({ acq: 1, hw: 1, acquires: 1, ops: 7, frames: 8, ctx: [[1, 64, 0, 0, 256, 64, 0, 0], idle, idle, idle] }),
]);
exchange('acquire-release rules', 'range, double acquire, not acquired, zeroing on release and re-acquire; a negative id is answered out_of_range, not malformed', () => [
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
  stats({ acq: 1, hw: 1, acquires: 2, releases: 1, ops: 16, errors: 10, frames: 17, ctx: [idle, idle, idle, [1, 0, 0, 0, 0, 2, 0, 0]] }),
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
  stats({ acq: 1, hw: 1, acquires: 1, ops: 23, errors: 14, frames: 24, ctx: [idle, [1, 0, 2, 74, 296, 0, 2, 74], idle, idle] }),
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
exchange('batch', 'results per entry, failures do not stop the batch, only pool operations; a not_in_batch entry\'s arguments are not checked; a reset_pool entry counts itself and the entries after it count on', () => [
  call(Op.batch, [[[Op.acquire, 1], [Op.store_global, 1, 0, 99], [Op.load_global, 1, 0], [Op.hello], [Op.stats], [Op.batch, []], [Op.echo, { bstr: '00' }], [Op.echo, 'x', 'y'], [99], [], 'x', [Op.load_global, 1, 64], [Op.acquire], [Op.reset_pool], [Op.load_global, 1, 0]]],
    [[[0], [0], [0, 99], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.unknown_op], [E.bad_arg], [E.bad_arg], [E.out_of_range], [E.bad_arg], [0], [E.not_acquired]]]),
  stats({ ops: 2, errors: 1, frames: 3 }),
  call(Op.batch, [[]], [[]]),
  call(Op.batch, [Array.from({ length: Framing.maxBatchOps + 1 }, (): J => [Op.reset_pool])], E.too_large),
  call(Op.batch, [5], E.bad_arg),
  stats({ ops: 5, errors: 3, frames: 7 }),
]);
exchange('echo', 'payloads come back unchanged, in shortest form; the largest payload with a one-byte seq is max_message_bytes - 6', () => [
  val({ bstr: '' }, Op.echo, { bstr: '' }),
  val({ bstr: '00ff7e0a0d' }, Op.echo, { bstr: '00ff7e0a0d' }),
  val({ bstr: 'ab'.repeat(370) }, Op.echo, { bstr: 'ab'.repeat(370) }),
  val({ bstr: 'cd'.repeat(Framing.maxMessageBytes - 6) }, Op.echo, { bstr: 'cd'.repeat(Framing.maxMessageBytes - 6) }),
  rawCall('83', '0a5a000000020a7e', `10, h'0a7e' with its length in 4 bytes`, [{ bstr: '0a7e' }]),
  err(E.bad_arg, Op.echo, 'text'),
  err(E.bad_arg, Op.echo),
]);
exchange('bad arguments', 'types and arity are checked before anything else; well-formed but invalid items are judged by their type', () => [
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
  rawCall('82', '6178', '"x"', E.bad_arg),
  rawCall('81', '', '', E.bad_arg),
  rawCall('85', '040000f93c00', '4, 0, 0, 1.0 (half float)', E.bad_arg),
  rawCall('85', '040000fb3ff8000000000000', '4, 0, 0, 1.5', E.bad_arg),
  rawCall('85', '0400c101f5', '4, 0, tag1(1), true', E.bad_arg),
  rawCall('83', '01a200000000', '1, {0: 0, 0: 0} (a duplicate map key)', E.bad_arg),
  rawCall('83', '0a62c328', '10, "\\xc3\\x28" (text, invalid UTF-8)', E.bad_arg),
  rawCall('85', '04001b00000000000000051a00000007', '4, 0, 5 as uint64, 7 as uint32]: any integer width is accepted', []),
  val(7, Op.load_global, 0, 5),
]);
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
  silent(frame({ raw: '8301098281' + '0b' + '81818180' }), 'nesting depth 5 inside one batch entry: the whole request is malformed'),
  silent(frame({ raw: '82011c' }), 'reserved additional information 28'),
  silent(frame({ raw: '8201f810' }), 'two-byte simple value below 32'),
  silent(frame({ raw: '8201ff' }), 'stray break'),
  silent(frame({ raw: '83010a5f4101ff' }), 'indefinite-length byte string'),
  call(Op.echo, [[[[]]]], E.bad_arg),
  stats({ ops: 2, errors: 1, frames: 17, malformed: 14 }),
]);
exchange('link defects', 'noise, damaged frames and overlong lines are dropped, counted, and the device stays responsive', () => {
  const glued = frame([999, Op.stats]);
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
    { send: Buffer.concat([Buffer.from('noise'), glued]), meaning: 'noise glued before a frame on the same line', expect: [] },
    ok(Op.acquire, 0),
    { send: Buffer.concat([frame([seq + 1, Op.load_global, 0, 0]).subarray(0, -1), Buffer.from('\r\n')]), meaning: `[${seq + 1}, 3, 0, 0] with CRLF`, expect: [[++seq, 0, 0]] },
    stats({ acq: 1, hw: 1, acquires: 1, ops: 3, frames: 4, badFrame: 4, badCrc: 1, overlong: 2, noise: 3, ctx: [[1, 0, 0, 0, 0, 0, 0, 0], idle, idle, idle] }),
  ];
});
exchange('resynchronisation', 'a partial line left in the assembler swallows the next frame unless a "\\n" ends it first: a host begins with "\\n"', () => {
  const a = req(Op.acquire, 0);
  return [
    { send: Buffer.concat([Buffer.from('partial line from an earlier client'), frame(a.m)]), meaning: `a partial line, then ${JSON.stringify(a.m)}: swallowed with it (noise)`, expect: [] },
    { send: Buffer.concat([Buffer.from('partial line from an earlier client\n'), frame(a.m)]), meaning: `a partial line ended by "\\n", then ${JSON.stringify(a.m)}: answered`, expect: [[a.s, 0]] },
    stats({ acq: 1, hw: 1, acquires: 1, ops: 2, frames: 3, noise: 2, ctx: [[1, 0, 0, 0, 0, 0, 0, 0], idle, idle, idle] }),
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
  stats({ acq: 1, hw: 2, acquires: 2, releases: 1, ops: 7, frames: 8, noise: 1, ctx: [[0, 0, 0, 0, 0, 11, 2, 25], [1, 0, 0, 0, 0, 0, 0, 0], idle, idle] }),
  ok(Op.reset_pool),
  stats({ ops: 1, frames: 10, noise: 1 }),
  err(E.not_acquired, Op.load_global, 1, 0),
  ok(Op.acquire, 1),
]);

// ---- the link layer (§3.3) ----
exchange('link: a duplicate is answered from the cache', 'the same line again, nothing executed twice (acquire is not already_acquired); ops count executions only', () => {
  const a = ok(Op.acquire, 0);
  const b = ok(Op.store_global, 0, 1, 5);
  const c = val(5, Op.load_global, 0, 1);
  return [
    a, b, c,
    again(a, 'from the cache', [{ same_as: 1 }]),
    again(c, 'from the cache', [{ same_as: 3 }]),
    { send: frame([1, Op.release, 0]), meaning: '[1, 2, 0]: another request under a cached seq gets the cached answer', expect: [{ same_as: 1 }] },
    { send: frame([3]), meaning: '[3]: the bare seq of an executed request (a host\'s recall, §3.3) gets the cached answer', expect: [{ same_as: 3 }] },
    { send: frame([0x80000004]), meaning: '[2147483652]: a bare seq half the seq space from next (a host\'s probe) is refused, naming next', expect: [[0x80000004, E.out_of_sequence, 4]] },
    stats({ acq: 1, hw: 1, acquires: 1, ops: 4, frames: 10, replayed: 4, outOfSequence: 1, ctx: [[1, 2, 0, 0, 8, 2, 0, 0], idle, idle, idle] }),
  ];
});
exchange('link: a gap, held', 'a request past a gap is held [seq, held, next], not executed nor cached; the gap filled, both execute in order; then a copy is a duplicate', () => {
  const a = req(Op.acquire, 0), b = req(Op.store_global, 0, 0, 9);
  return [
    { send: frame(b.m), meaning: `${JSON.stringify(b.m)} before ${JSON.stringify(a.m)}`, expect: [[b.s, E.held, a.s]] },
    { send: frame(b.m), meaning: `${JSON.stringify(b.m)} again: held again`, expect: [[b.s, E.held, a.s]] },
    { send: frame(a.m), meaning: `${JSON.stringify(a.m)}: the gap filled, then the held one drains`, expect: [[a.s, 0], [b.s, 0]] },
    { send: frame(b.m), meaning: `${JSON.stringify(b.m)} again: executed, so from the cache`, expect: [{ same_as: 4 }] },
    val(9, Op.load_global, 0, 0),
    stats({ acq: 1, hw: 1, acquires: 1, ops: 4, frames: 7, replayed: 1, held: 2, ctx: [[1, 1, 0, 0, 4, 1, 0, 0], idle, idle, idle] }),
  ];
});
exchange('link: the hold drains up to the next gap', 'three requests held past a gap of one and one past a second gap: filling the first runs two, filling the second the rest; hold_depth ahead is held, one more is refused', () => {
  const a = req(Op.acquire, 0), b = req(Op.store_global, 0, 0, 1), c = req(Op.store_global, 0, 1, 2), d = req(Op.store_global, 0, 2, 3), e = req(Op.load_global, 0, 2);
  const far = 1 + Link.holdDepth; // next is 1: this seq is hold_depth ahead
  const tooFar = far + 1;
  return [
    { send: Buffer.concat([frame(b.m), frame(c.m), frame(e.m)]), meaning: `${JSON.stringify(b.m)}, ${JSON.stringify(c.m)}, ${JSON.stringify(e.m)} before ${JSON.stringify(a.m)}`, expect: [[b.s, E.held, a.s], [c.s, E.held, a.s], [e.s, E.held, a.s]] },
    { send: frame([far, Op.load_global, 0, 0]), meaning: `[${far}, 3, 0, 0]: exactly hold_depth ahead, held`, expect: [[far, E.held, a.s]] },
    { send: frame([tooFar, Op.load_global, 0, 0]), meaning: `[${tooFar}, 3, 0, 0]: hold_depth + 1 ahead, refused`, expect: [[tooFar, E.out_of_sequence, a.s]] },
    { send: frame(a.m), meaning: `${JSON.stringify(a.m)}: a, then the held b and c; d is a gap`, expect: [[a.s, 0], [b.s, 0], [c.s, 0]] },
    { send: frame(d.m), meaning: `${JSON.stringify(d.m)}: d, then the held e`, expect: [[d.s, 0], [e.s, 0, 3]] },
    stats({ acq: 1, hw: 1, acquires: 1, ops: 6, frames: 9, held: 4, outOfSequence: 1, ctx: [[1, 3, 0, 0, 12, 3, 0, 0], idle, idle, idle] }),
  ];
});
exchange('link: a gap the hold cannot take', 'a request past a gap whose message is longer than hold_message_bytes is refused [seq, out_of_sequence, next], not cached; going back executes both in order', () => {
  const a = req(Op.acquire, 0), b = req(Op.echo, { bstr: '00'.repeat(Link.holdMessageBytes) });
  return [
    { send: frame(b.m), meaning: `${JSON.stringify(b.m)} (a message over hold_message_bytes) before ${JSON.stringify(a.m)}`, expect: [[b.s, E.out_of_sequence, a.s]] },
    { send: Buffer.concat([frame(a.m), frame(b.m)]), meaning: 'go back: both, in order', expect: [[a.s, 0], [b.s, 0, { bstr: '00'.repeat(Link.holdMessageBytes) }]] },
    stats({ acq: 1, hw: 1, acquires: 1, ops: 3, frames: 5, outOfSequence: 1, ctx: [[1, 0, 0, 0, 0, 0, 0, 0], idle, idle, idle] }),
  ];
});
exchange('link: a hello empties the hold', 'a request held before a hello never runs: the new session starts with an empty hold', () => [
  { send: frame([3, Op.acquire, 1]), meaning: '[3, 1, 1]: two ahead, held', expect: [[3, E.held, 1]] },
  hello(1, '[1, 0]: a new session at 1 (not a duplicate, and a hello is never held): next is 2'),
  { send: frame([2, Op.acquire, 2]), meaning: '[2, 1, 2]: executed; the old [3, 1, 1] is gone, nothing drains', expect: [[2, 0]] },
  { send: frame([3, Op.stats]), meaning: '[3, 8]', expect: [[3, 0, { map: [[1, 1], [2, 1], [3, 1], [4, 0], [5, 3], [6, 0], [7, 5], [8, 0], [9, 0], [10, 0], [11, 0], [12, 0], [13, 0], [14, [idle, idle, [1, 0, 0, 0, 0, 0, 0, 0], idle]], [15, 0], [16, 0], [17, 0], [18, 2], [19, 1]] }]] },
]);
exchange('link: no session before hello', 'a fresh device refuses everything but hello with [seq, no_session]; nothing is executed or cached', () => [
  { send: frame([5, Op.acquire, 0]), meaning: '[5, 1, 0] before any hello', expect: [[5, E.no_session]] },
  { send: frame([6, Op.stats]), meaning: '[6, 8] before any hello', expect: [[6, E.no_session]] },
  { send: frame([7, Op.hello, 0]), meaning: '[7, 0, 0]: not a hello (an argument), so refused too', expect: [[7, E.no_session]] },
  hello(6, '[6, 0]: hello opens a session'),
  ok(Op.acquire, 0),
  stats({ acq: 1, hw: 1, acquires: 1, ops: 2, frames: 6, noSession: 3, ctx: [[1, 0, 0, 0, 0, 0, 0, 0], idle, idle, idle] }),
], true);
exchange('link: hello mid-session', 'a hello that is not a duplicate opens a new session at its seq: the cache is emptied, the pool untouched', () => {
  const a = ok(Op.acquire, 0);
  return [
    a,
    hello(100, '[100, 0]: a new session'),
    again(a, 'the old session is gone', [[1, E.out_of_sequence, 101]]),
    val(0, Op.load_global, 0, 0),
    stats({ acq: 1, hw: 1, acquires: 1, ops: 4, frames: 6, outOfSequence: 1, sessions: 2, ctx: [[1, 0, 0, 0, 0, 0, 0, 0], idle, idle, idle] }),
  ];
});
exchange('link: a duplicate hello', 'answered from the cache (the same line, though uptime has moved on); opens nothing', () => {
  const h: Step = { send: frame([0, Op.hello]), meaning: '[0, 0]', expect: [] };
  return [
    ok(Op.acquire, 1),
    again(h, 'a duplicate: from the cache', [{ same_as: 0 }]),
    ok(Op.release, 1),
    stats({ hw: 1, acquires: 1, releases: 1, ops: 3, frames: 5, replayed: 1 }),
  ];
});
exchange('link: eviction by depth', 'replay_depth + 1 requests after the hello: a duplicate of the first is older than the cache', () => {
  const steps = Array.from({ length: Link.replayDepth + 1 }, (_, i) => err(E.not_acquired, Op.load_global, 0, i));
  return [
    ...steps,
    again(steps[0]!, 'evicted: out_of_sequence', [[1, E.out_of_sequence, Link.replayDepth + 2]]),
    again(steps[1]!, 'still cached', [{ same_as: 2 }]),
    stats({ ops: Link.replayDepth + 2, errors: Link.replayDepth + 1, frames: Link.replayDepth + 5, replayed: 1, outOfSequence: 1 }),
  ];
});
exchange('link: eviction by bytes', 'six echoes of 376-byte responses exceed replay_bytes (2048): the first goes, the second stays, whatever the hello response\'s size', () => {
  const steps = Array.from({ length: 6 }, (_, i) => { const p = { bstr: (i + 1).toString(16).padStart(2, '0').repeat(370) }; return val(p, Op.echo, p); });
  return [
    ...steps,
    again(steps[0]!, 'evicted: out_of_sequence', [[1, E.out_of_sequence, 7]]),
    again(steps[1]!, 'still cached', [{ same_as: 2 }]),
    stats({ ops: 7, frames: 10, replayed: 1, outOfSequence: 1 }),
  ];
});
exchange('link: seq wraps at 2^32', 'a session opened at 2^32 - 2 runs through 2^32 - 1 to 0 and 1; a duplicate across the wrap is answered', () => [
  hello(0xfffffffe, '[4294967294, 0]: hello'),
  { send: frame([0xffffffff, Op.acquire, 2]), meaning: '[4294967295, 1, 2]', expect: [[0xffffffff, 0]] },
  { send: frame([0, Op.store_global, 2, 0, 1]), meaning: '[0, 4, 2, 0, 1]', expect: [[0, 0]] },
  { send: frame([1, Op.load_global, 2, 0]), meaning: '[1, 3, 2, 0]', expect: [[1, 0, 1]] },
  { send: frame([0xffffffff, Op.acquire, 2]), meaning: '[4294967295, 1, 2] again: from the cache', expect: [{ same_as: 1 }] },
  { send: frame([3, Op.stats]), meaning: '[3, 8]: past a gap, held (the hold wraps with the seqs)', expect: [[3, E.held, 2]] },
  { send: frame([2, Op.load_global, 2, 0]), meaning: '[2, 3, 2, 0]: the gap, then the held stats', expect: [[2, 0, 1], [3, 0, { map: [[1, 1], [2, 1], [3, 1], [4, 0], [5, 5], [6, 0], [7, 7], [8, 0], [9, 0], [10, 0], [11, 0], [12, 0], [13, 0], [14, [idle, idle, [1, 1, 0, 0, 4, 1, 0, 0], idle]], [15, 1], [16, 0], [17, 0], [18, 1], [19, 1]] }]] },
], true);
const framesOut = frames.map((f) => ({ name: f.name, line_hex: hex(f.line), line_text: printable(f.line), class: f.class, message: f.message }));
/** The hello expectation of PROTOCOL.md §7: the fields every default device reports alike. */
const helloFixed = (s: number) => ({
  seq: s,
  fixed: { map: [[1, PROTOCOL_VERSION], [3, 4], [4, 64], [5, 16], [6, 64], [7, Framing.maxLineBytes], [8, Framing.maxBatchOps], [13, Link.replayDepth], [14, Link.replayBytes], [15, Link.holdDepth], [16, Link.holdMessageBytes]] },
});
function expectOut(e: Expect): unknown {
  if (typeof e === 'object' && !Array.isArray(e) && 'hello' in e) return { meaning: `[${e.hello}, 0, hello]`, hello: helloFixed(e.hello) };
  if (typeof e === 'object' && !Array.isArray(e) && 'same_as' in e) return { meaning: `the line of response ${e.same_as}`, same_as: e.same_as };
  return { meaning: e, line: frame(e).toString('latin1') };
}
const exchangesOut = exchanges.map((x) => ({
  name: x.name, doc: x.doc,
  steps: x.steps.map((s) => ({ meaning: s.meaning, send_hex: hex(s.send), send_text: printable(s.send), expect: s.expect.map(expectOut) })),
}));

const outputs: Array<[string, unknown]> = [
  ['protocol/vectors/frames.json', { $comment: 'Generated by protocol/gen/vectors.ts from hand-written meanings (npm run gen). One line each; class is what a receiver makes of it (PROTOCOL.md §2.1).', cases: framesOut }],
  ['protocol/vectors/exchanges.json', { $comment: 'Generated by protocol/gen/vectors.ts from hand-written meanings (npm run gen). Each case starts on a freshly booted device with the default limits and (but for the no-session cases) opens a session with a hello at its first step; after each send the device must have written exactly the expect lines: a fixed line, a hello response checked by its structure, or the same line as an earlier response (PROTOCOL.md §7).', cases: exchangesOut }],
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
