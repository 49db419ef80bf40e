/**
 * Soak test: on every context, over and over, acquire → fill every global and one full-size array
 * per array slot with a pattern → read it all back → release → check the context reads as zeroed
 * after the next acquire. Prints one line per cycle and a summary; exits 1 on the first mismatch.
 *
 *   npx tsx examples/soak.ts --target twin --cycles 20
 *   npx tsx examples/soak.ts --target serial:/dev/ttyUSB0 --cycles 1000
 */
import { openTarget } from '../host/src/targets/index.js';
import type { BatchOp } from '../host/src/index.js';
import { exampleArgs, positiveInt, runExample } from './args.js';

const values = exampleArgs(
  'soak',
  'soak: on every context, over and over: acquire, fill every global and array, read back, release, check it is zeroed.\n\n  npx tsx examples/soak.ts --target twin --cycles 20',
  { target: { type: 'string', default: 'twin' }, cycles: { type: 'string', default: '10' } },
  { target: 'the target spec, as hil test --target takes it', cycles: 'cycles over every context' },
);
await runExample('soak', async () => {
  const cycles = positiveInt('cycles', values.cycles);
  const t = await openTarget(values.target!);
  const { client } = t;
  const h = client.info!;
  const pattern = (cycle: number, vm: number, i: number) => (Math.imul(cycle + 1, 0x9e3779b1) ^ (vm << 24) ^ i) | 0;
  let ops = 0;
  const t0 = Date.now();

  try {
    await client.resetPool();
    for (let cycle = 0; cycle < cycles; cycle++) {
      for (let vm = 0; vm < h.maxVms; vm++) {
        await client.acquire(vm);
        // The previous owner's data must be gone (zeroed on release and on acquire).
        const zeroes = await client.batch(Array.from({ length: h.maxGlobals }, (_, g): BatchOp => ({ op: 'load_global', vm, global: g })));
        if (zeroes.some((r) => !r.ok || r.value !== 0)) throw new Error(`cycle ${cycle}: context ${vm} was not zeroed`);
        const writes: BatchOp[] = Array.from({ length: h.maxGlobals }, (_, g) => ({ op: 'store_global', vm, global: g, value: pattern(cycle, vm, g) }));
        for (let a = 0; a < h.maxArrays; a++) {
          writes.push({ op: 'create_array', vm, array: a, size: h.arrayElements });
          for (let i = 0; i < h.arrayElements; i++) writes.push({ op: 'store_array', vm, array: a, index: i, value: pattern(cycle, vm, 1000 + a * h.arrayElements + i) });
        }
        const wr = await client.batch(writes);
        const failed = wr.findIndex((r) => !r.ok);
        if (failed >= 0) throw new Error(`cycle ${cycle}: context ${vm}: ${writes[failed]!.op} failed: ${JSON.stringify(wr[failed])}`);
        const reads: BatchOp[] = Array.from({ length: h.maxGlobals }, (_, g) => ({ op: 'load_global', vm, global: g }));
        for (let a = 0; a < h.maxArrays; a++) for (let i = 0; i < h.arrayElements; i++) reads.push({ op: 'load_array', vm, array: a, index: i });
        const rd = await client.batch(reads);
        rd.forEach((r, i) => {
          const expected = i < h.maxGlobals ? pattern(cycle, vm, i) : pattern(cycle, vm, 1000 + (i - h.maxGlobals));
          if (!r.ok || r.value !== expected) throw new Error(`cycle ${cycle}: context ${vm}: ${JSON.stringify(reads[i])} read ${JSON.stringify(r)}, expected ${expected}`);
        });
        await client.release(vm);
        ops += zeroes.length + writes.length + reads.length + 2;
      }
      const s = await client.stats();
      console.log(`cycle ${cycle + 1}/${cycles}: ${h.maxVms} contexts filled and verified; pool ops ${s.ops}, errors ${s.opErrors}, link errors ${s.rxBadFrame + s.rxBadCrc + s.rxOverlong + s.rxMalformed}`);
    }
    const seconds = (Date.now() - t0) / 1000;
    console.log(`soak: ${cycles} cycles, ${ops} operations in ${seconds.toFixed(1)} s (${Math.round(ops / seconds)} ops/s) on ${client.target}: no mismatch`);
  } catch (e) {
    console.error(`soak: FAILED on ${client.target}: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await t.close();
  }
});
