/**
 * Mutation testing of the firmware's C core (issue 14): generates mutants of the core's sources,
 * one small change each, builds each one's sim in a private copy of the repository (the working
 * tree is never touched), and runs (a) the HIL suite alone against that sim, then (b) for the
 * survivors the C unit tests. Prints one row per file and writes the mutants' outcomes as JSON.
 *
 *   npx tsx scripts/mutate-c.ts [--files cvm_pool.c,...] [--sample N --seed S] [--workers N]
 *                               [--only ID[,ID]] [--no-unit] [--timeout SECONDS] [--json PATH] [--list]
 *
 * Mutation operators: rel (relational boundary and negation: < <=, > >=, == !=), log (&& ||),
 * lit (an integer literal plus or minus one), del (an expression statement deleted), err (an
 * error code swapped for the next one), inv (an if/while condition inverted), bool (true false).
 * Mutants are generated inside function bodies only, outside comments, strings and preprocessor
 * lines. A mutant's id is `<file>:<line>:<col>:<op>:<replacement>`: deterministic for a source.
 *
 * Outcomes: killed (a test of the suite failed, a link error included: the mutant stopped
 * answering), timeout (the run exceeded its bound and was killed; counted as detected, shown
 * apart), survived, invalid (the mutant does not compile: not counted), and equivalent (listed in
 * mutation/equivalent.txt with its reason: not run, not counted).
 *
 * Cost per mutant (issue 14: CI runs a sample): make rebuilds only the mutated object and links;
 * the suite is loaded once per worker into a long-lived Mocha process (scripts/mutate-runner.ts,
 * the fixture's root hooks with HIL_TARGET=sim) and run again per mutant, stopping at the first
 * failure, its files in an order that puts the quick broad checks first. The C unit tests (second
 * column) are built and checked on the unmutated core only once a HIL survivor needs them, and
 * for a survivor the mutated module's own test binary runs first (test_pool for cvm_pool.c).
 * One worker by default (--workers N for more): the machine is shared.
 *
 * The sim the suite reaches is the one targets/toolchain.ts finds beside its own source: each
 * worker's runner runs in the copy, so the copy's firmware/build is the one built and tested.
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readEquivalents, readUnreachable, rowOf, printTable, unreachableReport, SuiteRunner, type FileRow } from './mutate-lib.js';
import { prng } from '../host/src/util/prng.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const CORE_DIR = 'firmware/core/src';
/** The files measured by default (issue 14): the pool, dispatcher, line assembler, device, link layer. */
export const C_FILES = ['cvm_pool.c', 'cvm_dispatch.c', 'cvm_line.c', 'cvm_device.c', 'cvm_link.c'];

/** One mutant: a replacement of source[start, end) in one file. */
export interface Mutant {
  id: string;
  file: string;
  line: number;
  col: number;
  op: 'rel' | 'log' | 'lit' | 'del' | 'err' | 'inv' | 'bool';
  start: number;
  end: number;
  replacement: string;
  /** The original text, for the report. */
  original: string;
}

export type Outcome = 'killed' | 'timeout' | 'survived' | 'invalid' | 'equivalent';

export interface MutantResult {
  id: string;
  file: string;
  /** After the HIL suite alone. */
  hil: Outcome;
  /** After the unit tests too (only run for HIL survivors; otherwise the HIL outcome). */
  withUnit: Outcome;
  /** The HIL run's exit code (null when killed by the timeout). */
  hilExit?: number | null;
  /** The first HIL test that failed (what killed the mutant). */
  failed?: string;
  seconds: number;
}

// ------------------------------------------------------------------------------------------------
// Generation

