/**
 * Line handling (PROTOCOL.md §2.1), the cases mutation testing showed unchecked (issue 14): a
 * line's '\r' before its '\n', the shortest line that can carry a frame, and lines that arrive in
 * several pieces (the device must keep what it holds between reads, a frame's start as an
 * overlong line's discarding).
 */
import { expect } from 'chai';
import { Framing, Op, StatsKey, encodeCbor, encodeFrame } from '../host/src/index.js';
import { target } from './support/target.js';
import { NO_COUNTS, badCrcLine, countsOf } from './support/counters.js';
import { emulatorFaults, linkWindow, prng, seedFor, untilIntact } from './support/expect.js';
import { linkReason } from '../host/src/mocha/index.js';
import { RawSession, seqFrom, type RawAnswer } from './support/raw.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/** What intactInRawSession() hands each run of its exchange. */
interface RawRun {
  /** Where the bytes that must cross intact begin, when not at the start of the exchange (a line end first, as at the start). */
  watch(): Promise<void>;
  /**
   * The bytes each way need cross intact only until its `received()` holds (checked as each chunk
   * arrives, once the session has read it), not through the end of the run. For a run whose
   * verdict is settled by then: the device has executed what it counts, or sent the answers read
   * raw (it answers in order), and what follows is retransmitted when damaged. Through the link
   * emulator only: a real link's damage shows when it shows, so there the whole run counts.
   */
  intactUntil(received: { h2d: () => boolean; d2h: () => boolean }): void;
  /**
   * The requests the run writes raw, in seq order from the one the device expects. Sent again
   * after a run discarded by discardIfDamaged(), each out of turn (executed if the device still
   * expects it, else answered from its replay cache, a held one run when the gap before it
   * fills), they leave the device expecting the seq after the last: the next run goes on from
   * there, without a hello of its own.
   */
  writesRaw(requests: readonly { seq: number; op: number; args: readonly unknown[] }[]): void;
  /**
   * Ends the run at once when the link damaged a byte of it so far (it is discarded): after
   * requests written raw, which are not retransmitted, so a later request of the session would
   * wait in vain behind a lost one until the raw session gives up.
   */
  discardIfDamaged(): void;
}

/** Thrown by RawRun.discardIfDamaged(), caught by intactInRawSession(). */
class Discarded extends Error {}

/** The run intactInRawSession() judges: its session, the requests that session sent again during the run, and what the exchange returned. */
interface IntactRun<T> {
  s: RawSession;
  retransmits: number;
  value: T;
}

/**
 * Runs `exchange` in a raw session (its hellos at seqs drawn from the test's seed, printed,
 * replayable with HIL_SEED) until one run crossed the link intact both ways, and returns that
 * run for the test to judge (the raw session closed: its answers stay readable). A request written raw is not retransmitted, so its answers are counted only over a
 * link that damaged no byte either way (no emulator fault, no sign of damage on a real link); a
 * run the link damaged is discarded, never judged (a line split or joined differently is no
 * verdict on the device), and so is a link error it ended in. The next run goes on in the same
 * session when the requests the damaged one wrote raw were sent again (RawRun.writesRaw), else its
 * hello opens a new one, whatever the damaged run left the device expecting. The runs are as many
 * as the damage measured on this link calls for (untilIntact); then the test is not run.
 */
