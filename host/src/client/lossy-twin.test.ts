/**
 * The client over the product's link emulator (seeded byte faults, both directions) against the
 * twin: every request is executed exactly once and in order, and every result is right. The seed
 * is printed; HIL_SEED=N replays a run.
 */
import { expect } from 'chai';
import { LinkEmulator } from '../transport/emulator.js';
import { TwinTransport } from '../twin/index.js';
import { PoolClient } from './pool-client.js';

describe('PoolClient over a lossy link (emulator, twin)', function () {
  this.timeout(60_000);

  for (const ber of [1e-3, 1e-2]) {
    it(`store-then-load pairs, pipelined, at a byte error rate of ${ber}: exactly once, in order`, async () => {
      const seed = process.env.HIL_SEED ? Number(process.env.HIL_SEED) >>> 0 : (Math.random() * 0x100000000) >>> 0;
      console.log(`      seed ${seed} (replay: HIL_SEED=${seed})`);
      const faults = { ber };
      const link = new LinkEmulator(new TwinTransport(), { h2d: faults, d2h: faults, seed });
      const client = await PoolClient.connect(link);
      try {
        await client.resetPool();
        await client.acquire(1);
        const before = await client.stats();
        const n = 1000;
        // Each store writes a new value, and the load after it must read that value: a store
        // executed twice (later) or out of order would show in some load.
        const work: Promise<unknown>[] = [];
        for (let i = 0; i < n; i++) {
          const g = i % 64;
          work.push(i % 2 === 0 ? client.storeGlobal(1, g, i) : client.loadGlobal(1, (i - 1) % 64));
        }
        const results = await Promise.all(work);
        results.forEach((v, i) => expect(v).to.equal(i % 2 === 0 ? undefined : i - 1, `seed ${seed}: request ${i}`));
        const after = await client.stats();
        expect(after.ops - before.ops).to.equal(n + 1, `seed ${seed}: operations executed (the first stats included)`);
        const s = client.linkStats();
        console.log(`      ${s.transmissions} transmissions, ${s.retransmits} retransmits, ${s.goBacks} go-backs, ${s.fastRetransmits} fast, ${s.timeouts} timeouts; device replayed ${(after as { replayed?: number }).replayed}`);
        if (ber >= 1e-2) expect(s.retransmits).to.be.greaterThan(0);
      } finally {
        await client.close();
      }
    });
  }
});
