/**
 * The report a person reads: one self-contained HTML page (no script, no network, no external file:
 * it opens from disk, from a CI artefact, from an e-mail) for one run or for several boards' runs
 * merged (report-merge.ts). It holds, per board: the run's header (board, machine, target, firmware
 * id, limits, boot nonce, start, duration, link counters and retransmits), a timeline of the tests
 * with the board resets on it, a histogram of the link's round-trip times, the per-test durations,
 * every suite and test with its outcome and duration, each failure with its message, expected /
 * actual diff and stack, the device's log lines credited to each test, and the `hil diag --json` and
 * `hil bench` results kept in the run folder (diag.json, bench.json).
 *
 * The plots are SVG written here, at report time, not a chart library run in the browser: the page
 * needs no script at all (nothing to inline, nothing to fail at view time), stays a few tens of KB
 * whatever the sample count (a histogram is its bins, not its samples), prints, and every point is
 * an element a browser test can count. A chart library (uPlot ~50 KB, Chart.js ~200 KB minified)
 * would add its size to every page and draw on a canvas nothing can inspect.
 */
import { diffLines, diffWordsWithSpace } from 'diff';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FailureRecord, RunRecord, TestRecord } from './reporter.js';

/** `hil diag --json` as kept in a run folder (diag.json): the fields the page shows. */
export interface DiagRecord {
  target: string;
  hello: { firmwareId: string; bootNonce: number; uptimeMs: number; resetCause: string };
  link: { samples: number; medianMs: number; p99Ms: number; echoBytesPerS: number; rttMs?: number[] };
  linkQuality?: { client: Record<string, unknown>; device: Record<string, number> };
}

/** `hil bench`'s JSON line (bench.json): figures per target. */
export type BenchRecord = Record<string, Record<string, unknown>>;

/** One board's run as a page shows it. */
export interface ReportEntry {
  run: RunRecord;
  diag?: DiagRecord;
  bench?: BenchRecord;
  /** The board's own page, relative to the page showing this entry (merged pages link each board's). */
  href?: string;
}

/** A run folder that cannot be read: the user's to fix (exit 2). */
export class ReportInputError extends Error {
  override readonly name = 'ReportInputError';
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ReportInputError(`${file}: not a JSON file (${(e as Error).message.split('\n')[0]}); write it with hil test --report-dir, hil diag --json, or hil bench`);
  }
}

/** The last line of `file` that is a JSON object (`hil bench` prints its figures, then the JSON line); `command` made it. */
function lastJsonLine(file: string, command: string): unknown {
  const lines = readFileSync(file, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l.startsWith('{'));
  for (const l of lines.reverse()) {
    try {
      return JSON.parse(l);
    } catch {
      // a figure line that happens to start with a brace: keep looking
    }
  }
  throw new ReportInputError(`${file}: no JSON line in it; keep there what ${command} prints (${command} > ${file})`);
}

/** Reads a run folder: run.json (required), and diag.json and bench.json when they are there. */
export function readRunFolder(dir: string): ReportEntry {
  const runFile = join(dir, 'run.json');
  if (!existsSync(runFile)) throw new ReportInputError(`${dir}: no run.json in it; give a folder hil test wrote (--report-dir), or a parallel run's report root`);
  const run = readJson(runFile) as RunRecord;
  if (typeof run !== 'object' || run === null || !Array.isArray(run.tests) || typeof run.board !== 'string') {
    throw new ReportInputError(`${runFile}: not a hil run record (no board or tests); write it with hil test --report-dir`);
  }
  // A record from an older hil kept its resets as reasons only: they are listed, not placed on the timeline.
  run.resets = (run.resets ?? []).map((r) => (typeof r === 'string' ? { t: '', reason: r } : r));
  run.deviceLogBetweenTests ??= [];
  const entry: ReportEntry = { run };
  const diag = join(dir, 'diag.json');
  if (existsSync(diag)) {
    const d = lastJsonLine(diag, 'hil diag --target T --json') as Partial<DiagRecord>;
    if (typeof d.hello?.firmwareId !== 'string' || typeof d.link?.medianMs !== 'number') throw new ReportInputError(`${diag}: not hil diag's output (no hello or link figures); keep there what hil diag --target T --json prints`);
    entry.diag = d as DiagRecord;
  }
  const bench = join(dir, 'bench.json');
  if (existsSync(bench)) {
    const b = lastJsonLine(bench, 'hil bench --target T') as BenchRecord;
    if (!Object.values(b).every((f) => typeof f === 'object' && f !== null)) throw new ReportInputError(`${bench}: not hil bench's output (figures per target); keep there what hil bench --target T prints`);
    entry.bench = b;
  }
  return entry;
}

