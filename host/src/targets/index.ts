/**
 * Targets: a descriptor (from a spec or a board file) → a ready target. This is the one place that
 * knows every kind of target; tests and the CLI name a target, never build a transport themselves.
 * It sits above the library (it may start the twin, socat, the sim or QEMU), so library code never
 * imports it.
 */
export {
  TARGET_HELP,
  TargetSpecError,
  displayPath,
  firmwareConfig,
  parseTargetSpec,
  resolveIn,
  toTarget,
  whereOf,
  type FirmwareSpec,
  type FlashStep,
  type FlashTool,
  type ResetStep,
  type Target,
  type TargetDescriptor,
  type TargetKind,
  type UsbSelector,
} from './descriptor.js';
export { Cleanup, effectiveLink, hasFaultsOn, linkSpecOf, openLink, type LinkOptions, type OpenLink } from './link.js';
export {
  BoardBusy,
  BoardError,
  FlashError,
  VerifyError,
  bringUp,
  commandLine,
  expectedBuild,
  flashBoard,
  flashImage,
  openTarget,
  resetBoard,
  type FlashAttempt,
  type FlashReport,
  type OpenTarget,
  type PrepareOptions,
  type ReadyTarget,
} from './strategy.js';
export { compareWithBuild, configLimits, expectedFirmware, firmwareVersion, parseBanner, type Banner, type ExpectedFirmware } from './build-info.js';
export type { PoolLimits } from '../protocol/limits.js';
