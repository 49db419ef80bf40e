/**
 * What a firmware build reports about itself, worked out from the build's own sources so that a
 * flashed board can be checked against the build just flashed: the version
 * (CVM_FIRMWARE_VERSION in firmware/core/include/cvm_device.h), the pool limits of the
 * configuration (the -D flags of CONFIG=<name> in firmware/Makefile, over the defaults of
 * protocol/constants.json), and so the firmware id hello and the banner carry:
 * "cvm-fw/<version>+<port>.vms<n>.g<n>.a<n>.e<n>" (cvm_device.c).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BANNER_PREFIX } from '../protocol/constants.js';
import { DEFAULT_POOL_LIMITS, formatLimits, limitsOf, type PoolLimits } from '../protocol/limits.js';
import type { Hello } from '../protocol/messages.js';
import { FIRMWARE_DIR, type FirmwareConfig } from './toolchain.js';

export type { PoolLimits };

export interface ExpectedFirmware {
  config: FirmwareConfig;
  version: string;
  port: string;
  /** The firmware id the build reports, e.g. cvm-fw/0.1.0+stm32f407.vms4.g64.a16.e64. */
  firmwareId: string;
  limits: PoolLimits;
}

const MACRO_OF: Record<keyof PoolLimits, string> = {
  maxVms: 'MAX_CONCURRENT_VMS',
  maxGlobals: 'VM_MAX_GLOBALS',
  maxArrays: 'VM_MAX_ARRAYS',
  arrayElements: 'VM_ARRAY_ELEMENTS',
};

/** The firmware's version string, from cvm_device.h. */
export function firmwareVersion(firmwareDir = FIRMWARE_DIR): string {
  const header = readFileSync(join(firmwareDir, 'core', 'include', 'cvm_device.h'), 'utf8');
  const m = /#define\s+CVM_FIRMWARE_VERSION\s+"([^"]+)"/.exec(header);
  if (!m) throw new Error(`${join(firmwareDir, 'core/include/cvm_device.h')}: no #define CVM_FIRMWARE_VERSION "..."`);
  return m[1]!;
}

/** The pool limits of a configuration: the defaults, overridden by its -D flags in firmware/Makefile. */
export function configLimits(config: FirmwareConfig, firmwareDir = FIRMWARE_DIR): PoolLimits {
  const limits: PoolLimits = { ...DEFAULT_POOL_LIMITS };
  const makefile = readFileSync(join(firmwareDir, 'Makefile'), 'utf8');
  // ifeq ($(CONFIG),small) / else ifeq ($(CONFIG),small)  followed by  CONFIG_FLAGS := -D...
  const m = new RegExp(`ifeq \\(\\$\\(CONFIG\\),${config}\\)\\s*\\n\\s*CONFIG_FLAGS\\s*:?=([^\\n]*)`).exec(makefile);
  if (!m) throw new Error(`firmware/Makefile: no CONFIG_FLAGS for CONFIG=${config}`);
  for (const [key, macro] of Object.entries(MACRO_OF) as Array<[keyof PoolLimits, string]>) {
    const d = new RegExp(`-D${macro}=(\\d+)`).exec(m[1]!);
    if (d) limits[key] = Number(d[1]);
  }
  return limits;
}

/** What a build of `config` for the firmware port `port` reports. */
export function expectedFirmware(config: FirmwareConfig, port: string, firmwareDir = FIRMWARE_DIR): ExpectedFirmware {
  const version = firmwareVersion(firmwareDir);
  const limits = configLimits(config, firmwareDir);
  const firmwareId = `cvm-fw/${version}+${port}.vms${limits.maxVms}.g${limits.maxGlobals}.a${limits.maxArrays}.e${limits.arrayElements}`;
  return { config, version, port, firmwareId, limits };
}

/** The fields of a boot banner (PROTOCOL.md §5), or undefined for a line that is not one. */
export interface Banner {
  proto: number;
  fw: string;
  nonce: number;
  limits: PoolLimits;
}

export function parseBanner(line: string): Banner | undefined {
  const m = new RegExp(`^${BANNER_PREFIX} proto=(\\d+) fw=(\\S+) nonce=([0-9a-fA-F]{8}) vms=(\\d+) globals=(\\d+) arrays=(\\d+) elements=(\\d+)\\s*$`).exec(line);
  if (!m) return undefined;
  return {
    proto: Number(m[1]),
    fw: m[2]!,
    nonce: Number.parseInt(m[3]!, 16),
    limits: { maxVms: Number(m[4]), maxGlobals: Number(m[5]), maxArrays: Number(m[6]), arrayElements: Number(m[7]) },
  };
}

/**
 * Compares what a board said (its hello, and its banner when one was seen) with the build: firmware
 * id, limits, protocol version, and that hello comes from the boot the banner announced (same nonce).
 * Returns one line per mismatch; empty when everything matches.
 */
export function compareWithBuild(expected: ExpectedFirmware, bannerLine: string | undefined, hello: Hello, protoVersion: number): string[] {
  const out: string[] = [];
  const lim = formatLimits;
  const want = lim(expected.limits);
  if (hello.protoVersion !== protoVersion) out.push(`hello protocol version ${hello.protoVersion}, this host speaks ${protoVersion}`);
  if (hello.firmwareId !== expected.firmwareId) out.push(`hello firmware id ${hello.firmwareId}, the build is ${expected.firmwareId}`);
  const helloLimits = limitsOf(hello);
  if (lim(helloLimits) !== want) out.push(`hello limits ${lim(helloLimits)}, CONFIG=${expected.config} has ${want}`);
  if (bannerLine === undefined) return out;
  const banner = parseBanner(bannerLine);
  if (!banner) return [...out, `the banner is not a CVM-BOOT line: ${JSON.stringify(bannerLine)}`];
  if (banner.proto !== protoVersion) out.push(`banner proto=${banner.proto}, this host speaks ${protoVersion}`);
  if (banner.fw !== expected.firmwareId) out.push(`banner fw=${banner.fw}, the build is ${expected.firmwareId}`);
  if (lim(banner.limits) !== want) out.push(`banner limits ${lim(banner.limits)}, CONFIG=${expected.config} has ${want}`);
  if (hello.bootNonce !== banner.nonce) {
    out.push(`hello boot nonce ${hello.bootNonce.toString(16).padStart(8, '0')} is not the banner's ${banner.nonce.toString(16).padStart(8, '0')}: the board reset again after its banner`);
  }
  return out;
}
