/**
 * The CLI as a user runs it: `node bin/hil.js ...` in a child process (a ManagedProcess, reaped
 * on every path), checking what it prints and its exit code. `hil flash` runs a stand-in flash
 * tool against the sim standing in for a board (host/src/boards/testing/harness.ts).
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess, liveChildPids } from '../process/managed.js';
import { REPO_ROOT } from '../targets/toolchain.js';
import { runHil, type CliRun } from '../testing/run-cli.js';
import { needTools } from '../testing/tools.js';
import { FTDI, makeFakeSysfs } from '../transport/testing/fake-sysfs.js';
import { makeStandInFlasher, simBoardDescriptor, startSimBoard, type SimBoard, type StandInFlasher } from '../boards/testing/harness.js';
import { formatRecord, type CaptureRecord } from '../orchestrator/monitor.js';
import { EXIT, exitCodeHelp } from '../orchestrator/exit-codes.js';

type Run = CliRun;

/** Runs the CLI to completion from the repository root (test helper: host/src/testing/run-cli.ts). */
const hil = (...args: string[]): Promise<Run> => runHil(args, { name: 'hil (cli test)' });

describe('hil (CLI)', function () {
  this.timeout(90_000);
  after(() => {
    expect(liveChildPids(), 'children left running').to.deep.equal([]);
  });

  it('hil --help lists every command, the targets, the boards and the exit codes', async () => {
    const r = await hil('--help');
    expect(r.code).to.equal(0);
    for (const c of ['test', 'diag', 'bench', 'list', 'flash', 'monitor']) expect(r.stdout).to.match(new RegExp(`^ {2}${c} \\[options\\]`, 'm'));
    expect(r.stdout).to.contain('tcp://HOST:PORT').and.contain('--board NAME works wherever --target does');
    expect(r.stdout).to.contain(exitCodeHelp() + '\n');
  });

  it('hil flash --help explains the descriptor, the exit codes, and shows examples', async () => {
    const r = await hil('flash', '--help');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.contain('--board <name|path>').and.contain('--no-build');
    expect(r.stdout).to.match(/Examples:\n {2}hil flash --board stm32f407-discovery\n/);
    expect(r.stdout).to.contain(exitCodeHelp([EXIT.ok, EXIT.usage, EXIT.target, EXIT.flash]) + '\n');
  });

  it('hil monitor --help and hil list --help show examples', async () => {
    const m = await hil('monitor', '--help');
    expect(m.code).to.equal(0);
    expect(m.stdout).to.contain('hil monitor --replay sim.jsonl');
    const l = await hil('list', '--help');
    expect(l.code).to.equal(0);
    expect(l.stdout).to.match(/Examples:\n {2}hil list\n/);
  });

  describe('hil list', () => {
    it('shows an adapter with its USB ids and serial number, claimed by the descriptor that names those ids', async () => {
      const fs = makeFakeSysfs([FTDI]);
      try {
        const r = await hil('list', '--sysfs', fs.root);
        expect(r.code).to.equal(0);
        expect(r.stdout).to.contain('/dev/ttyUSB0  0403:6001  serial A50285BI  FTDI FT232R USB UART  [ftdi_sio]  →  board stm32f407-discovery (by USB id)');
        expect(r.stdout).to.contain('/dev/ttyS0    not USB (a built-in UART)');
        const j = await hil('list', '--sysfs', fs.root, '--json');
        const parsed = JSON.parse(j.stdout) as { ports: Array<{ path: string; boards: unknown[] }> };
        expect(parsed.ports.find((p) => p.path === '/dev/ttyUSB0')!.boards).to.deep.equal([{ board: 'stm32f407-discovery', by: 'USB id' }]);
      } finally {
        fs.remove();
      }
    });

    it('says so, and why, when no USB serial device is attached', async () => {
      const fs = makeFakeSysfs([], { bare: true });
      try {
        const r = await hil('list', '--sysfs', fs.root);
        expect(r.code).to.equal(0);
        expect(r.stdout).to.contain('no USB serial device is attached').and.contain('pseudo-terminals (sim, qemu, twin-pty) are never listed');
        expect(r.stdout).to.contain('board stm32f407-discovery (boards/stm32f407-discovery.json): its port USB 0403:6001 is not attached');
      } finally {
        fs.remove();
      }
    });
  });

  describe('hil flash (stand-in flash tool, the sim as the board)', function () {
    let flasher: StandInFlasher;
    let board: SimBoard | undefined;
    let file = '';

    before(function () {
      needTools(this, [['socat', 'socat'], ['gcc', 'gcc'], ['make', 'make']]);
    });
    beforeEach(async () => {
      flasher = makeStandInFlasher();
      board = await startSimBoard(flasher.dir);
      file = join(flasher.dir, 'bench.json');
      writeFileSync(file, JSON.stringify(simBoardDescriptor('bench', board, flasher), null, 2));
    });
    afterEach(async () => {
      await board?.close();
      board = undefined;
      flasher.remove();
    });

    it('flashes with the descriptor\'s tool and arguments, then verifies the board runs the build', async () => {
      const r = await hil('flash', '--board', file);
      expect(r.stderr).to.equal('');
      expect(r.code).to.equal(0);
      expect(flasher.calls()).to.deep.equal([`-f board/stm32f4discovery.cfg -c program ${flasher.image} verify reset exit`]);
      const lines = r.stdout.trim().split('\n');
      expect(lines.map((l) => l.split(' ')[0])).to.deep.equal(['flash', 'open', 'banner', 'hello', 'verify', 'bench:']);
      expect(lines[2]).to.match(/^banner {3}CVM-BOOT proto=\d+ fw=cvm-fw\/[\d.]+\+sim\.vms4\.g64\.a16\.e64 /);
      expect(lines[5]).to.match(/^bench: flashed .*cvm-fw\.elf with openocd \(first attempt\); it booted \(nonce [0-9a-f]{8}\) and runs cvm-fw\/[\d.]+\+sim\.vms4\.g64\.a16\.e64, the build just flashed$/);
    });

    it('on a terminal (a real pty through script(1)): every step\'s line, and a bar naming the running step', async function () {
      needTools(this, [['script', 'bsdutils']]);
      const p = new ManagedProcess('hil flash under script(1) (test)', 'script', ['-qec', `${process.execPath} ${join(REPO_ROOT, 'bin', 'hil.js')} flash --board ${file}`, '/dev/null'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TERM: 'xterm' } });
      const { timedOut } = await p.exitWithin(60_000);
      expect(timedOut).to.equal(false);
      expect(p.exitCode, p.output).to.equal(0);
      expect(p.output).to.match(/\x1b\[1G/); // a bar redrawn in place, on the terminal
      for (const step of ['flash', 'open', 'banner', 'hello', 'verify']) expect(p.output).to.contain(`flash: ${step}: `); // the bar names each running step
      for (const step of ['flash    ', 'open     ', 'hello    ', 'verify   ']) expect(p.output).to.contain(step);
      expect(p.output).to.match(/bench: flashed .* the build just flashed/);
    });

    it('retries once after a failure, and then succeeds', async () => {
      flasher.plan([1, 0]);
      const r = await hil('flash', '--board', file);
      expect(r.code).to.equal(0);
      expect(flasher.calls()).to.have.length(2);
      expect(r.stdout).to.contain('(attempt 1 of 2)').and.contain('flash    attempt 1 failed (exit 1); retrying').and.contain('(attempt 2 of 2)');
      expect(r.stdout).to.contain('with openocd (attempt 2)');
    });

    it('fails twice: exit 4, naming the board, the tool and the attempts, with the tool\'s output', async () => {
      flasher.plan([1, 1]);
      const r = await hil('flash', '--board', file);
      expect(r.code).to.equal(4);
      expect(flasher.calls()).to.have.length(2);
      expect(r.stderr).to.match(/^hil: bench: flashing failed: openocd failed on all 2 attempts \(exit 1, exit 1\)\n/);
      expect(r.stderr).to.contain('--- attempt 2 of 2: ').and.contain('stand-in flasher: call 2').and.contain('Error: init mode failed (unable to connect to the target)');
      expect(r.stdout).not.to.match(/^(open|hello|verify) /m);
    });
  });

  it('hil monitor --replay prints a capture as it was printed live', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-cli-'));
    try {
      const recs: CaptureRecord[] = [
        { t: '2026-11-24T20:14:03.117Z', dir: 'link', kind: 'link', text: 'opened sim (/dev/pts/4)' },
        { t: '2026-11-24T20:14:03.118Z', dir: 'tx', kind: 'frame', hex: '82182a00', decoded: { seq: 42, op: 'hello', opKnown: true, args: [] } },
        { t: '2026-11-24T20:14:03.120Z', dir: 'rx', kind: 'log', text: 'CVM-BOOT proto=1 fw=x nonce=00000001 vms=4 globals=64 arrays=16 elements=64' },
        { t: '2026-11-24T20:14:03.121Z', dir: 'rx', kind: 'frame', hex: '82182a04', decoded: { seq: 42, op: 'acquire', opKnown: true, status: 'error', error: 'not_acquired', code: 4 } },
      ];
      const file = join(dir, 'cap.jsonl');
      writeFileSync(file, recs.map((x) => JSON.stringify(x)).join('\n') + '\n');
      const r = await hil('monitor', '--replay', file);
      expect(r.code).to.equal(0);
      expect(r.stdout).to.equal(recs.map(formatRecord).join('\n') + '\n');
      expect(r.stdout).to.contain('20:14:03.121  dev→host  frame   seq 42 acquire → error not_acquired (4)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('hil monitor --target twin --hello captures, and --replay prints the capture identically', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-cli-'));
    try {
      const file = join(dir, 'twin.jsonl');
      const live = await hil('monitor', '--target', 'twin', '--hello', '--count', '3', '--capture', file);
      expect(live.code).to.equal(0);
      expect(live.stderr).to.contain('stopped by count');
      const replay = await hil('monitor', '--replay', file);
      expect(replay.stdout).to.equal(live.stdout);
      expect(live.stdout).to.match(/host→dev {2}frame {3}seq \d+ hello\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a bad descriptor is an error naming the file, the field and the fix (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hil-cli-'));
    try {
      const file = join(dir, 'x.json');
      writeFileSync(file, JSON.stringify({ name: 'x', kind: 'serial', port: { path: '/dev/ttyUSB0' }, flash: { tool: 'jlink', args: ['{image}'] } }));
      const r = await hil('flash', '--board', file);
      expect(r.code).to.equal(2);
      expect(r.stderr).to.equal(`hil: ${file}: /flash/tool must be one of openocd, st-flash (got "jlink"); fix the value or add a strategy (host/src/boards/strategy.ts)\n`);
      const unknown = await hil('diag', '--board', 'no-such-board');
      expect(unknown.code).to.equal(2);
      expect(unknown.stderr).to.match(/boards\/no-such-board\.json: no board named "no-such-board" in boards; boards are: .*stm32f407-discovery/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2: monitor without a target, --target with --board', async () => {
    const m = await hil('monitor');
    expect(m.code).to.equal(2);
    expect(m.stderr).to.contain('give one of --board NAME or --target SPEC');
    const both = await hil('diag', '--target', 'twin', '--board', 'twin');
    expect(both.code).to.equal(2);
    expect(both.stderr).to.contain('give --target or --board, not both');
  });

  it('--board resolves a descriptor to its target (diag --board twin)', async () => {
    const r = await hil('diag', '--board', 'twin', '--json', '--samples', '5');
    expect(r.code).to.equal(0);
    expect((JSON.parse(r.stdout) as { hello: { firmwareId: string } }).hello.firmwareId).to.match(/^cvm-twin\//);
  });

  describe('hil test', () => {
    let dir = '';
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'hil-reports-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('--board twin --board sim runs both in parallel, a JUnit file and run record per board, and a summary table', async () => {
      const r = await hil('test', '--board', 'twin', '--board', 'sim', '--report-dir', dir, '--grep', 'contexts');
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/^\[twin\] /m);
      expect(r.stdout).to.match(/^\[sim \] /m);
      expect(r.stdout).to.match(/^board\s+passed\s+failed\s+pending\s+duration/m);
      for (const board of ['twin', 'sim']) {
        expect(r.stdout).to.match(new RegExp(`^${board}\\s+\\d+\\s+0\\s+0\\s+[\\d.]+ s\\s+ok`, 'm'));
        const junit = readFileSync(join(dir, board, 'junit.xml'), 'utf8');
        expect(junit).to.match(new RegExp(`<testsuite name="${board}" tests="\\d+" failures="0"`));
        const run = JSON.parse(readFileSync(join(dir, board, 'run.json'), 'utf8')) as { board: string; firmwareId: string; tests: unknown[] };
        expect(run.board).to.equal(board);
        expect(run.firmwareId).to.match(board === 'sim' ? /^cvm-fw\// : /^cvm-twin\//);
        expect(run.tests.length).to.be.greaterThan(0);
        expect(readFileSync(join(dir, board, 'console.log'), 'utf8')).to.match(/passing/);
      }
    });

    it('a --reporter given on the command line reaches every board of a parallel run; the report files are written all the same', async () => {
      const r = await hil('test', '--board', 'twin', '--board', 'sim', '--report-dir', dir, '--grep', 'contexts', '--reporter', 'tap');
      expect(r.code, r.stderr).to.equal(0);
      for (const board of ['twin', 'sim']) {
        expect(r.stdout).to.match(new RegExp(`^\\[${board}\\s*\\] ok 1 contexts`, 'm'));
        expect(existsSync(join(dir, board, 'run.json')), `${board}/run.json`).to.equal(true);
      }
    });

    it('a board of a parallel run that never starts: its one line in the summary, no report folder, exit 3', async () => {
      const gone = join(dir, 'gone.json');
      writeFileSync(gone, JSON.stringify({ name: 'gone', kind: 'serial', port: { path: '/dev/ttyGONE-hil' } }));
      const reports = join(dir, 'reports');
      const r = await hil('test', '--board', 'twin', '--board', gone, '--report-dir', reports, '--grep', 'contexts');
      expect(r.code, r.stderr).to.equal(3);
      expect(r.stdout).to.match(/\/gone\.json\s+0\s+0\s+0\s+[\d.]+ s\s+NOT RUN\s+0\s+did not start \(exit 3\): serial:\/dev\/ttyGONE-hil: no such port: \/dev\/ttyGONE-hil /m);
      expect(readdirSync(reports).sort(), 'the board that ran, and the combined page').to.deep.equal(['index.html', 'twin']);
    });

    it('fails, naming the port, when the target cannot be opened', async () => {
      const bad = await hil('test', '--target', 'serial:/dev/ttyNOPE-hil', '--report-dir', dir);
      expect(bad.code).to.not.equal(0);
      expect(bad.stdout + bad.stderr).to.match(/no such port: \/dev\/ttyNOPE-hil/);
    });
  });

  it('hil bench --target twin sim --quick prints figures per target and a JSON line of them last', async () => {
    const r = await hil('bench', '--target', 'twin', 'sim', '--quick');
    expect(r.code, r.stderr).to.equal(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^host codec: \d+ ns\/op .* \d+(\.\d+)?x$/);
    expect(r.stdout).to.match(/^sim: boot to ready [\d.]+ ms; single \d+ ops\/s/m);
    const figures = JSON.parse(lines.at(-1)!) as Record<string, Record<string, number>>;
    expect(Object.keys(figures)).to.deep.equal(['twin', 'sim']);
    for (const t of ['twin', 'sim']) {
      for (const k of ['boot_to_ready_ms', 'single_ops_per_s', 'pipelined_ops_per_s', 'batched_ops_per_s', 'codec_vs_cborx']) {
        expect(figures[t]![k], `${t}.${k}`).to.be.a('number').and.greaterThan(0);
      }
    }
  });
});

