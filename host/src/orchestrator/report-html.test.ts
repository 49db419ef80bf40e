/**
 * The report pages, opened in a real browser: Debian's chromium driven by playwright-core (one
 * package, no dependencies, no browser download; it drives any Chromium through executablePath).
 * Every run record comes from a real run of a spec that fails on purpose
 * (fixtures/report-page.suite.ts): on the twin in this process, and on twin and sim in parallel
 * through the CLI, merged by `hil report`. Each page must load offline with no console error and
 * no request, show the counts of its run.json, each failing test's diff and device log lines, and
 * plots holding every point; a screenshot is saved beside each page.
 *
 * HIL_REPORT_SCREENSHOT=docs/report-page.png also saves the top of the first page there (the README's).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import type { RunRecord } from './reporter.js';
import { histogramBins, renderDiff, timeline } from './report-html.js';
import { mergeReports } from './report-merge.js';
import { needTools } from '../testing/tools.js';
import { runHil } from '../testing/run-cli.js';

// As in run-suite.test.ts: the runner and the fixture suite share one (ESM) instance of the fixture module.
const { runSuite } = await import('./run-suite.js');

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(here, 'fixtures', 'report-page.suite.ts');
const readRun = (dir: string) => JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;

describe('report page: pieces', () => {
  it('a diff shows + expected and - actual, line by line for objects and word by word for one line', () => {
    const lines = renderDiff({ name: 'AssertionError', message: 'x', expected: '{\n  "a": 1\n  "b": 2\n}', actual: '{\n  "a": 1\n  "b": 3\n}', showDiff: true });
    expect(lines).to.include('<span class="add">+   &quot;b&quot;: 2</span>').and.include('<span class="del">-   &quot;b&quot;: 3</span>').and.include('<span>    &quot;a&quot;: 1</span>');
    const words = renderDiff({ name: 'AssertionError', message: 'x', expected: 'fw/2.0', actual: 'fw/1.0', showDiff: true });
    expect(words).to.include('<span class="del">- fw/<mark>1</mark>.0</span>').and.include('<span class="add">+ fw/<mark>2</mark>.0</span>');
    expect(renderDiff({ name: 'Error', message: 'no values' })).to.equal('');
    expect(renderDiff({ name: 'AssertionError', message: 'x', expected: 'a', actual: 'b', showDiff: false })).to.equal('');
  });

  it('histogram bins hold every sample, log-spaced over more than a decade', () => {
    const samples = [0.2, 0.25, 0.3, 1, 1.1, 5, 40, 40, 900];
    const bins = histogramBins(samples);
    expect(bins.reduce((n, b) => n + b.count, 0)).to.equal(samples.length);
    expect(bins[0]!.lo).to.be.closeTo(0.2, 1e-9);
    expect(bins.at(-1)!.hi).to.be.closeTo(900, 1e-6);
    // Log spacing: every bin spans the same ratio.
    expect(bins[1]!.hi / bins[1]!.lo).to.be.closeTo(bins[30]!.hi / bins[30]!.lo, 1e-9);
    expect(histogramBins([])).to.deep.equal([]);
    expect(histogramBins([2, 2, 2]).reduce((n, b) => n + b.count, 0)).to.equal(3);
  });

  it('a timeline span runs from the test\'s start (its beforeEach included) to its end; an older record without an end gets its body time', () => {
    const test = (title: string, startedAt: string, durationMs: number, endedAt?: string) => ({ suite: 's', title, fullTitle: `s ${title}`, file: undefined, outcome: 'passed' as const, startedAt, ...(endedAt ? { endedAt } : {}), durationMs, deviceLog: [] });
    const run = {
      board: 'b', target: 'twin', firmwareId: undefined, bootNonce: undefined, startedAt: '2026-01-01T00:00:00.000Z', durationMs: 1000,
      passed: 2, failed: 0, pending: 0, notRun: 0, notRunLink: 0, resets: [], finished: true, deviceLogBetweenTests: [],
      // 'a': 100 ms of beforeEach before a 100 ms body; 'b': a record from an older hil (no endedAt).
      tests: [test('a', '2026-01-01T00:00:00.000Z', 100, '2026-01-01T00:00:00.200Z'), test('b', '2026-01-01T00:00:00.500Z', 100)],
    } as unknown as RunRecord;
    const widths = [...timeline(run).matchAll(/<rect class="span"[^>]* width="([\d.]+)"[^>]*><title>([^<]*)</g)].map((m) => ({ width: Number(m[1]), title: m[2]! }));
    expect(widths).to.have.length(2);
    expect(widths[0]!.width / widths[1]!.width).to.be.closeTo(2, 0.02);
    expect(widths[0]!.title).to.include('100 ms').and.include('200 ms with its preparation');
    expect(widths[1]!.title).not.to.include('preparation');
  });
});

/** What a page shows, read from its DOM in the browser: per board section, the facts the tests compare with run.json. */
interface PageFacts {
  boards: {
    board: string;
    summary: Record<string, string>;
    tests: { title: string; outcome: string; open: boolean; message: string; diffAdd: string[]; diffDel: string[]; diffVisible: boolean; log: string[]; logVisible: boolean }[];
    rtt: { samples: number; counts: number[] } | undefined;
    durations: number;
    spans: number;
    resets: number;
    diag: { samples: number; counts: number[] } | undefined;
    bench: string[];
    ownPage: string | undefined;
  }[];
}

