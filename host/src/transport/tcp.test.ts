/**
 * TcpTransport against a local `net` server on 127.0.0.1 (standing in for ser2net in raw mode):
 * the link itself, and what it recognises at the far end (a telnet server, ser2net's refusals).
 */
import { expect } from 'chai';
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { TcpTransport, parseTcpUrl } from './tcp.js';
import { TransportError } from './transport.js';
import { fakeRfc2217 } from './testing/rfc2217-server.js';
import { openError } from './testing/open-error.js';
import { listen, stop } from './testing/tcp-server.js';



describe('TcpTransport', function () {
  this.timeout(10_000);

  it('parses tcp://host:port, [ipv6]:port, and refuses anything else', () => {
    expect(parseTcpUrl('tcp://bench-pi.local:3001')).to.deep.equal({ host: 'bench-pi.local', port: 3001 });
    expect(parseTcpUrl('tcp://127.0.0.1:7')).to.deep.equal({ host: '127.0.0.1', port: 7 });
    expect(parseTcpUrl('tcp://[::1]:2000')).to.deep.equal({ host: '::1', port: 2000 });
    for (const bad of ['tcp://host', 'tcp://host:0', 'tcp://host:70000', 'udp://h:1', 'tcp://:1', 'host:1']) {
      expect(parseTcpUrl(bad), bad).to.equal(undefined);
    }
  });

  it('is named tcp://host:port', () => {
    expect(new TcpTransport({ host: '127.0.0.1', port: 3001 }).name).to.equal('tcp://127.0.0.1:3001');
    expect(new TcpTransport({ host: '::1', port: 3001 }).name).to.equal('tcp://[::1]:3001');
  });

  it('carries bytes both ways', async () => {
    const { server, port, sockets } = await listen((s) => s.on('data', (d) => s.write(Buffer.concat([Buffer.from('echo:'), d]))));
    const t = new TcpTransport({ host: '127.0.0.1', port });
    try {
      await t.open();
      expect(t.isOpen).to.equal(true);
      const got = once(t, 'data');
      await t.write(Buffer.from('ping\n'));
      expect(((await got) as [Buffer])[0].toString()).to.equal('echo:ping\n');
    } finally {
      await t.close();
      await stop(server, sockets);
    }
  });

  it('sets TCP_NODELAY on the socket', async () => {
    const { server, port, sockets } = await listen();
    const t = new TcpTransport({ host: '127.0.0.1', port });
    try {
      const { Socket: SocketClass } = await import('node:net');
      const calls: boolean[] = [];
      const orig = SocketClass.prototype.setNoDelay;
      SocketClass.prototype.setNoDelay = function (this: Socket, v?: boolean) {
        calls.push(v ?? true);
        return orig.call(this, v);
      };
      try {
        await t.open();
      } finally {
        SocketClass.prototype.setNoDelay = orig;
      }
      expect(calls).to.include(true);
    } finally {
      await t.close();
      await stop(server, sockets);
    }
  });

  it('a refused connection names host:port and says what to check', async () => {
    const { server, port, sockets } = await listen();
    await stop(server, sockets); // the port is now closed
    const e = await openError(new TcpTransport({ host: '127.0.0.1', port }));
    expect(e.kind).to.equal('open');
    expect(e.message).to.contain(`127.0.0.1:${port}`).and.match(/connection refused.*ser2net/);
  });

  it('connecting is bounded by connectTimeoutMs', async () => {
    // 192.0.2.0/24 (TEST-NET-1) is never routed: the SYN goes unanswered, or the route is refused.
    const e = await openError(new TcpTransport({ host: '192.0.2.1', port: 9, connectTimeoutMs: 200 }));
    expect(e.message).to.contain('192.0.2.1:9');
  });

  it('close() emits close without an error; write after close rejects; close twice is safe', async () => {
    const { server, port, sockets } = await listen();
    const t = new TcpTransport({ host: '127.0.0.1', port });
    await t.open();
    const closed = once(t, 'close');
    await t.close();
    expect(await closed).to.deep.equal([]);
    await t.close();
    const e = await t.write(Buffer.from('x')).then(() => undefined, (err: unknown) => err);
    expect(e).to.be.instanceOf(TransportError);
    expect((e as TransportError).kind).to.equal('closed');
    await stop(server, sockets);
  });

  it('the server going away is a disconnect naming the address', async () => {
    const { server, port, sockets } = await listen();
    const t = new TcpTransport({ host: '127.0.0.1', port });
    await t.open();
    const closed = once(t, 'close');
    while (sockets.length === 0) await new Promise((r) => setImmediate(r));
    sockets[0]!.destroy();
    const [err] = (await closed) as [TransportError];
    expect(err).to.be.instanceOf(TransportError);
    expect(err.kind).to.equal('disconnected');
    expect(err.message).to.contain(`tcp://127.0.0.1:${port}`);
    expect(t.isOpen).to.equal(false);
    await stop(server, sockets);
  });

  it('can reconnect after close', async () => {
    const { server, port, sockets } = await listen((s) => s.on('data', (d) => s.write(d)));
    const t = new TcpTransport({ host: '127.0.0.1', port });
    for (let i = 0; i < 2; i++) {
      await t.open();
      const got = once(t, 'data');
      await t.write(Buffer.from(`round ${i}`));
      expect(((await got) as [Buffer])[0].toString()).to.equal(`round ${i}`);
      await t.close();
    }
    await stop(server, sockets);
  });

  it('tcp:// on a telnet port ends the link with "this port speaks telnet: use rfc2217://…"', async () => {
    const server = await fakeRfc2217();
    const t = new TcpTransport({ host: '127.0.0.1', port: server.port });
    await t.open();
    const [err] = (await once(t, 'close')) as [TransportError];
    expect(err.kind).to.equal('mismatch');
    expect(err.message).to.contain(`this port speaks telnet`).and.contain(`use rfc2217://127.0.0.1:${server.port}`);
    await server.stop();
  });

  it('tcp:// refused with "Port already in use" is busy, naming host:port', async () => {
    const { server, port, sockets } = await listen((s) => s.end('Port already in use\r\n'));
    try {
      const t = new TcpTransport({ host: '127.0.0.1', port });
      await t.open();
      const [err] = (await once(t, 'close')) as [TransportError];
      expect(err.kind).to.equal('busy');
      expect(err.message).to.contain(`board busy: 127.0.0.1:${port} is in use by another client`);
    } finally {
      await stop(server, sockets);
    }
  });

  it('a server closing the link says what a ser2net close can mean; 3.x\'s kick notice is named', async () => {
    for (const [said, want] of [
      ['', /disconnected: the server closed the connection \(ser2net .* kickolduser: true: another client may have taken the board; set kickolduser: false/],
      ['kicked off, new user is coming\r\n', /disconnected: kicked off by another client: ser2net at 127\.0\.0\.1:\d+ gave the board to a new connection/],
    ] as const) {
      const { server, port, sockets } = await listen((s) => setTimeout(() => s.end(said), 20));
      const t = new TcpTransport({ host: '127.0.0.1', port });
      await t.open();
      const [err] = (await once(t, 'close')) as [TransportError];
      expect(err.kind).to.equal('disconnected');
      expect(err.message).to.match(want);
      await stop(server, sockets);
    }
  });
});
