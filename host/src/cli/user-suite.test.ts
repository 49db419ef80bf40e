/**
 * A user's own suite, as a user runs it: a temporary project folder with its own spec files (one
 * TypeScript, one JavaScript), its own board descriptor, and a hil.config.json; `node bin/hil.js
 * test ...` run from that folder in a child process. Proves that `hil test [files]` runs the user's
 * files with the same fixture, reports and targets; that a board's every field reaches the client
 * (a non-default requestTimeoutMs is the timeout a hung request fails with, and the board's link
 * puts the link emulator in front); that openExtraTarget opens a second target for one test and
 * closes it after; that the config's specs, board folders, default target and report folder are
 * used, relative to the config file; that `hil list` knows the user's boards; and that a config
 * error is one line naming the file, the field and the fix, exit 2.
 */
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { liveChildPids } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import { runHil, type CliRun } from '../testing/run-cli.js';
import type { RunRecord } from '../orchestrator/reporter.js';

type Run = CliRun;

/** Runs the CLI in `cwd` to completion (test helper: host/src/testing/run-cli.ts). */
const hil = (cwd: string, ...args: string[]): Promise<Run> => runHil(args, { cwd, name: 'hil (user suite test)' });

// The fixture as a user's file names it; in the package it is 'componentvm-hil/mocha' (the
// packaging test installs the tarball and imports that).
const FIXTURE = join(REPO_ROOT, 'host', 'src', 'mocha', 'index.ts');

const TS_SPEC = `
import { expect } from 'chai';
import { target, openExtraTarget } from '${FIXTURE}';

let extra: { client: { on(e: 'close', f: () => void): unknown } } | undefined;
let extraClosed = false;

describe('my board', () => {
  it('gets a ready target with an empty pool', async () => {
    const { client, hello } = target();
    expect(hello.maxVms).to.be.greaterThan(0);
    await client.acquire(0);
    await client.storeGlobal(0, 1, 42);
    expect(await client.loadGlobal(0, 1)).to.equal(42);
  });

  it('opens a second target for this test only', async () => {
    const second = await openExtraTarget('twin');
    expect(second.name).to.equal('twin');
    await second.client.acquire(0); // its own pool: the target under test is untouched
    expect((await target().client.stats()).contextsAcquired).to.equal(0);
    expect((await second.client.stats()).contextsAcquired).to.equal(1);
    extra = second;
    second.client.on('close', () => (extraClosed = true));
  });

  it('finds the second target closed after its test', () => {
    expect(extra, 'the previous test ran').to.not.equal(undefined);
    expect(extraClosed).to.equal(true);
  });

  it("uses the board's link and request timeout", async () => {
    const t = target();
    expect(t.descriptor.name).to.equal('slow-twin');
    expect(t.emulator?.spec.baud).to.equal(2000000);
    await t.client.idle(); // the fixture's reset_pool answered before the twin stops answering
    t.twin!.hang();
    const err = await t.client.stats().then(() => undefined, (e: unknown) => e as Error & { timeoutMs?: number });
    t.twin!.resume();
    expect(err?.name).to.equal('RequestTimeout');
    expect(err?.timeoutMs).to.equal(400);
  });
});
`;

const JS_SPEC = `
import { expect } from 'chai';
import { target } from '${FIXTURE}';

describe('a JavaScript spec', () => {
  it('gets the same fixture', async () => {
    expect((await target().client.hello()).firmwareId).to.be.a('string');
  });
});
`;