/**
 * Reads a page's facts in the browser (PageFacts). A string, not a function: the test runner's
 * compiler adds helpers to functions (esbuild's __name) that do not exist in the page.
 */
const READ_PAGE = `(() => {
  const visible = (e) => !!e && e.getClientRects().length > 0;
  const texts = (root, sel) => [...root.querySelectorAll(sel)].map((e) => e.textContent || '');
  const bars = (svg) => (svg ? { samples: Number(svg.getAttribute('data-samples')), counts: [...svg.querySelectorAll('rect.bar')].map((r) => Number(r.getAttribute('data-count'))) } : undefined);
  const rows = [...document.querySelectorAll('table.summary tr[data-board]')];
  return {
    boards: [...document.querySelectorAll('section.board')].map((s, i) => ({
      board: s.getAttribute('data-board') || '',
      summary: { ...rows[i].dataset },
      tests: [...s.querySelectorAll('details.test')].map((d) => ({
        title: d.getAttribute('data-title') || '',
        outcome: d.getAttribute('data-outcome') || '',
        open: d.open,
        message: d.querySelector('.message')?.textContent || '',
        diffAdd: texts(d, 'pre.diff .add'),
        diffDel: texts(d, 'pre.diff .del'),
        diffVisible: visible(d.querySelector('pre.diff')),
        log: [...d.querySelectorAll('pre.device-log')].flatMap((p) => (p.textContent || '').split('\\n')),
        logVisible: visible(d.querySelector('pre.device-log')),
      })),
      rtt: bars(s.querySelector('.plots svg.rtt-histogram')),
      durations: s.querySelectorAll('svg.durations rect.bar').length,
      spans: s.querySelectorAll('svg.timeline rect.span').length,
      resets: s.querySelectorAll('svg.timeline line.reset').length,
      diag: bars(s.querySelector('.diag svg.rtt-histogram')),
      bench: texts(s, 'table.bench tr th:first-child'),
      ownPage: s.querySelector('a.own-page')?.getAttribute('href') || undefined,
    })),
  };
})()`;

