#!/usr/bin/env node
/**
 * `npm test`: every test runner of the project, one after another, each one's output streamed as
 * it comes, and at the end one table and the plain total CI reads:
 *   tests: N passed, N failed[, N skipped]
 * A step that is not a test runner (code generation check, type check, a build) counts as one
 * test. Steps run even after a failure, so one red step does not hide the others.
 * `npm test -- --only hil` runs the steps whose name contains "hil".
 */
import { spawn } from 'node:child_process';

// 30 s of libFuzzer in every CI run (about 200k executions here); longer by hand: FUZZ_SECONDS=600 npm test -- --only fuzz.
const fuzzSeconds = process.env.FUZZ_SECONDS ?? '30';
const hil = (target) => ({ name: `hil suite: ${target}`, cmd: ['node', 'bin/hil.js', 'test', '--target', target, '--reporter', 'dot'] });
const steps = [
  { name: 'generated files up to date', cmd: ['npm', 'run', '--silent', 'gen:check'] },
  { name: 'typescript strict typecheck', cmd: ['npx', 'tsc', '--noEmit', '-p', '.'] },
  { name: 'firmware: ARM build, default (footprint, no heap)', cmd: ['make', '-C', 'firmware', 'arm', 'CONFIG=default'] },
  { name: 'firmware: ARM build, small (footprint, no heap)', cmd: ['make', '-C', 'firmware', 'arm', 'CONFIG=small'] },
  { name: 'firmware: raw-echo ARM build (the bench\'s link ceiling)', cmd: ['make', '-C', 'firmware', 'arm-echo'] },
  { name: 'firmware: C unit tests, both configurations', cmd: ['make', '-C', 'firmware', 'test-all'] },
  { name: 'unit tests and vectors (TS, and vectors against C)', cmd: ['npx', 'mocha', '--reporter', 'dot', 'host/src/**/*.test.ts', 'protocol/**/*.test.ts', 'scripts/mutate-lib.test.ts'] },
  hil('twin'),
  hil('twin-pty'),
  hil('sim'),
  hil('sim:small'),
  hil('qemu'),
  hil('qemu:small'),
  // The suite through the product's link emulator: a noisy cable must not change a verdict.
  { name: 'hil suite: sim through a lossy link (ber=1e-3)', cmd: ['node', 'bin/hil.js', 'test', '--target', 'sim', '--link', 'ber=1e-3,seed=1', '--reporter', 'dot'] },
  { name: 'hil suite: qemu through a lossy link (ber=1e-3)', cmd: ['node', 'bin/hil.js', 'test', '--target', 'qemu', '--link', 'ber=1e-3,seed=2', '--reporter', 'dot'] },
  // Remote boards: the suite through Debian's ser2net (raw and rfc2217) on sim and QEMU, busy /
  // kicked / telnet-on-raw errors, baud over RFC 2217; two local runs on one port (the lock).
  { name: 'remote: ser2net raw and rfc2217, local locks', cmd: ['npx', 'mocha', 'hil-tests/remote/*.test.ts'] },
  { name: 'example: soak on the twin', cmd: ['npx', 'tsx', 'examples/soak.ts', '--target', 'twin', '--cycles', '5'] },
  { name: 'example: diagnostics on the twin', cmd: ['npx', 'tsx', 'examples/diagnostics.ts', '--target', 'twin'] },
  // The packed tarball installed offline in a fresh project: hil --help, plain-node import, a strict
  // TS consumer, the user's own spec on twin and sim with reports (npm pack builds dist/ first).
  { name: 'new user: tarball installed offline, twin and sim', cmd: ['npx', 'mocha', 'scripts/new-user.test.ts'] },
  { name: 'differential: twin vs sim vs qemu', cmd: ['npx', 'mocha', 'hil-tests/differential/*.test.ts'] },
  // Real signals to real runs (sim, QEMU, parallel): no process or temp folder left, exit 130/143, reports written.
  { name: 'signals: SIGINT/SIGTERM/SIGKILL of hil test', cmd: ['npx', 'mocha', 'scripts/signals.test.ts'] },
  // A seeded sample of mutants of the C core (HIL suite on the sim) and of the twin (HIL suite on the
  // twin), each run in-process; fails when the sample's score drops below the goal (issue 14).
  { name: 'mutation: seeded sample, C core and twin', cmd: ['npm', 'run', '--silent', 'mutate:ci'] },
  { name: `firmware: libFuzzer, ${fuzzSeconds} s`, cmd: ['make', '-C', 'firmware', 'fuzz', `FUZZ_SECONDS=${fuzzSeconds}`] },
];

const only = process.argv.indexOf('--only');
const filter = only >= 0 ? process.argv[only + 1] : undefined;

/** Counts from a runner's output: Mocha's "N passing" or the plain "N passed, N failed" line. */
function countsOf(output) {
  const mocha = (word) => [...output.matchAll(new RegExp(`^\\s*(\\d+) ${word}\\b`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  if (/^\s*\d+ passing\b/m.test(output)) return { passed: mocha('passing'), failed: mocha('failing'), skipped: mocha('pending') };
  // Plain totals ("N passed, N failed" alone on a line) are summed: `make test-all` prints one per
  // configuration; per-binary lines carry a "name:" prefix and are already inside those totals.
  const plain = [...output.matchAll(/^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?\s*$/gm)];
  if (plain.length) {
    const sum = (i) => plain.reduce((n, m) => n + Number(m[i] ?? 0), 0);
    return { passed: sum(1), failed: sum(2), skipped: sum(3) };
  }
  return undefined;
}

function run(step) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    console.log(`\n=== ${step.name}: ${step.cmd.join(' ')}`);
    const child = spawn(step.cmd[0], step.cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FUZZ_SECONDS: fuzzSeconds } });
    let out = '';
    child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { out += d; process.stderr.write(d); });
    child.on('error', (e) => { out += String(e); });
    child.on('close', (code, signal) => {
      const counted = countsOf(out);
      const ok = code === 0;
      let c = counted ?? { passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0 };
      // A runner that exits non-zero without reporting a failure still failed (crash, hook error).
      if (!ok && c.failed === 0) c = { ...c, failed: 1 };
      resolve({ ...step, ...c, code: code ?? signal, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

const results = [];
for (const step of steps) {
  if (filter && !step.name.includes(filter)) continue;
  results.push(await run(step));
}
console.log('\n=== summary');
for (const r of results) {
  console.log(`${r.failed ? 'FAIL' : 'ok  '}  ${r.name.padEnd(52)} ${String(r.passed).padStart(5)} passed ${String(r.failed).padStart(3)} failed ${String(r.skipped).padStart(3)} skipped  ${r.seconds.toFixed(1)} s`);
}
const sum = (k) => results.reduce((n, r) => n + r[k], 0);
const skipped = sum('skipped');
console.log(`tests: ${sum('passed')} passed, ${sum('failed')} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = sum('failed') > 0 ? 1 : 0;
