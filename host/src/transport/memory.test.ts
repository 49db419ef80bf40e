import { expect } from 'chai';
import { once } from 'node:events';
import { createMemoryLink, type MemoryTransport } from './memory.js';
import { TransportError } from './transport.js';

function collect(t: MemoryTransport): Buffer[] {
  const got: Buffer[] = [];
  t.on('data', (c) => got.push(c));
  return got;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('memory link', () => {
  it('names its ends', () => {
    const [a, b] = createMemoryLink('client', 'twin');
    expect(a.name).to.equal('client');
    expect(b.name).to.equal('twin');
  });

  it('delivers bytes to the other end in order, never inside write()', async () => {
    const [a, b] = createMemoryLink();
    await a.open();
    await b.open();
    const got = collect(b);
    await a.write(Buffer.from('one '));
    a.write(Buffer.from('two ')).catch(() => {});
    expect(got).to.have.length(0);
    await turn();
    await a.write(Buffer.from('three'));
    await turn();
    expect(Buffer.concat(got).toString()).to.equal('one two three');
  });

  it('is duplex', async () => {
    const [a, b] = createMemoryLink();
    await a.open();
    await b.open();
    const ga = collect(a);
    const gb = collect(b);
    await a.write(Buffer.from('ping'));
    await b.write(Buffer.from('pong'));
    await turn();
    expect(Buffer.concat(gb).toString()).to.equal('ping');
    expect(Buffer.concat(ga).toString()).to.equal('pong');
  });

  it('copies: the writer may reuse its buffer after write()', async () => {
    const [a, b] = createMemoryLink();
    await a.open();
    await b.open();
    const got = collect(b);
    const buf = Buffer.from('abc');
    await a.write(buf);
    buf.fill(0x7a);
    await turn();
    expect(Buffer.concat(got).toString()).to.equal('abc');
  });

  it('holds bytes for an end that is not open yet', async () => {
    const [a, b] = createMemoryLink();
    await a.open();
    await a.write(Buffer.from('early'));
    const got = collect(b);
    await turn();
    expect(got).to.have.length(0);
    await b.open();
    await turn();
    expect(Buffer.concat(got).toString()).to.equal('early');
  });

  it('rejects writes before open and after close with TransportError', async () => {
    const [a] = createMemoryLink('client', 'twin');
    const e1 = await a.write(Buffer.from('x')).catch((e: unknown) => e);
    expect(e1).to.be.instanceOf(TransportError).with.property('kind', 'closed');
    await a.open();
    await a.close();
    const e2 = await a.write(Buffer.from('x')).catch((e: unknown) => e);
    expect(e2).to.be.instanceOf(TransportError).and.have.property('message').that.matches(/^client: /);
    expect(a.isOpen).to.equal(false);
  });

  it('close(): own close event without error; the peer gets the bytes, then close with a disconnected error', async () => {
    const [a, b] = createMemoryLink('client', 'twin');
    await a.open();
    await b.open();
    const got = collect(b);
    const events: string[] = [];
    a.on('close', (e) => events.push(`a:${e ? e.kind : 'none'}`));
    b.on('close', (e) => events.push(`b:${e ? e.kind : 'none'}:${got.length}`));
    await a.write(Buffer.from('last words'));
    await a.close();
    await a.close(); // twice is safe
    await turn();
    await turn();
    expect(events).to.deep.equal(['a:none', 'b:disconnected:1']);
    expect(b.isOpen).to.equal(false);
    await b.close();
  });

  it('sever(): both ends close with a disconnected TransportError naming themselves', async () => {
    const [a, b] = createMemoryLink('client', 'twin');
    await a.open();
    await b.open();
    const ca = once(a, 'close');
    const cb = once(b, 'close');
    a.sever('cable pulled');
    const [ea] = (await ca) as [TransportError];
    const [eb] = (await cb) as [TransportError];
    expect(ea.kind).to.equal('disconnected');
    expect(ea.message).to.equal('client: cable pulled');
    expect(eb.message).to.equal('twin: cable pulled');
  });

  it('keeps up with many small writes (coalesced delivery)', async () => {
    const [a, b] = createMemoryLink();
    await a.open();
    await b.open();
    let bytes = 0;
    let chunks = 0;
    b.on('data', (c) => {
      bytes += c.length;
      chunks++;
    });
    const line = Buffer.from('~AAAAAAAAAAAA\n');
    for (let i = 0; i < 10_000; i++) void a.write(line);
    await turn();
    expect(bytes).to.equal(10_000 * line.length);
    expect(chunks).to.equal(1);
  });
});
