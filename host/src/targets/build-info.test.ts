/**
 * What a build reports about itself, worked out from firmware/ (version, CONFIG limits, firmware
 * id), the banner parser, and the comparison a flash is verified with.
 */
import { expect } from 'chai';
import type { Hello } from '../protocol/messages.js';
import { compareWithBuild, configLimits, expectedFirmware, parseBanner } from './build-info.js';

const BANNER = 'CVM-BOOT proto=1 fw=cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64 nonce=0badf00d vms=4 globals=64 arrays=16 elements=64';

function hello(over: Partial<Hello> = {}): Hello {
  return {
    protoVersion: 1, firmwareId: 'cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64', maxVms: 4, maxGlobals: 64, maxArrays: 16, arrayElements: 64,
    maxLine: 520, maxBatch: 32, bootNonce: 0x0badf00d, uptimeMs: 12, resetCause: 'pin', uniqueId: new Uint8Array(12), replayDepth: 32, replayBytes: 2048, holdDepth: 16, holdMessageBytes: 32, ...over,
  };
}

describe('firmware build info', () => {
  it('reads the limits of each CONFIG from firmware/Makefile', () => {
    expect(configLimits('default')).to.deep.equal({ maxVms: 4, maxGlobals: 64, maxArrays: 16, arrayElements: 64 });
    expect(configLimits('small')).to.deep.equal({ maxVms: 2, maxGlobals: 16, maxArrays: 4, arrayElements: 16 });
  });

  it('composes the firmware id as cvm_device.c does', () => {
    expect(expectedFirmware('small', 'sim').firmwareId).to.match(/^cvm-fw\/\d+\.\d+\.\d+\+sim\.vms2\.g16\.a4\.e16$/);
  });

  it('parses a banner', () => {
    expect(parseBanner(BANNER)).to.deep.equal({ proto: 1, fw: 'cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64', nonce: 0x0badf00d, limits: { maxVms: 4, maxGlobals: 64, maxArrays: 16, arrayElements: 64 } });
    expect(parseBanner('hello world')).to.equal(undefined);
  });

  it('finds no mismatch when banner and hello are the build', () => {
    const exp = { ...expectedFirmware('default', 'stm32f407'), version: '0.1.0', firmwareId: 'cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64' };
    expect(compareWithBuild(exp, BANNER, hello(), 1)).to.deep.equal([]);
    expect(compareWithBuild(exp, undefined, hello(), 1)).to.deep.equal([]);
  });

  it('names every mismatch: another build, another config, a reset after the banner', () => {
    const exp = { ...expectedFirmware('small', 'stm32f407'), version: '0.1.0', firmwareId: 'cvm-fw/0.1.0+stm32f407.vms2.g16.a4.e16' };
    const m = compareWithBuild(exp, BANNER, hello({ bootNonce: 1 }), 1);
    expect(m).to.deep.equal([
      'hello firmware id cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64, the build is cvm-fw/0.1.0+stm32f407.vms2.g16.a4.e16',
      'hello limits vms=4 globals=64 arrays=16 elements=64, CONFIG=small has vms=2 globals=16 arrays=4 elements=16',
      'banner fw=cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64, the build is cvm-fw/0.1.0+stm32f407.vms2.g16.a4.e16',
      'banner limits vms=4 globals=64 arrays=16 elements=64, CONFIG=small has vms=2 globals=16 arrays=4 elements=16',
      "hello boot nonce 00000001 is not the banner's 0badf00d: the board reset again after its banner",
    ]);
  });
});
