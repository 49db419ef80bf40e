import assert from 'node:assert/strict';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { classifyLine, encodeFrame } from '../framing/frame.js';
import { crc16xmodem } from '../framing/crc16.js';
import { ErrorCode as E, Framing, Op } from '../protocol/constants.js';
import { statsToWire, type Stats } from '../protocol/messages.js';
import { FIRMWARE_ID_MAX, TwinDevice, type TwinDeviceOptions, uniqueIdFromNonce, worstCaseStatsBytes } from './device.js';

/** A frame line carrying the CBOR bytes given in hex (written by hand, not by the encoder). */
const raw = (hex: string): Buffer => encodeFrame(Buffer.from(hex.replace(/\s+/g, ''), 'hex'));
/** A frame line carrying a value encoded by cbor-x. */
const frame = (value: unknown): Buffer => encodeFrame(encodeCbor(value));
const u8 = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

/** A device with a fixed nonce and clock, whose output lines are collected. */
function twin(options: TwinDeviceOptions = {}): { dev: TwinDevice; out: Buffer[] } {
  const dev = new TwinDevice({ bootNonce: 0x0badcafe, clock: () => 0, ...options });
  const out: Buffer[] = [];
  dev.on('output', (line) => out.push(line));
  return { dev, out };
}

/** Feeds bytes and returns the lines written in response (after letting the line reader settle). */
async function send(t: { dev: TwinDevice; out: Buffer[] }, ...chunks: (Buffer | string)[]): Promise<Buffer[]> {
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

/** Sends one request and returns its one decoded response. */
async function call(t: { dev: TwinDevice; out: Buffer[] }, request: Buffer | unknown[]): Promise<unknown> {
  const lines = await send(t, Array.isArray(request) ? frame(request) : request);
  assert.equal(lines.length, 1, `expected one response, got ${lines.length}`);
  return messages(lines)[0];
}

async function stats(t: { dev: TwinDevice; out: Buffer[] }): Promise<Map<number, unknown>> {
  const r = (await call(t, [0xfffe, Op.stats])) as [number, number, Map<number, unknown>];
  assert.equal(r[1], E.ok);
  return r[2];
}

describe('twin device', () => {
  describe('boot banner', () => {
    it('is the §5 line with the nonce as 8 lowercase hex digits', () => {
      const { dev } = twin({ bootNonce: 0x1a });
      assert.equal(dev.banner(), 'CVM-BOOT proto=1 fw=cvm-twin/0.1.0+vms4.g64.a16.e64 nonce=0000001a vms=4 globals=64 arrays=16 elements=64\n');
      assert.match(twin({ bootNonce: 0xdeadbeef }).dev.banner(), / nonce=deadbeef /);
    });
    it('names the configured limits and firmware id', () => {
      const { dev } = twin({ limits: { maxConcurrentVms: 2, vmMaxGlobals: 16, vmMaxArrays: 4, vmArrayElements: 16 }, firmwareId: 'x/1' });
      assert.equal(dev.banner(), 'CVM-BOOT proto=1 fw=x/1 nonce=0badcafe vms=2 globals=16 arrays=4 elements=16\n');
    });
    it('boot() writes it as one line; it is a log line for the host', () => {
      const t = twin();
      t.dev.boot();
      assert.deepEqual(t.out, [Buffer.from(t.dev.banner())]);
      assert.equal(classifyLine(t.out[0]!.subarray(0, -1)).kind, 'log');
    });
  });

  describe('exact response bytes', () => {
    it('acquire [1, 1, 0] → the very line of the vectors', async () => {
      assert.deepEqual((await send(twin(), '~gwEBAELl\n')).map(String), ['~ggEAZgs=\n']);
    });
    it('ok, ok with result, error, in core deterministic encoding', async () => {
      const t = twin();
      const cases: [string, string][] = [
        ['83 05 01 00', '82 05 00'], // acquire 0
        ['85 1a 00 01 00 00 04 00 05 26', '82 1a 00 01 00 00 00'], // store_global 0 5 -7, seq 65536
        ['84 18 2a 03 00 05', '83 18 2a 00 26'], // load_global → -7
        ['85 07 04 00 18 3f 1a 7f ff ff ff', '82 07 00'], // store_global 0 63 int32 max
        ['84 08 03 00 18 3f', '83 08 00 1a 7f ff ff ff'],
        ['85 09 04 00 01 3a 7f ff ff ff', '82 09 00'], // int32 min
        ['84 0a 03 00 01', '83 0a 00 3a 7f ff ff ff'],
        ['84 0b 03 00 02', '83 0b 00 00'], // never stored → 0
        ['84 1a ff ff ff ff 03 00 18 40', '82 1a ff ff ff ff 03'], // seq 2^32-1, out_of_range
        ['85 0c 05 00 00 0a', '82 0c 00'], // create_array 0 0 10
        ['86 0d 07 00 00 09 19 01 00', '82 0d 00'], // store_array 0 0 9 256
        ['85 0e 06 00 00 09', '83 0e 00 19 01 00'],
        ['85 0f 06 00 00 0a', '82 0f 09'], // past_size
        ['83 10 0a 43 00 7e 0a', '83 10 00 43 00 7e 0a'], // echo
        ['82 11 0b', '82 11 00'], // reset_pool
        ['83 12 09 83 81 0b 82 01 00 83 03 00 00', '83 12 00 83 81 00 81 00 82 00 00'], // batch
        ['82 13 18 63', '82 13 01'], // unknown op 99
      ];
      for (const [req, res] of cases) {
        assert.deepEqual(await send(t, raw(req)), [raw(res)], `request ${req}`);
      }
    });
    it('answers with no "\\r" and one line per request, in order', async () => {
      const t = twin();
      const lines = await send(t, Buffer.concat([frame([1, Op.acquire, 2]), frame([2, Op.store_global, 2, 1, 5]), frame([3, Op.load_global, 2, 1]), frame([4, Op.load_global, 3, 1])]));
      assert.deepEqual(messages(lines), [[1, 0], [2, 0], [3, 0, 5], [4, E.not_acquired]]);
      for (const l of lines) assert.ok(l.at(-1) === 0x0a && !l.includes(0x0d));
    });
  });

  describe('hello', () => {
    it('reports identity, limits, nonce, uptime, reset cause and unique id, keys 1..12 ascending', async () => {
      let now = 1000;
      const t = twin({ clock: () => now, bootNonce: 0x12345678 });
      now = 1000 + 4321.7;
      const r = await send(t, raw('82 01 00'));
      const fw = Buffer.from('cvm-twin/0.1.0+vms4.g64.a16.e64');
      const id = '5457494e' + '12345678' + 'edcba987';
      const expected =
        '83 01 00 ac' +
        '01 01' +
        '02 78' + fw.length.toString(16) + fw.toString('hex') +
        '03 04  04 18 40  05 10  06 18 40' +
        '07 19 0208  08 18 20' +
        '09 1a 12345678' +
        '0a 19 10e1' +
        '0b 68' + Buffer.from('power_on').toString('hex') +
        '0c 4c' + id;
      assert.deepEqual(r, [raw(expected)]);
      assert.deepEqual(t.dev.uniqueId, u8(id));
    });
    it('uptime is uint32 milliseconds since boot and wraps', async () => {
      let now = 0;
      const t = twin({ clock: () => now });
      now = 2 ** 32 + 5.9;
      assert.equal(t.dev.uptimeMs, 5);
      const r = (await call(t, [1, Op.hello])) as [number, number, Map<number, unknown>];
      assert.equal(r[2].get(10), 5);
    });
    it('takes the reset cause and unique id from the options (empty id allowed)', async () => {
      const t = twin({ resetCause: 'watchdog', uniqueId: new Uint8Array() });
      const r = (await call(t, [1, Op.hello])) as [number, number, Map<number, unknown>];
      assert.equal(r[2].get(11), 'watchdog');
      assert.equal((r[2].get(12) as Uint8Array).length, 0);
    });
    it('a random nonce by default', () => {
      const nonces = new Set(Array.from({ length: 8 }, () => new TwinDevice().bootNonce));
      assert.ok(nonces.size > 1);
    });
    it('hello with an argument is bad_arg', async () => {
      assert.deepEqual(await call(twin(), [1, Op.hello, 0]), [1, E.bad_arg]);
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
        Buffer.concat([Buffer.from('noise'), frame([2, Op.stats])]),
      );
      assert.deepEqual(lines, []);
      const s = await stats(t);
      assert.deepEqual([7, 8, 9, 10, 11, 12, 13].map((k) => s.get(k)), [1, 3, 1, 1, 0, 3, 0]);
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
      const r = await send(t, ...parts, frame([1, Op.acquire, 0]).toString('latin1'), frame([2, Op.acquire, 1]));
      // The first frame rides on the overlong line (no '\n' before it) and goes with it.
      assert.deepEqual(messages(r), [[2, 0]]);
      const s = await stats(t);
      assert.deepEqual([s.get(10), s.get(7)], [1, 2]);
    });
    it('a frame split byte by byte is answered once it is whole; CRLF frames are answered', async () => {
      const t = twin();
      const f = frame([7, Op.acquire, 3]);
      const r = await send(t, ...Array.from(f, (b) => Buffer.from([b])));
      assert.deepEqual(messages(r), [[7, 0]]);
      const crlf = Buffer.concat([frame([8, Op.load_global, 3, 0]).subarray(0, -1), Buffer.from('\r\n')]);
      assert.deepEqual(await call(t, crlf), [8, 0, 0]);
    });
    it('link counters wrap at 2^32', async () => {
      const t = twin();
      (t.dev as unknown as { link: { rxNoise: number } }).link.rxNoise = 0xffffffff;
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
        assert.deepEqual([s.get(7), s.get(11), s.get(5), s.get(6)], [2, 1, 0, 0]);
      });
    }
    it('depth 4 is accepted (and answered bad_arg: echo wants a byte string)', async () => {
      assert.deepEqual(await call(twin(), raw('83 05 0a 81 81 80')), [5, E.bad_arg]);
    });
    it('seq 0 and seq 2^32-1 in any integer width are accepted and echoed shortest', async () => {
      const t = twin();
      assert.deepEqual(await send(t, raw('82 1b 00 00 00 00 ff ff ff ff 08')).then((l) => (messages(l)[0] as unknown[])[0]), 0xffffffff);
      assert.deepEqual(await send(t, raw('82 1b 00 00 00 00 00 00 00 00 0b')), [raw('82 00 00')]);
      assert.deepEqual(await send(t, raw('82 19 00 05 0b')), [raw('82 05 00')]);
    });
  });

  describe('§3.1 step 3: the op code', () => {
    const cases: [string, string, number][] = [
      ['missing', '81 01', E.bad_arg],
      ['text', '82 01 61 78', E.bad_arg],
      ['negative', '82 01 20', E.bad_arg],
      ['a huge negative', '82 01 3b ff ff ff ff ff ff ff ff', E.bad_arg],
      ['float 1.0', '82 01 f9 3c 00', E.bad_arg],
      ['true', '82 01 f5', E.bad_arg],
      ['byte string', '82 01 41 01', E.bad_arg],
      ['array', '82 01 81 01', E.bad_arg],
      ['12 (one past the last op)', '82 01 0c', E.unknown_op],
      ['2^32', '82 01 1b 00 00 00 01 00 00 00 00', E.unknown_op],
      ['2^64-1', '82 01 1b ff ff ff ff ff ff ff ff', E.unknown_op],
      ['unknown op with junk arguments', '84 01 18 63 61 78 f6', E.unknown_op],
    ];
    for (const [name, hex, code] of cases) {
      it(`${name} → ${code === E.bad_arg ? 'bad_arg' : 'unknown_op'}`, async () => {
        assert.deepEqual(await call(twin(), raw(hex)), [1, code]);
      });
    }
    it('op codes in non-shortest form are accepted', async () => {
      assert.deepEqual(await call(twin(), raw('83 01 1a 00 00 00 01 19 00 00')), [1, 0]);
    });
  });

  describe('§3.1 step 4: arity and argument types', () => {
    it('wrong argument counts are bad_arg for every op', async () => {
      const t = twin();
      const arity = [0, 1, 1, 2, 3, 3, 3, 4, 0, 1, 1, 0];
      for (let op = 0; op < arity.length; op++) {
        for (const n of [arity[op]! - 1, arity[op]! + 1]) {
          if (n < 0) continue;
          const args = Array.from({ length: n }, () => 0);
          assert.deepEqual(await call(t, [op + 1, op, ...args]), [op + 1, E.bad_arg], `op ${op} with ${n} arguments`);
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
        await call(t, [1, Op.acquire, 0]);
        const req = [
          `83 02 01 ${item}`, // acquire vm
          `83 02 02 ${item}`,
          `84 02 03 00 ${item}`, // load_global global
          `85 02 04 ${item} 00 00`,
          `85 02 04 00 00 ${item}`, // store_global value
          `85 02 05 00 00 ${item}`, // create_array size
          `85 02 06 00 ${item} 00`,
          `86 02 07 00 00 00 ${item}`, // store_array value
          `86 02 07 00 00 ${item} 00`,
        ];
        for (const r of req) assert.deepEqual(await call(t, raw(r)), [2, E.bad_arg], r);
      });
    }
    it('values outside int32 are bad_arg, checked before every §4 check', async () => {
      const t = twin();
      for (const hex of ['1a 80 00 00 00', '3a 80 00 00 00', '1b 00 00 00 01 00 00 00 00', '3b ff ff ff ff ff ff ff ff', '1b ff ff ff ff ff ff ff ff']) {
        assert.deepEqual(await call(t, raw(`85 01 04 00 00 ${hex}`)), [1, E.bad_arg]);
        assert.deepEqual(await call(t, raw(`85 01 04 09 00 ${hex}`)), [1, E.bad_arg], 'before out_of_range (vm)');
        assert.deepEqual(await call(t, raw(`86 01 07 00 00 00 ${hex}`)), [1, E.bad_arg], 'before not_acquired');
      }
      assert.deepEqual(await call(t, raw('85 01 04 09 00 61 78')), [1, E.bad_arg]);
    });
    it('any integer width is accepted for ids and values', async () => {
      const t = twin();
      assert.deepEqual(await call(t, raw('83 01 01 1b 00 00 00 00 00 00 00 00')), [1, 0]);
      assert.deepEqual(await call(t, raw('85 02 04 00 1b 00 00 00 00 00 00 00 05 1a 00 00 00 07')), [2, 0]);
      assert.deepEqual(await call(t, raw('85 03 04 00 18 06 3b 00 00 00 00 7f ff ff ff')), [3, 0]);
      assert.deepEqual(await call(t, [4, Op.load_global, 0, 5]), [4, 0, 7]);
      assert.deepEqual(await call(t, [5, Op.load_global, 0, 6]), [5, 0, -2147483648]);
    });
    it('a negative or huge id or index is out_of_range at its own step of §4, a negative or huge size bad_size', async () => {
      const t = twin();
      const neg64 = '3b ff ff ff ff ff ff ff ff';
      const pos64 = '1b ff ff ff ff ff ff ff ff';
      assert.deepEqual(await call(t, raw(`83 01 01 ${neg64}`)), [1, E.out_of_range]);
      assert.deepEqual(await call(t, raw(`83 01 01 ${pos64}`)), [1, E.out_of_range]);
      assert.deepEqual(await call(t, raw('84 01 03 00 20')), [1, E.not_acquired], 'not_acquired before out_of_range (global)');
      await call(t, [1, Op.acquire, 0]);
      assert.deepEqual(await call(t, raw('84 01 03 00 20')), [1, E.out_of_range]);
      assert.deepEqual(await call(t, raw(`84 01 03 00 ${pos64}`)), [1, E.out_of_range]);
      assert.deepEqual(await call(t, raw('85 01 05 00 00 20')), [1, E.bad_size]);
      assert.deepEqual(await call(t, raw(`85 01 05 00 00 ${neg64}`)), [1, E.bad_size]);
      assert.deepEqual(await call(t, raw(`85 01 05 00 00 ${pos64}`)), [1, E.bad_size]);
      assert.deepEqual(await call(t, raw(`85 01 05 00 20 20`)), [1, E.out_of_range], 'out_of_range (array) before bad_size');
      assert.deepEqual(await call(t, raw('85 01 06 00 00 20')), [1, E.out_of_range], 'negative index before array_inactive');
      assert.deepEqual(await call(t, raw(`85 01 06 00 00 ${pos64}`)), [1, E.out_of_range]);
    });
  });

  describe('§4 operations', () => {
    it('follow the pool rules and the check order (the exchanges of the vectors cover the rest)', async () => {
      const t = twin();
      const steps: [unknown[], unknown[]][] = [
        [[1, Op.release, 0], [1, E.not_acquired]],
        [[2, Op.acquire, 0], [2, 0]],
        [[3, Op.acquire, 0], [3, E.already_acquired]],
        [[4, Op.create_array, 0, 16, 0], [4, E.out_of_range]],
        [[5, Op.create_array, 0, 0, 65], [5, E.bad_size]],
        [[6, Op.create_array, 0, 0, 64], [6, 0]],
        [[7, Op.create_array, 0, 0, 0], [7, E.bad_size]],
        [[8, Op.create_array, 0, 0, 1], [8, E.array_exists]],
        [[9, Op.store_array, 0, 1, 64, 1], [9, E.out_of_range]],
        [[10, Op.store_array, 0, 1, 63, 1], [10, E.array_inactive]],
        [[11, Op.store_array, 0, 0, 63, -9], [11, 0]],
        [[12, Op.load_array, 0, 0, 63], [12, 0, -9]],
        [[13, Op.release, 0], [13, 0]],
        [[14, Op.load_array, 0, 0, 63], [14, E.not_acquired]],
        [[15, Op.acquire, 0], [15, 0]],
        [[16, Op.load_array, 0, 0, 63], [16, E.array_inactive]],
      ];
      for (const [req, res] of steps) assert.deepEqual(await call(t, req), res, JSON.stringify(req));
    });
  });

  describe('§4.3 echo', () => {
    it('returns any byte string unchanged, in shortest form', async () => {
      const t = twin();
      assert.deepEqual(await send(t, raw('83 01 0a 40')), [raw('83 01 00 40')]);
      assert.deepEqual(await send(t, raw('83 01 0a 5a 00 00 00 02 0a 7e')), [raw('83 01 00 42 0a 7e')]);
      const big = Buffer.alloc(Framing.maxMessageBytes - 6, 0xab); // [1, 10, h'...'] fills a message
      const req = Buffer.concat([Buffer.from('83010a59', 'hex'), Buffer.from([big.length >> 8, big.length & 0xff]), big]);
      assert.equal(req.length, Framing.maxMessageBytes);
      const r = (await call(t, encodeFrame(req))) as [number, number, Uint8Array];
      assert.deepEqual(Buffer.from(r[2]), big);
    });
    it('text or no payload is bad_arg', async () => {
      const t = twin();
      assert.deepEqual(await call(t, [1, Op.echo, 'text']), [1, E.bad_arg]);
      assert.deepEqual(await call(t, [1, Op.echo]), [1, E.bad_arg]);
      assert.deepEqual(await call(t, [1, Op.echo, [1]]), [1, E.bad_arg]);
    });
  });

  describe('§4.2 batch', () => {
    it('runs every entry in order, one result each; failures do not stop it', async () => {
      const t = twin();
      const r = await call(t, [
        1,
        Op.batch,
        [[Op.acquire, 1], [Op.store_global, 1, 0, 99], [Op.load_global, 1, 0], [Op.create_array, 1, 0, 2], [Op.store_array, 1, 0, 1, -4], [Op.load_array, 1, 0, 1], [Op.load_array, 1, 0, 2], [Op.release, 1], [Op.release, 1]],
      ]);
      assert.deepEqual(r, [1, 0, [[0], [0], [0, 99], [0], [0], [0, -4], [E.past_size], [0], [E.not_acquired]]]);
    });
    it('hello, stats, batch and echo are not_in_batch whatever their arguments; unknown codes unknown_op', async () => {
      const t = twin();
      const r = await call(t, [1, Op.batch, [[Op.hello], [Op.hello, 1, 2], [Op.stats], [Op.batch, []], [Op.batch], [Op.echo, Buffer.from('00', 'hex')], [Op.echo, 'x'], [12], [99, 1], [2n ** 40n]]]);
      assert.deepEqual(r, [1, 0, [[11], [11], [11], [11], [11], [11], [11], [1], [1], [1]]]);
    });
    it('an entry that is not an array, empty, or not led by an unsigned integer is bad_arg; so are bad arguments', async () => {
      const t = twin();
      await call(t, [0, Op.acquire, 0]);
      const r = await call(t, [1, Op.batch, [5, [], 'x', [-1, 0], ['x'], [Op.acquire], [Op.acquire, 0, 0], [Op.store_global, 0, 0, 2 ** 31], [Op.load_global, 0, 1.5], [Op.load_global, 0, 0]]]);
      assert.deepEqual(r, [1, 0, [[2], [2], [2], [2], [2], [2], [2], [2], [2], [0, 0]]]);
      assert.deepEqual(await call(t, raw('83 02 09 83 a0 c1 00 f9 3c 00')), [2, 0, [[2], [2], [2]]]);
      assert.deepEqual(await call(t, raw('83 03 09 81 82 f9 3c 00 00')), [3, 0, [[2]]], 'float op code');
    });
    it('takes max_batch_ops entries; one more is too_large; an empty batch answers []', async () => {
      const t = twin();
      const full = Array.from({ length: Framing.maxBatchOps }, (_, i) => [Op.load_global, 0, i]);
      const r = (await call(t, [1, Op.batch, full])) as [number, number, unknown[]];
      assert.equal(r[2].length, 32);
      assert.deepEqual(await call(t, [2, Op.batch, [...full, [Op.reset_pool]]]), [2, E.too_large]);
      assert.deepEqual(await call(t, [3, Op.batch, []]), [3, 0, []]);
      assert.deepEqual(await call(t, [4, Op.batch, 5]), [4, E.bad_arg]);
      assert.deepEqual(await call(t, [5, Op.batch, new Map()]), [5, E.bad_arg]);
      assert.deepEqual(await call(t, [6, Op.batch]), [6, E.bad_arg]);
      const s = await stats(t);
      // 32 not_acquired entries + too_large (one op) + the empty batch (none) + three bad_arg: all errors.
      assert.deepEqual([s.get(5), s.get(6)], [36, 36]);
    });
    it('the largest batch response fits one frame', async () => {
      const t = twin();
      await call(t, [0, Op.acquire, 0]);
      await call(t, [0, Op.store_global, 0, 0, -2147483648]);
      const full = Array.from({ length: Framing.maxBatchOps }, () => [Op.load_global, 0, 0]);
      const lines = await send(t, frame([0xffffffff, Op.batch, full]));
      assert.equal(lines.length, 1);
      assert.ok(lines[0]!.length <= Framing.maxLineBytes + 1);
    });
  });

  describe('§6 stats counting', () => {
    it('ops counts operations completed before this one, op_errors those answered with an error', async () => {
      const t = twin();
      await send(t, frame([1, Op.acquire, 0]), frame([2, Op.acquire, 0]), frame([3, 99]), frame([4, Op.hello]), frame([5, Op.echo, Buffer.alloc(1)]));
      let s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6), s.get(7)], [5, 2, 6]);
      s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6), s.get(7)], [6, 2, 7], 'stats itself counts once done');
      await send(t, raw('82 01'), 'noise\n'); // neither is an operation
      s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6), s.get(11), s.get(12)], [7, 2, 1, 1]);
    });
    it('a batch counts as its entries; a batch rejected whole as one erroring op', async () => {
      const t = twin();
      await call(t, [1, Op.batch, [[Op.acquire, 0], [Op.acquire, 0], [Op.hello]]]);
      await call(t, [2, Op.batch, 'x']);
      const s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6)], [4, 3]);
    });
    it('reset_pool clears pool figures and ops, keeps link counters, then counts itself', async () => {
      const t = twin();
      await send(t, frame([1, Op.acquire, 0]), frame([2, Op.acquire, 1]), frame([3, Op.store_global, 0, 10, 1]), frame([4, Op.create_array, 0, 2, 20]));
      await send(t, frame([5, Op.release, 0]), frame([6, Op.release, 0]), 'noise\n', raw('80'));
      let s = await stats(t);
      assert.deepEqual(
        [...s.entries()],
        [...statsToWire({
          contextsAcquired: 1, contextsHw: 2, acquires: 2, releases: 1, ops: 6, opErrors: 1, rxFrames: 8, rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxMalformed: 1, rxNoise: 1, rxOverrun: 0,
          contexts: [
            { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 11, hwArrays: 1, hwElements: 20 },
            { acquired: true, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 },
            { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 },
            { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 },
          ],
        } satisfies Stats).entries()],
      );
      assert.deepEqual(await call(t, [7, Op.reset_pool]), [7, 0]);
      s = await stats(t);
      assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 11, 12].map((k) => s.get(k)), [0, 0, 0, 0, 1, 0, 10, 1, 1]);
      assert.deepEqual(s.get(14), Array.from({ length: 4 }, () => [0, 0, 0, 0, 0, 0, 0, 0]));
      assert.deepEqual(await call(t, [8, Op.load_global, 1, 0]), [8, E.not_acquired]);
    });
    it('reset_pool inside a batch: the entries after it count from 1', async () => {
      const t = twin();
      await call(t, [1, Op.batch, [[Op.acquire, 0], [Op.acquire, 0], [Op.reset_pool], [Op.acquire, 0], [Op.acquire, 0]]]);
      const s = await stats(t);
      assert.deepEqual([1, 2, 3, 5, 6].map((k) => s.get(k)), [1, 1, 1, 3, 1]);
    });
    it('ops and op_errors wrap at 2^32', async () => {
      const t = twin();
      Object.assign(t.dev as unknown as object, { ops: 0xffffffff, opErrors: 0xffffffff });
      await call(t, [1, 99]);
      const s = await stats(t);
      assert.deepEqual([s.get(5), s.get(6)], [0, 0]);
    });
    it('one entry per context, in vm id order, for any configured pool size', async () => {
      const t = twin({ limits: { maxConcurrentVms: 16 } });
      await call(t, [1, Op.acquire, 15]);
      const s = await stats(t);
      const ctx = s.get(14) as number[][];
      assert.equal(ctx.length, 16);
      assert.equal(ctx[15]![0], 1);
      assert.equal(ctx[0]![0], 0);
    });
  });

  describe('limits and options', () => {
    it('accepts exactly the configurations whose worst-case stats fits a message (the C build rule)', () => {
      assert.equal(worstCaseStatsBytes({ maxConcurrentVms: 4, vmMaxGlobals: 64, vmMaxArrays: 16, vmArrayElements: 64 }), 156);
      assert.doesNotThrow(() => new TwinDevice({ limits: { maxConcurrentVms: 16 } }));
      assert.doesNotThrow(() => new TwinDevice({ limits: { maxConcurrentVms: 1, vmMaxGlobals: 255, vmMaxArrays: 255, vmArrayElements: 1024 } }));
      assert.throws(() => new TwinDevice({ limits: { maxConcurrentVms: 16, vmMaxGlobals: 255, vmMaxArrays: 255, vmArrayElements: 65535 } }), /stats response may take/);
      assert.throws(() => new TwinDevice({ limits: { vmMaxGlobals: 0 } }), RangeError);
    });
    it('the formula bounds the real worst-case encoding', () => {
      for (const l of [
        { maxConcurrentVms: 4, vmMaxGlobals: 64, vmMaxArrays: 16, vmArrayElements: 64 },
        { maxConcurrentVms: 16, vmMaxGlobals: 64, vmMaxArrays: 16, vmArrayElements: 64 },
        { maxConcurrentVms: 2, vmMaxGlobals: 255, vmMaxArrays: 255, vmArrayElements: 65535 },
      ]) {
        const e = l.vmMaxArrays * l.vmArrayElements;
        const c = { acquired: true, globalsInUse: l.vmMaxGlobals, arraysActive: l.vmMaxArrays, elements: e, bytesUsed: 4 * (l.vmMaxGlobals + e), hwGlobals: l.vmMaxGlobals, hwArrays: l.vmMaxArrays, hwElements: e };
        const M = 0xffffffff;
        const s: Stats = { contextsAcquired: M, contextsHw: M, acquires: M, releases: M, ops: M, opErrors: M, rxFrames: M, rxBadFrame: M, rxBadCrc: M, rxOverlong: M, rxMalformed: M, rxNoise: M, rxOverrun: M, contexts: Array.from({ length: l.maxConcurrentVms }, () => c) };
        assert.equal(encodeCbor([M, 0, statsToWire(s)]).length, worstCaseStatsBytes(l));
      }
    });
    it('reports small limits in hello, and enforces them', async () => {
      const t = twin({ limits: { maxConcurrentVms: 2, vmMaxGlobals: 16, vmMaxArrays: 4, vmArrayElements: 16 } });
      const h = ((await call(t, [1, Op.hello])) as [number, number, Map<number, unknown>])[2];
      assert.deepEqual([2, 3, 4, 5, 6].map((k) => h.get(k)), ['cvm-twin/0.1.0+vms2.g16.a4.e16', 2, 16, 4, 16]);
      assert.deepEqual(await call(t, [2, Op.acquire, 2]), [2, E.out_of_range]);
      await call(t, [3, Op.acquire, 1]);
      assert.deepEqual(await call(t, [4, Op.create_array, 1, 3, 17]), [4, E.bad_size]);
      assert.deepEqual(await call(t, [5, Op.create_array, 1, 4, 1]), [5, E.out_of_range]);
      assert.deepEqual(await call(t, [6, Op.store_global, 1, 16, 1]), [6, E.out_of_range]);
    });
    it('rejects an unusable firmware id, nonce, unique id or reset cause', () => {
      assert.throws(() => new TwinDevice({ firmwareId: 'x'.repeat(FIRMWARE_ID_MAX + 1) }), RangeError);
      assert.doesNotThrow(() => new TwinDevice({ firmwareId: 'x'.repeat(FIRMWARE_ID_MAX) }));
      assert.throws(() => new TwinDevice({ firmwareId: 'a\nb' }), RangeError);
      assert.throws(() => new TwinDevice({ firmwareId: 'é' }), RangeError);
      assert.throws(() => new TwinDevice({ bootNonce: 2 ** 32 }), RangeError);
      assert.throws(() => new TwinDevice({ bootNonce: -1 }), RangeError);
      assert.throws(() => new TwinDevice({ uniqueId: new Uint8Array(11) }), RangeError);
      assert.throws(() => new TwinDevice({ resetCause: 'cosmic_ray' as 'pin' }), RangeError);
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
      assert.deepEqual(await send(t, frame([1, Op.acquire, 0]), 'noise\n'), []);
      t.dev.resume();
      assert.deepEqual(await call(t, [2, Op.acquire, 0]), [2, 0], 'the request sent while hung never ran');
      const s = await stats(t);
      assert.deepEqual([s.get(7), s.get(12), s.get(5)], [2, 0, 1]);
    });
    it('a line cut by a hang is dropped', async () => {
      const t = twin();
      const f = frame([1, Op.acquire, 0]);
      t.dev.feed(f.subarray(0, 5));
      t.dev.hang();
      t.dev.feed(f.subarray(5, 8));
      t.dev.resume();
      assert.deepEqual(await send(t, f.subarray(8)), []);
      assert.deepEqual(await call(t, [2, Op.acquire, 0]), [2, 0]);
    });
    it('reboot() draws a new nonce, clears pool and counters, restarts uptime, prints the banner', async () => {
      let now = 0;
      const t = twin({ clock: () => now });
      await send(t, frame([1, Op.acquire, 0]), 'noise\n', frame([2, Op.store_global, 0, 0, 5]).subarray(0, 7));
      now = 5000;
      const before = t.dev.bootNonce;
      t.out.length = 0;
      t.dev.hang();
      t.dev.reboot();
      assert.notEqual(t.dev.bootNonce, before);
      assert.equal(t.dev.isHung, false);
      assert.deepEqual(t.out, [Buffer.from(t.dev.banner())]);
      assert.match(t.out[0]!.toString(), new RegExp(`nonce=${t.dev.bootNonce.toString(16).padStart(8, '0')} `));
      const h = ((await call(t, [3, Op.hello])) as [number, number, Map<number, unknown>])[2];
      assert.deepEqual([h.get(9), h.get(10), h.get(11)], [t.dev.bootNonce, 0, 'software']);
      assert.deepEqual(Buffer.from(h.get(12) as Uint8Array), Buffer.from(uniqueIdFromNonce(0x0badcafe)), 'the unique id survives a reset');
      const s = await stats(t);
      assert.deepEqual([1, 3, 5, 7, 12].map((k) => s.get(k)), [0, 0, 1, 2, 0]);
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
  });
});
