/**
 * `hil`: a thin command-line layer over the public API (targets, client, orchestrator). Exit
 * codes: 0 success, 1 tests failed, 2 usage or setup error (bad target, missing tool), 3 target
 * unreachable or misbehaving.
 */
import { Command, Option } from 'commander';
import { openTarget, TARGET_HELP } from '../targets/index.js';
import { runSuite } from '../orchestrator/run-suite.js';
import { collectDiagnostics, formatDiagnostics } from '../orchestrator/diag.js';
import { benchCodec, benchTarget } from '../orchestrator/bench.js';

const program = new Command();
program
  .name('hil')
  .description('Hardware-in-the-loop orchestrator for the ComponentVM static memory pool')
  .showHelpAfterError()
  .addHelpText('after', `\nTargets:\n${TARGET_HELP}\n\nExamples:\n  hil test --target twin\n  hil test --target serial:/dev/ttyUSB0 --grep arrays\n  hil diag --target twin --json`);

program
  .command('test')
  .description('run the HIL suite (hil-tests/) against a target; ends with Mocha\'s summary')
  .addOption(new Option('-t, --target <spec>', 'target to test').default(process.env.HIL_TARGET ?? 'twin'))
  .option('-g, --grep <pattern>', 'only run tests whose full title matches')
  .option('-r, --reporter <name>', 'Mocha reporter (spec, dot, json, ...)', 'spec')
  .addHelpText('after', '\nExamples:\n  hil test --target twin\n  hil test --target twin-pty --grep robustness\n  hil test --target serial:/dev/ttyACM0@115200')
  .action(async (opts: { target: string; grep?: string; reporter: string }) => {
    const result = await runSuite({ target: opts.target, grep: opts.grep, reporter: opts.reporter });
    process.exitCode = result.failures > 0 ? 1 : result.passes === 0 ? 2 : 0;
  });

program
  .command('diag')
  .description('print diagnostics: firmware, limits, uptime, reset cause, unique id, pool occupancy, link latency and throughput')
  .addOption(new Option('-t, --target <spec>', 'target to inspect').default(process.env.HIL_TARGET ?? 'twin'))
  .option('--json', 'print one JSON object instead of the report')
  .option('--samples <n>', 'round trips to time', (v) => Number.parseInt(v, 10), 200)
  .addHelpText('after', '\nExamples:\n  hil diag --target twin\n  hil diag --target serial:/dev/ttyUSB0 --json')
  .action(async (opts: { target: string; json?: boolean; samples: number }) => {
    const t = await openTarget(opts.target);
    try {
      const d = await collectDiagnostics(t.client, { samples: opts.samples });
      if (opts.json) {
        console.log(JSON.stringify({ ...d, hello: { ...d.hello, uniqueId: Buffer.from(d.hello.uniqueId).toString('hex') } }));
      } else {
        console.log(formatDiagnostics(d));
      }
    } finally {
      await t.close();
    }
  });

program
  .command('bench')
  .description('benchmark targets: single-op round trip, pipelined and batched throughput, host codec cost; a JSON line last')
  .option('-t, --target <spec...>', 'targets to measure, in order', ['twin'])
  .option('--quick', 'fewer operations (a smoke run)')
  .addHelpText('after', '\nExamples:\n  hil bench --target twin\n  hil bench --target twin sim --quick')
  .action(async (opts: { target: string[]; quick?: boolean }) => {
    const codec = benchCodec(opts.quick ? 20_000 : 200_000);
    console.log(`host codec: ${codec.codec_ns_per_op} ns/op (frame + CBOR, encode + decode) vs cbor-x alone ${codec.cborx_ns_per_op} ns/op: ${codec.codec_vs_cborx}x`);
    const all: Record<string, unknown> = {};
    for (const spec of opts.target) {
      const t = await openTarget(spec);
      try {
        const slow = !spec.startsWith('twin');
        const f = await benchTarget(t.client, opts.quick || slow
          ? { singleOps: opts.quick ? 300 : 2000, pipelinedOps: opts.quick ? 2000 : slow ? 20_000 : 100_000, batches: opts.quick ? 50 : 400 }
          : {});
        console.log(`${spec}: single ${f.single_ops_per_s} ops/s (rtt median ${f.single_rtt_median_ms} ms, p99 ${f.single_rtt_p99_ms} ms), pipelined ${f.pipelined_ops_per_s} ops/s, batched ${f.batched_ops_per_s} ops/s`);
        all[spec] = { ...f, ...codec };
      } finally {
        await t.close();
      }
    }
    console.log(JSON.stringify(all));
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  const err = e as Error & { exitCode?: number };
  console.error(`hil: ${err.message}`);
  process.exitCode = err.exitCode ?? 3;
}
