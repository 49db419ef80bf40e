/**
 * The Transport contract, one suite run on every transport: memory, serial on a real pty pair (made
 * by socat, opened through serialport), TCP (a local server), RFC 2217 (a local RFC 2217 server),
 * and the link emulator in front of a
 * memory link. Each must: open and report it; carry bytes both ways, in order; close on request
 * with a `close` event without an error, twice safely; refuse a write when not open (kind
 * 'closed'); and, when the far end goes away, emit `close` with a 'disconnected' TransportError.
 */
import { expect } from 'chai';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../process/managed.js';
import { needTools } from '../testing/tools.js';
import { LinkEmulator, parseLinkSpec } from './emulator.js';
import { createMemoryLink } from './memory.js';
import { SerialTransport } from './serial.js';
import { TcpTransport } from './tcp.js';
import { Rfc2217Transport } from './rfc2217.js';
import { escapeIac } from './telnet.js';
import { fakeRfc2217 } from './testing/rfc2217-server.js';
import { TransportError, type Transport } from './transport.js';

/** A transport under test and the far end of its link. */
interface Rig {
  transport: Transport;
  /** Sends bytes from the far end. */
  peerWrite(data: Buffer): Promise<void>;
  /** Resolves with the first `n` bytes the far end received. */
  peerReceive(n: number): Promise<Buffer>;
  /** The far end goes away (peer closed, cable pulled, process died). */
  drop(): Promise<void>;
  /** Releases everything the rig made. */
  dispose(): Promise<void>;
}

/** Collects what a stream delivers; receive(n) resolves once n bytes have arrived. */
function collector(on: (listener: (chunk: Buffer) => void) => void): (n: number) => Promise<Buffer> {
  let got = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  on((chunk) => {
    got = Buffer.concat([got, chunk]);
    waiters.splice(0).forEach((w) => w());
  });
  return (n) =>
    new Promise((resolve) => {
      const check = () => (got.length >= n ? resolve(got.subarray(0, n)) : waiters.push(check));
      check();
    });
}

interface Kind {
  name: string;
  needs?: Array<[tool: string, debianPackage: string]>;
  make(): Promise<Rig>;
}