/** Writes `dir`/index.html for the run folder `dir` (its run.json, and diag.json, bench.json if there). */
export function writeRunPage(dir: string): string {
  const file = join(dir, 'index.html');
  writeFileSync(file, renderReport([readRunFolder(dir)]));
  return file;
}

// ---- HTML ----

const esc = (s: unknown): string =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const OUTCOME_LABEL: Record<TestRecord['outcome'], string> = { passed: 'passed', failed: 'failed', pending: 'pending', not_run: 'not run' };

/** A duration for people: 0.8 ms, 12 ms, 3.4 s, 2 min 5 s. */
function duration(ms: number): string {
  if (ms < 10) return `${+ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const num = (v: unknown): string => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(+v.toFixed(3))) : v === undefined ? '–' : String(v));

/** The id of a board's section: stable, and unique among the boards of one page. */
const boardId = (i: number, board: string): string => `board-${i}-${board.replace(/[^A-Za-z0-9_-]+/g, '_')}`;

/**
 * The expected/actual diff of a failure, Mocha's convention: `+ expected`, `- actual`. Multi-line
 * values (objects, arrays as Mocha prints them) are compared line by line; two one-line values word
 * by word, the differing words marked.
 */
export function renderDiff(f: FailureRecord): string {
  if (f.expected === undefined || f.actual === undefined || f.showDiff === false) return '';
  let body: string;
  if (!f.expected.includes('\n') && !f.actual.includes('\n')) {
    const parts = diffWordsWithSpace(f.actual, f.expected);
    const side = (keep: 'added' | 'removed') =>
      parts.filter((p) => !(keep === 'added' ? p.removed : p.added)).map((p) => (p.added || p.removed ? `<mark>${esc(p.value)}</mark>` : esc(p.value))).join('');
    body = `<span class="del">- ${side('removed')}</span>\n<span class="add">+ ${side('added')}</span>`;
  } else {
    body = diffLines(f.actual, f.expected)
      .flatMap((p) => p.value.replace(/\n$/, '').split('\n').map((line) => (p.added ? `<span class="add">+ ${esc(line)}</span>` : p.removed ? `<span class="del">- ${esc(line)}</span>` : `<span>  ${esc(line)}</span>`)))
      .join('\n');
  }
  return `<div class="diff-legend"><span class="add">+ expected</span> <span class="del">- actual</span></div><pre class="diff">${body}</pre>`;
}

// ---- plots (SVG, drawn here) ----

/** Natural widths of the plots, px: two side by side, the timeline across the page. */
const W = 500;
const W_FULL = 1040;
const COLORS: Record<TestRecord['outcome'], string> = { passed: '#2e7d32', failed: '#c62828', pending: '#9e9e9e', not_run: '#ef6c00' };

/** Bins for a histogram: log-spaced when the samples span more than a decade, else linear. */
export function histogramBins(samples: number[], bins = 40): { lo: number; hi: number; count: number }[] {
  if (!samples.length) return [];
  const min = Math.max(Math.min(...samples), 1e-3);
  const max = Math.max(...samples, min * 1.001);
  const log = max / min > 10;
  const f = log ? Math.log10 : (v: number) => v;
  const inv = log ? (v: number) => 10 ** v : (v: number) => v;
  const a = f(min);
  const b = f(max);
  const out = Array.from({ length: bins }, (_, i) => ({ lo: inv(a + ((b - a) * i) / bins), hi: inv(a + ((b - a) * (i + 1)) / bins), count: 0 }));
  for (const s of samples) {
    const i = Math.min(bins - 1, Math.max(0, Math.floor(((f(Math.max(s, 1e-3)) - a) / (b - a)) * bins)));
    out[i]!.count++;
  }
  return out;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** A histogram of round-trip times: one bar per non-empty bin, its count in data-count and its title. */
export function rttHistogram(samples: number[] | undefined, what: string): string {
  if (!samples?.length) return `<p class="empty">No round trips recorded (${esc(what)}).</p>`;
  const bins = histogramBins(samples);
  const H = 180;
  const L = 44;
  const B = 30;
  const plotW = W - L - 10;
  const plotH = H - B - 10;
  const top = Math.max(...bins.map((x) => x.count));
  const log = bins.length > 1 && bins.at(-1)!.hi / bins[0]!.lo > 10;
  const x = (v: number): number => {
    const lo = bins[0]!.lo;
    const hi = bins.at(-1)!.hi;
    const t = log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo || 1);
    return L + t * plotW;
  };
  const bars = bins
    .filter((b) => b.count > 0)
    .map((b) => {
      const h = (b.count / top) * plotH;
      return `<rect class="bar" data-count="${b.count}" x="${x(b.lo).toFixed(1)}" y="${(10 + plotH - h).toFixed(1)}" width="${Math.max(1, x(b.hi) - x(b.lo) - 1).toFixed(1)}" height="${h.toFixed(1)}"><title>${b.count} round trips, ${num(b.lo)}–${num(b.hi)} ms</title></rect>`;
    });
  const ticks: number[] = [];
  const lo = bins[0]!.lo;
  const hi = bins.at(-1)!.hi;
  if (log) for (let e = Math.ceil(Math.log10(lo)); 10 ** e <= hi; e++) ticks.push(10 ** e);
  else for (let i = 0; i <= 4; i++) ticks.push(lo + ((hi - lo) * i) / 4);
  const sorted = [...samples].sort((p, q) => p - q);
  const marks = [['median', percentile(sorted, 50)], ['p99', percentile(sorted, 99)]] as const;
  return `<figure><svg class="plot rtt-histogram" data-samples="${samples.length}" viewBox="0 0 ${W} ${H}" style="max-width:${W}px" role="img" aria-label="round-trip time histogram">
<line class="axis" x1="${L}" y1="${10 + plotH}" x2="${W - 10}" y2="${10 + plotH}"/><line class="axis" x1="${L}" y1="10" x2="${L}" y2="${10 + plotH}"/>
<text class="label" x="${L - 4}" y="16" text-anchor="end">${top}</text><text class="label" x="${L - 4}" y="${10 + plotH}" text-anchor="end">0</text>
${ticks.map((t) => `<line class="tick" x1="${x(t).toFixed(1)}" y1="${10 + plotH}" x2="${x(t).toFixed(1)}" y2="${14 + plotH}"/><text class="label" x="${x(t).toFixed(1)}" y="${26 + plotH}" text-anchor="middle">${num(+t.toPrecision(2))}</text>`).join('\n')}
${bars.join('\n')}
${marks.map(([n, v]) => `<line class="mark" x1="${x(Math.max(v, lo)).toFixed(1)}" y1="10" x2="${x(Math.max(v, lo)).toFixed(1)}" y2="${10 + plotH}"><title>${n} ${num(v)} ms</title></line>`).join('\n')}
<text class="label" x="${W - 10}" y="${H - 2}" text-anchor="end">ms${log ? ' (log scale)' : ''}</text>
</svg><figcaption>Round trips ${esc(what)}: ${samples.length} samples, median ${num(percentile(sorted, 50))} ms, p99 ${num(percentile(sorted, 99))} ms, max ${num(sorted.at(-1))} ms.</figcaption></figure>`;
}

/** Per-test durations in run order: one bar per test, coloured by outcome. */
export function durationChart(tests: TestRecord[]): string {
  if (!tests.length) return '<p class="empty">No tests.</p>';
  const H = 160;
  const L = 44;
  const plotW = W - L - 10;
  const plotH = H - 30;
  const top = Math.max(1, ...tests.map((t) => t.durationMs));
  const w = plotW / tests.length;
  const bars = tests.map((t, i) => {
    const h = Math.max(1, (t.durationMs / top) * plotH);
    return `<rect class="bar" data-outcome="${t.outcome}" x="${(L + i * w).toFixed(2)}" y="${(10 + plotH - h).toFixed(1)}" width="${Math.max(0.5, w - 0.5).toFixed(2)}" height="${h.toFixed(1)}" fill="${COLORS[t.outcome]}"><title>${esc(t.fullTitle)}: ${OUTCOME_LABEL[t.outcome]}, ${duration(t.durationMs)}</title></rect>`;
  });
  return `<figure><svg class="plot durations" data-tests="${tests.length}" viewBox="0 0 ${W} ${H}" style="max-width:${W}px" role="img" aria-label="per-test durations">
<line class="axis" x1="${L}" y1="${10 + plotH}" x2="${W - 10}" y2="${10 + plotH}"/><line class="axis" x1="${L}" y1="10" x2="${L}" y2="${10 + plotH}"/>
<text class="label" x="${L - 4}" y="16" text-anchor="end">${esc(duration(top))}</text><text class="label" x="${L - 4}" y="${10 + plotH}" text-anchor="end">0</text>
${bars.join('\n')}
<text class="label" x="${W - 10}" y="${H - 6}" text-anchor="end">tests in run order</text>
</svg><figcaption>Duration of each test (${tests.length}); the longest ${esc(duration(top))}.</figcaption></figure>`;
}

/**
 * When a test's span ends, ms since the epoch: its recorded end (the span then covers its
 * beforeEach hooks too, as Mocha's start event comes before them), or start + body time for a
 * record from an older hil that kept no end.
 */
function spanEnd(t: TestRecord): number {
  return t.endedAt ? Date.parse(t.endedAt) : Date.parse(t.startedAt!) + t.durationMs;
}

/** The run on a time line: each test that started as a span, each board reset as a red line. */
export function timeline(run: RunRecord): string {
  const t0 = Date.parse(run.startedAt);
  const spanMs = Math.max(1, run.durationMs, ...run.resets.filter((r) => r.t).map((r) => Date.parse(r.t) - t0), ...run.tests.filter((t) => t.startedAt).map((t) => spanEnd(t) - t0));
  const H = 64;
  const L = 10;
  const plotW = W_FULL - 2 * L;
  const x = (iso: string, plus = 0): number => L + ((Date.parse(iso) - t0 + plus) / spanMs) * plotW;
  const spans = run.tests
    .filter((t) => t.startedAt)
    .map((t) => {
      const whole = spanEnd(t) - Date.parse(t.startedAt!);
      const prep = whole - t.durationMs >= 1 ? ` (${duration(whole)} with its preparation)` : '';
      return `<rect class="span" data-outcome="${t.outcome}" x="${x(t.startedAt!).toFixed(2)}" y="14" width="${Math.max(0.6, x(t.startedAt!, whole) - x(t.startedAt!)).toFixed(2)}" height="22" fill="${COLORS[t.outcome]}"><title>${esc(t.fullTitle)}: ${OUTCOME_LABEL[t.outcome]}, ${duration(t.durationMs)}${prep}</title></rect>`;
    });
  const resets = run.resets.filter((r) => r.t).map((r) => `<line class="reset" x1="${x(r.t).toFixed(1)}" y1="6" x2="${x(r.t).toFixed(1)}" y2="44"><title>board reset at ${esc(r.t)}: ${esc(r.reason)}</title></line>`);
  return `<figure class="wide"><svg class="plot timeline" data-resets="${resets.length}" viewBox="0 0 ${W_FULL} ${H}" style="max-width:${W_FULL}px" role="img" aria-label="timeline of the run">
<line class="axis" x1="${L}" y1="40" x2="${W_FULL - L}" y2="40"/>
${spans.join('\n')}
${resets.join('\n')}
<text class="label" x="${L}" y="58">0</text><text class="label" x="${W_FULL - L}" y="58" text-anchor="end">${esc(duration(spanMs))}</text>
</svg><figcaption>The run over time: tests as spans (green passed, red failed, grey pending, orange not run); board resets: ${run.resets.length ? `${run.resets.length}, the red lines` : 'none'}.</figcaption></figure>`;
}

// ---- sections ----

function headerTable(e: ReportEntry): string {
  const r = e.run;
  const l = r.limits;
  const c = r.link?.client;
  const d = r.link?.device;
  const rows: [string, string][] = [
    ['board', esc(r.board)],
    ['machine', esc(r.host ?? '–')],
    ['target', esc(r.target ?? '–')],
    ['firmware', `<code>${esc(r.firmwareId ?? '–')}</code>`],
    ['limits', l ? esc(`${l.maxVms} contexts × ${l.maxGlobals} globals, ${l.maxArrays} arrays × ${l.arrayElements} elements; protocol v${l.protoVersion}, line ≤ ${l.maxLine} bytes, batch ≤ ${l.maxBatch} ops`) : '–'],
    ['boot nonce', `<code>${esc(r.bootNonce ?? '–')}</code>`],
    ['started', esc(r.startedAt)],
    ['duration', esc(duration(r.durationMs))],
    ['tests', esc(`${r.tests.length}: ${r.passed} passed, ${r.failed} failed, ${r.pending} pending, ${r.notRun} not run${r.notRunLink ? ` (${r.notRunLink} for the link)` : ''}`)],
    ['board resets', esc(r.resets.length ? r.resets.map((x) => `${x.t} ${x.reason}`).join('; ') : 'none')],
    ['link (client)', c ? esc(`${num(c.transmissions)} transmissions, ${num(c.retransmits)} retransmits (${num(c.goBacks)} go-backs, ${num(c.fastRetransmits)} fast, ${num(c.timeouts)} timeouts), ${num(c.exhausted)} exhausted, ${num(c.deadLinks)} dead links; RTO ${num(c.rtoMs)} ms, SRTT ${num(c.srttMs)} ms`) : '–'],
    ['link (device)', d ? esc(`${d.replayed} replayed from cache, ${d.held ?? 0} held past a gap, ${d.outOfSequence} out of sequence, ${d.noSession} no session, ${d.sessions} sessions`) : esc(r.link?.note ?? '–')],
  ];
  if (r.link?.emulator) rows.push(['link emulator', esc(Object.entries(r.link.emulator).map(([k, v]) => `${k} ${v}`).join(', '))]);
  const table = (part: [string, string][]) => `<table class="header">${part.map(([k, v]) => `<tr><th>${k}</th><td data-field="${esc(k)}">${v}</td></tr>`).join('')}</table>`;
  // What ran (board, machine, firmware) beside how it went (time, counts, resets, link).
  return `<div class="facts">${table(rows.slice(0, 6))}${table(rows.slice(6))}</div>`;
}

function logBlock(lines: { t: string; text: string }[], cls = 'device-log'): string {
  if (!lines.length) return '';
  return `<pre class="${cls}">${lines.map((l) => `<span class="t">${esc(l.t.slice(11, 23))}</span> ${l.text.startsWith('[board reset]') ? `<span class="reset">${esc(l.text)}</span>` : esc(l.text)}`).join('\n')}</pre>`;
}

function testItem(t: TestRecord): string {
  const body: string[] = [];
  if (t.reason) body.push(`<p class="reason">Not run: ${esc(t.reason)}</p>`);
  if (t.error) {
    body.push(`<p class="message">${esc(t.error.name)}: ${esc(t.error.message)}</p>`);
    body.push(renderDiff(t.error));
    if (t.error.stack) body.push(`<details class="stack"><summary>stack</summary><pre>${esc(t.error.stack)}</pre></details>`);
  }
  if (t.deviceLog.length) body.push(`<p class="log-title">Device log during this test (${t.deviceLog.length} lines)</p>${logBlock(t.deviceLog)}`);
  if (t.file) body.push(`<p class="file">${esc(t.file)}</p>`);
  const open = t.outcome === 'failed' ? ' open' : '';
  return `<details class="test" data-outcome="${t.outcome}" data-title="${esc(t.fullTitle)}"${open}><summary><span class="badge ${t.outcome}">${OUTCOME_LABEL[t.outcome]}</span> <span class="title">${esc(t.title)}</span> <span class="dur">${esc(duration(t.durationMs))}</span>${t.deviceLog.length ? ` <span class="logs">${t.deviceLog.length} log lines</span>` : ''}</summary>${body.join('')}</details>`;
}

function suitesOf(tests: TestRecord[]): string {
  const suites = new Map<string, TestRecord[]>();
  for (const t of tests) suites.set(t.suite, [...(suites.get(t.suite) ?? []), t]);
  return [...suites].map(([name, ts]) => {
    const count = (o: TestRecord['outcome']) => ts.filter((t) => t.outcome === o).length;
    const counts = (['passed', 'failed', 'pending', 'not_run'] as const).filter((o) => count(o)).map((o) => `<span class="badge ${o}">${count(o)} ${OUTCOME_LABEL[o]}</span>`).join(' ');
    const ms = ts.reduce((n, t) => n + t.durationMs, 0);
    return `<section class="suite" data-suite="${esc(name)}"><h3>${esc(name || '(root)')} <small>${counts} ${esc(duration(ms))}</small></h3>${ts.map(testItem).join('\n')}</section>`;
  }).join('\n');
}

function diagSection(d: DiagRecord | undefined): string {
  if (!d) return '';
  const q = d.linkQuality;
  return `<section class="diag"><h3>hil diag</h3><table class="header">
<tr><th>target</th><td>${esc(d.target)}</td></tr><tr><th>firmware</th><td><code>${esc(d.hello.firmwareId)}</code></td></tr>
<tr><th>boot nonce</th><td><code>${esc(typeof d.hello.bootNonce === 'number' ? d.hello.bootNonce.toString(16).padStart(8, '0') : '–')}</code>, up ${esc(duration(d.hello.uptimeMs))}, reset cause ${esc(d.hello.resetCause)}</td></tr>
<tr><th>round trip</th><td>median ${num(d.link.medianMs)} ms, p99 ${num(d.link.p99Ms)} ms (${d.link.samples} echoes)</td></tr>
<tr><th>throughput</th><td>${(d.link.echoBytesPerS / 1024).toFixed(1)} KiB/s echo payload, pipelined</td></tr>
${q ? `<tr><th>link</th><td>${esc(`${num(q.client.transmissions)} transmissions, ${num(q.client.retransmits)} retransmits; device: ${Object.entries(q.device).map(([k, v]) => `${k} ${v}`).join(', ')}`)}</td></tr>` : ''}
</table>${rttHistogram(d.link.rttMs, 'measured by hil diag')}</section>`;
}

function benchSection(b: BenchRecord | undefined): string {
  if (!b || !Object.keys(b).length) return '';
  const keys = [...new Set(Object.values(b).flatMap((f) => Object.keys(f).filter((k) => typeof f[k] === 'number' || typeof f[k] === 'string')))];
  return `<section class="bench"><h3>hil bench</h3><div class="scroll"><table class="bench"><tr><th>figure</th>${Object.keys(b).map((t) => `<th>${esc(t)}</th>`).join('')}</tr>
${keys.map((k) => `<tr><th>${esc(k)}</th>${Object.values(b).map((f) => `<td>${esc(num(f[k]))}</td>`).join('')}</tr>`).join('\n')}</table></div></section>`;
}

function boardSection(e: ReportEntry, i: number, many: boolean): string {
  const r = e.run;
  const own = e.href ? ` <a class="own-page" href="${esc(e.href)}">this board's page</a>` : '';
  return `<section class="board" id="${boardId(i, r.board)}" data-board="${esc(r.board)}">
<h2>${esc(r.board)} <span class="result ${resultOf(r)}">${resultOf(r).replace('_', ' ')}</span>${many ? own : ''}</h2>
${headerTable(e)}
<div class="plots">${timeline(r)}${rttHistogram(r.link?.rttMs, 'during the run')}${durationChart(r.tests)}</div>
${e.diag || e.bench ? `<div class="extras">${diagSection(e.diag)}${benchSection(e.bench)}</div>` : ''}
<h3>Suites and tests</h3>
${suitesOf(r.tests)}
${r.deviceLogBetweenTests.length ? `<details class="between"><summary>Device log between tests (${r.deviceLogBetweenTests.length} lines)</summary>${logBlock(r.deviceLogBetweenTests)}</details>` : ''}
</section>`;
}

