import { expect } from 'chai';
import { Framing } from '../protocol/constants.js';
import { LineReader } from './line-reader.js';

/** Feeds chunks and collects the lines, after the parser's possible next-tick delivery. */
async function lines(chunks: (string | Buffer)[], end = false): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const r = new LineReader((l) => out.push(l));
  for (const c of chunks) r.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c);
  if (end) r.end();
  await new Promise((resolve) => setImmediate(resolve));
  return out;
}

describe('LineReader', () => {
  it('splits at \\n across chunk boundaries and keeps bytes ≥ 0x80', async () => {
    const got = await lines(['ab', 'c\nde', 'f\n\xff\x80\n']);
    expect(got.map((b) => b.toString('latin1'))).to.deep.equal(['abc', 'def', '\xff\x80']);
  });

  it('keeps a trailing CR for classifyLine to remove', async () => {
    const got = await lines(['one\r\ntwo\r', '\n']);
    expect(got.map((b) => b.toString('latin1'))).to.deep.equal(['one\r', 'two\r']);
  });

  it('drops empty lines (the parser pushes nothing for them; §2.1 row 2 ignores them anyway)', async () => {
    const got = await lines(['\n\nx\n\r\n']);
    expect(got.map((b) => b.toString('latin1'))).to.deep.equal(['x', '\r']);
  });

  it('caps an overlong line at max_line_bytes + 1 so it still classifies as overlong', async () => {
    const long = Buffer.alloc(10_000, 0x41);
    const got = await lines([long.subarray(0, 3000), long.subarray(3000), '\nnext\n']);
    expect(got).to.have.length(2);
    expect(got[0]!.length).to.equal(Framing.maxLineBytes + 1);
    expect(got[1]!.toString()).to.equal('next');
  });

  it('a line of exactly max_line_bytes is passed whole', async () => {
    const got = await lines([Buffer.alloc(Framing.maxLineBytes, 0x42), '\n']);
    expect(got[0]!.length).to.equal(Framing.maxLineBytes);
  });

  it('never holds more than the cap of a line without \\n', async () => {
    const out: Buffer[] = [];
    const r = new LineReader((l) => out.push(l));
    for (let i = 0; i < 100; i++) r.push(Buffer.alloc(1000, 0x43));
    r.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(out).to.have.length(1);
    expect(out[0]!.length).to.equal(Framing.maxLineBytes + 1);
  });
});
