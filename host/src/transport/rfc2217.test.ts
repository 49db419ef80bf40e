/**
 * Rfc2217Transport against an in-process RFC 2217 server that opens as ser2net 4.3 does
 * (testing/rfc2217-server.ts); the real ser2net runs in host/src/transport/ser2net.test.ts.
 */
import { expect } from 'chai';
import { Rfc2217Transport, parseRfc2217Url } from './rfc2217.js';
import { TransportError } from './transport.js';
import { fakeRfc2217, type FakeRfc2217 } from './testing/rfc2217-server.js';
import { openError } from './testing/open-error.js';
import { listen, stop } from './testing/tcp-server.js';


describe('Rfc2217Transport', function () {
  this.timeout(10_000);
  let server: FakeRfc2217 | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('parses rfc2217://host:port', () => {
    expect(parseRfc2217Url('rfc2217://bench-pi.local:3002')).to.deep.equal({ host: 'bench-pi.local', port: 3002 });
    expect(parseRfc2217Url('rfc2217://[::1]:2000')).to.deep.equal({ host: '::1', port: 2000 });
    for (const bad of ['rfc2217://h', 'rfc2217://h:0', 'tcp://h:1']) expect(parseRfc2217Url(bad), bad).to.equal(undefined);
  });

  it('negotiates BINARY, SGA and COM-PORT-OPTION, refuses ECHO, sets the line and purges before open() resolves', async () => {
    server = await fakeRfc2217();
    const t = new Rfc2217Transport({ host: '127.0.0.1', port: server.port, baudRate: 57600, dataBits: 7, parity: 'even', stopBits: 2 });
    await t.open();
    try {
      expect(server.negotiations).to.include.members(['WILL 0', 'DO 0', 'WILL 3', 'DO 3', 'WILL 44']);
      expect(server.negotiations).to.not.include('DO 1'); // ECHO refused (by DONT or silence, never accepted)
      const cmds = new Map(server.commands.map(([c, v]) => [c, v]));
      expect(cmds.get(1)).to.deep.equal([0x00, 0x00, 0xe1, 0x00]); // 57600, big-endian
      expect(cmds.get(2)).to.deep.equal([7]);
      expect(cmds.get(3)).to.deep.equal([3]); // EVEN
      expect(cmds.get(4)).to.deep.equal([2]);
      expect(cmds.get(5)).to.deep.equal([1]); // no flow control
      expect(cmds.get(12)).to.deep.equal([3]); // purge both
      expect(t.applied).to.deep.equal({ baudRate: 57600, dataBits: 7, parity: 'even', stopBits: 2 });
    } finally {
      await t.close();
    }
  });

  it('escapes 0xFF in data both ways', async () => {
    server = await fakeRfc2217();
    const t = new Rfc2217Transport({ host: '127.0.0.1', port: server.port });
    await t.open();
    try {
      const payload = Buffer.from([0x41, 0xff, 0x42, 0xff, 0xff, 0x0a]);
      let got = Buffer.alloc(0);
      const want = payload;
      const done = new Promise<void>((resolve) =>
        t.on('data', (c) => {
          got = Buffer.concat([got, c]);
          if (got.length >= want.length) resolve();
        }),
      );
      await t.write(payload);
      await done;
      expect(Buffer.concat(server.data)).to.deep.equal(payload);
      expect(got).to.deep.equal(want);
    } finally {
      await t.close();
    }
  });

  it('sets DTR and RTS (SET-CONTROL) and keeps what the server reported; purge() is answered', async () => {
    server = await fakeRfc2217();
    const t = new Rfc2217Transport({ host: '127.0.0.1', port: server.port });
    await t.open();
    try {
      await t.setControlLines({ dtr: true, rts: false });
      expect(t.lines).to.deep.equal({ dtr: true, rts: false });
      await t.setControlLines({ dtr: false });
      expect(t.lines.dtr).to.equal(false);
      await t.purge();
      expect(server.commands.filter(([c]) => c === 5).map(([, v]) => v[0])).to.deep.equal([1, 8, 12, 9]);
    } finally {
      await t.close();
    }
  });

  it('a control line the server does not answer (ser2net on a pty) fails with the reason, bounded', async () => {
    server = await fakeRfc2217({ answerControl: false });
    const t = new Rfc2217Transport({ host: '127.0.0.1', port: server.port, controlTimeoutMs: 200 });
    await t.open();
    try {
      const e = await t.setControlLines({ rts: true }).then(() => undefined, (err: unknown) => err as TransportError);
      expect(e?.message).to.match(/did not answer RFC 2217 SET-CONTROL \(RTS on\) in time: the port behind it cannot drive DTR\/RTS/);
    } finally {
      await t.close();
    }
  });

  it('"Port already in use" after the negotiation is busy, naming host:port', async () => {
    server = await fakeRfc2217({ notice: "Port's device already in use\r\n" });
    const e = await openError(new Rfc2217Transport({ host: '127.0.0.1', port: server.port }));
    expect(e.kind).to.equal('busy');
    expect(e.message).to.contain(`board busy: the serial device behind 127.0.0.1:${server.port}`);
  });

  it('a server that refuses COM-PORT-OPTION is plain telnet: a mismatch saying so', async () => {
    server = await fakeRfc2217({ refuseComPort: true });
    const e = await openError(new Rfc2217Transport({ host: '127.0.0.1', port: server.port }));
    expect(e.kind).to.equal('mismatch');
    expect(e.message).to.match(/refused COM-PORT-OPTION \(RFC 2217\)/);
  });

  it('a server refusing BINARY is a mismatch: the link would not be 8-bit clean', async () => {
    server = await fakeRfc2217({ refuseBinary: true });
    const e = await openError(new Rfc2217Transport({ host: '127.0.0.1', port: server.port }));
    expect(e.kind).to.equal('mismatch');
    expect(e.message).to.match(/refused BINARY \(RFC 856\)/);
  });

  it('a raw port (data, no telnet) is a mismatch pointing at tcp://', async () => {
    const { server: raw, port, sockets } = await listen((s) => s.write('CVM-BOOT hello\n'));
    try {
      const e = await openError(new Rfc2217Transport({ host: '127.0.0.1', port, connectTimeoutMs: 2000 }));
      expect(e.kind).to.equal('mismatch');
      expect(e.message).to.contain(`use tcp://127.0.0.1:${port}`);
    } finally {
      await stop(raw, sockets);
    }
  });

});
