/**
 * Protocol robustness: the target answers each damaged or hostile input with the specified error
 * or drops and counts it (PROTOCOL.md §2.1, §3.1), and stays responsive afterwards.
 */
import { expect } from 'chai';
import { encodeCbor, encodeFrame, ErrorCode, Framing, Op, type Stats } from '../host/src/index.js';
import { target } from './support/target.js';
import { cleanly, linkWindow, prng, rejectsWith, seedFor } from './support/expect.js';
import { inRawSession } from './support/raw.js';

type Counter = 'rxBadFrame' | 'rxBadCrc' | 'rxOverlong' | 'rxMalformed' | 'rxNoise';

/**
 * Writes raw bytes, then checks the device still answers and which counters moved; measured over
 * a link that delivered the bytes intact (support/expect.ts cleanly()), so a damaged cable can
 * never move a counter the test then blames on the device.
 */
async function sendAndCount(bytes: Uint8Array): Promise<Record<Counter, number>> {
  const { client } = target();
  return cleanly(`counting what ${bytes.length} raw bytes do`, async () => {
    // Issued together: the device reads them in this order (the client writes in call order).
    const [before, , after]: [Stats, void, Stats] = await Promise.all([client.stats(), client.writeRaw(bytes), client.stats()]); // after answered: the device is still responsive
    const d = (k: Counter) => after[k] - before[k];
    return { rxBadFrame: d('rxBadFrame'), rxBadCrc: d('rxBadCrc'), rxOverlong: d('rxOverlong'), rxMalformed: d('rxMalformed'), rxNoise: d('rxNoise') };
  });
}

const zero = { rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxMalformed: 0, rxNoise: 0 };

function withBadCrc(message: Uint8Array): Buffer {
  const line = encodeFrame(message);
  const raw = Buffer.from(line.toString('latin1', 1, line.length - 1), 'base64');
  raw[raw.length - 1]! ^= 0x40;
  return Buffer.from('~' + raw.toString('base64') + '\n', 'latin1');
}

