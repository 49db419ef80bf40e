/**
 * The sim as a board: started halted, its banner reaches a host that opened the pty first, and a
 * reset pulse (a line on its stdin) reboots it with a new banner, which the client detects as a
 * board reset (the same detection as a board's), with a new nonce and reset cause "pin" after.
 */
import { expect } from 'chai';
import { PoolClient, SerialTransport, BoardReset } from '../index.js';
import { liveChildPids } from '../process/managed.js';
import { startSim, type RunningSim } from './sim.js';

describe('sim target: banner and reset by banner', function () {
  this.timeout(60_000);
  let sim: RunningSim | undefined;
  let client: PoolClient | undefined;

  afterEach(async () => {
    await client?.close();
    await sim?.close();
    client = undefined;
    sim = undefined;
    expect(liveChildPids(), 'the sim is reaped').to.deep.equal([]);
  });

  /** Resolves with the next log line starting with CVM-BOOT. */
  const nextBanner = (c: PoolClient) =>
    new Promise<string>((resolve) => {
      const on = (line: string) => {
        if (!line.startsWith('CVM-BOOT ')) return;
        c.off('log', on);
        resolve(line);
      };
      c.on('log', on);
    });

  it('delivers its banner to a host that opened first, and a reset pulse is detected by its new banner', async () => {
    sim = await startSim('default', [], { haltedUntilBoot: true });
    const s = sim;
    const transport = new SerialTransport({ path: s.path, name: `sim (${s.path})`, peer: { label: s.process.label, exited: s.process.exited, exitReason: () => s.process.exitReason } });
    client = new PoolClient(transport, { timeoutMs: 2000 });
    const c = client;
    await c.open();
    const first = nextBanner(c);
    await s.boot();
    const banner = await first;
    const h1 = await c.hello();
    expect(banner).to.match(new RegExp(`^CVM-BOOT proto=\\d+ fw=\\S+ nonce=${h1.bootNonce.toString(16).padStart(8, '0')} `));
    expect(h1.resetCause).to.equal('power_on');
    await c.acquire(0);
    await c.storeGlobal(0, 1, 42);

    const resets: string[] = [];
    c.on('reset', (r) => resets.push(r));
    const second = nextBanner(c);
    await s.reset();
    const again = await second;
    expect(resets, 'the banner is announced as a reset').to.have.length(1);
    expect(resets[0]).to.equal(`boot banner: ${again}`);
    const e = await c.loadGlobal(0, 1).then(
      () => expect.fail('a request after the reset must fail as a board reset'),
      (err: unknown) => err as Error,
    );
    expect(e).to.be.instanceOf(BoardReset);
    expect(e.message).to.match(/board reset \(load_global not completed\): boot banner: CVM-BOOT /);

    const h2 = await c.hello();
    expect(h2.bootNonce, 'a new boot nonce').to.not.equal(h1.bootNonce);
    expect(h2.resetCause).to.equal('pin');
    expect(again).to.contain(`nonce=${h2.bootNonce.toString(16).padStart(8, '0')} `);
    expect(Buffer.from(h2.uniqueId).equals(Buffer.from(h1.uniqueId)), 'the unique id survives a reset').to.equal(true);
    await c.acquire(0); // a fresh pool: context 0 is free again
    expect(await c.loadGlobal(0, 1)).to.equal(0);
  });
});
