/**
 * Line handling (PROTOCOL.md §2.1), the cases mutation testing showed unchecked (issue 14): a
 * line's '\r' before its '\n', the shortest line that can carry a frame, and lines that arrive in
 * several pieces (the device must keep what it holds between reads, a frame's start as an
 * overlong line's discarding).
 */
import { expect } from 'chai';
import { Framing, Op, encodeCbor, encodeFrame } from '../host/src/index.js';
import { target } from './support/target.js';
import { NO_COUNTS, badCrcLine, countsOf } from './support/counters.js';
import { RawSession } from './support/raw.js';

const latin1 = (s: string) => Buffer.from(s, 'latin1');

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

  it('takes the marker as the first byte only: a frame line after leading text is noise', async () => {
    const frame = encodeFrame(encodeCbor([12, Op.echo]));
    expect(await countsOf([Buffer.concat([latin1(' '), frame])])).to.deep.equal({ ...NO_COUNTS, rxNoise: 1 });
  });
});