/** The source with comments, string and char literals and preprocessor lines blanked to spaces (offsets kept). */
function mask(src: string): string {
  const out = src.split('');
  const blank = (a: number, b: number) => {
    for (let k = a; k < b; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let i = 0;
  let lineStart = true;
  while (i < src.length) {
    const c = src[i]!;
    if (lineStart && /[ \t]/.test(c)) { i++; continue; }
    if (lineStart && c === '#') {
      let j = i;
      while (j < src.length && !(src[j] === '\n' && src[j - 1] !== '\\')) j++;
      blank(i, j);
      i = j;
      continue;
    }
    lineStart = c === '\n';
    if (c === '/' && src[i + 1] === '/') {
      const j = src.indexOf('\n', i);
      blank(i, j < 0 ? src.length : j);
      i = j < 0 ? src.length : j;
    } else if (c === '/' && src[i + 1] === '*') {
      const j = src.indexOf('*/', i + 2) + 2;
      blank(i, j);
      i = j;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) j += src[j] === '\\' ? 2 : 1;
      blank(i, j + 1);
      i = j + 1;
    } else i++;
  }
  return out.join('');
}

/** For each offset, whether it lies inside a function body (a brace block opened right after ')'). */
function functionBodies(code: string): boolean[] {
  const inBody = new Array<boolean>(code.length).fill(false);
  let depth = 0;
  let body = false;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '{') {
      if (depth === 0) body = /\)\s*$/.test(code.slice(Math.max(0, i - 200), i));
      depth++;
    } else if (c === '}') {
      depth--;
      if (depth === 0) { inBody[i] = false; body = false; continue; }
    }
    inBody[i] = depth > 0 && body;
  }
  return inBody;
}

const ERROR_CODES = ['CVM_ERR_OK', 'CVM_ERR_UNKNOWN_OP', 'CVM_ERR_BAD_ARG', 'CVM_ERR_OUT_OF_RANGE', 'CVM_ERR_NOT_ACQUIRED',
  'CVM_ERR_ALREADY_ACQUIRED', 'CVM_ERR_ARRAY_INACTIVE', 'CVM_ERR_ARRAY_EXISTS', 'CVM_ERR_BAD_SIZE', 'CVM_ERR_PAST_SIZE',
  'CVM_ERR_TOO_LARGE', 'CVM_ERR_NOT_IN_BATCH', 'CVM_ERR_OUT_OF_SEQUENCE', 'CVM_ERR_NO_SESSION'];
