/**
 * The root-hooks plugin as a plain Mocha user runs it: `mocha --require <plugin> spec` in a child
 * process, the target named by HIL_TARGET; the spec uses the fixture, and a second target.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, liveChildPids } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';

describe('mocha --require <the root-hooks plugin>', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'hil-plugin-'))));
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(liveChildPids()).to.deep.equal([]);
  });

  it('gives each test the ready target named by HIL_TARGET, and an extra one', async () => {
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules')); // the user's own chai
    const spec = join(dir, 'plain.test.ts');
    writeFileSync(spec, `
import { expect } from 'chai';
import { target, openExtraTarget } from '${join(REPO_ROOT, 'host', 'src', 'mocha', 'index.ts')}';
describe('plain mocha', () => {
  it('leaves an empty pool behind', async () => { await target().client.acquire(1); });
  it('starts each test with an empty pool', async () => {
    expect((await target().client.stats()).contextsAcquired).to.equal(0);
    expect(target().name).to.equal('twin');
    const second = await openExtraTarget('twin');
    expect((await second.client.hello()).maxVms).to.equal(target().hello.maxVms);
  });
});
`);
    const p = new ManagedProcess('mocha (plugin test)', process.execPath, [join(REPO_ROOT, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--require', join(REPO_ROOT, 'host', 'src', 'mocha', 'register.ts'), spec], { cwd: REPO_ROOT, env: { ...process.env, HIL_TARGET: 'twin' }, stdio: ['ignore', 'pipe', 'pipe'] });
    await p.exitWithin(50_000);
    expect(p.exitCode, p.output).to.equal(0);
    expect(p.output).to.match(/2 passing/);
  });
});
