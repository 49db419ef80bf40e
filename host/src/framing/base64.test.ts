import { expect } from 'chai';
import { base64DecodeStrict, base64Encode } from './base64.js';

describe('base64 (strict, canonical)', () => {
  it('round-trips every length 0..20', () => {
    for (let n = 0; n <= 20; n++) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff));
      const text = base64Encode(bytes);
      expect(text.length % 4).to.equal(0);
      expect(base64DecodeStrict(text)).to.deep.equal(bytes);
    }
  });

  it('encodes a subarray without the rest of its buffer', () => {
    const whole = Buffer.from('abcdef');
    expect(base64Encode(whole.subarray(1, 4))).to.equal(Buffer.from('bcd').toString('base64'));
  });

  const rejected: [string, string][] = [
    ['missing padding', 'QUI'],
    ['missing both pad characters', 'QQ'],
    ['a length not a multiple of 4', 'QUJDR'],
    ['whitespace inside', 'QU JD'],
    ['a trailing newline', 'QUJD\n'],
    ['the URL-safe alphabet', 'ab-_'],
    ['padding in the middle', 'QQ==QUJD'],
    ['three pad characters', 'Q==='],
    ['non-zero unused bits before ==', 'QR=='],
    ['non-zero unused bits before =', 'QUK='],
    ['a non-ASCII character', 'QUJé'],
  ];
  for (const [what, text] of rejected) {
    it(`rejects ${what}`, () => {
      expect(base64DecodeStrict(text)).to.equal(null);
    });
  }

  it('accepts the empty string as zero bytes', () => {
    expect(base64DecodeStrict('')).to.deep.equal(Buffer.alloc(0));
  });

  it('accepts canonical padding forms', () => {
    expect(base64DecodeStrict('QQ==')).to.deep.equal(Buffer.from('A'));
    expect(base64DecodeStrict('QUI=')).to.deep.equal(Buffer.from('AB'));
    expect(base64DecodeStrict('QUJD')).to.deep.equal(Buffer.from('ABC'));
  });
});
