import { expect } from 'chai';
import { Framing, LimitMaxima, LinkBounds, PROTOCOL_VERSION, RESET_CAUSES } from '../host/src/index.js';
import { target } from './support/target.js';

describe('hello', () => {
  it('reports the protocol version, limits within their maxima, and link figures', async () => {
    const { client } = target();
    const h = await client.hello();
    expect(h.protoVersion).to.equal(PROTOCOL_VERSION);
    expect(h.firmwareId).to.be.a('string').and.not.equal('');
    expect(h.maxVms).to.be.within(1, LimitMaxima.maxConcurrentVms);
    expect(h.maxGlobals).to.be.within(1, LimitMaxima.vmMaxGlobals);
    expect(h.maxArrays).to.be.within(1, LimitMaxima.vmMaxArrays);
    expect(h.arrayElements).to.be.within(1, LimitMaxima.vmArrayElements);
    expect(h.maxLine).to.equal(Framing.maxLineBytes);
    expect(h.maxBatch).to.equal(Framing.maxBatchOps);
    expect(RESET_CAUSES).to.include(h.resetCause);
    expect(h.uniqueId.length).to.be.oneOf([0, 12]);
    // The replay cache (PROTOCOL.md §3.3): within its bounds, and able to hold any one response.
    expect(h.replayDepth).to.be.within(LinkBounds.replayDepth.min, LinkBounds.replayDepth.max);
    expect(h.replayBytes).to.be.within(LinkBounds.replayBytes.min, LinkBounds.replayBytes.max);
  });

  it('keeps the boot nonce between calls and lets uptime advance', async () => {
    const { client } = target();
    const a = await client.hello();
    await new Promise((r) => setTimeout(r, 20));
    const b = await client.hello();
    expect(b.bootNonce).to.equal(a.bootNonce);
    expect((b.uptimeMs - a.uptimeMs) >>> 0).to.be.below(60_000);
  });
});
