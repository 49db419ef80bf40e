import { expect } from 'chai';
import { join } from 'node:path';
import { REPO_ROOT } from '../targets/toolchain.js';
import { LinkSpecError } from '../transport/emulator.js';
import { testByTestWireLimitSeconds, wireLimitSeconds } from './bench.js';
import { formatSuiteOnLink, suiteOnLink } from './suite-on-link.js';

const wireLimitMs = (h2d: number, d2h: number, baud: number): number => wireLimitSeconds(h2d, d2h, baud) * 1000;

describe('suiteOnLink: the suite through a paced emulated link, against the wire', function () {
  this.timeout(60_000);

  it('works out the wire limit from the larger direction, 10 bits a byte', () => {
    expect(wireLimitMs(11_520, 100, 115_200)).to.equal(1000);
    expect(wireLimitMs(100, 92_160, 921_600)).to.equal(1000);
  });

  it('sums the tests\' own wire limits for tests run one after another, never below the whole run\'s', () => {
    // One test that only writes, one that only reads: together they could share the wire, one by one they cannot.
    const tests = [{ outcome: 'passed', wireBytes: { h2d: 11_520, d2h: 0 } }, { outcome: 'failed', wireBytes: { h2d: 0, d2h: 11_520 } }, { outcome: 'pending' }];
    expect(testByTestWireLimitSeconds(tests, 115_200)).to.equal(2);
    expect(wireLimitSeconds(11_520, 11_520, 115_200)).to.equal(1);
    expect(testByTestWireLimitSeconds([{ outcome: 'passed', wireBytes: { h2d: 5_760, d2h: 11_520 } }], 115_200)).to.equal(1);
    // A test that ran without counts (an older record) leaves it unknown, not low.
    expect(testByTestWireLimitSeconds([...tests, { outcome: 'passed' }], 115_200)).to.equal(undefined);
  });

  it('runs hil test through the emulator and reads the bytes each way from its run.json', async () => {
    const r = await suiteOnLink('twin', 'baud=921600,latency=1', { files: [join(REPO_ROOT, 'hil-tests', 'hello.test.ts')] });
    expect(r.problem).to.equal(undefined);
    expect({ passed: r.passed, failed: r.failed, notRun: r.notRun, exitCode: r.exitCode }).to.deep.equal({ passed: 4, failed: 0, notRun: 0, exitCode: 0 });
    // Four hellos at least each way: a hello request line is over 10 bytes, its answer over 60.
    expect(r.bytesH2d).to.be.above(40);
    expect(r.bytesD2h).to.be.above(240);
    expect(r.wireLimitMs).to.equal(wireLimitMs(r.bytesH2d, r.bytesD2h, 921_600));
    expect(r.suiteMs).to.be.above(0);
    expect(r.ratio).to.be.closeTo(r.suiteMs / r.wireLimitMs, 1e-9);
    // Each test's bytes (the bring-up's hello is in none): at most all of them, counted both ways.
    expect(r.testWireLimitMs).to.be.above(0).and.at.most(wireLimitMs(r.bytesH2d + r.bytesD2h, 0, 921_600));
    expect(r.testRatio).to.be.closeTo(r.suiteMs / r.testWireLimitMs, 1e-9);
    expect(formatSuiteOnLink(r)).to.match(/^\| twin \| baud=921600,latency=1 \| [\d.]+ s \| [\d.]+ KB \/ [\d.]+ KB \| [\d.]+ s \| [\d.]+× \| [\d.]+ s \| [\d.]+× \| \d+ \|$/);
  });

  it('times a clean link without a wire limit', async () => {
    const r = await suiteOnLink('twin', 'none', { files: [join(REPO_ROOT, 'hil-tests', 'hello.test.ts')] });
    expect({ passed: r.passed, baud: r.baud, wireLimitMs: r.wireLimitMs, ratio: r.ratio, problem: r.problem }).to.deep.equal({ passed: 4, baud: undefined, wireLimitMs: 0, ratio: 0, problem: undefined });
  });

  it('refuses a bad link spec before starting anything', async () => {
    let error: unknown;
    await suiteOnLink('twin', 'baud=fast').catch((e: unknown) => (error = e));
    expect(error).to.be.instanceOf(LinkSpecError);
  });
});
