import assert from 'node:assert/strict';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { classifyLine, encodeFrame } from '../framing/frame.js';
import { crc16xmodem } from '../framing/crc16.js';
import { ErrorCode as E, Framing, Link, Op, OpFacts, PROTOCOL_VERSION } from '../protocol/constants.js';
import { DEFAULT_REPLAY_LIMITS } from '../protocol/limits.js';
import { statsToWire, type Stats } from '../protocol/messages.js';
import { FIRMWARE_ID_MAX, TwinDevice, type TwinDeviceOptions, uniqueIdFromNonce, worstCaseStatsBytes } from './device.js';

/** The shortest CBOR encoding of a seq, in hex. */
const seqHex = (seq: number): string => encodeCbor(seq).toString('hex');
/**
 * A frame line carrying the CBOR bytes given in hex (written by hand, not by the encoder); each
 * '@' stands for the shortest encoding of seq.
 */
const raw = (hex: string, seq = 0): Buffer => encodeFrame(Buffer.from(hex.replace(/@/g, seqHex(seq)).replace(/\s+/g, ''), 'hex'));
/** A frame line carrying a value encoded by cbor-x. */
const frame = (value: unknown): Buffer => encodeFrame(encodeCbor(value));
const u8 = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** A device under test: its output lines, and the seq the test sends next in its session. */
interface T {
  dev: TwinDevice;
  out: Buffer[];
  seq: number;
}

/**
 * A device with a fixed nonce and clock, whose output lines are collected. With `open` (the
 * default) a hello at seq 0 has opened a session (§3.3), so the test's first request is seq 1 and
 * every stats figure counts that hello (ops 1, rx_frames 1, sessions 1).
 */
function twin(options: TwinDeviceOptions = {}, open = true): T {
  const dev = new TwinDevice({ bootNonce: 0x0badcafe, clock: () => 0, ...options });
  const out: Buffer[] = [];
  dev.on('output', (line) => out.push(line));
  const t = { dev, out, seq: 0 };
  if (open) {
    dev.feed(frame([0, Op.hello]));
    assert.equal(out.length, 1, 'the opening hello is answered');
    out.length = 0;
    t.seq = 1;
  }
  return t;
}

