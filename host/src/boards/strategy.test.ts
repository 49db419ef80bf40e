/**
 * The board strategy end to end, with the sim standing in for a flashed board (behind a socat pty
 * that boots it when the port is opened) and a stand-in flash tool that records its arguments
 * (host/src/boards/testing/harness.ts). Also: a sim descriptor, and a tcp descriptor reaching the
 * sim through a local TCP server as ser2net would.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { ManagedProcess, liveChildPids } from '../process/managed.js';
import { armElf, buildFirmware } from '../targets/toolchain.js';
import { needTools } from '../testing/tools.js';
import { loadBoard, validateDescriptor, type Board } from './descriptor.js';
import { BoardError, FlashError, VerifyError, bringUp as prepareBoard, flashBoard, flashImage } from '../targets/strategy.js';
import { makeStandInFlasher, simBoardDescriptor, startSimBoard, type SimBoard, type StandInFlasher } from './testing/harness.js';

const SIM_BOARD_TOOLS: Array<[string, string]> = [['socat', 'socat'], ['gcc', 'gcc'], ['make', 'make']];

describe('board strategy', function () {
  this.timeout(60_000);
  let flasher: StandInFlasher;
  let board: SimBoard | undefined;

  before(function () {
    needTools(this, SIM_BOARD_TOOLS);
  });
  beforeEach(() => {
    flasher = makeStandInFlasher();
  });
  afterEach(async () => {
    await board?.close();
    board = undefined;
    flasher.remove();
  });
  after(() => {
    expect(liveChildPids(), 'children left running').to.deep.equal([]);
  });

  const descriptor = (over: Record<string, unknown> = {}): Board =>
    validateDescriptor({ ...simBoardDescriptor('bench', board ?? { path: '/dev/null-board' }, flasher), ...over }, join(flasher.dir, 'bench.json'));

  it('flashes with the tool and its arguments, waits for the banner, says hello and verifies the build', async () => {
    board = await startSimBoard(flasher.dir);
    const steps: string[] = [];
    const ready = await prepareBoard(descriptor(), { flash: true, onStep: (s) => steps.push(s) });
    try {
      expect(flasher.calls()).to.deep.equal([`-f board/stm32f4discovery.cfg -c program ${flasher.image} verify reset exit`]);
      expect(ready.flash!.attempts).to.have.length(1);
      expect(ready.banner).to.match(/^CVM-BOOT proto=\d+ fw=cvm-fw\/[\d.]+\+sim\.vms4\.g64\.a16\.e64 nonce=/);
      expect(ready.verified!.firmwareId).to.equal(ready.hello.firmwareId);
      expect(ready.board.port).to.deep.equal({ path: board.path });
      expect(steps.map((s) => s.split(' ')[0])).to.deep.equal(['flash', 'open', 'banner', 'hello', 'verify']);
      // ready means usable:
      await ready.client.acquire(0);
      await ready.client.storeGlobal(0, 1, 42);
      expect(await ready.client.loadGlobal(0, 1)).to.equal(42);
    } finally {
      await ready.close();
    }
  });

  it('retries a failed flash once', async () => {
    board = await startSimBoard(flasher.dir);
    flasher.plan([1, 0]);
    const ready = await prepareBoard(descriptor(), { flash: true });
    await ready.close();
    expect(flasher.calls()).to.have.length(2);
    expect(ready.flash!.attempts.map((a) => a.exitCode)).to.deep.equal([1, 0]);
  });

  it('two failures are a FlashError (exit 4) naming the board, the tool, the attempts, with the output', async () => {
    flasher.plan([1, 3]);
    const e = await flashBoard(descriptor()).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(FlashError);
    const f = e as FlashError;
    expect(f.exitCode).to.equal(4);
    expect(f.message.split('\n')[0]).to.equal('bench: flashing failed: openocd failed on all 2 attempts (exit 1, exit 3)');
    expect(f.message).to.contain('--- attempt 1 of 2: ').and.contain('--- attempt 2 of 2: ');
    expect(f.message).to.contain('stand-in flasher: call 2').and.contain('Error: init mode failed');
  });

  it('a board running another build fails verification (exit 4)', async () => {
    board = await startSimBoard(flasher.dir);
    const e = await prepareBoard(descriptor({ firmware: { config: 'small', port: 'sim' } }), { flash: true }).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(VerifyError);
    expect((e as VerifyError).exitCode).to.equal(4);
    expect((e as Error).message).to.match(/does not run the build just flashed:\n {2}hello firmware id cvm-fw\/[\d.]+\+sim\.vms4\.g64\.a16\.e64, the build is cvm-fw\/[\d.]+\+sim\.vms2\.g16\.a4\.e16/);
  });

  it('reset: true (no flash) waits for the banner; nothing is flashed', async () => {
    board = await startSimBoard(flasher.dir);
    const ready = await prepareBoard(descriptor(), { reset: true });
    await ready.close();
    expect(ready.banner).to.match(/^CVM-BOOT /);
    expect(ready.flash).to.equal(undefined);
    expect(flasher.calls()).to.deep.equal([]);
  });

  it('no banner after the flash is reported with what to check (exit 3)', async () => {
    // The sim's own pty: its banner was written before the port was opened, and opening flushed it.
    const { startSim } = await import('../targets/sim.js');
    const sim = await startSim('default');
    try {
      const d = validateDescriptor({ ...simBoardDescriptor('bench', { path: sim.path }, flasher), bannerTimeoutMs: 300 }, join(flasher.dir, 'bench.json'));
      const e = await prepareBoard(d, { flash: true }).catch((err: unknown) => err);
      expect(e).to.be.instanceOf(BoardError);
      expect((e as BoardError).exitCode).to.equal(3);
      expect((e as Error).message).to.match(/^bench: no boot banner \("CVM-BOOT \.\.\."\) within 300 ms on serial:\/dev\/pts\/\d+ \(reset method none: the board must boot when its port is opened; give \/reset in the descriptor\)/);
    } finally {
      await sim.close();
    }
  });

  it('builds only images that are firmware/build products; st-flash defaults to the .bin', () => {
    const disco = loadBoard('stm32f407-discovery');
    expect(flashImage(disco)).to.deep.equal({ image: armElf('default'), built: true });
    const { file: _file, root: _root, ...json } = disco;
    void _file, void _root;
    const st = validateDescriptor({ ...json, name: 'st', flash: { tool: 'st-flash', args: ['write', '{image}', '0x8000000'] } }, join(flasher.dir, 'st.json'));
    expect(flashImage(st)).to.deep.equal({ image: armElf('default').replace(/\.elf$/, '.bin'), built: true });
    expect(flashImage(descriptor())).to.deep.equal({ image: flasher.image, built: false });
  });

  it('refuses to flash what is not a serial board', async () => {
    const e = await flashBoard(loadBoard('sim')).catch((err: unknown) => err);
    expect(e).to.be.instanceOf(BoardError);
    expect((e as BoardError).exitCode).to.equal(2);
    expect((e as Error).message).to.equal('sim: cannot flash: kind sim is not flashed (it runs the image it is started with, built when it starts)');
  });

  it('brings a sim descriptor to ready with its configuration', async () => {
    const ready = await prepareBoard(loadBoard('sim-small'));
    try {
      expect(ready.board.firmware?.config).to.equal('small');
      expect(ready.hello.maxVms).to.equal(2);
      expect(ready.hello.firmwareId).to.match(/\+sim\.vms2\.g16\.a4\.e16$/);
    } finally {
      await ready.close();
    }
  });

  it('reaches a tcp descriptor (the sim behind a local TCP server, as behind ser2net)', async () => {
    const sim = await buildFirmware('sim', 'default');
    const children: ManagedProcess[] = [];
    const sockets: Socket[] = [];
    const server: Server = createServer((sock) => {
      sockets.push(sock);
      const p = new ManagedProcess('cvm-sim --stdio', sim, ['--stdio']);
      children.push(p);
      sock.pipe(p.child.stdin!);
      p.child.stdout!.on('data', (d: Buffer) => sock.write(d));
      sock.on('close', () => void p.stop());
      sock.on('error', () => {});
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    try {
      const d = validateDescriptor({ name: 'remote', kind: 'tcp', url: `tcp://127.0.0.1:${port}` }, join(flasher.dir, 'remote.json'));
      const ready = await prepareBoard(d);
      try {
        expect(ready.board.url).to.equal(`tcp://127.0.0.1:${port}`);
        expect(ready.hello.firmwareId).to.match(/\+sim\./);
        expect(await ready.client.echo(new Uint8Array([1, 2, 3]))).to.deep.equal(new Uint8Array([1, 2, 3]));
      } finally {
        await ready.close();
      }
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
      await Promise.all(children.map((c) => c.stop()));
    }
  });
});