describe('robustness: damaged frames and noise are dropped and counted', () => {
  it('drops a frame with a bad CRC (rx_bad_crc)', async () => {
    // The acquire is issued behind the counting's bytes, so the device takes it after the damaged
    // line: it succeeds only if the damaged acquire did not happen.
    const [counts] = await Promise.all([sendAndCount(withBadCrc(encodeCbor([1, Op.acquire, 0]))), target().client.acquire(0)]);
    expect(counts).to.deep.equal({ ...zero, rxBadCrc: 1 });
  });

  it('drops frames with bad base64 (rx_bad_frame)', async () => {
    const lines = ['~not base64!\n', '~abc\n', '~AAB=\n', '~\n', '~AAA=\n'];
    expect(await sendAndCount(Buffer.from(lines.join('')))).to.deep.equal({ ...zero, rxBadFrame: lines.length });
  });

  it('counts text lines without the marker as noise (rx_noise)', async () => {
    expect(await sendAndCount(Buffer.from('AT+RESET\r\nhello there\n'))).to.deep.equal({ ...zero, rxNoise: 2 });
  });

  it('ignores empty lines', async () => {
    expect(await sendAndCount(Buffer.from('\n\r\n\n'))).to.deep.equal(zero);
  });

  it('survives binary noise and garbage between frames (seeded)', async function () {
    const { client } = target();
    const rand = prng(seedFor(this.test!.fullTitle()));
    const window = linkWindow();
    // Every round is issued at once, in order: noise, a store, its load; the device takes them as written.
    const rounds: Promise<[void, void, number]>[] = [];
    // The stats either side are answered before the first noise line is written and asked after
    // the last round's answers: a request the link lost runs late (held past the gap, or resent),
    // so a stats pipelined with the noise could count some of it on either side.
    const [, statsBefore] = await Promise.all([client.acquire(0), client.stats()]);
    for (let round = 0; round < 20; round++) {
      // Noise that may hold any byte but '\n' and '~', so it can never complete a line that parses,
      // and is never a lone '\r' (an empty line once its \r is removed, ignored, not noise: PROTOCOL.md §2.1).
      const noise = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 200) }, () => {
        let b = Math.floor(rand() * 256);
        if (b === 0x0a || b === 0x7e) b = 0x00;
        return b;
      }));
      if (noise.length === 1 && noise[0] === 0x0d) noise[0] = 0x00;
      const g = round % target().hello.maxGlobals;
      rounds.push(Promise.all([client.writeRaw(Buffer.concat([noise, Buffer.from('\n')])), client.storeGlobal(0, g, round), client.loadGlobal(0, g)]));
    }
    const loads = await Promise.all(rounds);
    const statsAfter = await client.stats();
    loads.forEach(([, , value], round) => expect(value).to.equal(round));
    // Each noise line is counted once, exactly on a clean link; each byte the link damaged may join
    // two lines into one (a dropped '\n') or split one in two (a flip to '\n').
    const { h2dFaults } = window();
    expect(statsAfter.rxNoise - statsBefore.rxNoise).to.be.within(20 - h2dFaults, 20 + h2dFaults);
  });

  it('drops an overlong line whole (rx_overlong) and answers the next frame', async () => {
    const long = Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes) + '\n');
    expect(await sendAndCount(long)).to.deep.equal({ ...zero, rxOverlong: 1 });
    // Longer than the line limit and the device's receive ring together: discarded through the
    // next '\n' however long (and short enough to cross a 1e-3 link intact now and then).
    const veryLong = Buffer.concat([Buffer.alloc(Framing.maxInflightBytes + Framing.maxLineBytes, 0x41), Buffer.from('\n')]);
    expect(await sendAndCount(veryLong)).to.deep.equal({ ...zero, rxOverlong: 1 });
  });

  it('takes a line of exactly max_line_bytes as a line, not as overlong', async () => {
    const exact = Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes - 1) + '\n');
    expect(await sendAndCount(exact)).to.deep.equal({ ...zero, rxBadFrame: 1 });
  });

  it('drops well-formed frames that carry malformed CBOR or no seq (rx_malformed)', async () => {
    const bad = ['9f0100ff', '82010000', '8201', '07', '822000', '80', '83010a81818180', '82011c', '8201ff'];
    const lines = Buffer.concat(bad.map((h) => encodeFrame(Buffer.from(h, 'hex'))));
    expect(await sendAndCount(lines)).to.deep.equal({ ...zero, rxMalformed: bad.length });
  });
});

describe('robustness: a dropped line is never answered (PROTOCOL.md §2.1, §3.1)', () => {
  it('sends no frame back for a bad CRC, bad base64, noise, an overlong line or a malformed message', async () => {
    const { client } = target();
    const overlong = Buffer.from('~' + 'A'.repeat(Framing.maxLineBytes + 8) + '\n');
    const malformed = ['9f0100ff', '82010000', '8201', '07', '80', '82011c'].map((h) => encodeFrame(Buffer.from(h, 'hex')));
    const bytes = Buffer.concat([withBadCrc(encodeCbor([1, Op.acquire, 0])), Buffer.from('~abc\nnoise\n'), overlong, ...malformed]);
    const seen = await cleanly('frames answered around dropped lines', async () => {
      // It counts every frame received: nothing of before (the runner's reset_pool) in flight, and
      // on a link that ever resent, one retransmission timeout more, for the cached answer to a
      // resend of before that may still be on its way (it answers no request of this window).
      await client.idle();
      const l = client.linkStats();
      if (l.retransmits + l.probes > 0) await new Promise((r) => setTimeout(r, l.rtoMs));
      const window = linkWindow();
      const frames0 = client.counters.framesIn;
      const unsolicited0 = client.counters.unsolicited;
      // Issued together: stats, the dropped lines, stats; only the two stats may be answered.
      await Promise.all([client.stats(), client.writeRaw(bytes), client.stats()]);
      return { frames: client.counters.framesIn - frames0, unsolicited: client.counters.unsolicited - unsolicited0, retransmits: window().retransmits };
    });
    // Each retransmission of a stats may bring one more (cached) answer; nothing else may come.
    expect(seen.frames, 'frames received: the two stats answers').to.be.within(2, 2 + seen.retransmits);
    expect(seen.unsolicited, 'answers to no request of the client').to.be.within(0, seen.retransmits);
  });
});

