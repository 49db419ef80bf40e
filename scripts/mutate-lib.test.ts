/**
 * The mutation scripts' bookkeeping (mutate-lib.ts): which line a mutant id names, the reviewed
 * list of code the wire cannot reach and its staleness check, and a table row's counts.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mutantLine, readUnreachable, rowOf, unreachableReport, type Counted } from './mutate-lib.js';

describe('mutate-lib: code the wire cannot reach', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'mutate-lib-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.c'), 'int f(void)\n{\n    return log_it();\n}\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const list = (text: string) => {
    writeFileSync(join(root, 'unreachable.txt'), text);
    return readUnreachable(join(root, 'unreachable.txt'), root);
  };

  it('reads the line of a C and of a TypeScript mutant id', () => {
    expect(mutantLine('cvm_pool.c:12:5:rel:<=')).to.equal(12);
    expect(mutantLine('74:58:BlockStatement:{}')).to.equal(74);
    expect(mutantLine('80:7:LogicalOperator:a && b:c')).to.equal(80);
  });

  it('takes line ranges guarded by their text, and single mutants', () => {
    const u = list('# a comment\n\nsrc/a.c | L2-L3 | { | the log path\nsrc/a.c | a.c:1:1:del:deleted | one mutant\n');
    expect([u('src/a.c', 'a.c:2:1:del:deleted'), u('src/a.c', 'a.c:3:5:lit:1'), u('src/a.c', 'a.c:4:1:x'), u('src/a.c', 'a.c:1:1:del:deleted'), u('src/b.c', 'b.c:2:1:x')]).to.deep.equal([true, true, false, true, false]);
  });

  it('stops at an entry whose line no longer holds its text, or that gives no reason', () => {
    expect(() => list('src/a.c | L3 | int f | moved\n')).to.throw(/line 3 of src\/a\.c no longer holds "int f" \(it holds "return log_it\(\);"\): review the entry/);
    expect(() => list('src/a.c | L1 | int f\n')).to.throw(/expected "file \| L<a>-L<b> \| <text of line a> \| reason"/);
    expect(() => list('src/a.c | a.c:1:1:x\n')).to.throw(/expected "file \| mutant id \| reason"/);
  });

  it('sets apart only the survivors of listed code, and names every other survivor', () => {
    const u = list('src/a.c | L3 | return | the log path\n');
    const results: Counted[] = [
      { id: 'a.c:3:5:del:deleted', hil: 'killed', withUnit: 'killed' }, // reached, though listed
      { id: 'a.c:3:12:lit:1', hil: 'survived', withUnit: 'killed' }, // listed: set apart
      { id: 'a.c:1:1:rel:<=', hil: 'survived', withUnit: 'survived' }, // a hole
      { id: 'a.c:1:2:rel:>=', hil: 'timeout', withUnit: 'timeout' },
      { id: 'a.c:1:3:inv:inverted', hil: 'invalid', withUnit: 'invalid' },
    ];
    const row = rowOf('src/a.c', results, 2, u);
    expect(row).to.deep.include({ run: 4, killedHil: 2, killedWithUnit: 3, survived: 1, equivalent: 2, invalid: 1, unreachable: 1 });
    expect(unreachableReport([{ file: 'src/a.c', results }], u)).to.deep.equal(['survived the HIL suite in code a wire request reaches: src/a.c a.c:1:1:rel:<=']);
  });
});
