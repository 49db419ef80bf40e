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
 * - PoolLimits, ReplayLimits and their defaults, maxima and resolvers: the build-time limits a twin
 *   is created with (`limits: { maxVms: 2 }`, `replayDepth: 3`), the host's one limits types.
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
export { LinkLayer, type LinkDecision, type SessionCounters } from './link.js';
export { TwinTransport, type TwinTransportOptions } from './transport.js';
export { serveTwinOnPty, type ServeTwinOptions, type ServedTwin } from './pty.js';
export { attachDevice, type DeviceAttachment } from './attach.js';
export { Pool, type LoadResult, type PoolCode, type PoolTelemetry, type VMMemoryContext } from './pool.js';
/** The limits the twin is built with: the host's one limits types (protocol/limits.ts), re-exported for twin users. */
export {
  DEFAULT_POOL_LIMITS,
  DEFAULT_REPLAY_LIMITS,
  POOL_LIMIT_KEYS,
  POOL_LIMIT_MAXIMA,
  resolvePoolLimits,
  resolveReplayLimits,
  type PoolLimits,
  type ReplayLimits,
} from '../protocol/limits.js';
export * as pool from './pool.js';