describe('robustness: bad requests are answered with the specified error', () => {
  it('answers an unknown op with unknown_op', async () => {
    const { client } = target();
    await Promise.all([rejectsWith(client.call(200, []), 'unknown_op'), rejectsWith(client.call(2 ** 32, [1, 2]), 'unknown_op')]);
  });

  it('answers wrong argument counts with bad_arg', async function () {
    const { client } = target();
    await Promise.all([
      rejectsWith(client.call(Op.acquire, []), 'bad_arg'),
      rejectsWith(client.call(Op.acquire, [0, 0]), 'bad_arg'),
      rejectsWith(client.call(Op.store_array, [0, 0, 0]), 'bad_arg'),
    ]);
    // [seq, 0, 0] is not a hello (§3.3 rule 2: exactly two elements): an ordinary request of the
    // session, executed, and refused for its argument count. Sent raw, so that no host's idea of
    // hello (a new session at a new seq) gets in the way.
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const seq = s.next;
      expect((await s.request(Op.hello, [0])).message).to.deep.equal([seq, ErrorCode.bad_arg]);
      expect((await s.request(Op.acquire, [0])).message).to.deep.equal([(seq + 1) >>> 0, 0], 'the session went on at the next seq');
    }, { borrow: true });
  });

  it('answers wrong argument types with bad_arg', async () => {
    const { client } = target();
    const [, , , , , , , , value] = await Promise.all([
      client.acquire(0),
      rejectsWith(client.call(Op.store_global, [0, 0, 1.5]), 'bad_arg'),
      rejectsWith(client.call(Op.store_global, [0, 'one', 1]), 'bad_arg'),
      rejectsWith(client.call(Op.store_global, [new Uint8Array([0]), 0, 1]), 'bad_arg'),
      rejectsWith(client.call(Op.store_global, [0, [0], 1]), 'bad_arg'),
      rejectsWith(client.call(Op.store_global, [0, 0, null]), 'bad_arg'),
      rejectsWith(client.call(Op.echo, ['text']), 'bad_arg'),
      rejectsWith(client.call(Op.batch, [7]), 'bad_arg'),
      client.loadGlobal(0, 0),
    ]);
    expect(value).to.equal(0);
  });

  it('answers a float even when it holds a whole number with bad_arg', async function () {
    const { client } = target();
    await client.acquire(0);
    // [seq, 4, 0, 0, 1.0 as a half float], built by hand (cbor-x would send 1.0 as the integer 1),
    // as the next request of a raw session, so the device executes it (§3.3) and answers it.
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const seq = s.next;
      const message = Buffer.concat([Buffer.from([0x85]), Buffer.from(encodeCbor(seq)), Buffer.from('040000f93c00', 'hex')]);
      const answer = await s.requestMessage(message, 'store_global with a half-float value');
      expect(answer.message).to.deep.equal([seq, ErrorCode.bad_arg]);
      const load = await s.request(Op.load_global, [0, 0]);
      expect(load.message).to.deep.equal([(seq + 1) >>> 0, 0, 0], 'nothing was stored');
    }, { borrow: true });
  });

  it('stays responsive after every kind of damage in one burst', async () => {
    const { client } = target();
    const burst = Buffer.concat([
      Buffer.from('garbage\n'), withBadCrc(encodeCbor([1, Op.stats])), Buffer.from('~%%%%\n'),
      encodeFrame(Buffer.from('9f', 'hex')), Buffer.alloc(Framing.maxLineBytes * 2, 0x7e), Buffer.from('\n'),
    ]);
    // An acquire behind the burst (issued after the counting's bytes): answered, and it succeeds.
    const [counts] = await Promise.all([sendAndCount(burst), client.acquire(1)]);
    expect(counts).to.deep.equal({ rxNoise: 1, rxBadCrc: 1, rxBadFrame: 1, rxMalformed: 1, rxOverlong: 1 });
  });
});