async function intactInRawSession<T>(title: string, what: string, exchange: (s: RawSession, run: RawRun) => Promise<T>): Promise<IntactRun<T>> {
  const { client, transport, emulator } = target();
  const rand = prng(seedFor(title));
  const s = await RawSession.open(seqFrom(rand));
  // Registered after the session's own reader: a chunk's answers are in the session when it runs.
  let onData: (() => void) | undefined;
  // The device → host faults up to the last chunk that ended a line. A fault after it may have cut
  // the line the session's reader now holds, which then swallows the next one (an answer read raw):
  // a run's window counts the faults from there, not from where it begins.
  let lineEnd = emulatorFaults('d2h');
  const listener = (chunk: Buffer) => {
    if (chunk[chunk.length - 1] === 0x0a) lineEnd = emulatorFaults('d2h');
    onData?.();
  };
  transport.on('data', listener);
  const directions = ['h2d', 'd2h'] as const;
  /** RawRun.writesRaw(): the requests again, one after another; false when the link failed that too. */
  const resync = async (requests: readonly { seq: number; op: number; args: readonly unknown[] }[]): Promise<boolean> => {
    try {
      await client.writeRaw(Buffer.from('\n')); // ends whatever partial line the damaged run left
      for (const r of requests) await s.send(r.seq, r.op, r.args);
      s.next = (requests[requests.length - 1]!.seq + 1) >>> 0;
      return true;
    } catch (e) {
      if (linkReason(e) === undefined) throw e;
      return false;
    }
  };
  // Whether the device's next seq is unknown after the last run: the next one opens a session.
  let lost = false;
  try {
    return await untilIntact<IntactRun<T>>(what, directions, async (attempts) => {
      if (lost) {
        // A line end first: it ends whatever partial line the damaged run left in the device.
        await client.writeRaw(Buffer.from('\n'));
        await s.hello(seqFrom(rand));
        lost = false;
      }
      let raw: readonly { seq: number; op: number; args: readonly unknown[] }[] = [];
      const r0 = s.retransmits;
      const faults = () => ({ h2d: emulatorFaults('h2d'), d2h: emulatorFaults('d2h') });
      const from = () => ({ h2d: emulatorFaults('h2d'), d2h: lineEnd });
      let window = linkWindow();
      let f0 = from();
      // The faults that count each way: those until intactUntil()'s mark, else all so far.
      const marked: Partial<Record<'h2d' | 'd2h', number>> = {};
      onData = undefined;
      const counted = () => {
        const f = faults();
        return { h2d: (marked.h2d ?? f.h2d) - f0.h2d, d2h: (marked.d2h ?? f.d2h) - f0.d2h };
      };
      const damaged = () => {
        const c = counted();
        return emulator ? c.h2d > 0 || c.d2h > 0 : !window().clean;
      };
      const damage = () => `${counted().h2d} bytes damaged host → device, ${counted().d2h} device → host`;
      // A line end first, inside the window (a damaged one is damage of the run): it ends any
      // partial line a late copy of an earlier request left, which would swallow the run's first.
      const begin = async () => {
        window = linkWindow();
        f0 = from();
        attempts.begin();
        await client.writeRaw(Buffer.from('\n'));
      };
      const run: RawRun = {
        watch: begin,
        writesRaw(requests) {
          raw = requests;
        },
        intactUntil(received) {
          onData = () => {
            for (const d of directions) {
              if (marked[d] === undefined && received[d]()) {
                marked[d] = emulatorFaults(d);
                attempts.stop(d);
              }
            }
          };
        },
        discardIfDamaged() {
          if (damaged()) throw new Discarded();
        },
      };
      let value: T;
      try {
        await begin();
        value = await exchange(s, run);
      } catch (e) {
        if (!(e instanceof Discarded || (linkReason(e) !== undefined && damaged()))) throw e;
        attempts.end(false);
        const why = damage();
        lost = !(e instanceof Discarded && raw.length > 0 && (await resync(raw)));
        return { damage: why };
      }
      attempts.end();
      if (!damaged()) return { value: { s, retransmits: s.retransmits - r0, value } };
      lost = true;
      return { damage: damage() };
    });
  } finally {
    transport.off('data', listener);
    await s.close();
  }
}