/** The run's verdict, as the exit code tells it (run-suite.ts SuiteExitCode): failed, not run, or passed. */
function resultOf(r: RunRecord): 'failed' | 'not_run' | 'passed' {
  return r.failed > 0 ? 'failed' : r.notRun > 0 ? 'not_run' : 'passed';
}

function summaryTable(entries: ReportEntry[]): string {
  const rows = entries.map(({ run: r, href }, i) =>
    `<tr data-board="${esc(r.board)}" data-tests="${r.tests.length}" data-passed="${r.passed}" data-failed="${r.failed}" data-pending="${r.pending}" data-not-run="${r.notRun}"><td><a href="#${boardId(i, r.board)}">${esc(r.board)}</a>${href ? ` (<a href="${esc(href)}">page</a>)` : ''}</td><td>${esc(r.host ?? '–')}</td><td><code>${esc(r.firmwareId ?? '–')}</code></td><td>${r.tests.length}</td><td>${r.passed}</td><td>${r.failed}</td><td>${r.pending}</td><td>${r.notRun}</td><td>${esc(duration(r.durationMs))}</td><td><span class="result ${resultOf(r)}">${resultOf(r).replace('_', ' ')}</span></td></tr>`);
  return `<table class="summary"><tr><th>board</th><th>machine</th><th>firmware</th><th>tests</th><th>passed</th><th>failed</th><th>pending</th><th>not run</th><th>duration</th><th>result</th></tr>${rows.join('')}</table>`;
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#212121;background:#fff}
h1{font-size:22px;margin:4px 0 12px}h2{font-size:18px;margin:28px 0 8px;border-bottom:2px solid #e0e0e0;padding-bottom:4px}h3{font-size:15px;margin:18px 0 6px}
h3 small{font-weight:normal;color:#616161}table{border-collapse:collapse;margin:6px 0}th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top}
table.header th{color:#616161;font-weight:600;white-space:nowrap}table.summary th,table.summary td,table.bench th,table.bench td{border-bottom:1px solid #eee;padding:4px 12px 4px 4px}
.scroll{overflow-x:auto}code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace}pre{background:#fafafa;border:1px solid #eee;padding:6px 8px;overflow-x:auto;margin:4px 0}
.badge,.result{display:inline-block;border-radius:3px;padding:0 6px;font-size:12px;color:#fff;font-weight:600}
.passed{background:#2e7d32}.failed{background:#c62828}.pending{background:#9e9e9e}.not_run{background:#ef6c00}
details.test{border-left:3px solid #e0e0e0;margin:2px 0;padding:2px 8px}details.test[data-outcome=failed]{border-color:#c62828;background:#fff8f8}details.test[data-outcome=not_run]{border-color:#ef6c00}
details.test summary{cursor:pointer}.dur,.logs{color:#757575;font-size:12px;margin-left:6px}.message{color:#b71c1c;font-weight:600;white-space:pre-wrap}.reason{color:#e65100}
.diff .add{color:#1b5e20;background:#e8f5e9}.diff .del{color:#b71c1c;background:#ffebee}.diff mark{background:#ffe082}.diff-legend{font-size:12px}.diff-legend .add{color:#1b5e20}.diff-legend .del{color:#b71c1c}
.device-log .t{color:#9e9e9e}.device-log .reset{color:#c62828;font-weight:600}.file{color:#9e9e9e;font-size:12px}.log-title{margin:6px 0 0;font-size:12px;color:#616161}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(${W}px,1fr));gap:4px 24px}.plots figure.wide{grid-column:1/-1}.facts{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(${W}px,1fr));gap:0 24px}.extras{display:grid;grid-template-columns:repeat(auto-fit,minmax(${W}px,1fr));gap:4px 24px}figure{margin:6px 0}figcaption{font-size:12px;color:#616161}svg.plot{width:100%;height:auto;display:block}
svg .axis,svg .tick{stroke:#9e9e9e;stroke-width:1}svg .label{font-size:11px;fill:#616161}svg .bar{fill-opacity:.9}svg.rtt-histogram .bar{fill:#1565c0}svg .mark{stroke:#6a1b9a;stroke-dasharray:3 2}svg .reset{stroke:#c62828;stroke-width:2}
.empty{color:#9e9e9e}a{color:#1565c0}.own-page{font-size:13px;font-weight:normal;margin-left:8px}footer{margin-top:28px;color:#9e9e9e;font-size:12px}
@media print{details{page-break-inside:avoid}}`;

/**
 * The page for one board's run, or for several (merged across boards and machines, or a parallel
 * run): a summary table when there is more than one, then each board's section.
 */
export function renderReport(entries: ReportEntry[], options: { title?: string } = {}): string {
  const many = entries.length > 1;
  const title = options.title ?? (many ? `HIL report: ${entries.length} boards` : `HIL report: ${entries[0]?.run.board ?? 'no run'}`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body><h1>${esc(title)}</h1>
${summaryTable(entries)}
${entries.map((e, i) => boardSection(e, i, many)).join('\n')}
<footer>Written by hil at ${esc(new Date().toISOString())} from ${entries.length} run record${entries.length === 1 ? '' : 's'} (run.json). Self-contained: no script, no network.</footer>
</body></html>
`;
}