const REL: Record<string, string> = { '<': '<=', '<=': '<', '>': '>=', '>=': '>', '==': '!=', '!=': '==' };
const KEYWORDS = /^(if|for|while|do|switch|else|case|default|return|goto|typedef|struct|enum|union|static|const|unsigned|signed|int|char|bool|void|size_t|uint\d+_t|int\d+_t)\b/;
/** `T name ...` / `T *name ...` / `const T name`: a declaration, never deleted (it would not compile). */
const DECLARATION = /^(?:const\s+|static\s+|volatile\s+)*[A-Za-z_]\w*(?:\s*\*+\s*|\s+)(?:const\s+)?\**[A-Za-z_]\w*\s*(?:=|;|\[|,)/;

/** Every mutant of one C source, in source order. */
export function generateMutants(file: string, src: string): Mutant[] {
  const code = mask(src);
  const body = functionBodies(code);
  const lineStarts = [0];
  for (let i = 0; i < src.length; i++) if (src[i] === '\n') lineStarts.push(i + 1);
  const where = (off: number) => {
    let lo = 0;
    let hi = lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (lineStarts[mid]! <= off) lo = mid; else hi = mid - 1;
    }
    return { line: lo + 1, col: off - lineStarts[lo]! + 1 };
  };
  const mutants: Mutant[] = [];
  const seen = new Set<string>();
  const add = (op: Mutant['op'], start: number, end: number, replacement: string) => {
    if (!body[start]) return;
    const { line, col } = where(start);
    const short = op === 'del' ? 'deleted' : op === 'inv' ? 'inverted' : replacement.replace(/\s+/g, ' ');
    const id = `${file}:${line}:${col}:${op}:${short}`;
    if (seen.has(id)) return;
    seen.add(id);
    mutants.push({ id, file, line, col, op, start, end, replacement, original: src.slice(start, end) });
  };

  // rel, log: longest operator first so that << >> -> <<= >>= are never taken for < or >.
  for (const m of code.matchAll(/<<=|>>=|<<|>>|->|<=|>=|==|!=|&&|\|\||<|>/g)) {
    const t = m[0];
    if (REL[t]) add('rel', m.index, m.index + t.length, REL[t]!);
    else if (t === '&&') add('log', m.index, m.index + 2, '||');
    else if (t === '||') add('log', m.index, m.index + 2, '&&');
  }
  // lit: decimal and hex integer literals, their suffix kept.
  for (const m of code.matchAll(/(?<![\w.])(0[xX][0-9a-fA-F]+|\d+)([uU]?[lL]{0,2}|[lL]{1,2}[uU]?)(?![\w.])/g)) {
    const v = Number(m[1]);
    const hex = /^0x/i.test(m[1]!);
    const fmt = (n: number) => (hex ? `0x${n.toString(16)}` : String(n)) + m[2];
    add('lit', m.index, m.index + m[0].length, fmt(v + 1));
    if (v > 0) add('lit', m.index, m.index + m[0].length, fmt(v - 1));
  }
  // err: each error code for the next one (the last for the first).
  for (const m of code.matchAll(/\bCVM_ERR_[A-Z_]+\b/g)) {
    const k = ERROR_CODES.indexOf(m[0]);
    if (k >= 0) add('err', m.index, m.index + m[0].length, ERROR_CODES[(k + 1) % ERROR_CODES.length]!);
  }
  // bool
  for (const m of code.matchAll(/\b(true|false)\b/g)) add('bool', m.index, m.index + m[0].length, m[0] === 'true' ? 'false' : 'true');
  // inv: if (c) / while (c) -> if (!(c)).
  for (const m of code.matchAll(/\b(if|while)\s*\(/g)) {
    const open = m.index + m[0].length - 1;
    let depth = 0;
    let close = open;
    for (; close < code.length; close++) {
      if (code[close] === '(') depth++;
      else if (code[close] === ')' && --depth === 0) break;
    }
    // Skip the while of a do ... while: its "body" check is the same, but inverting it is still valid.
    add('inv', open + 1, close, `!(${src.slice(open + 1, close)})`);
  }
  // del: expression statements (calls, assignments, ++/--, break, continue, return;).
  let paren = 0;
  for (let i = 0; i < code.length; i++) {
    const c = code[i];
    if (c === '(') paren++;
    else if (c === ')') paren--;
    if (paren !== 0 || !(c === ';' || c === '{' || c === '}') || !body[i]) continue;
    let s = i + 1;
    while (s < code.length && /\s/.test(code[s]!)) s++;
    let text = code.slice(s);
    const label = /^(case\b[^;:]*|default\s*):/.exec(text);
    if (label) {
      s += label[0].length;
      while (s < code.length && /\s/.test(code[s]!)) s++;
      text = code.slice(s);
    }
    if (!body[s] || code[s] === '}' || code[s] === ';') continue;
    if (KEYWORDS.test(text) && !/^return\s*;/.test(text)) continue;
    if (DECLARATION.test(text)) continue;
    let d = 0;
    let e = s;
    for (; e < code.length; e++) {
      const ch = code[e];
      if (ch === '(') d++;
      else if (ch === ')') d--;
      else if (ch === '{' || ch === '}') break;
      else if (ch === ';' && d === 0) break;
    }
    if (code[e] !== ';') continue;
    add('del', s, e + 1, '');
  }
  mutants.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  return mutants;
}

export function applyMutant(src: string, m: Mutant): string {
  return src.slice(0, m.start) + m.replacement + src.slice(m.end);
}

// ------------------------------------------------------------------------------------------------
// Sampling: a seeded, replayable choice of N mutants.

/** N items chosen without replacement by the seed, in their original order. */
export function sample<T>(items: T[], n: number, seed: number): T[] {
  const rnd = prng(seed);
  const idx = items.map((_, i) => i);
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.slice(0, Math.min(n, idx.length)).sort((a, b) => a - b).map((i) => items[i]!);
}

// ------------------------------------------------------------------------------------------------
// Running

interface Run { code: number | null; timedOut: boolean; output: string }

/** Runs a command in its own process group; on timeout the whole group (the sim with it) is killed. */
function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HIL_LINK: '' } });
    let output = '';
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => { output += d; });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Whatever the group left behind (a sim started by the suite) goes with it.
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      resolve({ code, timedOut, output });
    });
  });
}

/**
 * A private copy of the repository: the committed tree (git HEAD: the library, the CLI, the
 * suite's support, which other work in the checkout may have half-changed), with the working
 * tree's firmware/ (its build left out) and HIL test files over it, since those are what is
 * measured; node_modules linked, not copied.
 */
