/**
 * `hil monitor`'s logic: frame decoding, the printed form, replay of a synthetic capture, and
 * end-to-end captures from the twin, the sim, and the sim as a board (whose banner is seen).
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCbor } from '../codec/cbor.js';
import { liveChildPids } from '../process/managed.js';
import { needTools } from '../testing/tools.js';
import { Op, PROTOCOL_VERSION } from '../protocol/constants.js';
import { makeStandInFlasher, startSimBoard } from '../boards/testing/harness.js';
import { decodeFrame, formatRecord, monitorTarget, readCapture, replayCapture, type CaptureRecord } from './monitor.js';

const T = '2026-11-24T20:14:03.117Z';

/** A capture as a monitor would write it: the boot banner, a hello, an error, damage. */
const SYNTHETIC: CaptureRecord[] = [
  { t: T, dir: 'link', kind: 'link', text: 'opened serial:/dev/ttyUSB0' },
  { t: T, dir: 'rx', kind: 'log', text: 'CVM-BOOT proto=1 fw=cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64 nonce=0badf00d vms=4 globals=64 arrays=16 elements=64' },
  { t: T, dir: 'tx', kind: 'frame', hex: encodeCbor([7, Op.store_global, 1, 2, -5]).toString('hex'), decoded: decodeFrame(encodeCbor([7, Op.store_global, 1, 2, -5]), 'tx') },
  { t: T, dir: 'rx', kind: 'frame', hex: '820704', decoded: { seq: 7, op: 'store_global', opKnown: true, status: 'error', error: 'not_acquired', code: 4 } },
  { t: T, dir: 'rx', kind: 'frame', hex: '8308004401020304', decoded: { seq: 8, op: 'echo', opKnown: false, status: 'ok', result: { bstr: '01020304' } } },
  { t: T, dir: 'rx', kind: 'defect', hex: '7e41414141', decoded: { defect: 'bad_crc' } },
];