const KINDS: Kind[] = [
  {
    name: 'memory',
    async make() {
      const [a, b] = createMemoryLink('host', 'device');
      await b.open();
      return { transport: a, peerWrite: (d) => b.write(d), peerReceive: collector((l) => b.on('data', l)), drop: () => b.close(), dispose: async () => void (await b.close()) };
    },
  },
  {
    name: 'serial (socat pty pair, serialport)',
    needs: [['socat', 'socat']],
    async make() {
      const dir = mkdtempSync(join(tmpdir(), 'hil-contract-'));
      const [pa, pb] = [join(dir, 'a'), join(dir, 'b')];
      const socat = new ManagedProcess('socat (contract pty pair)', 'socat', ['-d', '-d', `pty,raw,echo=0,link=${pa}`, `pty,raw,echo=0,link=${pb}`]);
      try {
        await socat.waitFor(/starting data transfer loop/, 5000, 'the pty pair');
      } catch (e) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      // A pty does not report its other side's hangup: the process behind it does (the targets' habit).
      const transport = new SerialTransport({ path: pa, peer: { label: 'socat', exited: socat.exited } });
      const far = new SerialTransport({ path: pb });
      await far.open();
      return {
        transport,
        peerWrite: (d) => far.write(d),
        peerReceive: collector((l) => far.on('data', l)),
        drop: () => socat.stop(),
        dispose: async () => {
          await far.close();
          await socat.stop();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'tcp (a local server)',
    async make() {
      const server: Server = createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const port = (server.address() as { port: number }).port;
      const accepted = once(server, 'connection') as Promise<[Socket]>;
      let socket: Socket | undefined;
      const chunks: Array<(c: Buffer) => void> = [];
      void accepted.then(([s]) => {
        socket = s;
        s.on('data', (c: Buffer) => chunks.forEach((l) => l(c)));
      });
      const transport = new TcpTransport({ host: '127.0.0.1', port });
      const far = async () => (socket ?? (await accepted)[0]);
      return {
        transport,
        peerWrite: async (d) => void (await far()).write(d),
        peerReceive: collector((l) => chunks.push(l)),
        drop: async () => void (await far()).destroy(),
        dispose: async () => {
          socket?.destroy();
          await new Promise((r) => server.close(r));
        },
      };
    },
  },
  {
    name: 'rfc2217 (a local RFC 2217 server)',
    async make() {
      const server = await fakeRfc2217({ echo: false });
      const transport = new Rfc2217Transport({ host: '127.0.0.1', port: server.port });
      const far = async () => {
        while (!server.sockets[0]) await new Promise((r) => setImmediate(r));
        return server.sockets[0];
      };
      return {
        transport,
        peerWrite: async (d) => void (await far()).write(escapeIac(d)),
        peerReceive: collector((l) => server.onData(l)),
        drop: async () => void (await far()).destroy(),
        dispose: () => server.stop(),
      };
    },
  },
  {
    name: 'link emulator (paced, over a memory link)',
    async make() {
      const [a, b] = createMemoryLink('host', 'device');
      await b.open();
      const transport = new LinkEmulator(a, parseLinkSpec('baud=921600,latency=1')!);
      return { transport, peerWrite: (d) => b.write(d), peerReceive: collector((l) => b.on('data', l)), drop: () => b.close(), dispose: async () => void (await b.close()) };
    },
  },
];

for (const kind of KINDS) {
  describe(`Transport contract: ${kind.name}`, function () {
    this.timeout(15_000);
    let rig: Rig | undefined;
    beforeEach(async function () {
      if (kind.needs) needTools(this, kind.needs);
      rig = await kind.make();
    });
    afterEach(async () => {
      await rig?.transport.close();
      await rig?.dispose();
      rig = undefined;
    });

    it('opens, and carries bytes both ways in order', async () => {
      const { transport: t } = rig!;
      expect(t.isOpen).to.equal(false);
      await t.open();
      expect(t.isOpen).to.equal(true);
      const out = Buffer.from(Array.from({ length: 600 }, (_, i) => i & 0xff));
      await t.write(out.subarray(0, 300));
      await t.write(out.subarray(300));
      expect(await rig!.peerReceive(out.length)).to.deep.equal(out);
      const inbound = collector((l) => t.on('data', l));
      const back = Buffer.from('CVM-BOOT hello from the far end\n');
      await rig!.peerWrite(back);
      expect(await inbound(back.length)).to.deep.equal(back);
    });

    it('closes on request: one close event without an error, a second close() is a no-op, writes are refused', async () => {
      const { transport: t } = rig!;
      await t.open();
      const closes: Array<TransportError | undefined> = [];
      t.on('close', (e) => closes.push(e));
      await t.close();
      await t.close();
      expect(closes).to.deep.equal([undefined]);
      expect(t.isOpen).to.equal(false);
      const e = await t.write(Buffer.from('x')).then(() => undefined, (err: unknown) => err);
      expect(e).to.be.instanceOf(TransportError);
      expect((e as TransportError).kind).to.equal('closed');
    });

    it("emits close with a 'disconnected' TransportError when the far end goes away", async () => {
      const { transport: t } = rig!;
      await t.open();
      const closed = once(t, 'close') as Promise<[TransportError | undefined]>;
      await rig!.drop();
      const [err] = await closed;
      expect(err).to.be.instanceOf(TransportError);
      expect(err!.kind).to.equal('disconnected');
      // It names the link: the transport itself, or (the emulator) the transport it wraps, whose name its own begins with.
      expect(t.name.startsWith(err!.transport), `${err!.transport} names ${t.name}`).to.equal(true);
      expect(err!.message.startsWith(`${err!.transport}: `)).to.equal(true);
      expect(t.isOpen).to.equal(false);
    });
  });
}
