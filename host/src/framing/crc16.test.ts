import { expect } from 'chai';
import { crc16xmodem } from './crc16.js';

describe('crc16xmodem', () => {
  it('has the CRC-16/XMODEM check value 0x31C3 for "123456789"', () => {
    expect(crc16xmodem(Buffer.from('123456789', 'latin1'))).to.equal(0x31c3);
  });

  it('is 0 for no bytes (init 0, no final XOR)', () => {
    expect(crc16xmodem(new Uint8Array(0))).to.equal(0);
  });

  it('covers only [start, end)', () => {
    const b = Buffer.from('xx123456789yy', 'latin1');
    expect(crc16xmodem(b, 2, 11)).to.equal(0x31c3);
  });

  it('changes when one bit flips', () => {
    const a = Buffer.from('123456789', 'latin1');
    const b = Buffer.from(a);
    b[4]! ^= 0x01;
    expect(crc16xmodem(b)).to.not.equal(crc16xmodem(a));
  });
});
