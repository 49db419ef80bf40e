import { expect } from 'chai';
import { target } from './support/target.js';
import { rejectsWith } from './support/expect.js';

// Requests that do not depend on each other's answers are issued together (pipelined): the device
// executes them in the order they were issued, as if awaited one by one (see globals.test.ts).
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('contexts: acquire and release', () => {
  it('acquires and releases every context', async () => {
    const { client, hello } = target();
    const vms = range(hello.maxVms);
    const [, taken, , freed] = await Promise.all([
      Promise.all(vms.map((vm) => client.acquire(vm))),
      client.stats(),
      Promise.all(vms.map((vm) => client.release(vm))),
      client.stats(),
    ]);
    expect(taken.contextsAcquired).to.equal(hello.maxVms);
    expect(freed.contextsAcquired).to.equal(0);
  });

  it('refuses a second acquire of a taken context (already_acquired)', async () => {
    const { client } = target();
    await Promise.all([client.acquire(0), rejectsWith(client.acquire(0), 'already_acquired')]);
  });

  it('refuses ids at and past max_vms, and negative ids (out_of_range)', async () => {
    const { client, hello } = target();
    await Promise.all([
      rejectsWith(client.acquire(hello.maxVms), 'out_of_range'),
      rejectsWith(client.acquire(hello.maxVms + 1000), 'out_of_range'),
      rejectsWith(client.acquire(-1), 'out_of_range'),
      rejectsWith(client.release(hello.maxVms), 'out_of_range'),
      rejectsWith(client.loadGlobal(hello.maxVms, 0), 'out_of_range'),
      rejectsWith(client.createArray(hello.maxVms, 0, 1), 'out_of_range'),
    ]);
  });

  it('refuses release of a free context (not_acquired)', async () => {
    const { client } = target();
    await Promise.all([
      rejectsWith(client.release(1), 'not_acquired'),
      client.acquire(1),
      client.release(1),
      rejectsWith(client.release(1), 'not_acquired'),
    ]);
  });

  it('fails every operation on a context that is not acquired (not_acquired)', async () => {
    const { client } = target();
    await Promise.all([
      rejectsWith(client.loadGlobal(0, 0), 'not_acquired'),
      rejectsWith(client.storeGlobal(0, 0, 1), 'not_acquired'),
      rejectsWith(client.createArray(0, 0, 1), 'not_acquired'),
      rejectsWith(client.loadArray(0, 0, 0), 'not_acquired'),
      rejectsWith(client.storeArray(0, 0, 0, 1), 'not_acquired'),
    ]);
  });

  it('when every slot is taken, no further context can be had (exhaustion)', async () => {
    const { client, hello } = target();
    const vms = range(hello.maxVms);
    await Promise.all([
      ...vms.map((vm) => client.acquire(vm)),
      ...vms.map((vm) => rejectsWith(client.acquire(vm), 'already_acquired')),
      client.release(hello.maxVms - 1),
      client.acquire(hello.maxVms - 1),
    ]);
  });

  it('zeroes a context on release: nothing survives into the next owner', async () => {
    const { client, hello } = target();
    const vm = 2 % hello.maxVms;
    const globals = range(hello.maxGlobals);
    const elements = range(hello.arrayElements);
    const [, , , , , , globalsAfter, , , elementsAfter, s] = await Promise.all([
      client.acquire(vm),
      Promise.all(globals.map((g) => client.storeGlobal(vm, g, -1 - g))),
      client.createArray(vm, 0, hello.arrayElements),
      Promise.all(elements.map((i) => client.storeArray(vm, 0, i, 0x5a5a5a5a))),
      client.release(vm),
      client.acquire(vm),
      Promise.all(globals.map((g) => client.loadGlobal(vm, g))),
      rejectsWith(client.loadArray(vm, 0, 0), 'array_inactive'),
      client.createArray(vm, 0, hello.arrayElements),
      Promise.all(elements.map((i) => client.loadArray(vm, 0, i))),
      client.stats(),
    ]);
    for (const g of globals) expect(globalsAfter[g], `global ${g}`).to.equal(0);
    for (const i of elements) expect(elementsAfter[i], `element ${i}`).to.equal(0);
    expect(s.contexts[vm]).to.include({ acquired: true, globalsInUse: 0, arraysActive: 1, elements: hello.arrayElements });
  });

  it('zeroes a context on acquire after reset_pool released it', async () => {
    const { client } = target();
    const [, , , , value] = await Promise.all([client.acquire(0), client.storeGlobal(0, 3, 77), client.resetPool(), client.acquire(0), client.loadGlobal(0, 3)]);
    expect(value).to.equal(0);
  });
});

/** Isolation between two contexts means nothing on a one-context build: said as pending, not passed. */
function needTwoContexts(ctx: Mocha.Context, maxVms: number): void {
  if (maxVms >= 2) return;
  console.log(`      pending: this build has ${maxVms} context; isolation needs two`);
  ctx.skip();
}

describe('contexts: isolation', () => {
  it('a write to one context is never visible in another (globals and arrays)', async () => {
    const { client, hello } = target();
    const vms = range(hello.maxVms);
    const globals = range(hello.maxGlobals);
    const elements = range(hello.arrayElements);
    // Every write is issued before the first read-back (as when awaited one by one).
    const writes = Promise.all([
      ...vms.map((vm) => client.acquire(vm)),
      ...vms.flatMap((vm) => [
        client.createArray(vm, 0, hello.arrayElements),
        ...globals.map((g) => client.storeGlobal(vm, g, vm * 1_000_000 + g)),
        ...elements.map((i) => client.storeArray(vm, 0, i, -(vm * 1_000_000 + i))),
      ]),
    ]);
    const reads = Promise.all(vms.map((vm) => Promise.all([Promise.all(globals.map((g) => client.loadGlobal(vm, g))), Promise.all(elements.map((i) => client.loadArray(vm, 0, i)))])));
    const [, got] = await Promise.all([writes, reads]);
    for (const vm of vms) {
      const [globalsOf, elementsOf] = got[vm]!;
      for (const g of globals) expect(globalsOf[g]).to.equal(vm * 1_000_000 + g);
      for (const i of elements) expect(elementsOf[i]).to.equal(-(vm * 1_000_000 + i));
    }
  });

  it('releasing one context leaves the others intact', async function () {
    const { client, hello } = target();
    needTwoContexts(this, hello.maxVms);
    const [, , , , , , global, element] = await Promise.all([
      client.acquire(0),
      client.acquire(1),
      client.storeGlobal(1, 0, 42),
      client.createArray(1, 1, 2),
      client.storeArray(1, 1, 1, 43),
      client.release(0),
      client.loadGlobal(1, 0),
      client.loadArray(1, 1, 1),
    ]);
    expect(global).to.equal(42);
    expect(element).to.equal(43);
  });

  it('an array created in one context is inactive in another', async function () {
    const { client, hello } = target();
    needTwoContexts(this, hello.maxVms);
    await Promise.all([
      client.acquire(0),
      client.acquire(1),
      client.createArray(0, 2 % hello.maxArrays, 4),
      rejectsWith(client.loadArray(1, 2 % hello.maxArrays, 0), 'array_inactive'),
    ]);
  });
});
