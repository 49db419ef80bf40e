import { expect } from 'chai';
import { target } from './support/target.js';
import { prng, rejectsWith, seedFor } from './support/expect.js';

describe('globals', () => {
  beforeEach(async () => {
    await target().client.acquire(0);
  });

  it('a global that was never stored reads 0', async () => {
    const { client, hello } = target();
    for (let g = 0; g < hello.maxGlobals; g++) expect(await client.loadGlobal(0, g)).to.equal(0);
  });

  it('stores and loads the int32 extremes', async () => {
    const { client, hello } = target();
    for (const v of [0, 1, -1, 2147483647, -2147483648, 0x12345678]) {
      await client.storeGlobal(0, hello.maxGlobals - 1, v);
      expect(await client.loadGlobal(0, hello.maxGlobals - 1)).to.equal(v);
    }
  });

  it('refuses global ids at and past max_globals, and negative ids (out_of_range)', async () => {
    const { client, hello } = target();
    await rejectsWith(client.loadGlobal(0, hello.maxGlobals), 'out_of_range');
    await rejectsWith(client.storeGlobal(0, hello.maxGlobals, 1), 'out_of_range');
    await rejectsWith(client.storeGlobal(0, -1, 1), 'out_of_range');
    await rejectsWith(client.loadGlobal(0, 2 ** 31), 'out_of_range');
  });

  it('refuses values outside int32 (bad_arg)', async () => {
    const { client } = target();
    await rejectsWith(client.storeGlobal(0, 0, 2147483648), 'bad_arg');
    await rejectsWith(client.storeGlobal(0, 0, -2147483649), 'bad_arg');
    expect(await client.loadGlobal(0, 0)).to.equal(0);
  });

  it('counts globals in use as the highest id stored plus one', async () => {
    const { client, hello } = target();
    await client.storeGlobal(0, 2, 5);
    expect((await client.stats()).contexts[0]!.globalsInUse).to.equal(3);
    await client.storeGlobal(0, 0, 5);
    expect((await client.stats()).contexts[0]!.globalsInUse).to.equal(3);
    await client.storeGlobal(0, hello.maxGlobals - 1, 0);
    const c = (await client.stats()).contexts[0]!;
    expect(c.globalsInUse).to.equal(hello.maxGlobals);
    expect(c.bytesUsed).to.equal(4 * hello.maxGlobals);
  });

  it('random stores read back what was last stored (seeded)', async function () {
    const { client, hello } = target();
    const rand = prng(seedFor(this.test!.fullTitle()));
    const shadow = new Map<number, number>();
    for (let i = 0; i < 500; i++) {
      const g = Math.floor(rand() * hello.maxGlobals);
      if (rand() < 0.6) {
        const v = (Math.floor(rand() * 2 ** 32) | 0);
        await client.storeGlobal(0, g, v);
        shadow.set(g, v);
      } else {
        expect(await client.loadGlobal(0, g), `global ${g} after ${i} steps`).to.equal(shadow.get(g) ?? 0);
      }
    }
  });
});
