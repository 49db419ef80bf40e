/**
 * The new-user test: this repo as someone else's project meets it. `npm pack` (which builds dist/
 * through prepack), then, in a fresh temporary project outside the checkout, `npm install` of the
 * tarball OFFLINE from the npm cache, and there:
 * - `npx hil --help` (the compiled CLI, its runtime dependencies installed with it);
 * - the library and the twin imported from plain node (no tsx);
 * - a TypeScript consumer type-checked with strict and exactOptionalPropertyTypes against the
 *   package's .d.ts;
 * - the user's own spec file (scripts/new-user/my.test.ts, using the package's fixture) run by
 *   `npx hil test my.test.ts` on the twin and on the sim, each writing junit.xml and run.json in
 *   the user's folder.
 * The temporary project and the tarball are removed afterwards, whatever happened.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const fixtures = join(repo, 'scripts', 'new-user');
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
  name: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/**
 * The user project's package-lock.json, taken from this repo's: the tarball as a file: dependency
 * and every package it and the user's own tools need, at the versions and integrities `npm ci`
 * put in the cache. Why a lockfile: without one, npm 11 resolves each dependency from its full
 * packument (arborist's fetchManifest asks for fullMetadata), while `npm ci` of a lockfile only
 * fetches and caches the abbreviated ("corgi") ones, so `npm install --offline <tgz>` into an
 * empty project fails with ENOTCACHED on a cache that only `npm ci` filled (as CI's is). With a
 * lockfile, npm installs exactly these packages from the cache, as `npm ci` does.
 */
function userLockfile(tarballName: string, tarballIntegrity: string, userDeps: Record<string, string>): object {
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const self = lock.packages['']!;
  const ours: LockEntry = {
    version: (self as { version?: string }).version ?? '0.0.0',
    resolved: `file:${tarballName}`,
    integrity: tarballIntegrity,
    ...(self.dependencies ? { dependencies: self.dependencies } : {}),
    ...(self.optionalDependencies ? { optionalDependencies: self.optionalDependencies } : {}),
    ...(self['bin'] ? { bin: self['bin'] } : {}),
    ...(self['engines'] ? { engines: self['engines'] } : {}),
  };
  const packages: Record<string, LockEntry> = {
    '': { name: 'my-hil-project', version: '1.0.0', dependencies: { [pkg.name]: `file:${tarballName}`, ...userDeps } },
    [`node_modules/${pkg.name}`]: ours,
  };
  // Node's resolution over the lockfile's paths: the nearest node_modules/<name> up from `from`.
  const find = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const at = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[at] || packages[at]) return at;
      if (!dir) return undefined;
    }
  };
  const queue: [string, string, boolean][] = [];
  const edges = (from: string, e: LockEntry): void => {
    for (const n of Object.keys(e.dependencies ?? {})) queue.push([from, n, false]);
    for (const n of Object.keys(e.optionalDependencies ?? {})) queue.push([from, n, true]);
  };
  edges(`node_modules/${pkg.name}`, ours);
  edges('', { dependencies: userDeps });
  while (queue.length) {
    const [from, name, optional] = queue.shift()!;
    const at = find(from, name);
    if (!at) {
      if (optional) continue;
      throw new Error(`package-lock.json has no ${name} (needed by ${from || 'the user project'}): run npm install in the repo`);
    }
    if (packages[at]) continue;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock.packages[at]!;
    packages[at] = entry;
    edges(at, entry);
  }
  return { name: 'my-hil-project', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a process in the user's project: this machine's, without what `npm test`
 * adds for the repo (npm_package_*, npm_config_local_prefix, ...: they would point npm back at the
 * checkout) except the npm cache, and without the HIL_* variables of an outer run.
 */
function userEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('HIL_')) continue;
    if (k.toLowerCase().startsWith('npm_') && k.toLowerCase() !== 'npm_config_cache') continue;
    env[k] = v;
  }
  return env;
}

/** Runs a command in `cwd`, bounded by `timeoutMs` (killed past it); never rejects. */
function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<Ran> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, env: userEnv(), timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 32 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr: error && error.killed ? `${stderr}\n(killed after ${timeoutMs} ms)` : stderr });
    });
  });
}

/** The output of a run, for an assertion message. */
function shown(r: Ran): string {
  const tail = (s: string): string => s.split('\n').slice(-40).join('\n');
  return `exit ${r.code}\n--- stdout\n${tail(r.stdout)}\n--- stderr\n${tail(r.stderr)}`;
}

