import { expect } from 'chai';
import { Framing, LinkBounds, POOL_LIMIT_KEYS, POOL_LIMIT_MAXIMA, PROTOCOL_VERSION, RESET_CAUSES } from '../host/src/index.js';
import { DERIVED_ID_TAGS, target } from './support/target.js';
import { intactBanner } from './support/reset.js';

describe('hello', () => {
  it('reports the protocol version, limits within their maxima, and link figures', async () => {
    const { client } = target();
    const h = await client.hello();
    expect(h.protoVersion).to.equal(PROTOCOL_VERSION);
    expect(h.firmwareId).to.be.a('string').and.not.equal('');
    for (const k of POOL_LIMIT_KEYS) expect(h[k], k).to.be.within(1, POOL_LIMIT_MAXIMA[k]);
    expect(h.maxLine).to.equal(Framing.maxLineBytes);
    expect(h.maxBatch).to.equal(Framing.maxBatchOps);
    expect(RESET_CAUSES).to.include(h.resetCause);
    expect(h.uniqueId.length).to.be.oneOf([0, 12]);
    const tag = DERIVED_ID_TAGS[target().descriptor.kind];
    if (tag !== undefined) {
      // The twin and the sim derive their id (TwinDeviceOptions.uniqueId, firmware/README.md):
      // a 4-byte tag, a number n big-endian, then NOT n big-endian.
      const id = Buffer.from(h.uniqueId);
      expect(id.length, 'a derived unique id is always readable').to.equal(12);
      expect(id.subarray(0, 4).toString('latin1'), 'the unique id names its kind').to.equal(tag);
      expect(id.readUInt32BE(8), `unique id ${id.toString('hex')}: bytes 8..11 are NOT bytes 4..7`).to.equal(~id.readUInt32BE(4) >>> 0);
    }
    // The replay cache (PROTOCOL.md §3.3): within its bounds, and able to hold any one response.
    expect(h.replayDepth).to.be.within(LinkBounds.replayDepth.min, LinkBounds.replayDepth.max);
    expect(h.replayBytes).to.be.within(LinkBounds.replayBytes.min, LinkBounds.replayBytes.max);
  });

  it('reports a firmware id naming its version, port and the limits it reports', async () => {
    // PROTOCOL.md §5 / cvm_device.h: "cvm-fw/<version>+<port>.vms<n>.g<n>.a<n>.e<n>" (the twin:
    // "cvm-twin/<version>+vms<n>..."). The limits in the id are the build's: they must be hello's.
    const { client } = target();
    const h = await client.hello();
    const m = /^cvm-(fw|twin)\/(\d+\.\d+\.\d+)\+(?:([A-Za-z0-9-]{1,24})\.)?vms(\d+)\.g(\d+)\.a(\d+)\.e(\d+)$/.exec(h.firmwareId);
    expect(m, `firmware id ${JSON.stringify(h.firmwareId)} is not cvm-fw/<version>+<port>.vms<n>.g<n>.a<n>.e<n>`).to.not.equal(null);
    const [, kind, , port, vms, g, a, e] = m!;
    if (kind === 'fw') expect(port, 'the firmware names its port').to.be.a('string');
    expect([Number(vms), Number(g), Number(a), Number(e)]).to.deep.equal([h.maxVms, h.maxGlobals, h.maxArrays, h.arrayElements]);
  });

  it('printed a boot banner naming the protocol, the firmware id, the nonce and the limits hello reports', async function () {
    // PROTOCOL.md §5: "CVM-BOOT proto=<n> fw=<id> nonce=<8 lowercase hex> vms=<n> globals=<n> arrays=<n> elements=<n>".
    const { client } = target();
    // A log line has no CRC: a banner the link damaged is not judged; intactBanner() gets one it did not, when it can.
    const { banner, why } = await intactBanner();
    if (banner === undefined) {
      console.log(`      ${why}`);
      return this.skip();
    }
    const h = await client.hello();
    const m = /^CVM-BOOT proto=(\d+) fw=(\S+) nonce=([0-9a-f]{8}) vms=(\d+) globals=(\d+) arrays=(\d+) elements=(\d+)$/.exec(banner);
    expect(m, `banner ${JSON.stringify(banner)} is not of the form of PROTOCOL.md §5`).to.not.equal(null);
    const [, proto, fw, nonce, vms, g, a, e] = m!;
    expect(Number(proto), 'banner proto').to.equal(h.protoVersion);
    expect(fw, 'banner fw').to.equal(h.firmwareId);
    expect(parseInt(nonce!, 16), 'banner nonce').to.equal(h.bootNonce);
    expect([Number(vms), Number(g), Number(a), Number(e)], 'banner limits').to.deep.equal([h.maxVms, h.maxGlobals, h.maxArrays, h.arrayElements]);
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
