/**
 * A target's reset (ReadyTarget.reset) through a link that damages device → host bytes: the banner
 * the reset makes the device print may arrive damaged, or without its line end, and a freshly booted
 * device prints nothing more until the host speaks. The lost line end is made here, exactly, by the
 * twin printing its banner without it.
 */
import { expect } from 'chai';
import type { TwinDevice } from '../twin/index.js';
import { bringUp } from './strategy.js';
import type { ReadyTarget } from './strategy.js';

/** The twin behind a target opened through the link emulator. */
function deviceOf(t: ReadyTarget): TwinDevice {
  return (t.emulator!.inner as unknown as { device: TwinDevice }).device;
}

describe('reset through a link that damages bytes', function () {
  this.timeout(10_000);
  let t: ReadyTarget | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it('bytes of a banner whose line end was lost count as the boot (no banner), and hello then finds the new boot', async () => {
    // Faults on (so the banner is not trusted), at a rate that damages nothing in this test.
    t = await bringUp('twin', { link: 'ber=1e-12,seed=1' });
    const device = deviceOf(t);
    const before = t.hello.bootNonce;
    device.boot = () => device.emitGarbage(Buffer.from(device.banner().slice(0, -1), 'latin1'));
    // Without the grace, this waits for a banner line until the reset's bound and rejects.
    expect(await t.reset!(), 'a line never ended is no banner').to.equal(undefined);
    const h = await t.client.hello();
    expect(h.bootNonce, 'hello answers from the new boot').to.equal(device.bootNonce).and.not.equal(before);
  });

  it('a whole banner is still returned as the banner', async () => {
    t = await bringUp('twin', { link: 'ber=1e-12,seed=1' });
    const banner = await t.reset!();
    expect(banner).to.equal(deviceOf(t).banner().trimEnd());
  });
});