describe('hil test with a user suite', function () {
  this.timeout(90_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'hil-user-'));
    mkdirSync(join(dir, 'hil'));
    // The project's own dependencies (chai), as `npm install` would give it.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    mkdirSync(join(dir, 'my-boards'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'my-firmware', private: true, type: 'module' }));
    writeFileSync(join(dir, 'hil', 'board.test.ts'), TS_SPEC);
    writeFileSync(join(dir, 'hil', 'plain.test.mjs'), JS_SPEC);
    writeFileSync(join(dir, 'my-boards', 'slow-twin.json'), JSON.stringify({ name: 'slow-twin', kind: 'twin', requestTimeoutMs: 400, link: 'baud=2000000' }));
    writeFileSync(join(dir, 'my-boards', 'bench-adapter.json'), JSON.stringify({ name: 'bench-adapter', kind: 'serial', port: { usb: { vendorId: '1a86', productId: '7523' } } }));
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    expect(liveChildPids(), 'children left running').to.deep.equal([]);
  });

  it('hil test FILES --board PATH: runs them on the board, with every field of it, and writes the reports', async () => {
    const r = await hil(dir, 'test', 'hil/board.test.ts', 'hil/*.mjs', '--board', 'my-boards/slow-twin.json', '--reporter', 'dot', '--report-dir', 'out');
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/5 passing/);
    const run = JSON.parse(readFileSync(join(dir, 'out', 'run.json'), 'utf8')) as RunRecord;
    expect(run.board).to.equal('my-boards/slow-twin.json');
    expect(run.tests.map((t) => t.outcome)).to.deep.equal(['passed', 'passed', 'passed', 'passed', 'passed']);
    expect(readFileSync(join(dir, 'out', 'junit.xml'), 'utf8')).to.contain('uses the board&apos;s link and request timeout');
  });

  it('hil.config.json: its specs, board folders, default target and report folder, relative to it', async () => {
    writeFileSync(join(dir, 'hil.config.json'), JSON.stringify({ specs: ['hil/*.test.ts'], boards: ['my-boards'], target: 'slow-twin', reportDir: 'reports' }));
    const sub = join(dir, 'hil');
    const r = await hil(sub, 'test', '--reporter', 'dot'); // from a subfolder: the config is found above
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.match(/4 passing/);
    const run = JSON.parse(readFileSync(join(dir, 'reports', 'slow-twin', 'run.json'), 'utf8')) as RunRecord;
    expect(run.tests).to.have.length(4);
    mkdirSync(join(dir, 'sysfs', 'class', 'tty'), { recursive: true }); // a machine with no serial port
    const list = await hil(dir, 'list', '--json', '--sysfs', join(dir, 'sysfs'));
    expect(list.code, list.stderr).to.equal(0);
    expect((JSON.parse(list.stdout) as { absent: string[] }).absent).to.include('bench-adapter').and.include('stm32f407-discovery');
  });

  it('a config error, or a TypeScript spec that is not an ES module, is one line naming the file, the field and the fix; exit 2', async () => {
    mkdirSync(join(dir, 'cjs'));
    writeFileSync(join(dir, 'cjs', 'package.json'), '{}');
    writeFileSync(join(dir, 'cjs', 'old.test.ts'), TS_SPEC);
    const c = await hil(dir, 'test', 'cjs/old.test.ts');
    expect(c.code).to.equal(2);
    expect(c.stderr.trim()).to.equal(`hil: ${join(dir, 'cjs', 'old.test.ts')}: a TypeScript spec file must be an ES module: add "type": "module" to its package.json, or name it old.test.mts`);
    writeFileSync(join(dir, 'hil.config.json'), JSON.stringify({ specz: ['x'] }));
    const r = await hil(dir, 'test');
    expect(r.code).to.equal(2);
    expect(r.stderr.trim()).to.equal('hil: hil.config.json: /specz is not a config field; remove it or fix its spelling (fields here: specs, boards, target, reportDir, firmware)');
    writeFileSync(join(dir, 'hil.config.json'), JSON.stringify({ specs: ['hil/none-*.test.ts'] }));
    const g = await hil(dir, 'test');
    expect(g.code).to.equal(2);
    expect(g.stderr.trim()).to.equal('hil: no spec file matches hil/none-*.test.ts (from hil.config.json); fix the glob');
  });
});
