/**
 * Remote targets in the target layer: the rfc2217 spec with its line format, a descriptor's reset
 * by DTR/RTS pulsed over RFC 2217 (against the in-process RFC 2217 server), and the link's own
 * diagnoses (busy, telnet on raw) becoming BoardBusy / BoardError with their exit codes.
 */
import { expect } from 'chai';
import { parseTargetSpec } from './descriptor.js';
import { BoardBusy, BoardError, boardErrorOf, resetBoard } from './strategy.js';
import { ClientClosed } from '../client/errors.js';
import { Rfc2217Transport } from '../transport/rfc2217.js';
import { TransportError } from '../transport/transport.js';
import { createMemoryLink } from '../transport/memory.js';
import { fakeRfc2217 } from '../transport/testing/rfc2217-server.js';

describe('remote targets', function () {
  this.timeout(10_000);

  it('parses rfc2217://HOST:PORT[@BAUD[,FORMAT]] into a descriptor', () => {
    expect(parseTargetSpec('rfc2217://h:3002@57600,7E2')).to.deep.equal({ name: 'rfc2217://h:3002@57600,7E2', kind: 'rfc2217', url: 'rfc2217://h:3002', baud: 57600, dataBits: 7, parity: 'even', stopBits: 2 });
    expect(parseTargetSpec('rfc2217://h:3002@115200')).to.deep.equal({ name: 'rfc2217://h:3002@115200', kind: 'rfc2217', url: 'rfc2217://h:3002', baud: 115200 });
    expect(parseTargetSpec('rfc2217://[::1]:3002')).to.deep.include({ kind: 'rfc2217', url: 'rfc2217://[::1]:3002' });
    for (const bad of ['rfc2217://h:3002@fast', 'rfc2217://h', 'rfc2217://h:3002@9600,9N1']) {
      expect(() => parseTargetSpec(bad), bad).to.throw(/expected rfc2217:\/\/HOST:PORT\[@BAUD\[,FORMAT\]\]/);
    }
  });

  it('reset "lines" pulses the descriptor\'s line over RFC 2217: on, then off', async () => {
    const server = await fakeRfc2217();
    const t = new Rfc2217Transport({ host: '127.0.0.1', port: server.port });
    await t.open();
    try {
      const steps: string[] = [];
      await resetBoard({ name: 'b', kind: 'rfc2217', url: `rfc2217://127.0.0.1:${server.port}`, reset: { tool: 'lines', line: 'dtr', pulseMs: 5 } }, (l) => steps.push(l), t);
      expect(steps).to.deep.equal(['reset    pulse DTR for 5 ms']);
      expect(server.commands.filter(([c, v]) => c === 5 && v[0]! >= 8)).to.deep.equal([[5, [8]], [5, [9]]]);
      expect(t.lines.dtr).to.equal(false);
    } finally {
      await t.close();
      await server.stop();
    }
  });

  it('reset "lines" on a link without control lines is a BoardError naming it (exit 2)', async () => {
    const [a] = createMemoryLink('host', 'device');
    const e = await resetBoard({ name: 'b', kind: 'serial', port: { path: '/dev/x' }, reset: { tool: 'lines', line: 'rts' } }, () => {}, a).then(() => undefined, (err: unknown) => err as BoardError);
    expect(e).to.be.instanceOf(BoardError);
    expect(e!.exitCode).to.equal(2);
    expect(e!.message).to.contain('reset by RTS needs an open link that drives control lines');
  });

  it('a busy or mismatched link, however deep in the cause chain, becomes BoardBusy (exit 3) or BoardError (exit 2)', () => {
    const busy = new ClientClosed('x', true, 'hello', { cause: new TransportError('tcp://h:1', 'board busy: h:1 is in use by another client', 'busy') });
    const b = boardErrorOf(busy);
    expect(b).to.be.instanceOf(BoardBusy);
    expect(b!.exitCode).to.equal(3);
    expect(b!.message).to.equal('tcp://h:1: board busy: h:1 is in use by another client');
    const m = boardErrorOf(new ClientClosed('x', true, 'hello', { cause: new TransportError('tcp://h:1', 'this port speaks telnet', 'mismatch') }));
    expect(m).to.be.instanceOf(BoardError).and.not.instanceOf(BoardBusy);
    expect(m!.exitCode).to.equal(2);
    expect(boardErrorOf(new TransportError('tcp://h:1', 'disconnected', 'disconnected'))).to.equal(undefined);
  });
});
