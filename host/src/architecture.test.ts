/**
 * The host's layering, checked on the sources: every relative import of every product module
 * (host/src, tests, test helpers and fixtures excluded) points to its own folder or a lower layer,
 * the folders form no cycle, nothing in host/src imports hil-tests/, product modules never import
 * test helpers (testing/ folders), and no module keeps state on globalThis. Imports are read with
 * the TypeScript scanner, so comments and strings never count.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { REPO_ROOT } from './targets/toolchain.js';

const SRC = join(REPO_ROOT, 'host', 'src');

/**
 * Layers, lowest first; a module may import its own folder and any folder of a lower or equal rank
 * (equal: side by side, e.g. the twin beside the client, both over the codec). `testing` holds
 * test-only helpers: no product module may import it.
 */
const RANK: Record<string, number> = {
  protocol: 0, util: 0, process: 0,
  transport: 1,
  framing: 2,
  codec: 3,
  client: 4, twin: 4,
  targets: 5,
  boards: 6, mocha: 6, differential: 6,
  orchestrator: 7,
  cli: 8,
  '.': 4, // host/src/index.ts: the library (transport → client)
};

/** Known edges still to move, each with what must change. Empty: none is tolerated. */
const PENDING = new Set<string>();

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const isTestOnly = (file: string) => /\.test\.ts$|\.suite\.ts$/.test(file) || /\/(testing|fixtures)\//.test(file);
const folderOf = (file: string) => relative(SRC, dirname(file)).split('/')[0] || '.';

/** The relative module specifiers a file imports (static, re-exports, dynamic with a literal). */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((f) => f.fileName).filter((s) => s.startsWith('.'));
}

/** Uses of globalThis as storage (`globalThis[...]`, `globalThis.x`, `globalThis as ...`) and `Symbol.for` registry keys. */
function globalStateIn(file: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, readFileSync(file, 'utf8'));
  const out: string[] = [];
  const tokens: string[] = [];
  for (let k = scanner.scan(); k !== ts.SyntaxKind.EndOfFileToken; k = scanner.scan()) tokens.push(scanner.getTokenText());
  tokens.forEach((tok, i) => {
    const next = tokens[i + 1];
    if (tok === 'globalThis' && (next === '[' || next === '.' || next === 'as')) out.push(`${relative(REPO_ROOT, file)}: globalThis${next === 'as' ? ' as' : next}`);
    if (tok === 'Symbol' && next === '.' && tokens[i + 2] === 'for') out.push(`${relative(REPO_ROOT, file)}: Symbol.for`);
  });
  return out;
}

describe('architecture: layers, cycles, globals', () => {
  const all = walk(SRC);
  const product = all.filter((f) => !isTestOnly(f));
  const support = walk(join(REPO_ROOT, 'hil-tests', 'support'));

  it('every product import points to its own folder or a lower layer; nothing imports a test helper', () => {
    const bad: string[] = [];
    for (const file of product) {
      const from = folderOf(file);
      expect(RANK, `folder ${from} has no rank in RANK`).to.have.property(from);
      for (const spec of importsOf(file)) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC + '/')) continue;
        const to = folderOf(target);
        const edge = `${relative(SRC, file)} -> ${to}`;
        if (PENDING.has(edge) || to === from) continue;
        if (to === 'testing') bad.push(`${edge}: a product module imports a test helper`);
        else if (RANK[to] === undefined) bad.push(`${edge}: folder ${to} has no rank`);
        else if (RANK[to]! > RANK[from]!) bad.push(`${edge}: upward (${from} is rank ${RANK[from]}, ${to} rank ${RANK[to]})`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it('the folders form no cycle', () => {
    const graph = new Map<string, Set<string>>();
    for (const file of product) {
      for (const spec of importsOf(file)) {
        const target = resolve(dirname(file), spec);
        if (!target.startsWith(SRC + '/')) continue;
        const [from, to] = [folderOf(file), folderOf(target)];
        if (from !== to && !PENDING.has(`${relative(SRC, file)} -> ${to}`)) (graph.get(from) ?? graph.set(from, new Set()).get(from)!).add(to);
      }
    }
    const cycles: string[] = [];
    const visit = (node: string, path: string[]) => {
      if (path.includes(node)) return void cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '));
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).to.deep.equal([]);
  });

  it('nothing in host/src imports hil-tests/, and the suite support imports only the public Mocha integration', () => {
    const hil = join(REPO_ROOT, 'hil-tests');
    const intoSuite = all.flatMap((f) => importsOf(f).filter((s) => resolve(dirname(f), s).startsWith(hil + '/')).map((s) => `${relative(REPO_ROOT, f)} imports ${s}`));
    expect(intoSuite).to.deep.equal([]);
    const stateful = support.flatMap((f) => importsOf(f).filter((s) => /\/(orchestrator|targets)\//.test(s)).map((s) => `${relative(REPO_ROOT, f)} imports ${s}`));
    expect(stateful).to.deep.equal([]);
  });

  it('no module keeps state on globalThis', () => {
    expect([...product, ...support].flatMap(globalStateIn)).to.deep.equal([]);
  });
});
