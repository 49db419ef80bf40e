/**
 * The telnet codec: data, negotiations and subnegotiations out of any chunking; IAC doubled in data
 * and inside subnegotiations, both ways.
 */
import { expect } from 'chai';
import { Telnet, TelnetDecoder, TelnetOption, escapeIac, negotiation, startsWithTelnet, subnegotiation } from './telnet.js';

function decodeAll(chunks: Buffer[]): { data: Buffer; events: string[] } {
  const data: Buffer[] = [];
  const events: string[] = [];
  const d = new TelnetDecoder({
    data: (b) => data.push(Buffer.from(b)),
    negotiate: (v, o) => events.push(`neg ${v} ${o}`),
    subnegotiation: (o, p) => events.push(`sb ${o} ${p.toString('hex')}`),
    command: (c) => events.push(`cmd ${c}`),
  });
  for (const c of chunks) d.push(c);
  return { data: Buffer.concat(data), events };
}

describe('telnet codec', () => {
  const wire = Buffer.concat([
    Buffer.from('ab'),
    negotiation(Telnet.WILL, TelnetOption.BINARY),
    Buffer.from([0x01, 0xff, 0xff, 0x02]),
    subnegotiation(TelnetOption.COM_PORT, Buffer.from([101, 0x00, 0xff, 0xc2, 0x00])),
    Buffer.from([Telnet.IAC, Telnet.NOP]),
    Buffer.from('z\n'),
  ]);
  const expected = {
    data: Buffer.concat([Buffer.from('ab'), Buffer.from([0x01, 0xff, 0x02]), Buffer.from('z\n')]),
    events: [`neg ${Telnet.WILL} 0`, 'sb 44 6500ffc200', `cmd ${Telnet.NOP}`],
  };

  it('splits data, negotiation, subnegotiation (IAC undoubled inside) and commands', () => {
    expect(decodeAll([wire])).to.deep.equal(expected);
  });

  it('gives the same result however the bytes are chunked, down to one byte a chunk', () => {
    for (let cut = 1; cut < wire.length; cut++) {
      expect(decodeAll([wire.subarray(0, cut), wire.subarray(cut)]), `cut at ${cut}`).to.deep.equal(expected);
    }
    expect(decodeAll([...wire].map((b) => Buffer.from([b])))).to.deep.equal(expected);
  });

  it('doubles IAC in data and in subnegotiations, and the decoder gets the bytes back', () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const esc = escapeIac(all);
    expect(esc.length).to.equal(257);
    expect(decodeAll([esc]).data).to.deep.equal(all);
    expect(escapeIac(Buffer.from('plain'))).to.deep.equal(Buffer.from('plain'));
    expect(subnegotiation(44, Buffer.from([1, 0xff]))).to.deep.equal(Buffer.from([255, 250, 44, 1, 255, 255, 255, 240]));
  });

  it('recognises a telnet server by its first bytes', () => {
    expect(startsWithTelnet(Buffer.from([0xff, 0xfb, 0x03]))).to.equal(true);
    expect(startsWithTelnet(Buffer.from('CVM-BOOT'))).to.equal(false);
    expect(startsWithTelnet(Buffer.from([0xff, 0xff]))).to.equal(false);
  });
});
