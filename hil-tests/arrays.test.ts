import { expect } from 'chai';
import { target } from './support/target.js';
import { rejectsWith } from './support/expect.js';

// Requests that do not depend on each other's answers are issued together (pipelined): the device
// executes them in the order they were issued, as if awaited one by one (see globals.test.ts).
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('arrays', () => {
  // Every test works in context 0: its acquire goes out with the test's first requests, ahead of them.

  it('a created array reads 0 everywhere and keeps what is stored', async () => {
    const { client, hello } = target();
    const size = hello.arrayElements;
    const [, , zeros, , stored] = await Promise.all([
      client.acquire(0),
      client.createArray(0, 0, size),
      Promise.all(range(size).map((i) => client.loadArray(0, 0, i))),
      Promise.all(range(size).map((i) => client.storeArray(0, 0, i, i * 3 - 7))),
      Promise.all(range(size).map((i) => client.loadArray(0, 0, i))),
    ]);
    for (let i = 0; i < size; i++) expect(zeros[i]).to.equal(0);
    for (let i = 0; i < size; i++) expect(stored[i]).to.equal(i * 3 - 7);
  });

  it('every array id up to max_arrays works, and ids past it are out_of_range', async () => {
    const { client, hello } = target();
    const ids = range(hello.maxArrays);
    const [, , , values] = await Promise.all([
      client.acquire(0),
      Promise.all(ids.map((a) => client.createArray(0, a, 1))),
      Promise.all(ids.map((a) => client.storeArray(0, a, 0, a))),
      Promise.all(ids.map((a) => client.loadArray(0, a, 0))),
      rejectsWith(client.createArray(0, hello.maxArrays, 1), 'out_of_range'),
      rejectsWith(client.loadArray(0, hello.maxArrays, 0), 'out_of_range'),
      rejectsWith(client.storeArray(0, -1, 0, 0), 'out_of_range'),
    ]);
    for (const a of ids) expect(values[a]).to.equal(a);
  });

  it('refuses size 0 and sizes past array_elements (bad_size)', async () => {
    const { client, hello } = target();
    await Promise.all([
      client.acquire(0),
      rejectsWith(client.createArray(0, 0, 0), 'bad_size'),
      rejectsWith(client.createArray(0, 0, hello.arrayElements + 1), 'bad_size'),
      rejectsWith(client.createArray(0, 0, -1), 'bad_size'),
      client.createArray(0, 0, hello.arrayElements),
    ]);
  });

  it('refuses creating an active array again (array_exists) and keeps its contents', async () => {
    const { client } = target();
    const [, , , , value] = await Promise.all([
      client.acquire(0),
      client.createArray(0, 1, 4),
      client.storeArray(0, 1, 3, 9),
      rejectsWith(client.createArray(0, 1, 4), 'array_exists'),
      client.loadArray(0, 1, 3),
    ]);
    expect(value).to.equal(9);
  });

  it('refuses loads and stores on an array never created (array_inactive)', async () => {
    const { client } = target();
    await Promise.all([client.acquire(0), rejectsWith(client.loadArray(0, 0, 0), 'array_inactive'), rejectsWith(client.storeArray(0, 0, 0, 1), 'array_inactive')]);
  });

  it('refuses an index at or past the array size (past_size, the per-array tightening)', async () => {
    const { client, hello } = target();
    await Promise.all([
      client.acquire(0),
      client.createArray(0, 0, 3),
      client.storeArray(0, 0, 2, 1),
      rejectsWith(client.loadArray(0, 0, 3), 'past_size'),
      rejectsWith(client.storeArray(0, 0, 3, 1), 'past_size'),
      rejectsWith(client.loadArray(0, 0, hello.arrayElements - 1), 'past_size'),
    ]);
  });

  it('refuses an index at or past array_elements, and negative indexes (out_of_range)', async () => {
    const { client, hello } = target();
    await Promise.all([
      client.acquire(0),
      client.createArray(0, 0, hello.arrayElements),
      rejectsWith(client.loadArray(0, 0, hello.arrayElements), 'out_of_range'),
      rejectsWith(client.storeArray(0, 0, hello.arrayElements, 1), 'out_of_range'),
      rejectsWith(client.loadArray(0, 0, -1), 'out_of_range'),
    ]);
  });

  it('checks in the specified order: array id, index limit, active, size', async () => {
    const { client, hello } = target();
    await Promise.all([
      client.acquire(0),
      rejectsWith(client.loadArray(0, hello.maxArrays, hello.arrayElements), 'out_of_range'),
      rejectsWith(client.loadArray(0, 0, hello.arrayElements), 'out_of_range'),
      rejectsWith(client.createArray(0, hello.maxArrays, 0), 'out_of_range'),
      client.createArray(0, 0, 1),
      rejectsWith(client.createArray(0, 0, 0), 'bad_size'),
    ]);
  });

  it('refuses values outside int32 (bad_arg)', async () => {
    const { client } = target();
    await Promise.all([client.acquire(0), client.createArray(0, 0, 1), rejectsWith(client.storeArray(0, 0, 0, 2 ** 31), 'bad_arg')]);
  });
});
