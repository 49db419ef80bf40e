import { expect } from 'chai';
import { Framing, type BatchOp } from '../host/src/index.js';
import { rejectsWith } from './support/expect.js';
import { target } from './support/target.js';

describe('pipelining and batches', () => {
  it('answers many requests in flight, each with its own result, in order', async () => {
    const { client, hello } = target();
    const n = hello.maxGlobals;
    // All in flight at once, in order: the acquire, every store, then every load.
    const [, , values] = await Promise.all([
      client.acquire(0),
      Promise.all(Array.from({ length: n }, (_, g) => client.storeGlobal(0, g, g * 7 - 100))),
      Promise.all(Array.from({ length: n }, (_, g) => client.loadGlobal(0, g))),
    ]);
    expect(values).to.deep.equal(Array.from({ length: n }, (_, g) => g * 7 - 100));
  });

  it('keeps successes and failures of pipelined requests apart', async () => {
    const { client, hello } = target();
    const [, results] = await Promise.all([
      client.acquire(0),
      Promise.allSettled(Array.from({ length: 40 }, (_, i) => (i % 2 ? client.loadGlobal(0, hello.maxGlobals + i) : client.loadGlobal(0, i % hello.maxGlobals)))),
    ]);
    results.forEach((r, i) => expect(r.status, `request ${i}`).to.equal(i % 2 ? 'rejected' : 'fulfilled'));
  });

  it('runs a batch in order with one result per operation', async () => {
    const { client, hello } = target();
    const results = await client.batch([
      { op: 'acquire', vm: 0 },
      { op: 'store_global', vm: 0, global: 1, value: -5 },
      { op: 'load_global', vm: 0, global: 1 },
      { op: 'create_array', vm: 0, array: 0, size: 2 },
      { op: 'store_array', vm: 0, array: 0, index: 1, value: 8 },
      { op: 'load_array', vm: 0, array: 0, index: 1 },
      { op: 'load_array', vm: 0, array: 0, index: 2 },
      { op: 'acquire', vm: hello.maxVms },
      { op: 'release', vm: 0 },
      { op: 'load_global', vm: 0, global: 1 },
    ]);
    expect(results).to.deep.equal([
      { ok: true }, { ok: true }, { ok: true, value: -5 }, { ok: true }, { ok: true }, { ok: true, value: 8 },
      { ok: false, code: 9, error: 'past_size' }, { ok: false, code: 3, error: 'out_of_range' }, { ok: true }, { ok: false, code: 4, error: 'not_acquired' },
    ]);
  });

  it('splits a batch longer than max_batch across requests and keeps the order', async () => {
    const { client, hello } = target();
    const n = hello.maxBatch * 2 + 5;
    const ops: BatchOp[] = Array.from({ length: n }, (_, i) => ({ op: 'store_global', vm: 0, global: i % hello.maxGlobals, value: i }));
    const [, res, last] = await Promise.all([client.acquire(0), client.batch(ops), client.loadGlobal(0, (n - 1) % hello.maxGlobals)]);
    expect(res).to.have.length(n);
    expect(res.every((r) => r.ok)).to.equal(true);
    expect(last).to.equal(n - 1);
  });

  it('refuses a batch of more than max_batch operations sent raw (too_large)', async () => {
    const { client, hello } = target();
    const ops = Array.from({ length: hello.maxBatch + 1 }, () => [11]);
    // rejectsWith passes any other error on (a link error then makes the test not run, not fail).
    await rejectsWith(client.call(9, [ops]), 'too_large');
  });

  it('echoes payloads up to the largest that fits a frame', async () => {
    const { client } = target();
    // [array header, seq (up to 5 bytes), op 10, byte-string header (3 bytes from 256 on)]
    const biggest = Framing.maxMessageBytes - (1 + 5 + 1 + 3);
    const sizes = [0, 1, 23, 24, 255, 256, biggest];
    const payloads = sizes.map((size) => Uint8Array.from({ length: size }, (_, i) => (i * 31 + size) & 0xff));
    const echoed = await Promise.all(payloads.map((p) => client.echo(p)));
    sizes.forEach((size, k) => expect(Buffer.from(echoed[k]!).equals(Buffer.from(payloads[k]!)), `payload of ${size}`).to.equal(true));
  });
});
