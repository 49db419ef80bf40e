/**
 * A diagnostics script: says hello, prints the firmware, its limits and the pool, exercises every
 * context briefly, and checks the link counters stayed clean. The kind of check a bench engineer
 * runs before trusting a board for a long test.
 *
 *   npx tsx examples/diagnostics.ts --target twin
 *   npx tsx examples/diagnostics.ts --target serial:/dev/ttyUSB0
 */
import { openTarget } from '../host/src/targets/index.js';
import { collectDiagnostics, formatDiagnostics } from '../host/src/orchestrator/diag.js';
import { exampleArgs, runExample } from './args.js';

const values = exampleArgs(
  'diagnostics',
  'diagnostics: hello, firmware, limits and pool, every context exercised, the link counters checked.\n\n  npx tsx examples/diagnostics.ts --target sim',
  { target: { type: 'string', default: 'twin' } },
  { target: 'the target spec, as hil test --target takes it' },
);
await runExample('diagnostics', async () => {
  const t = await openTarget(values.target!);
  try {
    const { client } = t;
    const before = await client.stats();
    for (let vm = 0; vm < client.info!.maxVms; vm++) {
      await client.acquire(vm);
      await client.storeGlobal(vm, 0, vm);
      if ((await client.loadGlobal(vm, 0)) !== vm) throw new Error(`context ${vm} did not keep a global`);
      await client.release(vm);
    }
    const d = await collectDiagnostics(client, { samples: 100 });
    console.log(formatDiagnostics(d));
    const linkErrors = (s: typeof before) => s.rxBadFrame + s.rxBadCrc + s.rxOverlong + s.rxMalformed + s.rxOverrun;
    const grew = linkErrors(d.stats) - linkErrors(before);
    console.log(grew === 0 ? 'verdict: healthy (every context answered, no link errors)' : `verdict: ${grew} link errors during the check`);
    if (grew !== 0) process.exitCode = 1;
  } catch (e) {
    console.error(`diagnostics: FAILED: ${(e as Error).message}`);
    process.exitCode = 1;
  } finally {
    await t.close();
  }
});
