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
import { emulatorFaults, linkWindow } from './support/expect.js';
import { RawSession, inRawSession, type RawAnswer } from './support/raw.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

/**
 * Starts watching the link both ways; the returned function says whether every byte since crossed
 * intact (no emulator fault either way, no sign of damage on a real link). A request written raw
 * is not retransmitted, so its answers are counted only over an intact link.
 */
function intactSince(): () => boolean {
  const window = linkWindow();
  const d0 = emulatorFaults('d2h');
  return () => window().clean && emulatorFaults('d2h') === d0;
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
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const { client } = target();
      const intact = intactSince();
      const first = s.next;
      const a = RawSession.frame(first, Op.echo, [new Uint8Array([1])]);
      const b = RawSession.frame(first + 1, Op.echo, [new Uint8Array([2])]);
      await client.writeRaw(Buffer.concat([a, b.subarray(0, 7)]));
      await client.writeRaw(b.subarray(7));
      // The second request again, whole: answered from the cache once its original came through
      // (on a lossy link, executed now), so the test waits on an answer the link may retransmit.
      const second = await s.send((first + 1) >>> 0, Op.echo, [new Uint8Array([2])]);
      s.next = (first + 2) >>> 0;
      // Answered after every line before it: the answers to those are all in by then.
      await s.request(Op.echo, [new Uint8Array([5])]);
      if (!intact()) {
        console.log('      the link damaged a byte of this exchange: a line split or joined differently is no verdict on the device');
        return this.skip();
      }
      expect(second.message).to.deep.equal([(first + 1) >>> 0, 0, new Uint8Array([2])]);
      // The first answer came before the second (in order); a duplicate of it would have too.
      expect(s.answersTo(first).length, 'answers to the first request').to.be.within(1, 1 + s.retransmits);
      expect(s.answersTo(first)[0]!.message).to.deep.equal([first, 0, new Uint8Array([1])]);
      expect(s.answersTo(first + 1).length, 'answers to the second request: its own, and the duplicate\'s from the cache').to.be.within(2, 2 + s.retransmits);
    });
  });

  it('answers a frame once when the same write goes on with an overlong line, and counts that line once', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const { client } = target();
      const overlongs = (a: RawAnswer) => (a.message[2] as Map<number, number>).get(StatsKey.rx_overlong)!;
      const before = await s.request(Op.stats);
      const intact = intactSince();
      const first = s.next;
      const a = RawSession.frame(first, Op.echo, [new Uint8Array([3])]);
      const overlong = latin1('~' + 'A'.repeat(Framing.maxLineBytes + 20) + '\n');
      await client.writeRaw(Buffer.concat([a, overlong]));
      s.next = (first + 1) >>> 0;
      const after = await s.request(Op.stats);
      expect(after.message[0]).to.equal((first + 1) >>> 0);
      if (!intact()) {
        console.log('      the link damaged a byte of this exchange: a line split or joined differently is no verdict on the device');
        return this.skip();
      }
      expect(overlongs(after) - overlongs(before), 'rx_overlong').to.equal(1);
      expect(s.answersTo(first).length, 'answers to the request before the overlong line').to.be.within(1, 1 + s.retransmits);
      expect(s.answersTo(first)[0]!.message).to.deep.equal([first, 0, new Uint8Array([3])]);
    });
  });

  it('takes the marker as the first byte only: a frame line after leading text is noise', async () => {
    const frame = encodeFrame(encodeCbor([12, Op.echo]));
    expect(await countsOf([Buffer.concat([latin1(' '), frame])])).to.deep.equal({ ...NO_COUNTS, rxNoise: 1 });
  });
});