describe('hil monitor (logic)', function () {
  this.timeout(60_000);
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hil-monitor-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  after(() => {
    expect(liveChildPids(), 'children left running').to.deep.equal([]);
  });

  describe('decodeFrame', () => {
    it('names a request, its arguments, and the response to it by seq', () => {
      const sent = new Map<number, string>();
      expect(decodeFrame(encodeCbor([5, Op.create_array, 1, 2, 16]), 'tx', sent)).to.deep.equal({ seq: 5, op: 'create_array', opKnown: true, args: { vm: 1, array: 2, size: 16 } });
      expect(decodeFrame(encodeCbor([5, 7]), 'rx', sent)).to.deep.equal({ seq: 5, op: 'create_array', opKnown: true, status: 'error', error: 'array_exists', code: 7 });
      expect(sent.size).to.equal(0);
    });

    it('guesses the op of an unannounced response from its result, and says it guessed', () => {
      expect(decodeFrame(encodeCbor([9, 0, new Uint8Array([1, 2])]), 'rx')).to.deep.equal({ seq: 9, op: 'echo', opKnown: false, status: 'ok', result: { bstr: '0102' } });
      expect(decodeFrame(encodeCbor([9, 0, 42]), 'rx')).to.deep.equal({ seq: 9, status: 'ok', result: 42 });
      expect(decodeFrame(encodeCbor([9, 0]), 'rx')).to.deep.equal({ seq: 9, status: 'ok' });
    });

    it('reports what it cannot decode', () => {
      expect(decodeFrame(Buffer.from([0x83, 0x01]), 'rx').invalid).to.match(/^malformed CBOR/);
      expect(decodeFrame(encodeCbor('hi'), 'rx')).to.deep.equal({ invalid: 'not a [seq, code, ...] message', result: 'hi' });
    });
  });

  it('prints each kind of record on one line, with its time, direction, seq, op, arguments, result or error', () => {
    expect(SYNTHETIC.map(formatRecord)).to.deep.equal([
      '20:14:03.117  --------  link    opened serial:/dev/ttyUSB0',
      '20:14:03.117  dev→host  log     CVM-BOOT proto=1 fw=cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64 nonce=0badf00d vms=4 globals=64 arrays=16 elements=64',
      '20:14:03.117  host→dev  frame   seq 7 store_global(vm 1, global 2, value -5)',
      '20:14:03.117  dev→host  frame   seq 7 store_global → error not_acquired (4)',
      '20:14:03.117  dev→host  frame   seq 8 echo? → ok {"bstr":"01020304"}',
      '20:14:03.117  dev→host  defect  bad_crc (5 bytes) 7e41414141',
    ]);
  });

  it('replays a capture file as it was printed', () => {
    const file = join(dir, 'cap.jsonl');
    writeFileSync(file, SYNTHETIC.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(replayCapture(file)).to.deep.equal(SYNTHETIC.map(formatRecord));
    writeFileSync(file, '{"t": 1}\n');
    expect(() => readCapture(file)).to.throw(/cap\.jsonl:1: not a capture record/);
  });

  it('captures the twin: banner, the hello it sent, the answer named by its request; replay prints the same', async () => {
    const file = join(dir, 'twin.jsonl');
    const printed: string[] = [];
    const s = await monitorTarget('twin', { hello: true, capture: file, count: 3, onRecord: (_r, line) => printed.push(line) });
    expect(s.stoppedBy).to.equal('count');
    const recs = readCapture(file);
    expect(recs.map((r) => `${r.dir} ${r.kind}`)).to.have.members(['link link', 'rx log', 'tx frame', 'rx frame']);
    const answer = recs.find((r) => r.dir === 'rx' && r.kind === 'frame')!;
    expect(answer.decoded).to.deep.include({ op: 'hello', opKnown: true, status: 'ok' });
    expect((answer.decoded!.result as { firmwareId: string }).firmwareId).to.match(/^cvm-twin\//);
    expect((answer.decoded!.result as { uniqueId: unknown }).uniqueId).to.have.keys('bstr');
    expect(replayCapture(file)).to.deep.equal(printed);
    expect(readFileSync(file, 'utf8').trim().split('\n')).to.have.length(printed.length);
  });

  it('captures the sim (end to end through its pty): its boot banner, the hello and its answer', async function () {
    needTools(this, [['socat', 'socat'], ['gcc', 'gcc'], ['make', 'make']]);
    const recs: CaptureRecord[] = [];
    // The sim boots once its pty is open (as QEMU resumes), so its banner is captured first.
    const s = await monitorTarget('sim', { hello: true, count: 3, onRecord: (r) => recs.push(r) });
    expect(s).to.deep.include({ stoppedBy: 'count', frames: 1, logs: 1 });
    expect(recs.find((r) => r.kind === 'log')!.text).to.match(new RegExp(`^CVM-BOOT proto=${PROTOCOL_VERSION} fw=` + 'cvm-fw/0\\.1\\.0\\+sim\\.'));
    const answer = recs.find((r) => r.dir === 'rx' && r.kind === 'frame')!;
    expect(answer.decoded).to.deep.include({ op: 'hello', status: 'ok' });
    expect((answer.decoded!.result as { firmwareId: string }).firmwareId).to.match(/\+sim\.vms4/);
  });

  it('shows a board booting: the banner arrives after the port is opened', async function () {
    needTools(this, [['socat', 'socat'], ['gcc', 'gcc'], ['make', 'make']]);
    const f = makeStandInFlasher();
    const board = await startSimBoard(f.dir);
    try {
      const recs: CaptureRecord[] = [];
      await monitorTarget(`serial:${board.path}`, { count: 1, onRecord: (r) => recs.push(r) });
      expect(recs[1]!.kind).to.equal('log');
      expect(recs[1]!.text).to.match(new RegExp(`^CVM-BOOT proto=${PROTOCOL_VERSION} fw=` + 'cvm-fw/'));
      expect(formatRecord(recs[1]!)).to.match(/^\d\d:\d\d:\d\d\.\d{3} {2}dev→host {2}log {5}CVM-BOOT /);
    } finally {
      await board.close();
      f.remove();
    }
  });

  it('shows QEMU booting, and sends hello only once the guest is up', async function () {
    needTools(this, [['qemu-system-arm', 'qemu-system-arm'], ['arm-none-eabi-gcc', 'gcc-arm-none-eabi']]);
    const recs: CaptureRecord[] = [];
    const ac = new AbortController();
    const s = await monitorTarget('qemu', {
      hello: true,
      durationMs: 30_000,
      signal: ac.signal,
      onRecord: (r) => {
        recs.push(r);
        if (r.dir === 'rx' && r.kind === 'frame') ac.abort();
      },
    });
    expect(s.stoppedBy).to.equal('signal');
    const bannerAt = recs.findIndex((r) => r.kind === 'log' && r.text!.startsWith('CVM-BOOT'));
    const helloAt = recs.findIndex((r) => r.dir === 'tx');
    expect(bannerAt).to.be.greaterThan(0);
    expect(helloAt).to.be.greaterThan(bannerAt);
    expect(recs[recs.length - 1]!.decoded).to.deep.include({ op: 'hello', status: 'ok' });
  });

  it('stops on its abort signal (Ctrl-C), and holds the process open until then', async () => {
    const ac = new AbortController();
    const recs: CaptureRecord[] = [];
    const running = monitorTarget('twin', { signal: ac.signal, onRecord: (r) => {
      recs.push(r);
      if (r.kind === 'log') ac.abort();
    } });
    const s = await running;
    expect(s.stoppedBy).to.equal('signal');
    expect(recs.map((r) => r.kind)).to.deep.equal(['link', 'log']);
  });

  it('stops after durationMs when nothing comes', async () => {
    const s = await monitorTarget('twin', { durationMs: 50, count: 100 });
    expect(s.stoppedBy).to.equal('duration');
  });
});