describe('line handling: CR LF, short frames, lines in pieces (PROTOCOL.md §2.1)', () => {
  it('takes a frame line ending in CR LF as the same frame (its CRC is judged, not its base64)', async () => {
    const line = badCrcLine(encodeCbor([7, Op.echo, new Uint8Array([1, 2, 3])]));
    const crlf = Buffer.concat([line.subarray(0, line.length - 1), latin1('\r\n')]);
    expect(await countsOf([crlf])).to.deep.equal({ ...NO_COUNTS, rxBadCrc: 1 });
  });

  it('answers a request whose line ends in CR LF', async () => {
    const s = await RawSession.open(1000, true); // the client's session, or one at 1000
    try {
      const seq = s.next;
      const line = RawSession.frame(seq, Op.echo, [new Uint8Array([9, 8])]);
      const answer = await s.exchange(Buffer.concat([line.subarray(0, line.length - 1), latin1('\r\n')]), seq, 'echo ending in CR LF');
      s.next = (seq + 1) >>> 0;
      expect(answer.message).to.deep.equal([seq, 0, new Uint8Array([9, 8])]);
    } finally {
      await s.close();
    }
  });

  it('takes a line of CR LF alone as an empty line: nothing counted', async () => {
    expect(await countsOf([latin1('\r\n\r\n\n\r\n')])).to.deep.equal(NO_COUNTS);
  });

  it('counts a frame too short to hold a message and its CRC as a bad frame, even when the CRC would match', async () => {
    // "~AAA=" is the two bytes 00 00: the CRC-16/XMODEM of an empty message, with no message.
    // One byte ("~AA==") is as short; neither is ever a frame (§2.1: at least one message byte).
    expect(await countsOf([latin1('~AAA=\n~AA==\n')])).to.deep.equal({ ...NO_COUNTS, rxBadFrame: 2 });
  });

  it('keeps a line that arrives in pieces: a frame split across writes is one frame', async () => {
    const line = badCrcLine(encodeCbor([11, Op.echo, new Uint8Array(40)]));
    const pieces = [line.subarray(0, 1), line.subarray(1, 20), line.subarray(20, line.length - 1), line.subarray(line.length - 1)];
    expect(await countsOf(pieces)).to.deep.equal({ ...NO_COUNTS, rxBadCrc: 1 });
  });

  it('discards an overlong line that arrives in pieces through its end, counted once, and reads the next line', async () => {
    const { client } = target();
    const max = Framing.maxLineBytes;
    const half = latin1('~' + 'A'.repeat(max - 10));
    const rest = latin1('A'.repeat(40) + '\n');
    expect(await countsOf([half, rest])).to.deep.equal({ ...NO_COUNTS, rxOverlong: 1 });
    // The line after it is read from its start.
    expect(await client.echo(new Uint8Array([4]))).to.deep.equal(new Uint8Array([4]));
  });

  it('answers a frame once when the same write goes on with the start of the next line', async function () {
    // One write: a whole request line, then the first bytes of the next; the rest comes later.
    // The device must hold the piece and answer each request once (no answer for the piece alone).
    const { client } = target();
    const { s, retransmits, value: { first, second } } = await intactInRawSession(this.test!.fullTitle(), 'a frame and the start of the next line in one write', async (s, run) => {
      const first = s.next;
      run.writesRaw([{ seq: first, op: Op.echo, args: [new Uint8Array([1])] }, { seq: (first + 1) >>> 0, op: Op.echo, args: [new Uint8Array([2])] }]);
      const a = RawSession.frame(first, Op.echo, [new Uint8Array([1])]);
      const b = RawSession.frame(first + 1, Op.echo, [new Uint8Array([2])]);
      await client.writeRaw(Buffer.concat([a, b.subarray(0, 7)]));
      await client.writeRaw(b.subarray(7));
      run.discardIfDamaged();
      // The second request again, whole: answered from the cache once its original came through
      // (on a lossy link, executed now), so the test waits on an answer the link may retransmit.
      const second = await s.send((first + 1) >>> 0, Op.echo, [new Uint8Array([2])]);
      s.next = (first + 2) >>> 0;
      // Answered after every line before it: the answers to those are all in by then.
      await s.request(Op.echo, [new Uint8Array([5])]);
      return { first, second };
    });
    expect(second.message).to.deep.equal([(first + 1) >>> 0, 0, new Uint8Array([2])]);
    // The first answer came before the second (in order); a duplicate of it would have too.
    expect(s.answersTo(first).length, 'answers to the first request').to.be.within(1, 1 + retransmits);
    expect(s.answersTo(first)[0]!.message).to.deep.equal([first, 0, new Uint8Array([1])]);
    expect(s.answersTo(first + 1).length, 'answers to the second request: its own, and the duplicate\'s from the cache').to.be.within(2, 2 + retransmits);
  });

  it('answers a frame once when the same write goes on with an overlong line, and counts that line once', async function () {
    const { client } = target();
    const overlongs = (a: RawAnswer) => (a.message[2] as Map<number, number>).get(StatsKey.rx_overlong)!;
    const { s, retransmits, value: { first, before, after } } = await intactInRawSession(this.test!.fullTitle(), 'a frame and an overlong line in one write', async (s, run) => {
      const before = await s.request(Op.stats);
      await run.watch(); // from here: `before` was answered, so the device counted nothing of what follows
      const first = s.next;
      // Settled once the stats is answered: the device has counted what it read before it, `a`
      // and the overlong line among them (later bytes are the stats' copies, and the session's).
      // And the answer to `a` comes before the stats' (in order): once either is in, no later
      // damage can have hidden it, and the stats answer is retransmitted when damaged.
      const answered = (seq: number) => s.answersTo(seq).length > 0;
      run.intactUntil({ h2d: () => answered(first + 1), d2h: () => answered(first) || answered(first + 1) });
      run.writesRaw([{ seq: first, op: Op.echo, args: [new Uint8Array([3])] }]);
      const a = RawSession.frame(first, Op.echo, [new Uint8Array([3])]);
      const overlong = latin1('~' + 'A'.repeat(Framing.maxLineBytes + 20) + '\n');
      await client.writeRaw(Buffer.concat([a, overlong]));
      run.discardIfDamaged();
      s.next = (first + 1) >>> 0;
      const after = await s.request(Op.stats);
      return { first, before, after };
    });
    expect(after.message[0]).to.equal((first + 1) >>> 0);
    expect(overlongs(after) - overlongs(before), 'rx_overlong').to.equal(1);
    expect(s.answersTo(first).length, 'answers to the request before the overlong line').to.be.within(1, 1 + retransmits);
    expect(s.answersTo(first)[0]!.message).to.deep.equal([first, 0, new Uint8Array([3])]);
  });

  it('takes the marker as the first byte only: a frame line after leading text is noise', async () => {
    const frame = encodeFrame(encodeCbor([12, Op.echo]));
    expect(await countsOf([Buffer.concat([latin1(' '), frame])])).to.deep.equal({ ...NO_COUNTS, rxNoise: 1 });
  });
});