describe('report page in Debian chromium (playwright-core)', function () {
  this.timeout(180_000);
  let browser: Browser | undefined;
  let root = '';

  before(async function () {
    needTools(this, [['chromium', 'chromium']]);
    const executablePath = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).stdout.trim();
    const { chromium } = await import('playwright-core');
    // Chromium refuses to run as root with its sandbox (a container, a CI runner).
    browser = await chromium.launch({ executablePath, timeout: 60_000, args: process.getuid?.() === 0 ? ['--no-sandbox'] : [] });
    root = mkdtempSync(join(tmpdir(), 'hil-report-page-'));
  });
  after(async () => {
    await browser?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** Opens `file` offline; returns what the page shows, and every console error, page error and request it made. */
  async function open(file: string, screenshot: string, docsCopy?: string) {
    const context = await browser!.newContext({ offline: true, viewport: { width: 1100, height: 900 } });
    try {
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => void (m.type() === 'error' || m.type() === 'warning' ? problems.push(`console ${m.type()}: ${m.text()}`) : undefined));
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('request', (r) => void (r.url() !== pathToFileURL(file).href ? problems.push(`request: ${r.url()}`) : undefined));
      await page.goto(pathToFileURL(file).href, { timeout: 30_000 });
      const facts = (await page.evaluate(READ_PAGE)) as PageFacts;
      await page.screenshot({ path: screenshot, fullPage: true });
      // The README's: the first 1600 px (header, plots, diag and bench, the first failure).
      if (docsCopy) await page.screenshot({ path: docsCopy, fullPage: true, clip: { x: 0, y: 0, width: 1100, height: 1600 } });
      return { facts, problems };
    } finally {
      await context.close();
    }
  }

  /** The page's section for `run` shows run.json: counts, every failure's diff and device log lines, every plot point. */
  function expectBoard(b: PageFacts['boards'][number], run: RunRecord): void {
    expect(b.board).to.equal(run.board);
    expect(b.summary).to.include({ tests: String(run.tests.length), passed: String(run.passed), failed: String(run.failed), pending: String(run.pending), notRun: String(run.notRun) });
    expect(b.tests.map((t) => [t.title, t.outcome])).to.have.deep.members(run.tests.map((t) => [t.fullTitle, t.outcome]));
    for (const o of ['passed', 'failed', 'pending', 'not_run'] as const) {
      expect(b.tests.filter((t) => t.outcome === o).length, o).to.equal(run.tests.filter((t) => t.outcome === o).length);
    }
    for (const t of run.tests.filter((x) => x.outcome === 'failed')) {
      const shown = b.tests.find((x) => x.title === t.fullTitle)!;
      expect(shown.open, `${t.fullTitle} is open`).to.equal(true);
      expect(shown.message).to.include(t.error!.message.split('\n')[0]!);
      if (t.error!.expected !== undefined) {
        expect(shown.diffVisible, `${t.fullTitle}: diff visible`).to.equal(true);
        // Every line of expected that actual lacks is a + line, and the other way round.
        const exp = t.error!.expected.split('\n');
        const act = t.error!.actual!.split('\n');
        const add = shown.diffAdd.map((l) => l.replace(/^\+ /, ''));
        const del = shown.diffDel.map((l) => l.replace(/^- /, ''));
        for (const l of exp.filter((x) => !act.includes(x))) expect(add, `${t.fullTitle}: + ${l}`).to.include(l);
        for (const l of act.filter((x) => !exp.includes(x))) expect(del, `${t.fullTitle}: - ${l}`).to.include(l);
      }
      for (const line of t.deviceLog) expect(shown.log.some((l) => l.endsWith(` ${line.text}`)), `${t.fullTitle}: log line ${line.text}`).to.equal(true);
      if (t.deviceLog.length) expect(shown.logVisible).to.equal(true);
    }
    const rtt = run.link?.rttMs ?? [];
    expect(rtt.length, 'the run measured round trips').to.be.greaterThan(0);
    expect(b.rtt?.samples).to.equal(rtt.length);
    expect(b.rtt!.counts.reduce((n, c) => n + c, 0), 'histogram bars hold every round trip').to.equal(rtt.length);
    expect(b.durations, 'a duration bar per test').to.equal(run.tests.length);
    expect(b.spans, 'a timeline span per test that started').to.equal(run.tests.filter((t) => t.startedAt).length);
    expect(b.resets, 'a timeline mark per board reset').to.equal(run.resets.length);
  }

  it("a run's page: counts, a failing test's diff and device log lines, board resets, plots, diag and bench results from the run folder", async () => {
    const dir = join(root, 'twin');
    const result = await runSuite({ target: 'twin', files: [FIXTURE], reportDir: dir, board: 'twin', reporter: 'silent' });
    expect(result).to.include({ passes: 3, failures: 3, pending: 1, exitCode: 1 });
    expect(existsSync(join(dir, 'index.html')), 'the runner writes the page').to.equal(true);
    // diag and bench results kept in the run folder, then the page written again with them.
    const [diag, bench] = await Promise.all([runHil(['diag', '--target', 'twin', '--json', '--samples', '60']), runHil(['bench', '--target', 'twin', '--quick'])]);
    expect(diag.code, diag.stderr).to.equal(0);
    writeFileSync(join(dir, 'diag.json'), diag.stdout);
    expect(bench.code, bench.stderr).to.equal(0);
    writeFileSync(join(dir, 'bench.json'), bench.stdout);
    // As `hil report DIR --out DIR` does (the CLI's own path is the merge test's, below).
    expect(mergeReports([dir], dir)).to.include({ tests: 7, failed: 3, pending: 1, notRun: 0 });

    const run = readRun(dir);
    expect(run.resets, 'the fixture reboots the twin once').to.have.length(1);
    const failed = run.tests.find((t) => t.title.startsWith('fails on purpose: the context usage'))!;
    expect(failed.error).to.include({ showDiff: true });
    expect(failed.error!.expected).to.include('"globalsInUse": 1');
    expect(failed.error!.actual).to.include('"globalsInUse": 3');
    expect(failed.deviceLog.map((l) => l.text)).to.deep.equal(['report fixture: acquiring context 1', 'report fixture: stored global 2, reading stats']);

    const shot = join(dir, 'screenshot.png');
    const t0 = Date.now();
    const { facts, problems } = await open(join(dir, 'index.html'), shot, process.env.HIL_REPORT_SCREENSHOT);
    console.log(`      page opened, read and screenshot in ${Date.now() - t0} ms; ${readFileSync(join(dir, 'index.html')).length} bytes`);
    expect(problems).to.deep.equal([]);
    expect(facts.boards).to.have.length(1);
    expectBoard(facts.boards[0]!, run);
    const d = JSON.parse(diag.stdout) as { link: { rttMs: number[] } };
    expect(d.link.rttMs).to.have.length(60);
    expect(facts.boards[0]!.diag?.samples).to.equal(60);
    expect(facts.boards[0]!.diag!.counts.reduce((n, c) => n + c, 0)).to.equal(60);
    expect(facts.boards[0]!.bench).to.include('pipelined_ops_per_s');
    expect(readFileSync(shot).subarray(1, 4).toString()).to.equal('PNG');
  });

  it('a parallel run (twin and sim) writes a combined page, and hil report merges both folders into one page and one JUnit file', async () => {
    const par = join(root, 'parallel');
    const r = await runHil(['test', FIXTURE, '--board', 'twin', '--board', 'sim', '--report-dir', par]);
    expect(r.code, r.stdout + r.stderr).to.equal(1); // the fixture fails on purpose
    expect(r.stdout).to.include(`report: ${join(par, 'index.html')}`);
    const runs = ['twin', 'sim'].map((b) => readRun(join(par, b)));
    expect(runs.map((x) => x.failed)).to.deep.equal([3, 2]); // the reset test is pending off the twin

    const merged = join(root, 'merged');
    const m = await runHil(['report', join(par, 'twin'), join(par, 'sim'), '--out', merged]);
    expect(m.code, m.stderr).to.equal(0);
    expect(m.stdout).to.match(/^report: 2 runs, 14 tests \(5 failed, 3 pending, 0 not run\): /);
    const junit = readFileSync(join(merged, 'junit.xml'), 'utf8');
    expect(junit).to.match(/<testsuites name="hil" tests="14" failures="5" skipped="3"/);
    expect(junit).to.match(/<testsuite name="twin" tests="7" failures="3" skipped="1"/);
    expect(junit).to.match(/<testsuite name="sim" tests="7" failures="2" skipped="2"/);

    for (const [page, base] of [[join(merged, 'index.html'), '../parallel/'], [join(par, 'index.html'), '']] as const) {
      const { facts, problems } = await open(page, join(dirname(page), 'screenshot.png'));
      expect(problems, page).to.deep.equal([]);
      expect(facts.boards.map((b) => b.board)).to.deep.equal(['twin', 'sim']);
      facts.boards.forEach((b, i) => expectBoard(b, runs[i]!));
      expect(facts.boards.map((b) => b.ownPage)).to.deep.equal([`${base}twin/index.html`, `${base}sim/index.html`]);
      expect(existsSync(join(dirname(page), 'screenshot.png'))).to.equal(true);
    }
  });
});

