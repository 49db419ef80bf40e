import { expect } from 'chai';
import { decodeCbor, encodeCbor } from './cbor.js';

const hex = (v: unknown) => encodeCbor(v).toString('hex');

describe('codec: cbor-x configuration', () => {
  it('keeps every integer a CBOR integer in its shortest form, past 32 bits too', () => {
    expect(hex(0)).to.equal('00');
    expect(hex(-2147483648)).to.equal('3a7fffffff');
    expect(hex(4294967295)).to.equal('1affffffff');
    expect(hex(4294967296)).to.equal('1b0000000100000000');
    expect(hex(-4294967297)).to.equal('3b0000000100000000');
    expect(hex([1, [2 ** 40]])).to.equal('8201811b0000010000000000');
    expect(hex(new Map([[1, 2 ** 33]]))).to.equal('a1011b0000000200000000');
  });

  it('writes maps with integer keys and byte strings without tags', () => {
    expect(hex(new Map<number, unknown>([[1, 'a'], [2, new Uint8Array([7])]]))).to.equal('a2016161024107');
  });

  it('writes a non-integer as a float, so a device can refuse it', () => {
    expect(hex(1.5)).to.match(/^f[9ab]/);
  });

  it('decodes maps as Maps and byte strings as bytes', () => {
    const v = decodeCbor(Buffer.from('a1014107', 'hex')) as Map<number, Uint8Array>;
    expect(v).to.be.instanceOf(Map);
    expect([...v.get(1)!]).to.deep.equal([7]);
  });
});
