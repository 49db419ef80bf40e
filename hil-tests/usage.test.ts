/**
 * Usage figures at their boundaries (PROTOCOL.md §6; issue 14: a mutant that skipped the update
 * when the id stored was exactly globals_in_use survived the suite): storing the next id grows
 * globals_in_use by one, from 0; the high-water mark follows it and stays after release.
 */
import { expect } from 'chai';
import { target } from './support/target.js';

describe('usage: globals in use and high-water marks at their boundaries', () => {
  it('grows globals_in_use one by one when each next id is stored, from id 0', async () => {
    const { client, hello } = target();
    await client.acquire(0);
    const steps = Math.min(3, hello.maxGlobals);
    for (let g = 0; g < steps; g++) {
      await client.storeGlobal(0, g, g + 1);
      const c = (await client.stats()).contexts[0]!;
      expect([c.globalsInUse, c.hwGlobals, c.bytesUsed], `after storing global ${g}: in use, high-water, bytes`).to.deep.equal([g + 1, g + 1, 4 * (g + 1)]);
    }
  });

  it('keeps the globals high-water mark after release and sets it again from 0 for the next owner', async () => {
    const { client, hello } = target();
    const top = Math.min(2, hello.maxGlobals - 1);
    await client.acquire(0);
    await client.storeGlobal(0, top, 1);
    await client.release(0);
    await client.acquire(0);
    let c = (await client.stats()).contexts[0]!;
    expect([c.globalsInUse, c.hwGlobals], 'after release and acquire').to.deep.equal([0, top + 1]);
    await client.storeGlobal(0, 0, 1);
    c = (await client.stats()).contexts[0]!;
    expect([c.globalsInUse, c.hwGlobals], 'the new owner stored global 0').to.deep.equal([1, top + 1]);
  });
});