describe('report files whatever the console reporter', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hil-report-reporter-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('--reporter tap prints TAP and still writes run.json (with expected/actual), junit.xml and index.html', async () => {
    const r = await runHil(['test', FIXTURE, '--target', 'twin', '--reporter', 'tap', '--report-dir', dir]);
    expect(r.code, r.stderr).to.equal(1);
    expect(r.stdout).to.match(/^ok 1 report fixture: globals stores and loads a global$/m).and.match(/^not ok 2 /m);
    const run = readRun(dir);
    expect(run).to.include({ passed: 3, failed: 3, pending: 1 });
    expect(run.tests.find((t) => t.error?.expected === 'cvm-fw/0.0.0-expected-by-the-fixture')?.error?.actual).to.match(/^cvm-twin\//);
    expect(readFileSync(join(dir, 'junit.xml'), 'utf8')).to.match(/<testsuite name="twin" tests="7" failures="3"/);
    expect(readFileSync(join(dir, 'index.html'), 'utf8')).to.include('<pre class="diff">');
    // A diag.json that is not hil diag's output: one line naming it and what belongs there, exit 2.
    writeFileSync(join(dir, 'diag.json'), 'not json\n');
    const bad = await runHil(['report', dir, '--out', join(dir, 'merged')]);
    expect(bad.code).to.equal(2);
    expect(bad.stderr.trim()).to.equal(`hil: ${join(dir, 'diag.json')}: no JSON line in it; keep there what hil diag --target T --json prints (hil diag --target T --json > ${join(dir, 'diag.json')})`);
  });

  it('an unknown reporter is one line naming it and the choices, exit 2, before anything runs', async () => {
    const r = await runHil(['test', FIXTURE, '--target', 'twin', '--reporter', 'no-such-reporter', '--report-dir', dir]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.match(/^hil: --reporter no-such-reporter: no such reporter; use spec or dot, one of Mocha's \(/);
    expect(r.stderr.trim().split('\n')).to.have.length(1);
    expect(existsSync(join(dir, 'run.json'))).to.equal(false);
  });

  it('hil report on a folder without run records names it and exits 2', async () => {
    const r = await runHil(['report', dir, '--out', join(dir, 'out')]);
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.equal(`hil: ${dir}: no run.json in it nor in its sub-folders; give run folders (hil test --report-dir) or a parallel run's report root`);
  });
});
