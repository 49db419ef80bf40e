/**
 * The software twin's entry point: a TypeScript implementation of the ComponentVM static memory
 * pool and of the device side of its wire protocol, answering byte for byte what the firmware
 * answers. The orchestrator, the CLI and tests import it; the library (host/src/index.ts and
 * below) never does, so a host application does not carry the twin.
 *
 * - TwinDevice: the device (bytes in, lines out, fault controls), built as the C core is: line
 *   handling (line.ts), dispatcher (dispatch.ts) and link layer (link.ts, the replay cache of §3.3).
 * - TwinTransport: the twin behind an in-memory link, as a Transport named "twin".
 * - serveTwinOnPty: the twin on a pseudo-terminal made by socat, for serial clients.
 * - Pool (and the `pool` namespace): the memory pool alone.
 */
export {
  FIRMWARE_ID_MAX,
  TwinDevice,
  defaultFirmwareId,
  resolveTwinLimits,
  uniqueIdFromNonce,
  worstCaseStatsBytes,
  type LinkCounters,
  type ResetCause,
  type TwinDeviceEvents,
  type TwinDeviceOptions,
} from './device.js';
export { LinkLayer, resolveReplayLimits, type LinkDecision, type ReplayLimits, type SessionCounters } from './link.js';
export { TwinTransport, type TwinTransportOptions } from './transport.js';
export { serveTwinOnPty, type ServeTwinOptions, type ServedTwin } from './pty.js';
export { attachDevice, type DeviceAttachment } from './attach.js';
export { Pool, resolveLimits, type LoadResult, type PoolCode, type PoolLimits, type PoolTelemetry, type VMMemoryContext } from './pool.js';
export * as pool from './pool.js';
