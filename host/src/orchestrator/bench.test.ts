/**
 * The bench's pure parts: the wire-limit arithmetic, the share of a ceiling measured in the same
 * run, a suite row, its table and the JSON line's shape. The bench itself is a measurement
 * (`npm run bench`), never a test.
 */
import { expect } from 'chai';
import { PoolClient } from '../client/pool-client.js';
import { TwinTransport } from '../twin/transport.js';
import { benchTarget, shareOfCeiling, wireLimitSeconds } from './bench.js';
import { dotReporterCounter } from './bench-link.js';
import { encodeCbor } from '../codec/cbor.js';
import { encodeFrame } from '../framing/frame.js';
import { Op } from '../protocol/constants.js';
import { SUITE_LINKS, benchJsonLine, formatSuiteTable, suiteLinkSpec, suiteRow, type BenchReport, type SuiteRow } from './bench-run.js';

describe('hil bench: figures', () => {
  it('a wire limit is the busier direction × 10 bits a byte over the baud rate (full duplex)', () => {
    // 65.6 KB up and 48.0 KB down at 115200: the host → device side bounds it, 5.69 s.
    expect(wireLimitSeconds(65_600, 48_000, 115_200)).to.be.closeTo(5.694, 0.001);
    expect(wireLimitSeconds(48_000, 65_600, 115_200)).to.equal(wireLimitSeconds(65_600, 48_000, 115_200));
    expect(wireLimitSeconds(11_520, 0, 115_200)).to.equal(1);
    expect(wireLimitSeconds(92_160, 92_160, 921_600)).to.equal(1);
    expect(() => wireLimitSeconds(1, 1, 0)).to.throw(RangeError, /baud must be > 0/);
  });

  it('a share of the ceiling divides by the ceiling measured, and is not given without one', () => {
    expect(shareOfCeiling(50_176, 67_379)).to.equal(0.74);
    expect(shareOfCeiling(40_000, 40_000)).to.equal(1);
    expect(shareOfCeiling(40_000, undefined)).to.equal(undefined);
    expect(shareOfCeiling(40_000, 0)).to.equal(undefined);
  });

  it('the echo is a share of the mean of the ceiling measured just before and just after it', async () => {
    const client = await PoolClient.connect(new TwinTransport());
    try {
      const ceilings = [40_000, 60_000];
      const phases: string[] = [];
      const f = await benchTarget(client, {
        singleOps: 10, pipelinedOps: 200, batches: 4,
        linkCeiling: async (bytes) => (phases.push(`ceiling ${bytes}`), ceilings.shift()),
        onPhase: (phase) => phases.push(phase),
      });
      // As many raw bytes each way as the echo phase moves: 200 echoes (the least) of a 64-byte payload, lines as long both ways.
      const eachWay = 200 * encodeFrame(encodeCbor([0xffffffff, Op.echo, new Uint8Array(64)])).length;
      expect(phases).to.deep.equal(['single round trips', 'pipelined operations', 'batches', `ceiling ${eachWay}`, 'echoes', `ceiling ${eachWay}`]);
      expect(f.link_ceiling_samples).to.deep.equal([40_000, 60_000]);
      expect(f.link_ceiling_bytes_per_s).to.equal(50_000);
      expect(f.echo_vs_link_ceiling).to.equal(shareOfCeiling(f.echo_line_bytes_per_s, 50_000));
      // No ceiling measured (or one run failed): no share.
      const g = await benchTarget(client, { singleOps: 10, pipelinedOps: 200, batches: 4, linkCeiling: async () => undefined });
      expect(g).not.to.have.any.keys('echo_vs_link_ceiling', 'link_ceiling_bytes_per_s');
    } finally {
      await client.close();
    }
  });

  it('a suite row carries its link, bytes each way, wire limit and the ratio of suite time to it', () => {
    expect(SUITE_LINKS.map(suiteLinkSpec)).to.deep.equal(['baud=115200,latency=1', 'baud=115200', 'baud=921600,latency=1']);
    const r = suiteRow('sim', { baud: 115200, latencyMs: 16 }, 56_900, { h2d: 66_000, d2h: 48_000 }, { tests: 60, passed: 59, failed: 0, notRun: 0 });
    expect(r).to.deep.equal({
      target: 'sim', link: 'baud=115200', baud: 115200, latency_ms: 16, suite_s: 56.9, bytes_h2d: 66_000, bytes_d2h: 48_000,
      wire_limit_s: 5.73, ratio: 9.9, tests: 60, passed: 59, failed: 0, not_run: 0,
    });
    const table = formatSuiteTable([r, suiteRow('sim', { baud: 921600, latencyMs: 1 }, 0, { h2d: 0, d2h: 0 }, { tests: 0, passed: 0, failed: 0, notRun: 0, problem: 'exit 2, no run.json' })]);
    expect(table).to.have.length(3);
    expect(table[0]).to.match(/^link +suite time +bytes host→device \/ device→host +wire limit +ratio +passed\/failed\/not run$/);
    expect(table[1]).to.match(/^115200, latency timer 16 ms +56\.9 s +66\.0 KB \/ 48\.0 KB +5\.7 s +9\.9× +59\/0\/0$/);
    expect(table[2]).to.match(/^921600, latency timer 1 ms .* 0\/0\/0  PROBLEM: exit 2, no run\.json$/);
  });

  it("counts a suite's finished tests from Mocha's dot reporter, not the dots of the lines tests print", () => {
    const count = dotReporterCounter();
    const seen = ['\n  ....', '.      link layer (PROTOCOL.md §3.3) answers: seed 7 (replay with HIL_SEED=7)\n', '..,', '!..  PROTOC', 'OL.md x.\n', '..\n\n  8 passing (3s)\n  1 pending\n', '....'].map(count);
    expect(seen).to.deep.equal([4, 5, 8, 11, undefined, 13, undefined]);
  });

  it('the JSON line keeps every target at the top level, beside the ceiling and the suite rows', () => {
    const row: SuiteRow = suiteRow('sim', SUITE_LINKS[0]!, 20_900, { h2d: 65_600, d2h: 48_000 }, { tests: 60, passed: 60, failed: 0, notRun: 0 });
    const target = { boot_to_ready_ms: 30, single_ops_per_s: 1, single_rtt_median_ms: 1, single_rtt_p99_ms: 1, pipelined_ops_per_s: 1, batched_ops_per_s: 1, echo_line_bytes_per_s: 50_000, link_ceiling_bytes_per_s: 67_379, link_ceiling_samples: [67_000, 67_758] as [number, number], echo_vs_link_ceiling: 0.74, codec_ns_per_op: 1, cborx_ns_per_op: 1, codec_vs_cborx: 1 };
    const report: BenchReport = {
      targets: { twin: { ...target }, qemu: target },
      qemu_raw_echo: [{ bytes: 65536, window_bytes: 1024, seconds: 1.9, h2d_bytes_per_s: 33_700, d2h_bytes_per_s: 33_600, both_bytes_per_s: 67_379, beside: 'qemu' }],
      suite_on_link: [row],
    };
    const parsed = JSON.parse(benchJsonLine(report)) as Record<string, unknown>;
    expect(Object.keys(parsed)).to.deep.equal(['twin', 'qemu', 'qemu_raw_echo', 'suite_on_link']);
    expect((parsed.qemu as { echo_vs_link_ceiling: number }).echo_vs_link_ceiling).to.equal(0.74);
    expect(parsed.suite_on_link).to.deep.equal([row]);
    expect(Object.keys(JSON.parse(benchJsonLine({ targets: { twin: target } })) as object)).to.deep.equal(['twin']);
  });
});