/** Feeds bytes and returns the lines written in response (after letting the line reader settle). */
async function send(t: T, ...chunks: (Buffer | string)[]): Promise<Buffer[]> {
  t.out.length = 0;
  for (const c of chunks) t.dev.feed(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  await new Promise((r) => setImmediate(r));
  return t.out.splice(0);
}

/** Decodes the response frames among lines. */
function messages(lines: Buffer[]): unknown[] {
  return lines.map((l) => {
    const c = classifyLine(l.subarray(0, -1));
    assert.equal(c.kind, 'frame', `not a frame: ${l.toString('latin1')}`);
    return decodeCbor((c as { message: Buffer }).message);
  });
}

/** The frame of the session's next request [seq, ...body] (an array), or of raw hex with '@' for the seq; takes the seq. */
function next(t: T, body: unknown[] | string): { line: Buffer; seq: number } {
  const seq = t.seq;
  t.seq = (t.seq + 1) >>> 0;
  return { line: typeof body === 'string' ? raw(body, seq) : frame([seq, ...body]), seq };
}

/**
 * Sends the session's next request — [op, ...args] without its seq, or raw hex with '@' for the
 * seq — checks its one response echoes the seq, and returns the response without it.
 */
async function call(t: T, body: unknown[] | string): Promise<unknown[]> {
  const { line, seq } = next(t, body);
  const lines = await send(t, line);
  assert.equal(lines.length, 1, `expected one response, got ${lines.length}`);
  const r = messages(lines)[0] as unknown[];
  assert.equal(r[0], seq, 'the response echoes the seq');
  return r.slice(1);
}

/** Sends the next request as raw hex and expects exactly the response bytes given as raw hex ('@' = the seq). */
async function exact(t: T, request: string, response: string): Promise<void> {
  const { line, seq } = next(t, request);
  assert.deepEqual(await send(t, line), [raw(response, seq)], `request ${request} at seq ${seq}`);
}

async function stats(t: T): Promise<Map<number, unknown>> {
  const r = (await call(t, [Op.stats])) as [number, Map<number, unknown>];
  assert.equal(r[0], E.ok);
  return r[1];
}

async function hello(t: T): Promise<Map<number, unknown>> {
  return ((await call(t, [Op.hello])) as [number, Map<number, unknown>])[1];
}

describe('twin device', () => {
  describe('boot banner', () => {
    it('is the §5 line with the nonce as 8 lowercase hex digits', () => {
      const { dev } = twin({ bootNonce: 0x1a });
      assert.equal(dev.banner(), 'CVM-BOOT proto=3 fw=cvm-twin/0.1.0+vms4.g64.a16.e64 nonce=0000001a vms=4 globals=64 arrays=16 elements=64\n');
      assert.match(twin({ bootNonce: 0xdeadbeef }).dev.banner(), / nonce=deadbeef /);
    });
    it('names the configured limits and firmware id', () => {
      const { dev } = twin({ limits: { maxVms: 2, maxGlobals: 16, maxArrays: 4, arrayElements: 16 }, firmwareId: 'x/1' });
      assert.equal(dev.banner(), 'CVM-BOOT proto=3 fw=x/1 nonce=0badcafe vms=2 globals=16 arrays=4 elements=16\n');
    });
    it('boot() writes it as one line; it is a log line for the host', () => {
      const t = twin({}, false);
      t.dev.boot();
      assert.deepEqual(t.out, [Buffer.from(t.dev.banner())]);
      assert.equal(classifyLine(t.out[0]!.subarray(0, -1)).kind, 'log');
    });
  });

  describe('exact response bytes', () => {
    it('hello [1, 0] then acquire [2, 1, 0] → the very lines of the vectors', async () => {
      const t = twin({ bootNonce: 0 }, false);
      assert.equal((await send(t, '~ggEAZgs=\n')).length, 1);
      assert.deepEqual((await send(t, '~gwIBABu1\n')).map(String), ['~ggIAM1g=\n']);
    });
    // Every response shape, with seqs crossing the one- to two-byte boundary (23 → 24) and, from a
    // session opened at 2^32 − 8, the five-byte seqs and the wrap to 0.
    const cases: [string, string][] = [
      ['83 @ 01 00', '82 @ 00'], // acquire 0
      ['85 @ 04 00 05 26', '82 @ 00'], // store_global 0 5 -7
      ['84 @ 03 00 05', '83 @ 00 26'], // load_global → -7
      ['85 @ 04 00 18 3f 1a 7f ff ff ff', '82 @ 00'], // store_global 0 63 int32 max
      ['84 @ 03 00 18 3f', '83 @ 00 1a 7f ff ff ff'],
      ['85 @ 04 00 01 3a 7f ff ff ff', '82 @ 00'], // int32 min
      ['84 @ 03 00 01', '83 @ 00 3a 7f ff ff ff'],
      ['84 @ 03 00 02', '83 @ 00 00'], // never stored → 0
      ['84 @ 03 00 18 40', '82 @ 03'], // out_of_range
      ['85 @ 05 00 00 0a', '82 @ 00'], // create_array 0 0 10
      ['86 @ 07 00 00 09 19 01 00', '82 @ 00'], // store_array 0 0 9 256
      ['85 @ 06 00 00 09', '83 @ 00 19 01 00'],
      ['85 @ 06 00 00 0a', '82 @ 09'], // past_size
      ['83 @ 0a 43 00 7e 0a', '83 @ 00 43 00 7e 0a'], // echo
      ['82 @ 0b', '82 @ 00'], // reset_pool
      ['83 @ 09 83 81 0b 82 01 00 83 03 00 00', '83 @ 00 83 81 00 81 00 82 00 00'], // batch
      ['82 @ 18 63', '82 @ 01'], // unknown op 99
    ];
    for (const start of [20, 0xfffffff8]) {
      it(`ok, ok with result, error, in core deterministic encoding (seqs from ${start})`, async () => {
        const t = twin({}, false);
        t.seq = start - 1;
        await call(t, [Op.hello]);
        for (const [req, res] of cases) await exact(t, req, res);
      });
    }
    it('answers with no "\\r" and one line per request, in order', async () => {
      const t = twin();
      const reqs = [[Op.acquire, 2], [Op.store_global, 2, 1, 5], [Op.load_global, 2, 1], [Op.load_global, 3, 1]].map((b) => next(t, b));
      const lines = await send(t, Buffer.concat(reqs.map((r) => r.line)));
      const [a, b, c, d] = reqs.map((r) => r.seq);
      assert.deepEqual(messages(lines), [[a, 0], [b, 0], [c, 0, 5], [d, E.not_acquired]]);
      for (const l of lines) assert.ok(l.at(-1) === 0x0a && !l.includes(0x0d));
    });
  });

  describe('hello', () => {
    it('reports identity, limits, nonce, uptime, reset cause, unique id, replay cache and hold, keys 1..16 ascending', async () => {
      let now = 1000;
      const t = twin({ clock: () => now, bootNonce: 0x12345678 }, false);
      now = 1000 + 4321.7;
      const r = await send(t, raw('82 01 00'));
      const fw = Buffer.from('cvm-twin/0.1.0+vms4.g64.a16.e64');
      const id = '5457494e' + '12345678' + 'edcba987';
      const expected =
        '83 01 00 b0' +
        '01 03' +
        '02 78' + fw.length.toString(16) + fw.toString('hex') +
        '03 04  04 18 40  05 10  06 18 40' +
        '07 19 0208  08 18 20' +
        '09 1a 12345678' +
        '0a 19 10e1' +
        '0b 68' + Buffer.from('power_on').toString('hex') +
        '0c 4c' + id +
        '0d 18 20  0e 19 0800' +
        '0f 10  10 18 20';
      assert.deepEqual(r, [raw(expected)]);
      assert.deepEqual(t.dev.uniqueId, u8(id));
    });
    it('uptime is uint32 milliseconds since boot and wraps', async () => {
      let now = 0;
      const t = twin({ clock: () => now });
      now = 2 ** 32 + 5.9;
      assert.equal(t.dev.uptimeMs, 5);
      assert.equal((await hello(t)).get(10), 5);
    });
    it('takes the reset cause and unique id from the options (empty id allowed)', async () => {
      const h = await hello(twin({ resetCause: 'watchdog', uniqueId: new Uint8Array() }));
      assert.equal(h.get(11), 'watchdog');
      assert.equal((h.get(12) as Uint8Array).length, 0);
    });
    it('reports the replay cache sizes it was given', async () => {
      const h = await hello(twin({ replayDepth: 3, replayBytes: 400 }));
      assert.deepEqual([h.get(13), h.get(14)], [3, 400]);
    });
    it('a random nonce by default', () => {
      const nonces = new Set(Array.from({ length: 8 }, () => new TwinDevice().bootNonce));
      assert.ok(nonces.size > 1);
    });
    it('hello with an argument is bad_arg in a session, and opens none before one', async () => {
      assert.deepEqual(await call(twin(), [Op.hello, 0]), [E.bad_arg]);
      assert.deepEqual(await call(twin({}, false), [Op.hello, 0]), [E.no_session]);
    });
  });

  describe('§2.1 line handling and link counters', () => {
    it('counts noise, bad frames, bad CRCs, overlong lines; ignores empty lines; answers none of them', async () => {
      const t = twin();
      const good = encodeCbor([1, Op.acquire, 0]);
      const crcBad = Buffer.concat([good, Buffer.from([0, 0])]);
      crcBad.writeUInt16BE(crc16xmodem(good) ^ 1, good.length);
      const lines = await send(
        t,
        'hello world\n',
        Buffer.from([0x00, 0xff, 0x80, 0x0d, 0x0a]),
        '\n\r\n',
        '~\n',
        '~AAA=\n', // 2 bytes decoded: too short
        '~gwcE AQIi\n',
        '~' + crcBad.toString('base64') + '\n',
        'x'.repeat(3000) + '\n',
        Buffer.concat([Buffer.from('noise'), frame([t.seq, Op.stats])]),
      );
      assert.deepEqual(lines, []);
      const s = await stats(t);
      assert.deepEqual([7, 8, 9, 10, 11, 12, 13].map((k) => s.get(k)), [2, 3, 1, 1, 0, 3, 0]);
    });
    it('a line of exactly max_line_bytes is classified; one byte more is overlong — with and without "\\r"', async () => {
      const t = twin();
      const n = Framing.maxLineBytes;
      assert.equal(n, 520);
      await send(t, 'x'.repeat(n) + '\n'); // 520: noise
      await send(t, 'x'.repeat(n + 1) + '\n'); // 521: overlong
      await send(t, 'x'.repeat(n - 1) + '\r\n'); // 519 + CR = 520: noise
      await send(t, 'x'.repeat(n) + '\r\n'); // 520 + CR = 521: overlong
      await send(t, '~' + 'A'.repeat(n - 1) + '\n'); // 520, canonical base64 but 389 bytes: bad_frame
      await send(t, '~' + 'A'.repeat(n) + '\n'); // 521: overlong
      await send(t, '~' + 'A'.repeat(n - 2) + '\r\n'); // 519 + CR: bad_frame
      await send(t, '~' + 'A'.repeat(n - 1) + '\r\n'); // 520 + CR: overlong
      const s = await stats(t);
      assert.deepEqual([s.get(12), s.get(10), s.get(8)], [2, 4, 2]);
    });
    it('an overlong line split over many writes counts once and is discarded through its "\\n"', async () => {
      const t = twin();
      const parts = Array.from({ length: 10 }, () => '~' + 'A'.repeat(99));
      // The first frame rides on the overlong line (no '\n' before it) and goes with it, so its
      // seq is still the next one: the second frame, with the same seq, is answered.
      const s0 = t.seq;
      const r = await send(t, ...parts, frame([s0, Op.acquire, 0]).toString('latin1'), frame([s0, Op.acquire, 1]));
      t.seq++;
      assert.deepEqual(messages(r), [[s0, 0]]);
      assert.equal(t.dev.pool.telemetry().contexts[0]!.acquired, false);
      const s = await stats(t);
      assert.deepEqual([s.get(10), s.get(7)], [1, 3]);
    });
    it('a frame split byte by byte is answered once it is whole; CRLF frames are answered', async () => {
      const t = twin();
      const f = next(t, [Op.acquire, 3]);
      const r = await send(t, ...Array.from(f.line, (b) => Buffer.from([b])));
      assert.deepEqual(messages(r), [[f.seq, 0]]);
      const g = next(t, [Op.load_global, 3, 0]);
      const crlf = Buffer.concat([g.line.subarray(0, -1), Buffer.from('\r\n')]);
      assert.deepEqual(messages(await send(t, crlf)), [[g.seq, 0, 0]]);
    });
    it('link counters wrap at 2^32', async () => {
      const t = twin();
      (t.dev as unknown as { line: { counters: { rxNoise: number } } }).line.counters.rxNoise = 0xffffffff;
      await send(t, 'noise\n');
      assert.equal((await stats(t)).get(12), 0);
    });
  });

  describe('§3.1 step 1–2: malformed requests get no reply and count rx_malformed', () => {
    const cases: [string, string][] = [
      ['indefinite-length array', '9f 01 00 ff'],
      ['indefinite-length byte string', '83 01 0a 5f 41 01 ff'],
      ['indefinite-length map', '83 01 0a bf ff'],
      ['a stray byte after the item', '82 01 00 00'],
      ['a second item', '82 01 00 82 02 00'],
      ['truncated array', '82 01'],
      ['truncated integer', '82 19 01'],
      ['nesting depth 5', '83 01 0a 81 81 81 80'],
      ['nesting depth 5 through a tag', '83 01 0a 81 81 c1 00'],
      ['nesting depth 5 through a map', '83 01 0a 81 81 a1 00 00'],
      ['nesting depth 5 inside one batch entry', '83 01 09 82 81 0b 81 81 81 80'],
      ['reserved additional information', '82 01 1c'],
      ['two-byte simple value below 32', '82 01 f8 10'],
      ['stray break', '82 01 ff'],
      ['a bare integer', '07'],
      ['a map', 'a1 01 00'],
      ['an empty array', '80'],
      ['negative seq', '82 20 00'],
      ['seq 2^32', '82 1b 00 00 00 01 00 00 00 00 00'],
      ['seq 2^64-1', '82 1b ff ff ff ff ff ff ff ff 00'],
      ['text seq', '82 61 73 0a'],
      ['float seq 1.0', '82 f9 3c 00 00'],
      ['byte-string seq', '82 41 01 00'],
      ['tagged seq', '82 c1 01 00'],
      ['null seq', '82 f6 00'],
    ];
    for (const [name, hex] of cases) {
      it(name, async () => {
        const t = twin();
        assert.deepEqual(await send(t, raw(hex)), []);
        const s = await stats(t);
        assert.deepEqual([s.get(7), s.get(11), s.get(5), s.get(6)], [3, 1, 1, 0]);
      });
    }
    it('depth 4 is accepted (and answered bad_arg: echo wants a byte string)', async () => {
      assert.deepEqual(await call(twin(), '83 @ 0a 81 81 80'), [E.bad_arg]);
    });
    it('well-formed but invalid items are judged by their type only: duplicate map keys, invalid UTF-8', async () => {
      const t = twin();
      assert.deepEqual(await call(t, '83 @ 01 a2 00 00 00 00'), [E.bad_arg], 'a map with a duplicate key as an id');
      assert.deepEqual(await call(t, '83 @ 0a 62 c3 28'), [E.bad_arg], 'invalid UTF-8 text as the echo payload');
      assert.deepEqual(await send(t, raw('a2 00 00 00 00')), [], 'a map, even invalid, is no request');
    });
    it('seq 0 and seq 2^32-1 in any integer width are accepted and echoed shortest', async () => {
      const t = twin({}, false);
      assert.deepEqual(await send(t, raw('82 1b 00 00 00 00 ff ff ff ff 00')).then((l) => (messages(l)[0] as unknown[])[0]), 0xffffffff);
      assert.deepEqual(await send(t, raw('82 1b 00 00 00 00 00 00 00 00 0b')), [raw('82 00 00')]);
      assert.deepEqual(await send(t, raw('82 19 00 01 0b')), [raw('82 01 00')]);
    });
  });

  describe('§3.1 step 3: the op code', () => {
    const cases: [string, string, number][] = [
      ['missing', '81 @', E.bad_arg],
      ['text', '82 @ 61 78', E.bad_arg],
      ['negative', '82 @ 20', E.bad_arg],
      ['a huge negative', '82 @ 3b ff ff ff ff ff ff ff ff', E.bad_arg],
      ['float 1.0', '82 @ f9 3c 00', E.bad_arg],
      ['true', '82 @ f5', E.bad_arg],
      ['byte string', '82 @ 41 01', E.bad_arg],
      ['array', '82 @ 81 01', E.bad_arg],
      ['12 (one past the last op)', '82 @ 0c', E.unknown_op],
      ['2^32', '82 @ 1b 00 00 00 01 00 00 00 00', E.unknown_op],
      ['2^64-1', '82 @ 1b ff ff ff ff ff ff ff ff', E.unknown_op],
      ['unknown op with junk arguments', '84 @ 18 63 61 78 f6', E.unknown_op],
    ];
    for (const [name, hex, code] of cases) {
      it(`${name} → ${code === E.bad_arg ? 'bad_arg' : 'unknown_op'}`, async () => {
        assert.deepEqual(await call(twin(), hex), [code]);
      });
    }
    it('op codes in non-shortest form are accepted', async () => {
      assert.deepEqual(await call(twin(), '83 @ 1a 00 00 00 01 19 00 00'), [0]);
    });
  });

  describe('§3.1 step 4: arity and argument types', () => {
    it('wrong argument counts are bad_arg for every op', async () => {
      const t = twin();
      for (const f of OpFacts) {
        for (const n of [f.args.length - 1, f.args.length + 1]) {
          if (n < 0) continue;
          const args = Array.from({ length: n }, () => 0);
          assert.deepEqual(await call(t, [f.code, ...args]), [E.bad_arg], `${f.name} with ${n} arguments`);
        }
      }
    });
    const nonIntegers: [string, string][] = [
      ['half float 1.0', 'f9 3c 00'],
      ['single float 0.0', 'fa 00 00 00 00'],
      ['double 1.5', 'fb 3f f8 00 00 00 00 00 00'],
      ['text', '61 30'],
      ['byte string', '41 00'],
      ['array', '81 00'],
      ['map', 'a0'],
      ['tag 1 of 0', 'c1 00'],
      ['bignum tag 2', 'c2 41 01'],
      ['false', 'f4'],
      ['true', 'f5'],
      ['null', 'f6'],
      ['undefined', 'f7'],
      ['simple 32', 'f8 20'],
    ];
    for (const [name, item] of nonIntegers) {
      it(`${name} as an id, index, size or value is bad_arg`, async () => {
        const t = twin();
        await call(t, [Op.acquire, 0]);
        const req = [
          `83 @ 01 ${item}`, // acquire vm
          `83 @ 02 ${item}`,
          `84 @ 03 00 ${item}`, // load_global global
          `85 @ 04 ${item} 00 00`,
          `85 @ 04 00 00 ${item}`, // store_global value
          `85 @ 05 00 00 ${item}`, // create_array size
          `85 @ 06 00 ${item} 00`,
          `86 @ 07 00 00 00 ${item}`, // store_array value
          `86 @ 07 00 00 ${item} 00`,
        ];
        for (const r of req) assert.deepEqual(await call(t, r), [E.bad_arg], r);
      });
    }
    it('values outside int32 are bad_arg, checked before every §4 check', async () => {
      const t = twin();
      for (const hex of ['1a 80 00 00 00', '3a 80 00 00 00', '1b 00 00 00 01 00 00 00 00', '3b ff ff ff ff ff ff ff ff', '1b ff ff ff ff ff ff ff ff']) {
        assert.deepEqual(await call(t, `85 @ 04 00 00 ${hex}`), [E.bad_arg]);
        assert.deepEqual(await call(t, `85 @ 04 09 00 ${hex}`), [E.bad_arg], 'before out_of_range (vm)');
        assert.deepEqual(await call(t, `86 @ 07 00 00 00 ${hex}`), [E.bad_arg], 'before not_acquired');
      }
      assert.deepEqual(await call(t, '85 @ 04 09 00 61 78'), [E.bad_arg]);
    });
    it('any integer width is accepted for ids and values', async () => {
      const t = twin();
      assert.deepEqual(await call(t, '83 @ 01 1b 00 00 00 00 00 00 00 00'), [0]);
      assert.deepEqual(await call(t, '85 @ 04 00 1b 00 00 00 00 00 00 00 05 1a 00 00 00 07'), [0]);
      assert.deepEqual(await call(t, '85 @ 04 00 18 06 3b 00 00 00 00 7f ff ff ff'), [0]);
      assert.deepEqual(await call(t, [Op.load_global, 0, 5]), [0, 7]);
      assert.deepEqual(await call(t, [Op.load_global, 0, 6]), [0, -2147483648]);
    });
    it('a negative or huge id or index is out_of_range at its own step of §4, a negative or huge size bad_size', async () => {
      const t = twin();
      const neg64 = '3b ff ff ff ff ff ff ff ff';
      const pos64 = '1b ff ff ff ff ff ff ff ff';
      assert.deepEqual(await call(t, `83 @ 01 ${neg64}`), [E.out_of_range]);
      assert.deepEqual(await call(t, `83 @ 01 ${pos64}`), [E.out_of_range]);
      assert.deepEqual(await call(t, '84 @ 03 00 20'), [E.not_acquired], 'not_acquired before out_of_range (global)');
      await call(t, [Op.acquire, 0]);
      assert.deepEqual(await call(t, '84 @ 03 00 20'), [E.out_of_range]);
      assert.deepEqual(await call(t, `84 @ 03 00 ${pos64}`), [E.out_of_range]);
      assert.deepEqual(await call(t, '85 @ 05 00 00 20'), [E.bad_size]);
      assert.deepEqual(await call(t, `85 @ 05 00 00 ${neg64}`), [E.bad_size]);
      assert.deepEqual(await call(t, `85 @ 05 00 00 ${pos64}`), [E.bad_size]);
      assert.deepEqual(await call(t, '85 @ 05 00 20 20'), [E.out_of_range], 'out_of_range (array) before bad_size');
      assert.deepEqual(await call(t, '85 @ 06 00 00 20'), [E.out_of_range], 'negative index before array_inactive');
      assert.deepEqual(await call(t, `85 @ 06 00 00 ${pos64}`), [E.out_of_range]);
    });
  });

  describe('§4 operations', () => {
    it('follow the pool rules and the check order (the exchanges of the vectors cover the rest)', async () => {
      const t = twin();
      const steps: [unknown[], unknown[]][] = [
        [[Op.release, 0], [E.not_acquired]],
        [[Op.acquire, 0], [0]],
        [[Op.acquire, 0], [E.already_acquired]],
        [[Op.create_array, 0, 16, 0], [E.out_of_range]],
        [[Op.create_array, 0, 0, 65], [E.bad_size]],
        [[Op.create_array, 0, 0, 64], [0]],
        [[Op.create_array, 0, 0, 0], [E.bad_size]],
        [[Op.create_array, 0, 0, 1], [E.array_exists]],
        [[Op.store_array, 0, 1, 64, 1], [E.out_of_range]],
        [[Op.store_array, 0, 1, 63, 1], [E.array_inactive]],
        [[Op.store_array, 0, 0, 63, -9], [0]],
        [[Op.load_array, 0, 0, 63], [0, -9]],
        [[Op.release, 0], [0]],
        [[Op.load_array, 0, 0, 63], [E.not_acquired]],
        [[Op.acquire, 0], [0]],
        [[Op.load_array, 0, 0, 63], [E.array_inactive]],
      ];
      for (const [req, res] of steps) assert.deepEqual(await call(t, req), res, JSON.stringify(req));
    });
  });

  describe('§4.3 echo', () => {
    it('returns any byte string unchanged, in shortest form', async () => {
      const t = twin();
      await exact(t, '83 @ 0a 40', '83 @ 00 40');
      await exact(t, '83 @ 0a 5a 00 00 00 02 0a 7e', '83 @ 00 42 0a 7e');
    });
    it('the largest payload is max_message_bytes − 6 with a one-byte seq (one byte less per extra seq byte)', async () => {
      for (const [start, head] of [[1, 1], [24, 2], [0x100, 3], [0x10000, 5]] as const) {
        const t = twin({}, false);
        t.seq = start - 1;
        await call(t, [Op.hello]);
        const big = Buffer.alloc(Framing.maxMessageBytes - 5 - head, 0xab); // [seq, 10, h'...'] fills a message
        const req = Buffer.concat([Buffer.from('83' + seqHex(t.seq) + '0a59', 'hex'), Buffer.from([big.length >> 8, big.length & 0xff]), big]);
        assert.equal(req.length, Framing.maxMessageBytes);
        const r = await call(t, req.toString('hex'));
        assert.deepEqual(Buffer.from(r[1] as Uint8Array), big, `seq of ${head} bytes`);
        // One byte more does not fit a frame: the line is a bad frame, not answered.
        const over = Buffer.concat([req.subarray(0, 3 + head), Buffer.from([(big.length + 1) >> 8, (big.length + 1) & 0xff]), big, Buffer.from([0]), Buffer.alloc(2)]);
        over.writeUInt16BE(crc16xmodem(over.subarray(0, -2)), over.length - 2);
        assert.deepEqual(await send(t, '~' + over.toString('base64') + '\n'), []);
        assert.equal(t.dev.linkCounters().rxBadFrame, 1);
      }
    });
    it('text or no payload is bad_arg', async () => {
      const t = twin();
      assert.deepEqual(await call(t, [Op.echo, 'text']), [E.bad_arg]);
      assert.deepEqual(await call(t, [Op.echo]), [E.bad_arg]);
      assert.deepEqual(await call(t, [Op.echo, [1]]), [E.bad_arg]);
    });
  });

  describe('§4.2 batch', () => {
    it('runs every entry in order, one result each; failures do not stop it', async () => {
      const t = twin();
      const r = await call(t, [
        Op.batch,
        [[Op.acquire, 1], [Op.store_global, 1, 0, 99], [Op.load_global, 1, 0], [Op.create_array, 1, 0, 2], [Op.store_array, 1, 0, 1, -4], [Op.load_array, 1, 0, 1], [Op.load_array, 1, 0, 2], [Op.release, 1], [Op.release, 1]],
      ]);
      assert.deepEqual(r, [0, [[0], [0], [0, 99], [0], [0], [0, -4], [E.past_size], [0], [E.not_acquired]]]);
    });
    it('hello, stats, batch and echo are not_in_batch whatever their arguments; unknown codes unknown_op', async () => {
      const t = twin();
      const r = await call(t, [Op.batch, [[Op.hello], [Op.hello, 1, 2], [Op.stats], [Op.batch, []], [Op.batch], [Op.echo, Buffer.from('00', 'hex')], [Op.echo, 'x'], [12], [99, 1], [2n ** 40n]]]);
      assert.deepEqual(r, [0, [[11], [11], [11], [11], [11], [11], [11], [1], [1], [1]]]);
    });
    it('an entry that is not an array, empty, or not led by an unsigned integer is bad_arg; so are bad arguments', async () => {
      const t = twin();
      await call(t, [Op.acquire, 0]);
      const r = await call(t, [Op.batch, [5, [], 'x', [-1, 0], ['x'], [Op.acquire], [Op.acquire, 0, 0], [Op.store_global, 0, 0, 2 ** 31], [Op.load_global, 0, 1.5], [Op.load_global, 0, 0]]]);
      assert.deepEqual(r, [0, [[2], [2], [2], [2], [2], [2], [2], [2], [2], [0, 0]]]);
      assert.deepEqual(await call(t, '83 @ 09 83 a0 c1 00 f9 3c 00'), [0, [[2], [2], [2]]]);
      assert.deepEqual(await call(t, '83 @ 09 81 82 f9 3c 00 00'), [0, [[2]]], 'float op code');
    });
    it('takes max_batch_ops entries; one more is too_large; an empty batch answers []', async () => {
      const t = twin();
      const full = Array.from({ length: Framing.maxBatchOps }, (_, i) => [Op.load_global, 0, i]);
      const r = (await call(t, [Op.batch, full])) as [number, unknown[]];
      assert.equal(r[1].length, 32);
      assert.deepEqual(await call(t, [Op.batch, [...full, [Op.reset_pool]]]), [E.too_large]);
      assert.deepEqual(await call(t, [Op.batch, []]), [0, []]);
      assert.deepEqual(await call(t, [Op.batch, 5]), [E.bad_arg]);
      assert.deepEqual(await call(t, [Op.batch, new Map()]), [E.bad_arg]);
      assert.deepEqual(await call(t, [Op.batch]), [E.bad_arg]);
      const s = await stats(t);
      // hello + 32 not_acquired entries + too_large (one op) + the empty batch (none) + three bad_arg.
      assert.deepEqual([s.get(5), s.get(6)], [37, 36]);
    });
    it('the largest batch response fits one frame', async () => {
      const t = twin({}, false);
      t.seq = 0xfffffffc;
      await call(t, [Op.hello]);
      await call(t, [Op.acquire, 0]);
      await call(t, [Op.store_global, 0, 0, -2147483648]);
      assert.equal(t.seq, 0xffffffff, 'the widest seq');
      const full = Array.from({ length: Framing.maxBatchOps }, () => [Op.load_global, 0, 0]);
      const lines = await send(t, next(t, [Op.batch, full]).line);
      assert.equal(lines.length, 1);
      assert.ok(lines[0]!.length <= Framing.maxLineBytes + 1);
    });
  });

  describe('§6 stats counting', () => {
    it('ops counts operations completed before this one, op_errors those answered with an error', async () => {
      const t = twin();
      await send(t, ...[[Op.acquire, 0], [Op.acquire, 0], [99], [Op.hello], [Op.echo, Buffer.alloc(1)]].map((b) => next(t, b).line));
      let s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6), s.get(7)], [6, 2, 7]);
      s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6), s.get(7)], [7, 2, 8], 'stats itself counts once done');
      await send(t, raw('82 01'), 'noise\n'); // neither is an operation
      s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6), s.get(11), s.get(12)], [8, 2, 1, 1]);
    });
    it('stats() gives what a stats request would answer now, as a Stats object', async () => {
      const t = twin();
      await send(t, ...[[Op.acquire, 0], [Op.acquire, 0]].map((b) => next(t, b).line), 'noise\n');
      const local = t.dev.stats();
      const s = await stats(t);
      assert.deepEqual(
        [local.ops, local.opErrors, local.contextsAcquired, local.rxNoise, local.rxFrames + 1],
        [s.get(5), s.get(6), s.get(1), s.get(12), s.get(7)],
        'the stats request itself is one more frame received',
      );
      assert.deepEqual([local.ops, local.opErrors, local.contextsAcquired], [3, 1, 1]);
    });
    it('a batch counts as its entries; a batch rejected whole as one erroring op', async () => {
      const t = twin();
      await call(t, [Op.batch, [[Op.acquire, 0], [Op.acquire, 0], [Op.hello]]]);
      await call(t, [Op.batch, 'x']);
      const s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6)], [5, 3]);
    });
    it('reset_pool clears pool figures and ops, keeps link counters, then counts itself', async () => {
      const t = twin();
      await send(t, ...[[Op.acquire, 0], [Op.acquire, 1], [Op.store_global, 0, 10, 1], [Op.create_array, 0, 2, 20]].map((b) => next(t, b).line));
      await send(t, next(t, [Op.release, 0]).line, next(t, [Op.release, 0]).line, 'noise\n', raw('80'));
      let s = await stats(t);
      assert.deepEqual(
        [...s.entries()],
        [...statsToWire({
          contextsAcquired: 1, contextsHw: 2, acquires: 2, releases: 1, ops: 7, opErrors: 1, rxFrames: 9, rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxMalformed: 1, rxNoise: 1, rxOverrun: 0,
          contexts: [
            { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 11, hwArrays: 1, hwElements: 20 },
            { acquired: true, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 },
            { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 },
            { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 },
          ],
          replayed: 0, outOfSequence: 0, noSession: 0, sessions: 1, held: 0,
        } satisfies Stats).entries()],
      );
      assert.deepEqual(await call(t, [Op.reset_pool]), [0]);
      s = await stats(t);
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 11, 12, 18].map((k) => s.get(k)), [0, 0, 0, 0, 1, 0, 11, 1, 1, 1]);
      assert.deepEqual(s.get(14), Array.from({ length: 4 }, () => [0, 0, 0, 0, 0, 0, 0, 0]));
      assert.deepEqual(await call(t, [Op.load_global, 1, 0]), [E.not_acquired]);
    });
    it('reset_pool inside a batch: it counts itself, and the entries after it count on from 1', async () => {
      const t = twin();
      await call(t, [Op.batch, [[Op.acquire, 0], [Op.acquire, 0], [Op.reset_pool], [Op.acquire, 0], [Op.acquire, 0]]]);
      const s = await stats(t);
      assert.deepEqual([1, 2, 3, 5, 6].map((k) => s.get(k)), [1, 1, 1, 3, 1]);
    });
    it('ops and op_errors wrap at 2^32', async () => {
      const t = twin();
      Object.assign((t.dev as unknown as { dispatcher: object }).dispatcher, { ops: 0xffffffff, opErrors: 0xffffffff });
      await call(t, [99]);
      const s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6)], [0, 0]);
    });
    it('one entry per context, in vm id order, for any configured pool size', async () => {
      const t = twin({ limits: { maxVms: 15 } });
      await call(t, [Op.acquire, 14]);
      const s = await stats(t);
      const ctx = s.get(14) as number[][];
      assert.equal(ctx.length, 15);
      assert.equal(ctx[14]![0], 1);
      assert.equal(ctx[0]![0], 0);
    });
  });

  describe('§3.3 link layer', () => {
    it('before any hello: [seq, no_session] for everything but hello, nothing executed or cached', async () => {
      const t = twin({}, false);
      t.seq = 40;
      assert.deepEqual(await call(t, [Op.acquire, 0]), [E.no_session]);
      assert.deepEqual(await call(t, [Op.stats]), [E.no_session]);
      assert.deepEqual(await call(t, [99]), [E.no_session], 'refused before the op code is looked at');
      await exact(t, '82 @ 0b', '82 @ 0d');
      assert.equal(t.dev.pool.telemetry().acquires, 0);
      assert.deepEqual(t.dev.session, { open: false, next: 0 });
      t.seq = 40;
      await hello(t);
      assert.deepEqual(await call(t, [Op.acquire, 0]), [0], 'seq 41 executes: the refusals were not cached');
      const s = await stats(t);
      assert.deepEqual([5, 6, 15, 16, 17, 18].map((k) => s.get(k)), [2, 0, 0, 0, 4, 1]);
    });
    it('a duplicate is answered with the very line of the original and executes nothing', async () => {
      const t = twin();
      const a = next(t, [Op.acquire, 0]);
      const b = next(t, [Op.store_global, 0, 1, 5]);
      const c = next(t, [Op.load_global, 0, 1]);
      const first = await send(t, a.line, b.line, c.line);
      assert.deepEqual(messages(first), [[a.seq, 0], [b.seq, 0], [c.seq, 0, 5]]);
      assert.deepEqual(await send(t, a.line), [first[0]], 'not already_acquired: not executed again');
      assert.deepEqual(await send(t, c.line, b.line), [first[2], first[1]]);
      // The cache is keyed by seq: a different request under a cached seq gets the cached answer.
      assert.deepEqual(await send(t, frame([a.seq, Op.release, 0])), [first[0]]);
      assert.equal(t.dev.pool.telemetry().contexts[0]!.acquired, true);
      assert.equal(t.dev.pool.telemetry().acquires, 1);
      const s = await stats(t);
      assert.deepEqual([5, 6, 7, 15, 16].map((k) => s.get(k)), [4, 0, 9, 4, 0], 'ops count executions; rx_frames every frame');
    });
    it('a request past a gap is held [seq, held, next]; the gap filled, both execute, in order, and a copy is a duplicate', async () => {
      const t = twin();
      const a = next(t, [Op.acquire, 0]);
      const b = next(t, [Op.store_global, 0, 0, 9]);
      assert.deepEqual(messages(await send(t, b.line)), [[b.seq, E.held, a.seq]]);
      assert.deepEqual(messages(await send(t, b.line)), [[b.seq, E.held, a.seq]], 'a copy of a held request is held again');
      assert.equal(t.dev.pool.telemetry().acquires, 0, 'nothing held runs before the gap fills');
      const drained = await send(t, a.line);
      assert.deepEqual(messages(drained), [[a.seq, 0], [b.seq, 0]], 'a, then the held b');
      assert.deepEqual(await send(t, b.line), [drained[1]], 'b executed: a copy is answered from the cache');
      assert.deepEqual(await call(t, [Op.load_global, 0, 0]), [0, 9]);
      const s = await stats(t);
      assert.deepEqual([5, 15, 16, 19].map((k) => s.get(k)), [4, 1, 0, 2]);
    });
    it('a gap the hold cannot take (more than hold_depth ahead, or a message longer than hold_message_bytes) is refused [seq, out_of_sequence, next]; going back executes them in order', async () => {
      const t = twin({ holdDepth: 2, holdMessageBytes: 12 });
      const a = next(t, [Op.acquire, 0]);
      const b = next(t, [Op.echo, Buffer.alloc(12)]); // [2, 10, h'00…'] = 1 + 1 + 1 + 13 = 16 bytes
      const c = next(t, [Op.store_global, 0, 0, 9]);
      const d = next(t, [Op.load_global, 0, 0]);
      assert.deepEqual(messages(await send(t, b.line, c.line, d.line)), [
        [b.seq, E.out_of_sequence, a.seq],
        [c.seq, E.held, a.seq],
        [d.seq, E.out_of_sequence, a.seq],
      ]);
      assert.deepEqual(messages(await send(t, a.line, b.line, d.line)), [[a.seq, 0], [b.seq, 0, Buffer.alloc(12)], [c.seq, 0], [d.seq, 0, 9]]);
      const s = await stats(t);
      assert.deepEqual([15, 16, 19].map((k) => s.get(k)), [0, 2, 1]);
    });
    it('a hello empties the hold: a request held before it never runs', async () => {
      const t = twin(); // a session opened at seq 0: next is 1
      t.seq = 5;
      const b = next(t, [Op.acquire, 1]);
      assert.deepEqual(messages(await send(t, b.line)), [[5, E.held, 1]]);
      t.seq = 3;
      await hello(t); // a new session at 3 (no duplicate, and a hello is never held): next is 4
      assert.deepEqual(await call(t, [Op.acquire, 2]), [0], 'the one response: b is not drained after it');
      assert.deepEqual([0, 1, 2].map((vm) => t.dev.pool.context(vm) !== null), [false, false, true]);
    });
    it('hello mid-session opens a new session at its seq: the cache is emptied, the pool untouched', async () => {
      const t = twin();
      const a = next(t, [Op.acquire, 0]);
      await send(t, a.line);
      t.seq = 500;
      const h = await hello(t);
      assert.equal(h.get(1), PROTOCOL_VERSION);
      assert.deepEqual(messages(await send(t, a.line)), [[a.seq, E.out_of_sequence, 501]], 'the old session is gone');
      assert.deepEqual(await call(t, [Op.load_global, 0, 0]), [0, 0], 'context 0 is still acquired');
      assert.deepEqual(t.dev.session, { open: true, next: 502 });
      assert.equal((await stats(t)).get(18), 2);
    });
    it('a duplicate hello is answered from the cache and opens nothing', async () => {
      let now = 0;
      const t = twin({ clock: () => now }, false);
      t.seq = 7;
      const h = next(t, [Op.hello]);
      const first = await send(t, h.line);
      const a = next(t, [Op.acquire, 1]);
      await send(t, a.line);
      now = 999; // a hello executed again would report another uptime
      assert.deepEqual(await send(t, h.line), first);
      assert.deepEqual(t.dev.session, { open: true, next: 9 });
      assert.deepEqual(await call(t, [Op.release, 1]), [0], 'seq 9 is still next');
      const s = await stats(t);
      assert.deepEqual([5, 15, 18].map((k) => s.get(k)), [3, 1, 1]);
    });
    it('evicts by depth: after replay_depth more requests the oldest is older than the cache', async () => {
      const t = twin();
      // Hello (seq 0) and 33 requests: the cache keeps the last 32, seqs 2..33.
      const sent = [];
      for (let i = 0; i <= Link.replayDepth; i++) {
        const r = next(t, [Op.load_global, 0, i]);
        sent.push({ line: r.line, answer: (await send(t, r.line))[0]! });
      }
      assert.deepEqual(messages(await send(t, sent[0]!.line)), [[1, E.out_of_sequence, 34]]);
      assert.deepEqual(await send(t, sent[1]!.line), [sent[1]!.answer]);
      assert.deepEqual(t.dev.session, { open: true, next: 34 });
      const s = await stats(t);
      assert.deepEqual([5, 15, 16, 18].map((k) => s.get(k)), [34, 1, 1, 1]);
    });
    it('evicts by bytes: the oldest responses go while the new one does not fit replay_bytes', async () => {
      const t = twin({ replayBytes: Framing.maxMessageBytes });
      const big = (n: number): unknown[] => [Op.echo, Buffer.alloc(n, n)];
      const e1 = next(t, big(200));
      const e2 = next(t, big(180));
      // hello (< 100 bytes) + echo 1 (205) fit 382; echo 2 (185) does not fit beside them, nor
      // beside echo 1 alone: both go, echo 2 stays.
      const r = await send(t, e1.line, e2.line);
      assert.deepEqual(messages(await send(t, e1.line)), [[e1.seq, E.out_of_sequence, t.seq]]);
      assert.deepEqual(await send(t, e2.line), [r[1]]);
      assert.equal((await stats(t)).get(15), 1);
    });
    it('the cache index wraps around its ring of replay_depth slots', async () => {
      const t = twin({ replayDepth: 3 });
      const sent: { line: Buffer; answer: Buffer }[] = [];
      for (let i = 0; i < 10; i++) {
        const r = next(t, [Op.echo, Buffer.from([i])]);
        sent.push({ line: r.line, answer: (await send(t, r.line))[0]! });
      }
      for (const i of [7, 8, 9, 9, 7]) assert.deepEqual(await send(t, sent[i]!.line), [sent[i]!.answer], `duplicate of request ${i}`);
      assert.deepEqual(messages(await send(t, sent[6]!.line)), [[7, E.out_of_sequence, 11]]);
    });
    it('seqs wrap from 2^32 − 1 to 0 inside a session, and so does the duplicate test', async () => {
      const t = twin({}, false);
      t.seq = 0xfffffffe;
      await hello(t);
      const a = next(t, [Op.acquire, 2]);
      const b = next(t, [Op.store_global, 2, 0, 1]);
      const c = next(t, [Op.load_global, 2, 0]);
      assert.deepEqual([a.seq, b.seq, c.seq], [0xffffffff, 0, 1]);
      const first = await send(t, a.line, b.line, c.line);
      assert.deepEqual(messages(first), [[a.seq, 0], [0, 0], [1, 0, 1]]);
      assert.deepEqual(await send(t, a.line), [first[0]], 'd = (2 − (2^32 − 1)) mod 2^32 = 3');
      assert.deepEqual(messages(await send(t, frame([3, Op.stats]))), [[3, E.held, 2]], 'held across the wrap');
      assert.deepEqual(messages(await send(t, frame([0xfffffff0, Op.stats]))), [[0xfffffff0, E.out_of_sequence, 2]]);
    });
    it('reboot() closes the session: the old session is answered no_session', async () => {
      const t = twin();
      await call(t, [Op.acquire, 0]);
      t.dev.reboot();
      assert.deepEqual(await call(t, [Op.load_global, 0, 0]), [E.no_session]);
      assert.deepEqual(t.dev.sessionCounters(), { replayed: 0, outOfSequence: 0, noSession: 1, sessions: 0, held: 0 });
    });
  });

  describe('limits and options', () => {
    it('accepts exactly the configurations whose worst-case stats fits a message (the C build rule)', () => {
      assert.equal(worstCaseStatsBytes({ maxVms: 4, maxGlobals: 64, maxArrays: 16, arrayElements: 64 }), 186);
      // v3's five link counters: 16 contexts would take 390 bytes, so the protocol's maximum is 15 (373).
      assert.equal(worstCaseStatsBytes({ maxVms: 16, maxGlobals: 64, maxArrays: 16, arrayElements: 64 }), 390);
      assert.equal(worstCaseStatsBytes({ maxVms: 15, maxGlobals: 64, maxArrays: 16, arrayElements: 64 }), 373);
      assert.doesNotThrow(() => new TwinDevice({ limits: { maxVms: 15 } }));
      assert.throws(() => new TwinDevice({ limits: { maxVms: 16 } }), /maxVms must be an integer in 1\.\.15, got 16/);
      assert.doesNotThrow(() => new TwinDevice({ limits: { maxVms: 1, maxGlobals: 255, maxArrays: 255, arrayElements: 1024 } }));
      assert.throws(() => new TwinDevice({ limits: { maxVms: 15, maxGlobals: 255, maxArrays: 255, arrayElements: 65535 } }), /stats response may take/);
      assert.throws(() => new TwinDevice({ limits: { maxGlobals: 0 } }), RangeError);
    });
    it('names a key that is not a limit, and the keys that are (a C-style name from JavaScript)', () => {
      const cStyle = { maxConcurrentVms: 2 } as unknown as { maxVms: number };
      assert.throws(() => new TwinDevice({ limits: cStyle }), {
        name: 'RangeError',
        message: 'twin: maxConcurrentVms is not a limit; use maxVms, maxGlobals, maxArrays, arrayElements',
      });
    });
    it('checks the replay cache sizes against LinkBounds', () => {
      assert.throws(() => new TwinDevice({ replayDepth: 0 }), { name: 'RangeError', message: 'twin: replayDepth must be an integer in 1..255, got 0' });
      assert.throws(() => new TwinDevice({ replayBytes: Framing.maxMessageBytes - 1 }), /twin: replayBytes must be an integer in 382\.\.65535/);
      assert.deepEqual({ ...new TwinDevice().replay }, { ...DEFAULT_REPLAY_LIMITS });
    });
    it('the formula bounds the real worst-case encoding', () => {
      for (const l of [
        { maxVms: 4, maxGlobals: 64, maxArrays: 16, arrayElements: 64 },
        { maxVms: 15, maxGlobals: 64, maxArrays: 16, arrayElements: 64 },
        { maxVms: 2, maxGlobals: 255, maxArrays: 255, arrayElements: 65535 },
      ]) {
        const e = l.maxArrays * l.arrayElements;
        const c = { acquired: true, globalsInUse: l.maxGlobals, arraysActive: l.maxArrays, elements: e, bytesUsed: 4 * (l.maxGlobals + e), hwGlobals: l.maxGlobals, hwArrays: l.maxArrays, hwElements: e };
        const M = 0xffffffff;
        const s: Stats = {
          contextsAcquired: M, contextsHw: M, acquires: M, releases: M, ops: M, opErrors: M, rxFrames: M, rxBadFrame: M, rxBadCrc: M, rxOverlong: M, rxMalformed: M, rxNoise: M, rxOverrun: M,
          contexts: Array.from({ length: l.maxVms }, () => c),
          replayed: M, outOfSequence: M, noSession: M, sessions: M, held: M,
        };
        assert.equal(encodeCbor([M, 0, statsToWire(s)]).length, worstCaseStatsBytes(l));
      }
    });
    it('reports small limits in hello, and enforces them', async () => {
      const t = twin({ limits: { maxVms: 2, maxGlobals: 16, maxArrays: 4, arrayElements: 16 } });
      const h = await hello(t);
      assert.deepEqual([2, 3, 4, 5, 6].map((k) => h.get(k)), ['cvm-twin/0.1.0+vms2.g16.a4.e16', 2, 16, 4, 16]);
      assert.deepEqual(await call(t, [Op.acquire, 2]), [E.out_of_range]);
      await call(t, [Op.acquire, 1]);
      assert.deepEqual(await call(t, [Op.create_array, 1, 3, 17]), [E.bad_size]);
      assert.deepEqual(await call(t, [Op.create_array, 1, 4, 1]), [E.out_of_range]);
      assert.deepEqual(await call(t, [Op.store_global, 1, 16, 1]), [E.out_of_range]);
    });
    it('takes replay cache sizes within LinkBounds and rejects others, naming the option', () => {
      assert.doesNotThrow(() => new TwinDevice({ replayDepth: 1, replayBytes: Framing.maxMessageBytes }));
      assert.doesNotThrow(() => new TwinDevice({ replayDepth: 255, replayBytes: 65535 }));
      for (const bad of [0, 256, 1.5, Number.NaN]) assert.throws(() => new TwinDevice({ replayDepth: bad }), /replayDepth must be an integer in 1\.\.255/);
      for (const bad of [381, 65536]) assert.throws(() => new TwinDevice({ replayBytes: bad }), /replayBytes must be an integer in 382\.\.65535/);
    });
    it('rejects an unusable firmware id, nonce, unique id or reset cause', () => {
      assert.throws(() => new TwinDevice({ firmwareId: 'x'.repeat(FIRMWARE_ID_MAX + 1) }), RangeError);
      assert.doesNotThrow(() => new TwinDevice({ firmwareId: 'x'.repeat(FIRMWARE_ID_MAX) }));
      assert.throws(() => new TwinDevice({ firmwareId: 'a\nb' }), RangeError);
      assert.throws(() => new TwinDevice({ firmwareId: 'a b' }), /without spaces/);
      assert.throws(() => new TwinDevice({ firmwareId: 'é' }), RangeError);
      assert.throws(() => new TwinDevice({ bootNonce: 2 ** 32 }), RangeError);
      assert.throws(() => new TwinDevice({ bootNonce: -1 }), RangeError);
      assert.throws(() => new TwinDevice({ bootNonce: 1.5 }), { name: 'RangeError', message: 'twin: bootNonce must be a uint32, got 1.5' });
      // The bounds are inclusive: 0 and 0xFFFFFFFF are nonces.
      assert.equal(new TwinDevice({ bootNonce: 0xffffffff }).bootNonce, 0xffffffff);
      assert.equal(new TwinDevice({ bootNonce: 0 }).bootNonce, 0);
      assert.throws(() => new TwinDevice().reboot('cosmic_ray' as 'pin'), { name: 'RangeError', message: 'twin: unknown reset cause cosmic_ray' });
      assert.throws(() => new TwinDevice({ uniqueId: new Uint8Array(11) }), { name: 'RangeError', message: 'twin: uniqueId must be 12 bytes or empty, got 11' });
      assert.throws(() => new TwinDevice({ resetCause: 'cosmic_ray' as 'pin' }), { name: 'RangeError', message: 'twin: unknown reset cause cosmic_ray' });
      assert.throws(() => new TwinDevice({ firmwareId: 'x'.repeat(FIRMWARE_ID_MAX + 1) }), {
        name: 'RangeError',
        message: `twin: firmwareId holds ${FIRMWARE_ID_MAX + 1} characters, more than ${FIRMWARE_ID_MAX}`,
      });
    });
    it('derives the default unique id from the first nonce', () => {
      assert.deepEqual(uniqueIdFromNonce(0), u8('5457494e00000000ffffffff'));
      assert.deepEqual(new TwinDevice({ bootNonce: 1 }).uniqueId, u8('5457494e00000001fffffffe'));
    });
  });

  describe('fault controls', () => {
    it('hang() stops answering and discards what arrives; resume() answers again', async () => {
      const t = twin();
      t.dev.hang();
      assert.equal(t.dev.isHung, true);
      assert.deepEqual(await send(t, frame([t.seq, Op.acquire, 0]), 'noise\n'), []);
      t.dev.resume();
      assert.deepEqual(await call(t, [Op.acquire, 0]), [0], 'the request sent while hung never ran');
      const s = await stats(t);
      assert.deepEqual([s.get(7), s.get(12), s.get(5)], [3, 0, 2]);
    });
    it('a line cut by a hang is dropped', async () => {
      const t = twin();
      const f = frame([t.seq, Op.acquire, 0]);
      t.dev.feed(f.subarray(0, 5));
      t.dev.hang();
      t.dev.feed(f.subarray(5, 8));
      t.dev.resume();
      assert.deepEqual(await send(t, f.subarray(8)), []);
      assert.deepEqual(await call(t, [Op.acquire, 0]), [0]);
    });
    it('reboot() draws a new nonce, clears pool, counters and session, restarts uptime, prints the banner', async () => {
      let now = 0;
      const t = twin({ clock: () => now });
      await send(t, next(t, [Op.acquire, 0]).line, 'noise\n', frame([t.seq, Op.store_global, 0, 0, 5]).subarray(0, 7));
      now = 5000;
      const before = t.dev.bootNonce;
      t.out.length = 0;
      t.dev.hang();
      t.dev.reboot();
      assert.notEqual(t.dev.bootNonce, before);
      assert.equal(t.dev.isHung, false);
      assert.deepEqual(t.out, [Buffer.from(t.dev.banner())]);
      assert.match(t.out[0]!.toString(), new RegExp(`nonce=${t.dev.bootNonce.toString(16).padStart(8, '0')} `));
      assert.deepEqual(t.dev.session, { open: false, next: 0 });
      const h = await hello(t);
      assert.deepEqual([h.get(9), h.get(10), h.get(11)], [t.dev.bootNonce, 0, 'software']);
      assert.deepEqual(Buffer.from(h.get(12) as Uint8Array), Buffer.from(uniqueIdFromNonce(0x0badcafe)), 'the unique id survives a reset');
      const s = await stats(t);
      assert.deepEqual([1, 3, 5, 7, 12, 18].map((k) => s.get(k)), [0, 0, 1, 2, 0, 1]);
      t.dev.reboot('watchdog');
      assert.equal(t.dev.resetCause, 'watchdog');
    });
    it('disconnect() asks the adapter to drop the link', () => {
      const t = twin();
      let n = 0;
      t.dev.on('disconnect', () => n++);
      t.dev.disconnect();
      assert.equal(n, 1);
    });
    it('emitGarbage() writes bytes as given; log() writes one sanitised log line', () => {
      const t = twin();
      t.dev.emitGarbage(Buffer.from([0x7e, 0x00, 0x0a, 0xff]));
      t.dev.log('hello');
      t.dev.log('~looks\r\nlike a frame');
      t.dev.log('y'.repeat(600));
      assert.deepEqual(t.out.slice(0, 3).map((b) => b.toString('latin1')), ['~\x00\n\xff', 'hello\n', '?looks  like a frame\n']);
      assert.equal(t.out[3]!.length, Framing.maxLineBytes);
      assert.ok(t.out[3]!.toString().endsWith('...\n'));
      assert.equal(classifyLine(t.out[3]!.subarray(0, -1)).kind, 'log');
    });
    it('log() sends its text as latin1, one byte a character', () => {
      const t = twin();
      t.dev.log('caf\u00e9 \u00b5s');
      assert.deepEqual(t.out, [Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0xb5, 0x73, 0x0a])]);
    });
    it('log() keeps a text of exactly max_line_bytes − 1 whole, and changes a "~" only at the start', () => {
      const t = twin();
      const max = Framing.maxLineBytes - 1;
      t.dev.log('z'.repeat(max));
      t.dev.log('a~b');
      assert.equal(t.out[0]!.toString('latin1'), 'z'.repeat(max) + '\n');
      assert.equal(t.out[1]!.toString('latin1'), 'a~b\n');
    });
    it('resume() without a hang keeps the line being received', async () => {
      const t = twin();
      const { line, seq } = next(t, [Op.echo, u8('0102')]);
      t.dev.feed(line.subarray(0, 10));
      t.dev.resume();
      const out = await send(t, line.subarray(10));
      assert.deepEqual(messages(out).map((m) => (m as [number, number, Uint8Array]).map((x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))), [[seq, 0, '0102']]);
    });
    it('a hang() while it answers one line of a chunk drops the lines after it in that chunk', async () => {
      const t = twin();
      const a = next(t, [Op.echo, u8('01')]);
      const b = next(t, [Op.echo, u8('02')]);
      t.dev.once('output', () => t.dev.hang());
      const out = await send(t, Buffer.concat([a.line, b.line]));
      assert.deepEqual(messages(out).map((m) => (m as [number, number, Uint8Array]).map((x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x))), [[a.seq, 0, '01']]);
    });
  });
});
