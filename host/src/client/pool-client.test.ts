/**
 * PoolClient against a small scripted fake device with the v2 link layer (./testing/fake-device:
 * not the twin; these tests pin the client's own behaviour, including what a correct device never
 * does: answering out of order, answering twice, answering garbage, never answering), and lines
 * lost on purpose in either direction.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { prng } from '../util/prng.js';
import { encodeCbor } from '../codec/cbor.js';
import { encodeFrame } from '../framing/frame.js';
import { Op } from '../protocol/constants.js';
import { createMemoryLink } from '../transport/memory.js';
import { BoardReset, ClientClosed, DeviceError, LinkDead, ProtocolError, RequestTimeout, RetriesExhausted } from './errors.js';
import { PoolClient, type BatchOp } from './pool-client.js';
import { FakeDevice, defaultScript, fakeHello, type Request } from './testing/fake-device.js';

const ops = (n: number): BatchOp[] => Array.from({ length: n }, (_, i) => ({ op: 'load_global', vm: i % 4, global: i % 64 }));

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

const hello = fakeHello;

/**
 * A client on a fake device. Without retransmission unless asked (the link layer's own tests do):
 * these tests look at what went on the wire, and on a loaded machine a stalled event loop would let
 * the RTO (as short as rto_min) resend a request before its answer is read, a duplicate the device
 * would answer from its cache but that the test would count.
 */
async function setup(options: ConstructorParameters<typeof PoolClient>[1] = {}, connect = true) {
  const [host, dev] = createMemoryLink('fake', 'fake-device');
  await dev.open();
  const device = new FakeDevice(dev);
  const o = { retransmit: false, timeoutMs: 30_000, ...options };
  const client = connect ? await PoolClient.connect(host, o) : new PoolClient(host, o);
  if (!connect) await client.open();
  return { client, device, host, dev };
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => expect.fail(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e as Error,
  );
}

