import { expect } from 'chai';
import { target } from './support/target.js';
import { prng, rejectsWith, seedFor } from './support/expect.js';

// Requests that do not depend on each other's answers are issued together (pipelined): the client
// sends them in call order and the device executes them in seq order, so each runs after the ones
// issued before it, exactly as if awaited one by one, while the wire stays busy.
describe('globals', () => {
  // Every test works in context 0: its acquire goes out with the test's first requests, ahead of them.

  it('a global that was never stored reads 0', async () => {
    const { client, hello } = target();
    const ids = Array.from({ length: hello.maxGlobals }, (_, g) => g);
    const [, values] = await Promise.all([client.acquire(0), Promise.all(ids.map((g) => client.loadGlobal(0, g)))]);
    for (const g of ids) expect(values[g], `global ${g}`).to.equal(0);
  });

  it('stores and loads the int32 extremes', async () => {
    const { client, hello } = target();
    const g = hello.maxGlobals - 1;
    const values = [0, 1, -1, 2147483647, -2147483648, 0x12345678];
    // Each load is issued right after its store, so it runs before the next store.
    const [, loads] = await Promise.all([client.acquire(0), Promise.all(values.map((v) => Promise.all([client.storeGlobal(0, g, v), client.loadGlobal(0, g)])))]);
    values.forEach((v, i) => expect(loads[i]![1]).to.equal(v));
  });

  it('refuses global ids at and past max_globals, and negative ids (out_of_range)', async () => {
    const { client, hello } = target();
    await Promise.all([
      client.acquire(0),
      rejectsWith(client.loadGlobal(0, hello.maxGlobals), 'out_of_range'),
      rejectsWith(client.storeGlobal(0, hello.maxGlobals, 1), 'out_of_range'),
      rejectsWith(client.storeGlobal(0, -1, 1), 'out_of_range'),
      rejectsWith(client.loadGlobal(0, 2 ** 31), 'out_of_range'),
    ]);
  });

  it('refuses values outside int32 (bad_arg)', async () => {
    const { client } = target();
    const [, , , value] = await Promise.all([
      client.acquire(0),
      rejectsWith(client.storeGlobal(0, 0, 2147483648), 'bad_arg'),
      rejectsWith(client.storeGlobal(0, 0, -2147483649), 'bad_arg'),
      client.loadGlobal(0, 0),
    ]);
    expect(value).to.equal(0);
  });

  it('counts globals in use as the highest id stored plus one', async () => {
    const { client, hello } = target();
    // Each stats is issued right after its store: it sees that store and no later one.
    const [, , s1, , s2, , s3] = await Promise.all([
      client.acquire(0),
      client.storeGlobal(0, 2, 5),
      client.stats(),
      client.storeGlobal(0, 0, 5),
      client.stats(),
      client.storeGlobal(0, hello.maxGlobals - 1, 0),
      client.stats(),
    ]);
    expect(s1.contexts[0]!.globalsInUse).to.equal(3);
    expect(s2.contexts[0]!.globalsInUse).to.equal(3);
    const c = s3.contexts[0]!;
    expect(c.globalsInUse).to.equal(hello.maxGlobals);
    expect(c.bytesUsed).to.equal(4 * hello.maxGlobals);
  });

  it('random stores read back what was last stored (seeded)', async function () {
    const { client, hello } = target();
    const rand = prng(seedFor(this.test!.fullTitle()));
    const shadow = new Map<number, number>();
    // The steps are drawn first (the draws never depend on an answer), then issued together: each
    // load is checked against the shadow as it stood when the load was issued.
    const loads: { step: number; g: number; expected: number; value: Promise<number> }[] = [];
    const stores: Promise<void>[] = [client.acquire(0)];
    for (let i = 0; i < 500; i++) {
      const g = Math.floor(rand() * hello.maxGlobals);
      if (rand() < 0.6) {
        const v = (Math.floor(rand() * 2 ** 32) | 0);
        stores.push(client.storeGlobal(0, g, v));
        shadow.set(g, v);
      } else {
        loads.push({ step: i, g, expected: shadow.get(g) ?? 0, value: client.loadGlobal(0, g) });
      }
    }
    const [, values] = await Promise.all([Promise.all(stores), Promise.all(loads.map((l) => l.value))]);
    loads.forEach((l, k) => expect(values[k], `global ${l.g} after ${l.step} steps`).to.equal(l.expected));
  });
});
