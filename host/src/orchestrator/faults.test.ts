/**
 * Faults a bench run must survive with a clear error and no hang: a target that stops answering
 * (with a per-request timeout, and as a dead link under the default retransmission), one that
 * reboots mid-test, a disconnect (in memory and on a real pty), and garbage on the line.
 * They use the twin's fault controls, in memory and behind a socat pty with the serial transport.
 */
import { expect } from 'chai';
import { BoardReset, ClientClosed, LinkDead, PoolClient, RequestTimeout, SerialTransport } from '../index.js';
import { TwinTransport, serveTwinOnPty } from '../twin/index.js';
import { liveChildPids } from '../process/managed.js';
import { openTarget } from '../targets/index.js';

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    (v) => expect.fail(`expected a rejection, got ${String(v)}`),
    (e: unknown) => e as Error,
  );
}

async function twin(timeoutMs = 300) {
  const transport = new TwinTransport();
  const client = await PoolClient.connect(transport, { timeoutMs });
  return { client, device: transport.device };
}

async function twinOnPty(timeoutMs = 500) {
  const served = await serveTwinOnPty();
  const client = await PoolClient.connect(new SerialTransport({ path: served.path, name: `twin-pty (${served.path})`, peer: { label: 'socat', exited: served.process.exited } }), { timeoutMs });
  return { client, served, device: served.device };
}

describe('faults', function () {
  this.timeout(20_000);

  describe('a target that stops answering', () => {
    it('fails the request within its timeout, naming the target, the op and what was last heard', async () => {
      const { client, device } = await twin();
      await client.acquire(0);
      device.hang();
      const e = await rejection(client.storeGlobal(0, 1, 2));
      expect(e).to.be.instanceOf(RequestTimeout);
      expect(e.message).to.match(/^twin: store_global\(.*\) got no response within 300 ms; last heard from the target: /);
      expect(e.message).to.match(/frame/);
      device.resume();
      expect(await client.loadGlobal(0, 1)).to.equal(0, 'the client is usable again');
      await client.close();
    });

    it('does the same through a real pty and serialport', async () => {
      const { client, served, device } = await twinOnPty();
      try {
        device.hang();
        const e = await rejection(client.stats());
        expect(e).to.be.instanceOf(RequestTimeout);
        expect(e.message).to.match(/^twin-pty \(\/dev\/pts\/\d+\): stats got no response within 500 ms/);
      } finally {
        await client.close();
        await served.close();
      }
    });

    it('fails every queued request in turn, never hangs', async () => {
      const { client, device } = await twin(100);
      device.hang();
      const all = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => client.loadGlobal(0, i)));
      expect(all.every((r) => r.status === 'rejected' && r.reason instanceof RequestTimeout)).to.equal(true);
      await client.close();
    });
  });

  describe('a link that goes silent (retransmission on, the defaults)', () => {
    it('fails every pending and queued request at once with LinkDead, naming the target and the silence', async () => {
      const transport = new TwinTransport();
      const client = await PoolClient.connect(transport);
      await client.acquire(0);
      transport.device.hang();
      const all = await Promise.allSettled(Array.from({ length: 640 }, (_, i) => client.loadGlobal(0, i % 64)));
      const reasons = all.map((r) => (r.status === 'rejected' ? (r.reason as Error) : undefined));
      expect(reasons.every((e) => e instanceof LinkDead), 'every request failed with LinkDead').to.equal(true);
      // One verdict for all of them, not one timeout after another.
      expect(new Set(reasons.map((e) => (e as LinkDead).failed))).to.deep.equal(new Set([640]));
      expect(reasons[0]!.message).to.match(/^twin: load_global\(vm 0, global 0\) failed: the link is dead: nothing received for \d+ ms, 640 requests failed; last heard from the target: /);
      transport.device.resume();
      await client.hello(); // a fresh handshake: the link works again
      expect(await client.loadGlobal(0, 1)).to.equal(0);
      await client.close();
    });
  });

  describe('a target that reboots mid-test', () => {
    it('fails the request in flight as a board reset, and every request until hello', async () => {
      const { client, device } = await twin();
      await client.acquire(0);
      device.hang(); // hold the request in flight, then reboot under it
      const inFlight = client.storeGlobal(0, 0, 1);
      device.reboot();
      const e = await rejection(inFlight);
      expect(e).to.be.instanceOf(BoardReset);
      expect(e.message).to.match(/^twin: board reset \(store_global not completed\): boot banner: CVM-BOOT/);
      expect(await rejection(client.loadGlobal(0, 0))).to.be.instanceOf(BoardReset);
      const before = client.info!.bootNonce;
      const h = await client.hello();
      expect(h.bootNonce).to.not.equal(before);
      expect(h.resetCause).to.equal('software');
      await client.acquire(0); // the fresh pool: context 0 is free again
      await client.close();
    });

  });

  describe('a disconnect', () => {
    it('fails pending requests with ClientClosed naming the target and the disconnect', async () => {
      const { client, device } = await twin();
      device.hang();
      const pending = client.stats();
      device.disconnect();
      const e = await rejection(pending);
      expect(e).to.be.instanceOf(ClientClosed);
      expect((e as ClientClosed).disconnected).to.equal(true);
      expect(e.message).to.match(/^twin: stats failed: the link disconnected/);
      expect(await rejection(client.hello())).to.be.instanceOf(ClientClosed);
    });

    it('is reported as such when the pty goes away (socat killed)', async () => {
      const { client, served } = await twinOnPty();
      const closed = new Promise<Error | undefined>((resolve) => client.once('close', resolve));
      await served.close();
      const cause = await closed;
      expect(cause?.message ?? '').to.match(/^twin-pty \(\/dev\/pts\/\d+\): disconnected: /);
      expect(await rejection(client.stats())).to.be.instanceOf(ClientClosed);
      await client.close();
    });

    it('after a sim crash, names how it ended (killed by SIGSEGV), then and on every later request', async function () {
      this.timeout(60_000);
      const t = await openTarget('sim', { timeoutMs: 2000 });
      try {
        const [pid] = liveChildPids();
        const closed = new Promise<Error | undefined>((resolve) => t.client.once('close', resolve));
        process.kill(pid!, 'SIGSEGV');
        const cause = await closed;
        expect(cause?.message ?? '').to.match(/disconnected: cvm-sim \(default\) exited \(killed by SIGSEGV\)$/);
        const later = await rejection(t.client.stats());
        expect(later).to.be.instanceOf(ClientClosed);
        expect(later.message).to.match(/: stats failed: the link disconnected \(.*cvm-sim \(default\) exited \(killed by SIGSEGV\)\)$/);
        expect(later.message).not.to.contain('the client was closed');
      } finally {
        await t.close();
      }
    });
  });

  describe('garbage on the line', () => {
    it('surfaces damaged lines as defects and noise as logs, and keeps answering', async () => {
      const { client, device } = await twin();
      const defects: string[] = [];
      const logs: string[] = [];
      client.on('defect', (d) => defects.push(d));
      client.on('log', (t) => logs.push(t));
      device.emitGarbage(Buffer.from('~!!!!\n~QUJD\n\x00\xff\x80 binary\n' + '~' + 'A'.repeat(600) + '\n', 'latin1'));
      await client.acquire(1);
      expect(defects).to.deep.equal(['bad_frame', 'bad_crc', 'overlong']);
      expect(logs).to.deep.equal(['\x00\xff\x80 binary']);
      expect(await client.loadGlobal(1, 0)).to.equal(0);
      await client.close();
    });
  });

  after(() => {
    expect(liveChildPids(), 'no child process (socat) may outlive the tests').to.deep.equal([]);
  });
});
