import { expect } from 'chai';
import { target } from './support/target.js';
import { cleanly, linkWindow, rejectsWith } from './support/expect.js';

// Requests that do not depend on each other's answers are issued together (pipelined): the device
// executes them in the order they were issued, so each stats sees exactly what was issued before it.
describe('telemetry: stats and high-water marks', () => {
  it('reports one entry per context, all idle after reset_pool', async () => {
    const { client, hello } = target();
    const s = await client.stats();
    expect(s.contexts).to.have.length(hello.maxVms);
    expect(s.contextsAcquired).to.equal(0);
    expect(s.contextsHw).to.equal(0);
    expect(s.acquires).to.equal(0);
    expect(s.releases).to.equal(0);
    expect(s.ops).to.equal(1, 'reset_pool counts itself once');
    for (const c of s.contexts) expect(c).to.deep.equal({ acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 });
  });

  it('tracks per-context usage: globals, arrays, elements, bytes', async () => {
    const { client, hello } = target();
    const [, , , , s] = await Promise.all([
      client.acquire(0),
      client.storeGlobal(0, 4, 1),
      client.createArray(0, 0, 3),
      client.createArray(0, hello.maxArrays - 1, hello.arrayElements),
      client.stats(),
    ]);
    const c = s.contexts[0]!;
    expect(c).to.deep.equal({
      acquired: true, globalsInUse: 5, arraysActive: 2, elements: 3 + hello.arrayElements, bytesUsed: 4 * (5 + 3 + hello.arrayElements),
      hwGlobals: 5, hwArrays: 2, hwElements: 3 + hello.arrayElements,
    });
  });

  it('keeps high-water marks across release and clears them with reset_pool', async () => {
    const { client, hello } = target();
    const n = Math.min(hello.maxVms, 3);
    const vms = Array.from({ length: n }, (_, vm) => vm);
    const [, , , , afterRelease, , afterReset] = await Promise.all([
      Promise.all(vms.map((vm) => client.acquire(vm))),
      client.storeGlobal(0, 9 % hello.maxGlobals, 1),
      client.createArray(0, 1 % hello.maxArrays, 2),
      Promise.all(vms.map((vm) => client.release(vm))),
      client.stats(),
      client.resetPool(),
      client.stats(),
    ]);
    let s = afterRelease;
    expect(s.contextsAcquired).to.equal(0);
    expect(s.contextsHw).to.equal(n);
    expect(s.acquires).to.equal(n);
    expect(s.releases).to.equal(n);
    expect(s.contexts[0]).to.deep.include({ acquired: false, globalsInUse: 0, hwGlobals: (9 % hello.maxGlobals) + 1, hwArrays: 1, hwElements: 2 });
    s = afterReset;
    expect(s.contextsHw).to.equal(0);
    expect(s.contexts[0]).to.deep.include({ hwGlobals: 0, hwArrays: 0, hwElements: 0 });
  });

  it('keeps each high-water mark at its maximum while a later owner uses less', async () => {
    const { client, hello } = target();
    const n = Math.min(hello.maxVms, 3);
    const vms = Array.from({ length: n }, (_, vm) => vm);
    const arrays = Math.min(hello.maxArrays, 2);
    const size = Math.min(hello.arrayElements, 3);
    // The first owner of vm 0 uses more than the second: every mark must stay at the first's.
    const [, , , , , s] = await Promise.all([
      Promise.all(vms.map((vm) => client.acquire(vm))),
      Promise.all(Array.from({ length: arrays }, (_, a) => client.createArray(0, a, size))),
      Promise.all(vms.map((vm) => client.release(vm))),
      client.acquire(0),
      client.createArray(0, 0, 1),
      client.stats(),
    ]);
    expect([s.contextsAcquired, s.contextsHw], 'contexts acquired now, and at most').to.deep.equal([1, n]);
    expect(s.contexts[0], 'vm 0 after a smaller second owner').to.deep.include({ arraysActive: 1, elements: 1, hwArrays: arrays, hwElements: arrays * size });
  });

  it('counts operations and operation errors', async () => {
    const { client } = target();
    const [before, , , , after] = await Promise.all([
      client.stats(),
      client.acquire(0),
      rejectsWith(client.acquire(0), 'already_acquired'),
      client.batch([{ op: 'load_global', vm: 0, global: 0 }, { op: 'release', vm: 1 }]),
      client.stats(),
    ]);
    expect(after.ops - before.ops).to.equal(1 + 1 + 1 + 2, 'stats, acquire, failed acquire, two batched ops');
    expect(after.opErrors - before.opErrors).to.equal(2);
  });

  it('counts every good frame it receives, this one included', async () => {
    const { client } = target();
    // Judged on a run the link delivered in order: a stats the device held past a gap runs when
    // the gap fills, and counts the frames that arrived after it by then (§3.3 rule 5).
    const [a, b, retransmits] = await cleanly('stats, echo, stats', async () => {
      const window = linkWindow();
      const [a, , b] = await Promise.all([client.stats(), client.echo(new Uint8Array([1])), client.stats()]);
      return [a, b, window().retransmits] as const;
    });
    // Each retransmission may bring one more copy of a request: exact on a clean link.
    expect(b.rxFrames - a.rxFrames).to.be.within(2, 2 + retransmits);
  });
});
