import { expect } from 'chai';
import { target } from './support/target.js';
import { rejectsWith } from './support/expect.js';

describe('arrays', () => {
  beforeEach(async () => {
    await target().client.acquire(0);
  });

  it('a created array reads 0 everywhere and keeps what is stored', async () => {
    const { client, hello } = target();
    const size = hello.arrayElements;
    await client.createArray(0, 0, size);
    for (let i = 0; i < size; i++) expect(await client.loadArray(0, 0, i)).to.equal(0);
    for (let i = 0; i < size; i++) await client.storeArray(0, 0, i, i * 3 - 7);
    for (let i = 0; i < size; i++) expect(await client.loadArray(0, 0, i)).to.equal(i * 3 - 7);
  });

  it('every array id up to max_arrays works, and ids past it are out_of_range', async () => {
    const { client, hello } = target();
    for (let a = 0; a < hello.maxArrays; a++) await client.createArray(0, a, 1);
    for (let a = 0; a < hello.maxArrays; a++) await client.storeArray(0, a, 0, a);
    for (let a = 0; a < hello.maxArrays; a++) expect(await client.loadArray(0, a, 0)).to.equal(a);
    await rejectsWith(client.createArray(0, hello.maxArrays, 1), 'out_of_range');
    await rejectsWith(client.loadArray(0, hello.maxArrays, 0), 'out_of_range');
    await rejectsWith(client.storeArray(0, -1, 0, 0), 'out_of_range');
  });

  it('refuses size 0 and sizes past array_elements (bad_size)', async () => {
    const { client, hello } = target();
    await rejectsWith(client.createArray(0, 0, 0), 'bad_size');
    await rejectsWith(client.createArray(0, 0, hello.arrayElements + 1), 'bad_size');
    await rejectsWith(client.createArray(0, 0, -1), 'bad_size');
    await client.createArray(0, 0, hello.arrayElements);
  });

  it('refuses creating an active array again (array_exists) and keeps its contents', async () => {
    const { client } = target();
    await client.createArray(0, 1, 4);
    await client.storeArray(0, 1, 3, 9);
    await rejectsWith(client.createArray(0, 1, 4), 'array_exists');
    expect(await client.loadArray(0, 1, 3)).to.equal(9);
  });

  it('refuses loads and stores on an array never created (array_inactive)', async () => {
    const { client } = target();
    await rejectsWith(client.loadArray(0, 0, 0), 'array_inactive');
    await rejectsWith(client.storeArray(0, 0, 0, 1), 'array_inactive');
  });

  it('refuses an index at or past the array size (past_size, the per-array tightening)', async () => {
    const { client, hello } = target();
    await client.createArray(0, 0, 3);
    await client.storeArray(0, 0, 2, 1);
    await rejectsWith(client.loadArray(0, 0, 3), 'past_size');
    await rejectsWith(client.storeArray(0, 0, 3, 1), 'past_size');
    await rejectsWith(client.loadArray(0, 0, hello.arrayElements - 1), 'past_size');
  });

  it('refuses an index at or past array_elements, and negative indexes (out_of_range)', async () => {
    const { client, hello } = target();
    await client.createArray(0, 0, hello.arrayElements);
    await rejectsWith(client.loadArray(0, 0, hello.arrayElements), 'out_of_range');
    await rejectsWith(client.storeArray(0, 0, hello.arrayElements, 1), 'out_of_range');
    await rejectsWith(client.loadArray(0, 0, -1), 'out_of_range');
  });

  it('checks in the specified order: array id, index limit, active, size', async () => {
    const { client, hello } = target();
    await rejectsWith(client.loadArray(0, hello.maxArrays, hello.arrayElements), 'out_of_range');
    await rejectsWith(client.loadArray(0, 0, hello.arrayElements), 'out_of_range');
    await rejectsWith(client.createArray(0, hello.maxArrays, 0), 'out_of_range');
    await client.createArray(0, 0, 1);
    await rejectsWith(client.createArray(0, 0, 0), 'bad_size');
  });

  it('refuses values outside int32 (bad_arg)', async () => {
    const { client } = target();
    await client.createArray(0, 0, 1);
    await rejectsWith(client.storeArray(0, 0, 0, 2 ** 31), 'bad_arg');
  });
});
