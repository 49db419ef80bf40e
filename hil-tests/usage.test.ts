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
    const steps = Math.min(3, hello.maxGlobals);
    // Issued together: each stats follows its store and sees it and no later one (the device
    // executes in order, as if awaited one by one).
    const [, ...answers] = await Promise.all([client.acquire(0), ...Array.from({ length: steps }, (_, g) => [client.storeGlobal(0, g, g + 1), client.stats()]).flat()]);
    for (let g = 0; g < steps; g++) {
      const c = (answers[2 * g + 1] as Awaited<ReturnType<typeof client.stats>>).contexts[0]!;
      expect([c.globalsInUse, c.hwGlobals, c.bytesUsed], `after storing global ${g}: in use, high-water, bytes`).to.deep.equal([g + 1, g + 1, 4 * (g + 1)]);
    }
  });

  it('keeps the globals high-water mark after release and sets it again from 0 for the next owner', async () => {
    const { client, hello } = target();
    const top = Math.min(2, hello.maxGlobals - 1);
    // Issued together, in the order they would be awaited: each stats sees the steps before it.
    const [, , , , afterRelease, , newOwner] = await Promise.all([
      client.acquire(0),
      client.storeGlobal(0, top, 1),
      client.release(0),
      client.acquire(0),
      client.stats(),
      client.storeGlobal(0, 0, 1),
      client.stats(),
    ]);
    let c = afterRelease.contexts[0]!;
    expect([c.globalsInUse, c.hwGlobals], 'after release and acquire').to.deep.equal([0, top + 1]);
    c = newOwner.contexts[0]!;
    expect([c.globalsInUse, c.hwGlobals], 'the new owner stored global 0').to.deep.equal([1, top + 1]);
  });
});