describe('PoolClient', () => {
  describe('requests', () => {
    it('connect() opens and says hello; info and target are set', async () => {
      const { client, device } = await setup();
      expect(client.target).to.equal('fake');
      expect(client.info).to.deep.equal(device.hello);
      expect(device.requests[0]!.slice(1)).to.deep.equal([Op.hello]);
      expect(client.counters.framesOut).to.equal(1);
      expect(client.counters.framesIn).to.equal(1);
      await client.close();
    });

    it('typed operations send their op code and arguments and decode results', async () => {
      const { client, device } = await setup();
      await client.acquire(1);
      expect(await client.loadGlobal(1, 7)).to.equal(1007);
      await client.storeGlobal(1, 7, -5);
      await client.createArray(1, 2, 10);
      expect(await client.loadArray(2, 3, 9)).to.equal(2009);
      await client.storeArray(1, 2, 9, 2147483647);
      await client.release(1);
      await client.resetPool();
      expect(await client.echo(Buffer.from([1, 2, 3]))).to.deep.equal(Buffer.from([1, 2, 3]));
      expect((await client.stats()).contexts).to.have.length(4);
      const sent = device.requests.slice(1).map((r) => r.slice(1));
      expect(sent.slice(0, 8)).to.deep.equal([
        [Op.acquire, 1],
        [Op.load_global, 1, 7],
        [Op.store_global, 1, 7, -5],
        [Op.create_array, 1, 2, 10],
        [Op.load_array, 2, 3, 9],
        [Op.store_array, 1, 2, 9, 2147483647],
        [Op.release, 1],
        [Op.reset_pool],
      ]);
      await client.close();
    });

    it('pipelines: many requests in flight, sent in call order with consecutive uint32 seqs', async () => {
      // The device holds requests on purpose: no retransmission, or a slow event loop (a loaded
      // machine) would resend a held one past the RTO and count it twice.
      const { client, device } = await setup({ maxInflightRequests: 8, retransmit: false });
      const held: Request[] = [];
      let maxHeld = 0;
      device.script = (req) => {
        held.push(req);
        maxHeld = Math.max(maxHeld, held.length);
        if (held.length === 8) setImmediate(() => held.splice(0).forEach((r) => device.answer(r)));
        return undefined;
      };
      const results = await Promise.all(Array.from({ length: 64 }, (_, i) => client.loadGlobal(i % 4, i % 64)));
      expect(results).to.deep.equal(Array.from({ length: 64 }, (_, i) => (i % 4) * 1000 + (i % 64)));
      expect(maxHeld).to.equal(8);
      const seqs = device.requests.slice(1).map((r) => r[0]);
      seqs.forEach((s, i) => expect(s).to.equal((seqs[0]! + i) >>> 0));
      expect(device.requests.slice(1).map((r) => r[3])).to.deep.equal(Array.from({ length: 64 }, (_, i) => i % 64));
      await client.close();
    });

    it('matches out-of-order responses by seq', async () => {
      const { client, device } = await setup();
      const held: Request[] = [];
      device.script = (req) => {
        held.push(req);
        if (held.length === 3) for (const r of held.reverse()) device.answer(r);
        return undefined;
      };
      expect(await Promise.all([client.loadGlobal(0, 1), client.loadGlobal(0, 2), client.loadGlobal(0, 3)])).to.deep.equal([1, 2, 3]);
      await client.close();
    });

    it('a response for a seq not pending is unsolicited and never answers another request', async () => {
      const { client, device } = await setup();
      const unsolicited: unknown[] = [];
      client.on('unsolicited', (m) => unsolicited.push(m));
      device.script = (req) => {
        device.send([(req[0] + 1000) >>> 0, 0, -1]); // someone else's answer first
        device.send(['not', 'a', 'seq']);
        device.raw(encodeFrame(Buffer.from([0xff]))); // not CBOR at all
        return defaultScript(req, device);
      };
      expect(await client.loadGlobal(2, 5)).to.equal(2005);
      expect(unsolicited).to.have.length(3);
      expect(client.counters.unsolicited).to.equal(3);
      await client.close();
    });

    it('a response that breaks the schema fails its request with ProtocolError', async () => {
      const { client, device } = await setup();
      const bad: unknown[][] = [];
      device.script = (req) => bad.shift()!.map((x) => (x === 'SEQ' ? req[0] : x));
      bad.push(['SEQ', 0, 1, 2], ['SEQ', 'x'], ['SEQ', 3, 1], ['SEQ', 0, 'text'], ['SEQ', 0, 7]);
      for (const p of [client.loadGlobal(0, 0), client.loadGlobal(0, 0), client.acquire(0), client.loadGlobal(0, 0), client.acquire(0)]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(ProtocolError);
        expect(e.message).to.match(/^fake: (load_global\(vm 0, global 0\)|acquire\(vm 0\)): /);
      }
      await client.close();
    });

    it('a device error becomes a DeviceError naming target, op, arguments and code', async () => {
      const { client } = await setup();
      const e = await rejection(client.storeGlobal(1, 99, 5));
      expect(e).to.be.instanceOf(DeviceError);
      expect(e.message).to.equal('fake: store_global(vm 1, global 99) failed: out_of_range (3)');
      expect(e).to.include({ op: 'store_global', target: 'fake', code: 3, codeName: 'out_of_range' });
      await client.close();
    });

    it('rejects non-integer arguments with TypeError before sending; out-of-range ids are sent', async () => {
      const { client, device } = await setup();
      const before = device.requests.length;
      const bad = [
        client.loadGlobal(1.5, 0),
        client.acquire(NaN),
        client.storeGlobal(0, 0, '1' as unknown as number),
        client.createArray(0, 0, Infinity),
        client.storeArray(0, 0, 0, 0.5),
        client.echo('x' as unknown as Uint8Array),
      ];
      for (const p of bad) expect(await rejection(p)).to.be.instanceOf(TypeError);
      expect((await rejection(client.loadGlobal(1.5, 0))).message).to.equal('load_global: vm must be an integer, got number 1.5');
      await turn();
      expect(device.requests.length).to.equal(before);
      await client.acquire(99); // the device judges ranges
      expect(device.requests.at(-1)!.slice(1)).to.deep.equal([Op.acquire, 99]);
      await client.close();
    });

    it('sequence numbers wrap from 0xFFFFFFFF to 0', async () => {
      const { client, device } = await setup();
      (client as unknown as { link: { nextSeq: number } }).link.nextSeq = 0xffffffff;
      (device as unknown as { next: number }).next = 0xffffffff;
      await Promise.all([client.acquire(0), client.acquire(1)]);
      expect(device.requests.slice(-2).map((r) => r[0])).to.deep.equal([0xffffffff, 0]);
      await client.close();
    });

    it('call() sends a raw request and returns the result element', async () => {
      const { client, device } = await setup();
      expect(await client.call(Op.load_global, [3, 4])).to.equal(3004);
      expect(await client.call(Op.acquire, [1])).to.equal(undefined);
      expect(await client.call(Op.store_global, [0, 0, 1.5])).to.equal(undefined); // sent as given: a float
      expect(device.requests.at(-1)![4]).to.equal(1.5);
      const e = await rejection(client.call(99, [1, 'x'], { name: 'mystery' }));
      expect(e).to.be.instanceOf(DeviceError);
      expect(e.message).to.equal('fake: mystery(1, string x) failed: unknown_op (1)');
      expect((await rejection(client.call(99, []))).message).to.equal('fake: op 99 failed: unknown_op (1)');
      await client.close();
    });

    it('sendMessage() frames CBOR as-is; writeRaw() writes bytes untouched; neither expects an answer', async () => {
      const { client, device } = await setup();
      await client.sendMessage(Buffer.from([0x82, 0x01, 0x0b])); // [1, 11]
      await client.writeRaw(Buffer.from('noise\n~!!!!\n'));
      await client.resetPool();
      expect(device.requests.at(-2)).to.deep.equal([1, 11]);
      expect(device.other.map((l) => l.toString('latin1'))).to.deep.equal(['noise', '~!!!!']);
      expect(client.counters.framesOut).to.equal(3);
      await client.close();
    });
  });

  describe('receiving', () => {
    it('log lines become log events; a banner is also a reset', async () => {
      const { client, device } = await setup();
      const logs: string[] = [];
      const resets: string[] = [];
      client.on('log', (t) => logs.push(t));
      client.on('reset', (r) => resets.push(r));
      device.log('hello from the device\r');
      device.log('CVM-BOOT proto=1 fw=fake nonce=00000002 vms=4 globals=64 arrays=16 elements=64');
      // The request in flight when the banner arrives was meant for the old session: it fails as
      // a board reset, and so does every request until hello re-handshakes.
      const inFlight = await rejection(client.resetPool());
      expect(inFlight).to.be.instanceOf(BoardReset);
      expect(inFlight.message).to.match(/board reset \(reset_pool not completed\): boot banner/);
      expect(client.resetPending).to.match(/^boot banner/);
      expect(await rejection(client.acquire(0))).to.be.instanceOf(BoardReset);
      await client.hello();
      expect(client.resetPending).to.equal(undefined);
      await client.resetPool();
      expect(logs).to.deep.equal(['hello from the device', 'CVM-BOOT proto=1 fw=fake nonce=00000002 vms=4 globals=64 arrays=16 elements=64']);
      expect(resets).to.have.length(1);
      expect(resets[0]).to.match(/banner.*CVM-BOOT/);
      expect(client.counters.logsIn).to.equal(2);
      await client.close();
    });

    it('a hello with a new boot nonce emits reset', async () => {
      const { client, device } = await setup();
      const resets: string[] = [];
      client.on('reset', (r) => resets.push(r));
      await client.hello();
      expect(resets).to.deep.equal([]);
      device.hello = hello({ bootNonce: 0x0badf00d, resetCause: 'watchdog' });
      const h = await client.hello();
      expect(h.bootNonce).to.equal(0x0badf00d);
      expect(client.info).to.equal(h);
      expect(resets).to.deep.equal(['boot nonce changed from 1234abcd to 0badf00d (reset cause: watchdog)']);
      await client.close();
    });

    it('damaged lines become defect events', async () => {
      const { client, device } = await setup();
      const defects: string[] = [];
      client.on('defect', (d, line) => defects.push(`${d}:${line.length}`));
      const good = encodeFrame(encodeCbor([1, 0])).toString('latin1');
      device.raw(Buffer.from(good.slice(0, -3) + (good.at(-3) === 'A' ? 'B' : 'A') + '=\n', 'latin1'));
      device.raw(Buffer.from('~QUI\n'));
      device.raw(Buffer.concat([Buffer.alloc(600, 0x41), Buffer.from('\n')]));
      await client.resetPool();
      expect(defects.map((d) => d.split(':')[0])).to.deep.equal(['bad_crc', 'bad_frame', 'overlong']);
      expect(client.counters.defectsIn).to.equal(3);
      await client.close();
    });
  });

  describe('the in-flight window', () => {
    it('never has more than maxInflightBytes of request lines unanswered; queued requests keep their order', async () => {
      const max = 200;
      const { client, device } = await setup({ maxInflightBytes: max, maxInflightRequests: 1000, retransmit: false }); // held on purpose: see above
      const held: Request[] = [];
      device.script = (req) => {
        held.push(req);
        setImmediate(() => {
          const n = 1 + (held.length >> 1);
          held.splice(0, n).forEach((r) => device.answer(r));
        });
        return undefined;
      };
      const sizes = Array.from({ length: 300 }, (_, i) => (i * 7) % 50);
      const results = await Promise.all(sizes.map((n) => client.echo(Buffer.alloc(n, n))));
      results.forEach((r, i) => expect(r).to.deep.equal(Buffer.alloc(sizes[i]!, sizes[i]!)));
      expect(device.maxUnanswered).to.be.at.most(max);
      expect(device.maxUnanswered).to.be.greaterThan(max / 2);
      expect(device.requests.slice(1).map((r) => (r[2] as Buffer).length)).to.deep.equal(sizes);
      await client.close();
    });

    it('counts raw writes in the window until a later answer shows the device read past them', async () => {
      const { client, device } = await setup({ maxInflightBytes: 100, retransmit: false, timeoutMs: 5000 });
      device.script = () => undefined;
      void client.writeRaw(Buffer.from('A'.repeat(89) + '\n'));
      const p = client.acquire(0); // does not fit beside the 90 raw bytes
      await turn();
      await turn();
      expect(device.requests).to.have.length(1); // the hello only
      await new Promise((r) => setTimeout(r, 30)); // raw bytes settle by time at the latest
      for (let i = 0; i < 100 && device.requests.length < 2; i++) await turn(); // and the request is delivered
      expect(device.requests).to.have.length(2);
      device.answer(device.requests[1]!);
      await p;
      await client.close();
    });
  });

  describe('timeouts', () => {
    it('without retransmission, a request with no answer fails with RequestTimeout naming op, target and what was last heard', async () => {
      const { client, device } = await setup({ timeoutMs: 50, retransmit: false }, false);
      device.script = () => undefined;
      const h = (await rejection(client.hello())) as RequestTimeout;
      expect(h).to.be.instanceOf(RequestTimeout);
      expect(h).to.include({ op: 'hello', target: 'fake', timeoutMs: 50, lastHeard: 'nothing since open' });
      expect(h.message).to.equal('fake: hello got no response within 50 ms; last heard from the target: nothing since open');
      device.script = defaultScript;
      await client.hello();
      device.script = () => undefined;
      const e = (await rejection(client.loadGlobal(1, 2))) as RequestTimeout;
      expect(e.message).to.match(/^fake: load_global\(vm 1, global 2\) got no response within 50 ms; last heard from the target: response frame \(seq \d+\) \d+ ms ago$/);
      expect(device.requests.filter((r) => r[1] === Op.load_global)).to.have.length(1); // sent once
      device.log('a diagnostic line');
      await turn();
      const e2 = (await rejection(client.acquire(0))) as RequestTimeout;
      expect(e2.lastHeard).to.match(/^log line "a diagnostic line" \d+ ms ago$/);
      await client.close();
    });

    it('releases the window slot, so the client stays usable; the late answer is unsolicited', async () => {
      // Only the requests meant to time out have a short bound (call()'s own): a loaded machine's
      // stalled event loop must not time out the ones meant to be answered.
      const { client, device } = await setup({ maxInflightRequests: 1 });
      let late: Request | undefined;
      device.script = (req) => {
        if (late === undefined) {
          late = req;
          return undefined;
        }
        return defaultScript(req, device);
      };
      const first = client.call(Op.load_global, [0, 1], { timeoutMs: 40, name: 'load_global' });
      const second = client.loadGlobal(0, 2); // queued behind the first
      expect(await rejection(first)).to.be.instanceOf(RequestTimeout);
      expect(await second).to.equal(2);
      const unsolicited = once(client, 'unsolicited');
      device.answer(late!);
      expect((await unsolicited)[0]).to.deep.equal([late![0], 0, 1]);
      expect((await rejection(client.loadGlobal(0, 3).then(() => Promise.reject(new Error('ok'))))).message).to.equal('ok');
      const e = (await rejection(
        (async () => {
          device.script = () => undefined;
          return client.call(Op.acquire, [1], { timeoutMs: 40, name: 'acquire' });
        })(),
      )) as RequestTimeout;
      expect(e.lastHeard).to.match(/^response frame \(seq \d+\) \d+ ms ago$/);
      await client.close();
    });

    it('an idle client holds no timer that keeps the process alive', async () => {
      const { client, device } = await setup();
      const timer = () => (client as unknown as { link: { timer?: NodeJS.Timeout } }).link.timer;
      expect(timer()?.hasRef() ?? false).to.equal(false);
      device.script = () => undefined;
      const p = client.acquire(0);
      await turn();
      await turn();
      expect(device.requests.at(-1)!.slice(1)).to.deep.equal([Op.acquire, 0]);
      expect(timer()!.hasRef()).to.equal(true);
      device.answer(device.requests.at(-1)!);
      await p;
      expect(timer()?.hasRef() ?? false).to.equal(false);
      await client.close();
    });

    it('call() takes its own timeout', async () => {
      const { client, device } = await setup({ timeoutMs: 5000 });
      device.script = () => undefined;
      // The error reports the call's own bound, not the client's 5000 ms; the test's timeout bounds the wait.
      const e = (await rejection(client.call(Op.hello, [], { timeoutMs: 30 }))) as RequestTimeout;
      expect(e.timeoutMs).to.equal(30);
      await client.close();
    });
  });

  describe('batch', () => {
    it('sends up to max_batch ops per request and concatenates the results in order', async () => {
      const { client, device } = await setup();
      const results = await client.batch(ops(70));
      expect(results).to.deep.equal(Array.from({ length: 70 }, (_, i) => ({ ok: true, value: (i % 4) * 1000 + (i % 64) })));
      const batches = device.requests.filter((r) => r[1] === Op.batch).map((r) => (r[2] as unknown[]).length);
      expect(batches).to.deep.equal([32, 32, 6]);
      await client.close();
    });

    it("uses the device's max_batch from hello", async () => {
      const { client, device } = await setup({}, false);
      device.hello = hello({ maxBatch: 10 });
      await client.hello();
      await client.batch(ops(25));
      expect(device.requests.filter((r) => r[1] === Op.batch).map((r) => (r[2] as unknown[]).length)).to.deep.equal([10, 10, 5]);
      await client.close();
    });

    it('splits a batch that would not fit in one frame', async () => {
      const { client, device } = await setup();
      const big: BatchOp[] = Array.from({ length: 32 }, (_, i) => ({ op: 'store_array', vm: 1000 + i, array: 1000, index: 60000, value: -2147483648 }));
      const results = await client.batch(big);
      expect(results).to.have.length(32);
      const sizes = device.requests.filter((r) => r[1] === Op.batch).map((r) => (r[2] as unknown[]).length);
      expect(sizes.length).to.be.greaterThan(1);
      expect(sizes.reduce((a, b) => a + b)).to.equal(32);
      await client.close();
    });

    it('reports failed entries by code and name; mixed ops go on the wire as [code, args...]', async () => {
      const { client, device } = await setup();
      const results = await client.batch([
        { op: 'acquire', vm: 1 },
        { op: 'acquire', vm: 9 },
        { op: 'store_global', vm: 1, global: 2, value: -3 },
        { op: 'create_array', vm: 1, array: 0, size: 8 },
        { op: 'store_array', vm: 1, array: 0, index: 7, value: 5 },
        { op: 'load_array', vm: 1, array: 0, index: 7 },
        { op: 'release', vm: 1 },
        { op: 'reset_pool' },
      ]);
      expect(results[1]).to.deep.equal({ ok: false, code: 3, error: 'out_of_range' });
      expect(results[0]).to.deep.equal({ ok: true });
      expect(device.requests.at(-1)![2]).to.deep.equal([[1, 1], [1, 9], [4, 1, 2, -3], [5, 1, 0, 8], [7, 1, 0, 7, 5], [6, 1, 0, 7], [2, 1], [11]]);
      await client.close();
    });

    it('rejects a bad op with TypeError before sending anything; an empty batch sends nothing', async () => {
      const { client, device } = await setup();
      const before = device.requests.length;
      const e = await rejection(client.batch([{ op: 'acquire', vm: 0 }, { op: 'store_global', vm: 0, global: 1.5, value: 0 }]));
      expect(e).to.be.instanceOf(TypeError);
      expect(e.message).to.equal('batch: ops[1] (store_global): global must be an integer, got number 1.5');
      expect((await rejection(client.batch([{ op: 'hello' } as unknown as BatchOp]))).message).to.match(/unknown op "hello"/);
      expect(await client.batch([])).to.deep.equal([]);
      await turn();
      expect(device.requests.length).to.equal(before);
      await client.close();
    });

    it('a batch-level device error rejects the whole batch', async () => {
      const { client, device } = await setup({}, false);
      device.hello = hello({ maxBatch: 100 });
      await client.hello();
      device.hello = hello({ maxBatch: 32 });
      const e = await rejection(client.batch(ops(40)));
      expect(e).to.be.instanceOf(DeviceError);
      expect(e.message).to.equal('fake: batch(40 ops) failed: too_large (10)');
      await client.close();
    });
  });

  describe('closing', () => {
    it('close() fails pending and queued requests with ClientClosed and emits close', async () => {
      const { client, device } = await setup({ maxInflightRequests: 2 });
      device.script = () => undefined;
      const requests = [client.acquire(0), client.acquire(1), client.acquire(2)];
      await turn();
      const closed = once(client, 'close');
      await client.close();
      expect(await closed).to.deep.equal([undefined]);
      for (const p of requests) {
        const e = (await rejection(p)) as ClientClosed;
        expect(e).to.be.instanceOf(ClientClosed);
        expect(e.disconnected).to.equal(false);
        expect(e.message).to.equal('fake: acquire failed: the client was closed');
      }
      expect(await rejection(client.acquire(0))).to.be.instanceOf(ClientClosed);
      await client.close(); // twice is safe
    });

    it('a disconnect fails pending requests with ClientClosed(disconnected) and emits close with the error', async () => {
      const { client, device, host } = await setup();
      device.script = () => undefined;
      const p = client.loadGlobal(0, 0);
      await turn();
      const closed = once(client, 'close');
      host.sever('cable pulled');
      const e = (await rejection(p)) as ClientClosed;
      expect(e).to.be.instanceOf(ClientClosed);
      expect(e.disconnected).to.equal(true);
      expect(e.message).to.equal('fake: load_global failed: the link disconnected (fake: cable pulled)');
      const [err] = (await closed) as [Error];
      expect(err.message).to.equal('fake: cable pulled');
      await client.close();
    });

    it('the device end closing is a disconnect too', async () => {
      const { client, device, dev } = await setup();
      device.script = () => undefined;
      const p = client.acquire(0);
      await turn();
      await dev.close();
      expect(((await rejection(p)) as ClientClosed).disconnected).to.equal(true);
    });

    it('requests before open() are refused', async () => {
      const [host] = createMemoryLink('fake', 'dev');
      const client = new PoolClient(host);
      expect((await rejection(client.acquire(0))).message).to.match(/not open/);
    });
  });

  describe('the link layer (PROTOCOL.md §3.3)', () => {
    /** For tests of what an answer triggers (a gap reply, a later answer): an RTO no stalled event loop reaches. */
    const NO_SPURIOUS_RTO = { rtoInitialMs: 10_000, rtoMinMs: 10_000, rtoMaxMs: 10_000 };
    /** Store then load `n` distinct globals, pipelined; returns the loads. */
    const storesAndLoads = (client: PoolClient, n: number) =>
      Promise.all(Array.from({ length: n }, (_, i) => (i % 2 === 0 ? client.storeGlobal(i & 3, (i >> 1) & 63, i) : client.loadGlobal(i & 3, (i >> 1) & 63))));

    /** Every executed request after the hello has the next seq, once, in the order the client issued them. */
    function expectExactlyOnceInOrder(device: FakeDevice, issued: number): void {
      const session = device.executed.slice(device.executed.map((r) => r[1]).lastIndexOf(Op.hello));
      const seqs = session.map((r) => r[0]);
      seqs.forEach((q, i) => expect(q).to.equal((seqs[0]! + i) >>> 0, `executed seq #${i}`));
      const work = session.slice(1);
      expect(work).to.have.length(issued);
      work.forEach((r, i) => expect([r[1], r[2], r[3]]).to.deep.equal([i % 2 === 0 ? Op.store_global : Op.load_global, i & 3, (i >> 1) & 63]));
    }

    it('hello opens the session alone, after one newline, at a random seq; requests follow it consecutively', async () => {
      const [host, dev] = createMemoryLink('fake', 'fake-device');
      await dev.open();
      const device = new FakeDevice(dev);
      const bytes: Buffer[] = [];
      dev.on('data', (c) => bytes.push(c));
      const client = new PoolClient(host, { retransmit: false, timeoutMs: 30_000 }); // the wire as sent once: see setup()
      await client.open();
      const hellos = [client.hello(), client.acquire(0), client.storeGlobal(0, 1, 2), client.hello(), client.loadGlobal(0, 1)];
      const [h1, , , h2, v] = await Promise.all(hellos);
      expect(v).to.equal(1);
      expect(h1).to.deep.equal(h2);
      const wire = Buffer.concat(bytes).toString('latin1');
      expect(wire.startsWith('\n~')).to.equal(true);
      expect(wire.split('\n\n~')).to.have.length(2); // the second hello too is preceded by a newline
      const r = device.requests;
      expect(r.map((q) => q[1])).to.deep.equal([Op.hello, Op.acquire, Op.store_global, Op.hello, Op.load_global]);
      expect(r[1]![0]).to.equal((r[0]![0] + 1) >>> 0);
      expect(r[2]![0]).to.equal((r[0]![0] + 2) >>> 0);
      expect(r[4]![0]).to.equal((r[3]![0] + 1) >>> 0);
      await client.close();
    });

    it('lendSession: after what is in flight, the seq the device expects; requests wait for the session back, then go on from the seq given back', async () => {
      const { client, device } = await setup();
      const acquired = client.acquire(0); // in flight when the session is asked for: waited for
      const lent = await client.lendSession();
      await acquired;
      expect(lent).to.not.equal(undefined);
      const helloSeq = device.requests[0]![0];
      expect(lent!.next).to.equal((helloSeq + 2) >>> 0); // hello, acquire
      // The borrower's own request at that seq, and one of the client's issued meanwhile.
      await client.sendMessage(encodeCbor([lent!.next, Op.store_global, 0, 1, 7]));
      const load = client.loadGlobal(0, 1);
      await turn();
      await turn();
      expect(device.requests.map((q) => q[1])).to.deep.equal([Op.hello, Op.acquire, Op.store_global], 'the load waits while the session is lent');
      lent!.giveBack((lent!.next + 1) >>> 0);
      expect(await load).to.equal(1);
      expect(device.requests[3]!.slice(0, 2)).to.deep.equal([(lent!.next + 1) >>> 0, Op.load_global]);
      expect(device.executed.map((q) => q[0])).to.deep.equal(device.requests.map((q) => q[0]), 'every request executed once, in order: no gap, no hello');
      await client.close();
    });

    it('lendSession: a session given back unknown is opened again with hello by the next request; none is lent without an open session', async () => {
      const { client, device } = await setup({}, false);
      expect(await client.lendSession()).to.equal(undefined); // no hello yet
      await client.hello();
      const lent = await client.lendSession();
      lent!.giveBack(undefined);
      expect(await client.loadGlobal(2, 3)).to.equal(2003);
      expect(device.requests.map((q) => q[1])).to.deep.equal([Op.hello, Op.hello, Op.load_global]);
      await client.close();
    });

    it('a request issued before any hello makes the client open a session first', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined }, false);
      expect(await client.loadGlobal(1, 2)).to.equal(1002);
      expect(device.requests.map((q) => q[1])).to.deep.equal([Op.hello, Op.load_global]);
      expect(client.info).to.not.equal(undefined);
      await client.close();
    });

    it('a lost request: the gap reply sends the client back to it; everything executes once, in order', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined, ...NO_SPURIOUS_RTO });
      const seen = new Set<number>();
      device.dropIn = (req) => !seen.has(req[0]) && seen.add(req[0]) && (seen.size === 4 || seen.size === 11); // two first transmissions lost
      await storesAndLoads(client, 40);
      expectExactlyOnceInOrder(device, 40);
      const s = client.linkStats();
      expect(s.goBacks).to.equal(1); // both were in the first burst: one go-back resends both
      expect(s.retransmits).to.be.greaterThan(0);
      expect(device.link.outOfSequence).to.be.greaterThan(0);
      await client.close();
    });

    it('a lost response: a later answer shows it, the client resends, the cache answers without executing again', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined, ...NO_SPURIOUS_RTO });
      device.dropOut = (_m, n) => n === 5;
      const results = await storesAndLoads(client, 20);
      expectExactlyOnceInOrder(device, 20);
      results.forEach((v, i) => expect(v).to.equal(i % 2 === 0 ? undefined : (i & 3) * 1000 + ((i >> 1) & 63)));
      expect(client.linkStats().fastRetransmits).to.equal(1);
      expect(device.link.replayed).to.equal(1);
      await client.close();
    });

    it('the last request lost with nothing after it: the RTO recovers it; a lost resend is resent at once on the probe behind it', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined });
      let drops = 2;
      device.dropIn = (req) => req[1] === Op.acquire && drops-- > 0;
      void turn;
      await client.acquire(2);
      expect(device.executed.filter((r) => r[1] === Op.acquire)).to.have.length(1);
      const s = client.linkStats();
      expect(s.timeouts).to.equal(1);
      expect(s.retransmits).to.equal(2);
      expect(s.fastRetransmits).to.equal(1);
      expect(s.probes).to.equal(2);
      expect(s.attempts[3]).to.equal(1);
      expect(s.maxAttemptsUsed).to.equal(3);
      await client.close();
    });

    it('after maxAttempts transmissions per ATTEMPT_BYTES of its round trip the request fails with RetriesExhausted naming op, arguments, attempts and counters', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined, maxAttempts: 3 });
      device.dropIn = (req) => req[1] === Op.store_global;
      const e = (await rejection(client.storeGlobal(1, 7, 99))) as RetriesExhausted;
      expect(e).to.be.instanceOf(RetriesExhausted);
      // A 21-byte line and a 14-byte response line: 35 bytes, 3 × 16 (attemptBudget).
      expect(e).to.include({ target: 'fake', op: 'store_global', args: 'vm 1, global 7', attempts: 9 });
      expect(e.message).to.match(/^fake: store_global\(vm 1, global 7\) got no response after 9 transmissions; last heard from the target: .*; link: \d+ transmissions, 8 retransmits, 0 go-backs, 8 fast retransmits, 1 timeouts, RTO \d+ ms$/);
      // The request the device never executed has left the session: the next one takes its seq.
      device.dropIn = () => false;
      expect(await client.loadGlobal(1, 7)).to.equal(1007);
      expect(client.linkStats().resyncs).to.equal(1);
      await client.close();
    });

    it('a dead link fails every pending and queued request at once with LinkDead', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined, deadLinkMs: 150 });
      device.silent = true;
      const n = 640;
      let settled = 0;
      const settledAt: number[] = [];
      const all = Array.from({ length: n }, (_, i) =>
        client.storeGlobal(i & 3, i & 63, i).then(
          () => expect.fail('resolved'),
          (e: Error) => {
            settledAt.push(settled);
            return e;
          },
        ),
      );
      // One macrotask boundary counter: requests that settle together see the same value.
      const ticker = setInterval(() => settled++, 1);
      const errors = await Promise.all(all);
      clearInterval(ticker);
      for (const e of errors) {
        expect(e).to.be.instanceOf(LinkDead);
        expect((e as LinkDead).failed).to.equal(n);
      }
      expect(new Set(settledAt).size).to.equal(1, 'all settled in the same turn');
      expect(errors[0]!.message).to.match(/^fake: store_global\(vm 0, global 0\) failed: the link is dead: nothing received for \d+ ms, 640 requests failed; last heard from the target: response frame \(seq \d+\) \d+ ms ago; link: /);
      expect(client.linkStats().deadLinks).to.equal(1);
      await client.close();
    });

    it('no_session: the device lost its session; pending requests fail as a board reset', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined });
      const resets: string[] = [];
      client.on('reset', (r) => resets.push(r));
      device.reboot();
      const e = await rejection(client.acquire(0));
      expect(e).to.be.instanceOf(BoardReset);
      expect(e.message).to.equal('fake: board reset (acquire not completed): the device answered acquire with no_session: it lost its session (it rebooted); call hello() to re-handshake');
      expect(resets).to.have.length(1);
      await client.hello();
      await client.acquire(0);
      await client.close();
    });

    it('out_of_sequence naming a later seq than the request means its response left the cache: ProtocolError', async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined });
      device.script = (req) => [req[0], 12, (req[0] + 40) >>> 0];
      const e = await rejection(client.acquire(1));
      expect(e).to.be.instanceOf(ProtocolError);
      expect(e.message).to.match(/^fake: acquire\(vm 1\): answered out_of_sequence expecting seq \d+, after this request's seq \d+: its response has left the device's replay cache \(a host window bug\)$/);
      await client.close();
    });

    it('without retransmission a lost request fails as RequestTimeout, the ones after it as out_of_sequence, then the client resynchronises', async () => {
      const { client, device } = await setup({ retransmit: false, timeoutMs: 60 });
      device.dropIn = (req) => req[1] === Op.store_global && req[3] === 1;
      const r = await Promise.allSettled([client.storeGlobal(0, 1, 1), client.storeGlobal(0, 2, 2), client.loadGlobal(0, 3)]);
      expect((r[0] as PromiseRejectedResult).reason).to.be.instanceOf(RequestTimeout);
      for (const x of r.slice(1)) expect(((x as PromiseRejectedResult).reason as DeviceError).codeName).to.equal('out_of_sequence');
      expect(await client.loadGlobal(0, 4)).to.equal(4);
      expect(client.linkStats()).to.include({ retransmits: 0, resyncs: 1 });
      await client.close();
    });

    it("keeps the window within the device's replay_depth and replay_bytes from hello", async () => {
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined }, false);
      device.hello = hello({ replayDepth: 4, replayBytes: 400 } as Partial<ReturnType<typeof hello>>);
      await client.hello();
      const held: Request[] = [];
      let maxHeld = 0;
      device.script = (req) => {
        held.push(req);
        maxHeld = Math.max(maxHeld, held.length);
        setImmediate(() => held.splice(0).forEach((q) => device.answer(q)));
        return undefined;
      };
      await Promise.all(Array.from({ length: 40 }, (_, i) => client.loadGlobal(0, i)));
      expect(maxHeld).to.equal(4);
      maxHeld = 0;
      await Promise.all(Array.from({ length: 6 }, () => client.stats())); // 382 bytes each at most: one at a time
      expect(maxHeld).to.equal(1);
      await client.close();
    });

    it('exactly once, in order, over a seeded lossy link in both directions (HIL_SEED replays)', async function () {
      this.timeout(20_000);
      const seed = process.env.HIL_SEED ? Number(process.env.HIL_SEED) : (Math.random() * 0x100000000) >>> 0;
      console.log(`      seed ${seed} (replay: HIL_SEED=${seed})`);
      const random = prng(seed);
      const { client, device } = await setup({ retransmit: true, timeoutMs: undefined });
      device.dropIn = () => random() < 0.05;
      device.dropOut = () => random() < 0.05;
      const n = 2000;
      const results = await storesAndLoads(client, n);
      results.forEach((v, i) => expect(v).to.equal(i % 2 === 0 ? undefined : (i & 3) * 1000 + ((i >> 1) & 63), `seed ${seed}, request ${i}`));
      expectExactlyOnceInOrder(device, n);
      const s = client.linkStats();
      expect(s.retransmits).to.be.greaterThan(0);
      expect(s.transmissions).to.equal(n + 1 + s.retransmits);
      await client.close();
    });

    it('linkStats() reports RTO, SRTT and RTTVAR from round trips (RFC 6298)', async () => {
      const { client } = await setup({ retransmit: true, timeoutMs: undefined });
      const before = client.linkStats();
      expect(before.srttMs).to.be.a('number'); // the hello's round trip
      for (let i = 0; i < 10; i++) await client.acquire(0);
      const s = client.linkStats();
      expect(s.rtoMs).to.be.at.least(10).and.at.most(1000);
      expect(s.rttvarMs).to.be.a('number');
      // Each answered once (a stalled event loop may let the RTO resend one: attempts[2], not a failure).
      expect(s.attempts.reduce((a, b) => a + b, 0)).to.equal(11);
      await client.close();
    });
  });

  describe('volume', () => {
    // Speed is measured by `npm run bench`, never asserted here: this checks that a large
    // pipelined load is answered completely and correctly.
    it('answers 20,000 pipelined requests and 625 batches, each with its own result', async function () {
      this.timeout(20_000);
      const { client } = await setup();
      const n = 20_000;
      const all: Promise<number>[] = new Array(n);
      for (let i = 0; i < n; i++) all[i] = client.loadGlobal(i & 3, i & 63);
      expect((await Promise.all(all)).length).to.equal(n);
      const batches: Promise<unknown[]>[] = [];
      const batch = ops(32);
      for (let i = 0; i < n / 32; i++) batches.push(client.batch(batch));
      expect((await Promise.all(batches)).every((r) => r.length === 32)).to.equal(true);
      await client.close();
    });
  });
});