function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cvm-mutate-'));
  const archive = spawnSync('sh', ['-c', `git -C "${REPO}" archive HEAD | tar -x -C "${dir}"`], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (archive.status !== 0) throw new Error(`copying the repository (git archive HEAD) failed: ${archive.stderr}`);
  rmSync(join(dir, 'firmware'), { recursive: true, force: true });
  cpSync(join(REPO, 'firmware'), join(dir, 'firmware'), { recursive: true, filter: (s) => !s.startsWith(join(REPO, 'firmware', 'build')) });
  cpSync(join(REPO, 'hil-tests'), join(dir, 'hil-tests'), { recursive: true });
  // The runner that loads the suite in-process, as checked out (it may be newer than HEAD).
  cpSync(join(REPO, 'scripts', 'mutate-runner.ts'), join(dir, 'scripts', 'mutate-runner.ts'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const MAKE_SIM = (dir: string) => ['make', ['-C', join(dir, 'firmware'), 'sim', 'CONFIG=default']] as const;
const MAKE_UNIT = (dir: string) => ['make', ['-C', join(dir, 'firmware'), 'test', 'CONFIG=default']] as const;

/** The HIL suite's files in run order: the quick, broad checks first, so that a bailing run ends soon. */
export function hilFiles(dir: string): string[] {
  const first = ['hello', 'globals', 'arrays', 'contexts', 'telemetry'];
  const rank = (f: string) => { const k = first.indexOf(f.replace(/\.test\.ts$/, '')); return k < 0 ? first.length : k; };
  return readdirSync(join(dir, 'hil-tests')).filter((f) => f.endsWith('.test.ts')).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b)).map((f) => join(dir, 'hil-tests', f));
}

class Worker {
  readonly dir = makeCopy();
  hilTimeoutMs = 0;
  /** A test's timeout in a mutant's run: a hung mutant costs this, not Mocha's default. */
  testTimeoutMs = 0;
  /** The tests the unmutated run leaves pending (this target's skips): any other is a detection. */
  expectPending: string[] = [];
  private unitChecked = false;
  /** The unit-test binaries already seen passing on the unmutated core. */
  private readonly ownChecked = new Set<string>();
  /** The HIL suite on the sim, loaded once (the rebuilt sim is started afresh by each run). */
  private readonly suite = new SuiteRunner(this.dir, hilFiles(this.dir), { HIL_TARGET: 'sim', MUTATE_HOOKS: join(this.dir, 'host/src/mocha/register.ts') });
  constructor(readonly unit: boolean, readonly timeoutSeconds: number | undefined) {}

  /** Builds the unmutated sim and runs the suite on it once: it must pass, and sets the bound. */
  async baseline(): Promise<void> {
    const b = await run(...MAKE_SIM(this.dir), this.dir, 300_000);
    if (b.code !== 0) throw new Error(`the unmutated sim does not build in ${this.dir}:\n${b.output}`);
    const h = await this.suite.run(undefined, 300_000);
    if (h.failures || h.timedOut) throw new Error(`the HIL suite fails on the unmutated sim: fix that first (${h.failed ?? 'timed out'})`);
    // A second run is the warm cost every mutant pays (the first loads the runner's modules).
    const w = await this.suite.run(undefined, 300_000);
    if (w.failures || w.timedOut) throw new Error(`the HIL suite fails on the unmutated sim when run again: ${w.failed ?? 'timed out'}`);
    // Bounds from the warm run, generous for a loaded machine (a false timeout would count as a kill):
    // a test 4x its slowest passing time (at least 3 s), the whole run 3x its duration (at least 8 s).
    this.testTimeoutMs = Math.max(3_000, 4 * w.slowestMs);
    this.expectPending = w.pendingTitles ?? [];
    this.hilTimeoutMs = this.timeoutSeconds ? this.timeoutSeconds * 1000 : Math.max(8_000, 3_000 * w.seconds);
  }

  /** The C unit tests on the unmutated core, once, before the first mutant needs them. */
  private async unitBaseline(original: Map<string, string>): Promise<void> {
    if (this.unitChecked) return;
    for (const [f, src] of original) writeFileSync(join(this.dir, CORE_DIR, f), src);
    const u = await run(...MAKE_UNIT(this.dir), this.dir, 600_000);
    if (u.code !== 0) throw new Error(`the C unit tests fail on the unmutated core: fix that first\n${u.output.slice(-3000)}`);
    this.unitChecked = true;
  }

  async test(m: Mutant, sources: Map<string, string>): Promise<MutantResult> {
    const t0 = Date.now();
    const original = sources.get(m.file)!;
    const path = join(this.dir, CORE_DIR, m.file);
    const result = (hil: Outcome, withUnit: Outcome, hilExit?: number | null, failed?: string): MutantResult =>
      ({ id: m.id, file: m.file, hil, withUnit, ...(hilExit !== undefined ? { hilExit } : {}), ...(failed ? { failed } : {}), seconds: (Date.now() - t0) / 1000 });
    writeFileSync(path, applyMutant(original, m));
    try {
      // make rebuilds the one changed object and links.
      const b = await run(...MAKE_SIM(this.dir), this.dir, 120_000);
      if (b.code !== 0) return result('invalid', 'invalid');
      const h = await this.suite.run(undefined, this.hilTimeoutMs, false, this.testTimeoutMs, this.expectPending);
      if (h.timedOut) return result('timeout', 'timeout', null);
      if (h.failures) return result('killed', 'killed', 1, h.failed);
      if (!this.unit) return result('survived', 'survived', 0);
      // The mutated module's own unit test first (one binary: a few seconds), then all of them.
      const fw = join(this.dir, 'firmware');
      const own = `build/default/tests/test_${m.file.replace(/^cvm_|\.c$/g, '')}`;
      if (existsSync(join(fw, 'tests', `${basename(own)}.c`))) {
        const buildOwn = () => run('make', ['-C', fw, own, 'CONFIG=default'], this.dir, 300_000);
        if (!this.ownChecked.has(own)) {
          writeFileSync(path, original);
          const b0 = await buildOwn();
          const r0 = b0.code === 0 ? await run(join(fw, own), [], fw, 120_000) : b0;
          if (r0.code !== 0) throw new Error(`${own} fails on the unmutated core: fix that first\n${r0.output.slice(-3000)}`);
          this.ownChecked.add(own);
          writeFileSync(path, applyMutant(original, m));
        }
        const ob = await buildOwn();
        if (ob.code !== 0) return result('survived', 'invalid', 0);
        const o = await run(join(fw, own), [], fw, 60_000);
        if (o.timedOut) return result('survived', 'timeout', 0);
        if (o.code !== 0) return result('survived', 'killed', 0);
      }
      writeFileSync(path, original);
      await this.unitBaseline(sources);
      writeFileSync(path, applyMutant(original, m));
      const u = await run(...MAKE_UNIT(this.dir), this.dir, 300_000);
      return result('survived', u.timedOut ? 'timeout' : u.code === 0 ? 'survived' : 'killed', 0);
    } finally {
      writeFileSync(path, original);
    }
  }

  close(): void {
    this.suite.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface COptions {
  files?: string[];
  sample?: number;
  seed?: number;
  workers?: number;
  only?: string[];
  unit?: boolean;
  timeoutSeconds?: number;
  /** Called with each result as it comes. */
  progress?: (r: MutantResult, done: number, total: number) => void;
}

export interface CReport { rows: FileRow[]; results: MutantResult[]; seed?: number; equivalents: number }

/** Generates, selects and runs the mutants; returns one row per file. */
export async function mutateC(o: COptions = {}): Promise<CReport> {
  const files = o.files ?? C_FILES;
  const equivalents = readEquivalents(join(REPO, 'mutation', 'equivalent.txt'));
  const unreachable = readUnreachable(); // read first: a stale entry stops the run before it starts
  const sources = new Map(files.map((f) => [f, readFileSync(join(REPO, CORE_DIR, f), 'utf8')]));
  const all = files.flatMap((f) => generateMutants(f, sources.get(f)!));
  const equiv = all.filter((m) => equivalents.has(`${CORE_DIR}/${m.file}\t${m.id}`));
  // A reviewed entry that names no mutant any more (the source moved on) is said, not kept silently.
  const ids = new Set(all.map((m) => `${CORE_DIR}/${m.file}\t${m.id}`));
  for (const k of equivalents) {
    if (files.some((f) => k.startsWith(`${CORE_DIR}/${f}\t`)) && !ids.has(k)) console.log(`mutation/equivalent.txt: no mutant ${k.replace('\t', ' | ')} (stale: review the entry)`);
  }
  if (equiv.length) console.log(`mutate-c: ${equiv.length} reviewed equivalent mutant(s) not run (mutation/equivalent.txt)`);
  // The sample is drawn from every mutant, so that reviewing one as equivalent does not change
  // which others a seed picks; the equivalents it draws are then left out (and counted).
  const drawn = o.sample !== undefined ? sample(all, o.sample, o.seed ?? 1) : all;
  let chosen = drawn.filter((m) => !equivalents.has(`${CORE_DIR}/${m.file}\t${m.id}`));
  const drawnEquiv = drawn.filter((m) => equivalents.has(`${CORE_DIR}/${m.file}\t${m.id}`));
  if (o.only?.length) chosen = chosen.filter((m) => o.only!.includes(m.id));
  const workers = Array.from({ length: Math.max(1, Math.min(o.workers ?? 1, chosen.length)) }, () => new Worker(o.unit ?? true, o.timeoutSeconds));
  const results: MutantResult[] = [];
  // An interrupted run (Ctrl-C) still removes its copies.
  const onSignal = () => { for (const w of workers) w.close(); process.exit(130); };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    await Promise.all(workers.map((w) => w.baseline()));
    let next = 0;
    await Promise.all(workers.map(async (w) => {
      while (next < chosen.length) {
        const m = chosen[next++]!;
        const r = await w.test(m, sources);
        results.push(r);
        o.progress?.(r, results.length, chosen.length);
      }
    }));
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    for (const w of workers) w.close();
  }
  results.sort((a, b) => chosen.findIndex((m) => m.id === a.id) - chosen.findIndex((m) => m.id === b.id));
  // The equivalent column counts those of the mutants drawn (all of them without a sample).
  const rows = files.map((f) => rowOf(`${CORE_DIR}/${f}`, results.filter((r) => r.file === f), drawnEquiv.filter((m) => m.file === f).length, unreachable));
  for (const line of unreachableReport(files.map((f) => ({ file: `${CORE_DIR}/${f}`, results: results.filter((r) => r.file === f) })), unreachable)) console.log(line);
  return { rows, results, ...(o.sample !== undefined ? { seed: o.seed ?? 1 } : {}), equivalents: equiv.length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      files: { type: 'string' }, sample: { type: 'string' }, seed: { type: 'string' }, workers: { type: 'string' },
      only: { type: 'string' }, 'no-unit': { type: 'boolean' }, timeout: { type: 'string' }, json: { type: 'string' },
      list: { type: 'boolean' },
    },
  });
  const files = values.files?.split(',').map((f) => basename(f));
  for (const f of files ?? []) {
    if (!existsSync(join(REPO, CORE_DIR, f))) { console.error(`mutate-c: --files: no ${CORE_DIR}/${f}`); process.exit(2); }
  }
  const num = (name: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) { console.error(`mutate-c: --${name} "${v}" is not a non-negative integer`); process.exit(2); }
    return Number(v);
  };
  if (values.list) {
    for (const f of files ?? C_FILES) for (const m of generateMutants(f, readFileSync(join(REPO, CORE_DIR, f), 'utf8'))) console.log(`${m.id}\t${JSON.stringify(m.original)}`);
    return;
  }
  const sampleN = num('sample', values.sample);
  const seed = num('seed', values.seed) ?? (sampleN !== undefined ? Math.floor(Math.random() * 2 ** 31) : undefined);
  if (seed !== undefined) console.log(`mutate-c: seed ${seed} (replay with --sample ${sampleN} --seed ${seed})`);
  const report = await mutateC({
    ...(files ? { files } : {}), ...(sampleN !== undefined ? { sample: sampleN, seed: seed! } : {}),
    ...(values.workers ? { workers: num('workers', values.workers)! } : {}),
    ...(values.only ? { only: values.only.split(',') } : {}), unit: !values['no-unit'],
    ...(values.timeout ? { timeoutSeconds: num('timeout', values.timeout)! } : {}),
    progress: (r, done, total) => {
      console.log(`  [${done}/${total}] ${r.id}: hil ${r.hil}, with unit tests ${r.withUnit} (${r.seconds.toFixed(1)} s)${r.failed ? `  ${r.failed.slice(0, 100)}` : ''}`);
    },
  });
  printTable(report.rows);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
