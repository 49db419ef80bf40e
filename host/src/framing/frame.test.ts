import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { encodeCbor } from '../codec/cbor.js';
import { Framing } from '../protocol/constants.js';
import { classifyLine, encodeFrame } from './frame.js';
import { crc16xmodem } from './crc16.js';

/** A frame line's bytes without its '\n'. */
function body(line: Buffer): Buffer {
  return line.subarray(0, line.length - 1);
}

function frameOf(raw: Buffer): Buffer {
  return Buffer.from('~' + raw.toString('base64'), 'latin1');
}

describe('frame lines (PROTOCOL.md §2)', () => {
  it('encodeFrame writes ~ base64(message ‖ CRC big-endian) \\n', () => {
    const msg = encodeCbor([1, 0]);
    const line = encodeFrame(msg);
    expect(line[0]).to.equal(0x7e);
    expect(line[line.length - 1]).to.equal(0x0a);
    const raw = Buffer.from(line.toString('latin1', 1, line.length - 1), 'base64');
    expect(raw.subarray(0, msg.length)).to.deep.equal(msg);
    expect(raw.readUInt16BE(msg.length)).to.equal(crc16xmodem(msg));
  });

  it('encodeFrame accepts max_message_bytes and rejects one more with RangeError', () => {
    const max = encodeFrame(Buffer.alloc(Framing.maxMessageBytes));
    expect(max.length - 1).to.be.at.most(Framing.maxLineBytes);
    expect(() => encodeFrame(Buffer.alloc(Framing.maxMessageBytes + 1))).to.throw(RangeError, /max_message_bytes/);
  });

  describe('classifyLine, one case per row of §2.1', () => {
    it('row 1: more than max_line_bytes → overlong (even a log line)', () => {
      const over = Buffer.alloc(Framing.maxLineBytes + 1, 0x41);
      expect(classifyLine(over)).to.deep.include({ kind: 'defect', defect: 'overlong' });
      const frameish = Buffer.concat([Buffer.from('~'), Buffer.alloc(Framing.maxLineBytes, 0x41)]);
      expect(classifyLine(frameish)).to.deep.include({ kind: 'defect', defect: 'overlong' });
    });

    it('row 1 boundary: exactly max_line_bytes is classified normally', () => {
      const line = Buffer.alloc(Framing.maxLineBytes, 0x41);
      expect(classifyLine(line).kind).to.equal('log');
    });

    it('row 2: empty, or a lone CR → empty', () => {
      expect(classifyLine(Buffer.alloc(0))).to.deep.equal({ kind: 'empty' });
      expect(classifyLine(Buffer.from('\r'))).to.deep.equal({ kind: 'empty' });
    });

    it('row 3: no marker → log line (noise for a device), one trailing CR removed', () => {
      expect(classifyLine(Buffer.from('hello\r'))).to.deep.equal({ kind: 'log', text: 'hello' });
      expect(classifyLine(Buffer.from('two\r\r'))).to.deep.equal({ kind: 'log', text: 'two\r' });
      expect(classifyLine(Buffer.from([0xff, 0x00, 0x80]))).to.deep.equal({ kind: 'log', text: '\xff\x00\x80' });
    });

    it('row 4: bad base64, or a decoded length < 3 or > max_frame_bytes → bad_frame', () => {
      const cases = [
        Buffer.from('~'),
        Buffer.from('~QUI'), // no padding
        Buffer.from('~QU JD'),
        frameOf(Buffer.from([1, 2])), // 2 bytes: no room for a message
        frameOf(Buffer.alloc(Framing.maxFrameBytes + 1)),
      ];
      for (const line of cases) expect(classifyLine(line), line.toString('latin1')).to.deep.include({ kind: 'defect', defect: 'bad_frame' });
    });

    it('row 5: CRC mismatch → bad_crc', () => {
      const line = Buffer.from(body(encodeFrame(encodeCbor([7, 0]))));
      const raw = Buffer.from(line.toString('latin1', 1), 'base64');
      raw[raw.length - 1]! ^= 1;
      expect(classifyLine(frameOf(raw))).to.deep.include({ kind: 'defect', defect: 'bad_crc' });
    });

    it('row 6: a good frame → its CBOR message (CR tolerated); 3 and max_frame_bytes bytes are the bounds', () => {
      const msg = encodeCbor([42, 0, -5]);
      const line = body(encodeFrame(msg));
      expect(classifyLine(line)).to.deep.equal({ kind: 'frame', message: msg });
      expect(classifyLine(Buffer.concat([line, Buffer.from('\r')]))).to.deep.equal({ kind: 'frame', message: msg });
      const one = Buffer.from([0x00]);
      expect(classifyLine(body(encodeFrame(one)))).to.deep.equal({ kind: 'frame', message: one });
      const biggest = Buffer.alloc(Framing.maxMessageBytes, 0x40);
      expect(classifyLine(body(encodeFrame(biggest)))).to.deep.equal({ kind: 'frame', message: biggest });
    });
  });

  describe('shared vectors (protocol/vectors/frames.json)', () => {
    const url = new URL('../../../protocol/vectors/frames.json', import.meta.url);
    const cases = (JSON.parse(readFileSync(url, 'utf8')) as { cases: { name: string; line_hex: string; class: string }[] }).cases;
    for (const c of cases) {
      it(`${c.name} → ${c.class}`, () => {
        let line = Buffer.from(c.line_hex, 'hex');
        if (line[line.length - 1] === 0x0a) line = line.subarray(0, line.length - 1);
        const got = classifyLine(line);
        expect(got.kind === 'defect' ? got.defect : got.kind).to.equal(c.class);
      });
    }
  });
});
