import { expect } from 'chai';
import { encodeCbor } from './cbor.js';
import { MalformedCbor, readStrict } from './strict.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function malformed(bytes: Buffer, reason: RegExp): void {
  try {
    readStrict(bytes);
  } catch (e) {
    expect(e).to.be.instanceOf(MalformedCbor);
    expect((e as MalformedCbor).reason).to.match(reason);
    return;
  }
  expect.fail(`accepted ${bytes.toString('hex')}`);
}

describe('readStrict (PROTOCOL.md §3.1 step 1)', () => {
  describe('malformed input', () => {
    const cases: [string, string, RegExp][] = [
      ['nothing', '', /truncated/],
      ['a truncated uint16 argument', '19 01', /truncated/],
      ['a truncated array', '83 01 02', /truncated/],
      ['a byte string longer than the input', '45 01 02', /truncated/],
      ['an array count past the input', '9a ffffffff 00', /truncated/],
      ['an indefinite-length array', '9f 01 ff', /indefinite/],
      ['an indefinite-length byte string', '5f 41 00 ff', /indefinite/],
      ['an indefinite-length map', 'bf ff', /indefinite/],
      ['reserved additional information 28', '1c', /reserved/],
      ['reserved additional information in a simple', 'fc', /reserved/],
      ['a break outside an indefinite item', 'ff', /break/],
      ['a two-byte simple value below 32', 'f8 10', /simple/],
      ['bytes after the item', '82 01 00 00', /after the item/],
      ['two items', '01 02', /after the item/],
      ['nesting deeper than 4', '81 81 81 81 81 00', /deeper than 4/],
      ['depth through a map', '81 81 a1 00 81 00', /deeper than 4/],
      ['depth through a tag', '81 81 81 c1 00', /deeper than 4/],
    ];
    for (const [what, bytes, reason] of cases) {
      it(`rejects ${what}`, () => malformed(hex(bytes), reason));
    }

    it('reports the offset of the problem', () => {
      try {
        readStrict(hex('82 01 9f'));
        expect.fail('accepted');
      } catch (e) {
        expect((e as MalformedCbor).offset).to.equal(2);
        expect((e as MalformedCbor).message).to.match(/byte 2/);
      }
    });
  });

  describe('types are kept', () => {
    it('depth 4 is accepted', () => {
      expect(readStrict(hex('81 81 81 00'))).to.deep.equal({ t: 'array', v: [{ t: 'array', v: [{ t: 'array', v: [{ t: 'int', v: 0 }] }] }] });
    });

    it('integers, including non-shortest encodings, negatives and beyond 2^53 as bigint', () => {
      expect(readStrict(hex('18 05'))).to.deep.equal({ t: 'int', v: 5 });
      expect(readStrict(hex('1a 00000005'))).to.deep.equal({ t: 'int', v: 5 });
      expect(readStrict(hex('38 63'))).to.deep.equal({ t: 'int', v: -100 });
      expect(readStrict(hex('1b ffffffffffffffff'))).to.deep.equal({ t: 'int', v: 0xffffffffffffffffn });
      expect(readStrict(hex('3b ffffffffffffffff'))).to.deep.equal({ t: 'int', v: -0x10000000000000000n });
      expect(readStrict(hex('1b 001fffffffffffff'))).to.deep.equal({ t: 'int', v: Number.MAX_SAFE_INTEGER });
    });

    it('floats stay floats, even 1.0 (cbor-x would decode it as 1)', () => {
      expect(readStrict(hex('f9 3c00'))).to.deep.equal({ t: 'float' });
      expect(readStrict(hex('fa 3f800000'))).to.deep.equal({ t: 'float' });
      expect(readStrict(hex('fb 3ff0000000000000'))).to.deep.equal({ t: 'float' });
    });

    it('byte strings keep their bytes; text, maps, tags and simple values are typed', () => {
      expect(readStrict(hex('43 010203'))).to.deep.equal({ t: 'bytes', v: hex('010203') });
      expect(readStrict(hex('62 6869'))).to.deep.equal({ t: 'text' });
      expect(readStrict(hex('a1 01 02'))).to.deep.equal({ t: 'map' });
      expect(readStrict(hex('c1 01'))).to.deep.equal({ t: 'tag' });
      for (const s of ['f4', 'f5', 'f6', 'f7', 'f8 20']) expect(readStrict(hex(s))).to.deep.equal({ t: 'simple' });
    });

    it('reads what encodeCbor writes for a request', () => {
      const item = readStrict(encodeCbor([4294967295, 10, Buffer.from([1, 2])]));
      expect(item).to.deep.equal({ t: 'array', v: [{ t: 'int', v: 4294967295 }, { t: 'int', v: 10 }, { t: 'bytes', v: Buffer.from([1, 2]) }] });
    });
  });
});
