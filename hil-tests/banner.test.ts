import { expect } from 'chai';
import { DEFAULT_POOL_LIMITS, PROTOCOL_VERSION, formatLimits, limitsOf, limitsTag } from '../host/src/index.js';
import { compareWithBuild, expectedBuild, firmwareVersion, parseBanner } from '../host/src/targets/index.js';
import { target } from './support/target.js';
import { LOG_TEXT_NOT_JUDGED, emulatorFaults } from './support/expect.js';

/**
 * The target runs the build it was brought up from (issue 14: the suite never checked the firmware
 * id or the banner against the build). What the build reports is worked out from the firmware's
 * own sources (targets/build-info.ts: the version in cvm_device.h, the limits of the descriptor's
 * CONFIG in firmware/Makefile, the port): nothing here names a configuration.
 */
describe('identity: firmware id and banner of the build under test', () => {
  /** The banner when it can be judged: seen by the run, and not through a link that damaged device → host bytes (a log line has no CRC). */
  function judgedBanner(): string | undefined {
    return emulatorFaults('d2h') > 0 ? undefined : target().banner;
  }

  it('hello and the banner name the firmware version, port and limits of the build under test', async function () {
    const { client, descriptor, twin } = target();
    const h = await client.hello();
    const expected = expectedBuild(descriptor);
    if (!expected) {
      // The twin: the firmware version it mirrors (cvm_device.h) and the limits it was built with.
      const limits = twin?.limits ?? DEFAULT_POOL_LIMITS;
      expect(formatLimits(limitsOf(h)), 'hello limits').to.equal(formatLimits(limits));
      expect(h.firmwareId, 'the twin mirrors the firmware version of cvm_device.h').to.equal(`cvm-twin/${firmwareVersion()}+${limitsTag(limits)}`);
      const line = judgedBanner();
      if (line === undefined) return;
      const b = parseBanner(line);
      expect(b, `banner ${JSON.stringify(line)}`).to.not.equal(undefined);
      expect([b!.proto, b!.fw, b!.nonce, formatLimits(b!.limits)], 'banner').to.deep.equal([PROTOCOL_VERSION, h.firmwareId, h.bootNonce, formatLimits(limits)]);
      return;
    }
    // A board this run neither started nor flashed runs whatever was flashed before: its build is not known here.
    if (descriptor.kind !== 'sim' && descriptor.kind !== 'qemu' && !descriptor.flash) {
      console.log(`      ${descriptor.name} was neither started nor flashed by this run: the build it runs is not known`);
      return this.skip();
    }
    expect(h.firmwareId, 'hello firmware id').to.equal(expected.firmwareId);
    expect(formatLimits(limitsOf(h)), 'hello limits').to.equal(formatLimits(expected.limits));
    expect(compareWithBuild(expected, judgedBanner(), h, PROTOCOL_VERSION), 'banner and hello against the build').to.deep.equal([]);
  });

  it('the banner is exactly one line of printable ASCII, its nonce 8 lowercase hex digits', function () {
    const line = judgedBanner();
    if (line === undefined) {
      console.log(`      ${emulatorFaults('d2h') > 0 ? LOG_TEXT_NOT_JUDGED : 'no banner: this target was not started or reset by the run (a board left running)'}`);
      return this.skip();
    }
    expect(line).to.match(/^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/);
    expect(line).to.match(/ nonce=[0-9a-f]{8} /);
  });
});