describe('a new user: the packed tarball installed offline in a fresh project', function () {
  this.timeout(60_000);
  let project = '';
  let tarball = '';
  let packed: string[] = [];

  before(async function () {
    this.timeout(180_000);
    project = mkdtempSync(join(tmpdir(), 'hil-new-user-'));
    console.log(`    project: ${project}`);
    const pack = await run('npm', ['pack', '--json', '--pack-destination', project], repo, 120_000);
    expect(pack.code, `npm pack\n${shown(pack)}`).to.equal(0);
    // npm pack prints the prepack build's output before its JSON.
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('\n[') + 1)) as { filename: string; files: { path: string }[] }[];
    tarball = join(project, info[0]!.filename);
    packed = info[0]!.files.map((f) => f.path);
    // The user's own dev tools, at the versions this repo's lockfile put in the cache.
    const userDeps = Object.fromEntries(['chai', '@types/chai', 'typescript', '@types/node'].map((n) => [n, pkg.dependencies[n] ?? pkg.devDependencies[n]!]));
    const name = info[0]!.filename;
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'my-hil-project', version: '1.0.0', private: true, type: 'module', dependencies: { [pkg.name]: `file:${name}`, ...userDeps } }, null, 2) + '\n');
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(userLockfile(name, integrity, userDeps), null, 2) + '\n');
    const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], project, 120_000);
    expect(install.code, `npm install --offline (is the npm cache primed? run npm ci in the repo first)\n${shown(install)}`).to.equal(0);
    for (const f of ['my.test.ts', 'consumer.mjs', 'consumer.ts', 'tsconfig.json']) copyFileSync(join(fixtures, f), join(project, f));
  });

  after(() => {
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('the tarball holds the compiled package, the boards and the firmware sources, and no TypeScript sources', () => {
    for (const f of [
      'bin/hil.js',
      'dist/host/src/index.js',
      'dist/host/src/index.d.ts',
      'dist/host/src/twin/index.js',
      'dist/host/src/cli/main.js',
      'dist/host/src/mocha/index.js',
      'dist/hil-tests/hello.test.js',
      'boards/schema.json',
      'boards/sim.json',
      'firmware/Makefile',
      'firmware/core/src/cvm_pool.c',
      'firmware/port/host/cvm_sim.c',
      'protocol/PROTOCOL.md',
    ]) expect(packed, f).to.include(f);
    const unwanted = packed.filter((f) => /^(host|hil-tests|scripts)\//.test(f) || f.startsWith('firmware/build/') || f.startsWith('firmware/tests/') || (f.endsWith('.ts') && !f.endsWith('.d.ts')));
    expect(unwanted, 'files that should not ship').to.deep.equal([]);
    const exportsMap = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { exports: Record<string, string | Record<string, string>> }).exports;
    for (const [entry, target] of Object.entries(exportsMap)) {
      for (const file of typeof target === 'string' ? [target] : Object.values(target)) expect(packed, `exports["${entry}"] → ${file}`).to.include(file.replace(/^\.\//, ''));
    }
  });

  it('`npx hil --help` runs the compiled CLI', async () => {
    const r = await run('npx', ['--no-install', 'hil', '--help'], project, 30_000);
    expect(r.code, shown(r)).to.equal(0);
    expect(r.stdout).to.match(/Usage: hil/).and.match(/\btest\b/);
    expect(r.stderr).not.to.match(/ERR_MODULE_NOT_FOUND|ERR_UNKNOWN_FILE_EXTENSION/);
  });

  it('plain node imports the library and the twin, and they talk', async () => {
    const r = await run(process.execPath, ['consumer.mjs'], project, 30_000);
    expect(r.code, shown(r)).to.equal(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { value: number; maxGlobals: number; crc: number; cborNative: boolean };
    expect(out.value).to.equal(42);
    expect(out.maxGlobals).to.be.greaterThan(0);
    expect(out.crc).to.equal(0x31c3);
    console.log(`    cbor-x native acceleration (cbor-extract) in the consumer: ${out.cborNative}`);
  });

  it('a TypeScript consumer type-checks with strict and exactOptionalPropertyTypes', async () => {
    const r = await run(process.execPath, [join(project, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', '.'], project, 60_000);
    expect(r.code, shown(r)).to.equal(0);
  });

  for (const targetName of ['twin', 'sim']) {
    it(`\`npx hil test my.test.ts --target ${targetName}\` runs the user's spec and writes its reports in the user's folder`, async function () {
      this.timeout(120_000);
      const reportDir = join('reports', `my-${targetName}`);
      const r = await run('npx', ['--no-install', 'hil', 'test', 'my.test.ts', '--target', targetName, '--reporter', 'dot', '--report-dir', reportDir], project, 110_000);
      expect(r.code, shown(r)).to.equal(0);
      expect(r.stdout, shown(r)).to.match(/\b2 passing\b/);
      const junit = join(project, reportDir, 'junit.xml');
      const record = join(project, reportDir, 'run.json');
      expect(existsSync(junit), junit).to.equal(true);
      expect(existsSync(record), record).to.equal(true);
      expect(readFileSync(junit, 'utf8')).to.include('stores and loads a global in the debug context');
      const rec = JSON.parse(readFileSync(record, 'utf8')) as { tests: { title: string; outcome: string }[] };
      expect(rec.tests.map((t) => [t.title, t.outcome])).to.deep.equal([
        ['stores and loads a global in the debug context', 'passed'],
        ['reads the limits of the build it talks to', 'passed'],
      ]);
    });
  }
});
