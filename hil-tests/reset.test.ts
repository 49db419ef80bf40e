/**
 * A reset of the target, as its reset pin would do it (PROTOCOL.md §3.3 "The boot nonce", §5, §6),
 * on every target that can be reset from the host (the twin, the sim, QEMU, a board whose
 * descriptor has a reset step): a new banner first, then a device that knows nothing of before
 * (no session, an empty pool, every counter zero) but is the same device (firmware id, limits,
 * unique id).
 */
import { expect } from 'chai';
import { PROTOCOL_VERSION, RESET_CAUSES, formatLimits, limitsOf, type Stats } from '../host/src/index.js';
import { parseBanner } from '../host/src/targets/index.js';
import { cleanly, rejectsWith } from './support/expect.js';
import { canReset, intactReset, resetTarget } from './support/reset.js';
import { DERIVED_ID_TAGS, target } from './support/target.js';
import { badCrcLine } from './support/counters.js';

/** Targets that model a reset pin and say so: hello then reports reset cause "pin". */
const PIN_RESET_KINDS = new Set(['twin', 'twin-pty', 'sim']);

describe('reset: the device boots again (PROTOCOL.md §3.3, §5)', function () {
  beforeEach(function () {
    if (!canReset()) {
      console.log(`      ${target().name} cannot be reset from the host (no reset step in its descriptor)`);
      this.skip();
    }
  });

  it('prints a new banner, and hello reports a new nonce, the same firmware id, limits and unique id', async () => {
    const { client, descriptor } = target();
    const before = await client.hello();
    const r = await intactReset();
    const h = r.hello;
    expect(h.bootNonce, 'a new boot has a new nonce').to.not.equal(before.bootNonce);
    expect(h.firmwareId, 'the same build').to.equal(before.firmwareId);
    expect(formatLimits(limitsOf(h)), 'the same limits').to.equal(formatLimits(limitsOf(before)));
    expect(Buffer.from(h.uniqueId).toString('hex'), 'the unique id survives a reset').to.equal(Buffer.from(before.uniqueId).toString('hex'));
    expect([h.protoVersion, h.maxLine, h.maxBatch, h.replayDepth, h.replayBytes]).to.deep.equal([before.protoVersion, before.maxLine, before.maxBatch, before.replayDepth, before.replayBytes]);
    expect(RESET_CAUSES).to.include(h.resetCause);
    if (PIN_RESET_KINDS.has(descriptor.kind)) expect(h.resetCause, 'the reset pin was pulled').to.equal('pin');
    // Uptime restarts at the boot, which came after the reset was asked for.
    expect(h.uptimeMs, `uptime ${h.uptimeMs} ms, yet the reset was asked for ${r.elapsedMs.toFixed(1)} ms ago`).to.be.at.most(Math.ceil(r.elapsedMs) + 1);
    if (r.banner === undefined) return;
    const b = parseBanner(r.banner);
    expect(b, `banner ${JSON.stringify(r.banner)}`).to.not.equal(undefined);
    expect([b!.proto, b!.fw, b!.nonce, formatLimits(b!.limits)], 'the banner names the new boot').to.deep.equal([PROTOCOL_VERSION, h.firmwareId, h.bootNonce, formatLimits(limitsOf(h))]);
    expect(target().banner, 'the context holds the new banner').to.equal(r.banner);
  });

  it('prints the banner first; the sim and the twin print nothing else; a port line tells whether the unique id is readable', async function () {
    const { descriptor } = target();
    // A log line has no CRC: judged on a reset whose bytes the link left intact.
    const r = await intactReset();
    expect(r.logs.length, 'log lines after the reset').to.be.at.least(1);
    expect(r.logs[0], 'the first line after a reset').to.equal(r.banner);
    expect(r.logs[0]).to.match(/^CVM-BOOT /);
    expect(r.logs.slice(1).filter((l) => l.startsWith('CVM-BOOT')), 'one banner a boot').to.deep.equal([]);
    if (PIN_RESET_KINDS.has(descriptor.kind)) expect(r.logs, 'PROTOCOL.md §5: the sim and the twin print no other line').to.have.length(1);
    if (DERIVED_ID_TAGS[descriptor.kind] !== undefined) expect(r.hello.uniqueId.length, 'the sim and the twin derive a unique id').to.equal(12);
    const uid = r.logs.map((l) => / uid=(yes|no)\b/.exec(l)?.[1]).find((v) => v !== undefined);
    if (uid !== undefined) expect(r.hello.uniqueId.length, `the port line says uid=${uid}`).to.equal(uid === 'yes' ? 12 : 0);
  });

  it('clears the pool and every counter: stats after the reset count only this session', async () => {
    const { client } = target();
    // State worth clearing: contexts, globals, an array, ops that erred, receive defects.
    const { maxVms } = client.info!;
    // Issued together, executed in this order (requests: exactly once whatever the link does).
    await Promise.all([
      client.acquire(0),
      maxVms > 1 ? client.acquire(maxVms - 1) : Promise.resolve(),
      client.storeGlobal(0, 0, 7),
      client.createArray(0, 0, 1),
      client.release(0).catch(() => undefined),
      client.loadGlobal(0, 0).catch(() => undefined),
    ]);
    // Receive defects: raw lines, which a damaged byte can turn into other defects (a lost line end
    // joins the noise to the line before it), so counted on a run the link left intact. The stats
    // is answered after every line before it.
    const before = await cleanly('a bad CRC and a noise line before the reset', async () => {
      await client.writeRaw(Buffer.concat([badCrcLine(Buffer.from([0x82, 0x00, 0x00])), Buffer.from('noise\n')]));
      return client.stats();
    });
    // The device has counted them before it is reset.
    expect(before.rxNoise, 'the noise line counted before the reset').to.be.at.least(1);
    const seen = await cleanly('stats after a reset', async () => {
      await resetTarget();
      return client.stats();
    });
    const s: Stats = seen;
    // hello and stats are this boot's only frames and operations (a retransmission may add a copy: the cleanly() run had none counted as damage).
    expect(s.rxFrames, 'rx_frames: the hello and this stats').to.be.at.least(2);
    const extra = s.rxFrames - 2;
    expect({ contextsAcquired: s.contextsAcquired, contextsHw: s.contextsHw, acquires: s.acquires, releases: s.releases, opErrors: s.opErrors, rxBadFrame: s.rxBadFrame, rxBadCrc: s.rxBadCrc, rxOverlong: s.rxOverlong, rxMalformed: s.rxMalformed, rxNoise: s.rxNoise, rxOverrun: s.rxOverrun, outOfSequence: s.outOfSequence, noSession: s.noSession })
      .to.deep.equal({ contextsAcquired: 0, contextsHw: 0, acquires: 0, releases: 0, opErrors: 0, rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxMalformed: 0, rxNoise: 0, rxOverrun: 0, outOfSequence: 0, noSession: 0 });
    expect(s.ops, 'ops: the hello').to.be.within(1, 1 + extra);
    expect(s.sessions, 'sessions: the hello').to.be.within(1, 1 + extra);
    expect(s.replayed).to.be.within(0, extra);
    for (const [i, c] of s.contexts.entries()) expect(c, `context ${i}`).to.deep.equal({ acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 });
    // The contexts are gone: none is acquired, so none can be read.
    await rejectsWith(client.loadGlobal(0, 0), 'not_acquired');
  });
});
