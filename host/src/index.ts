/**
 * The host library's public entry: transports, the pool client and its errors, the framing and
 * codec helpers, message types and protocol constants. The twin is a separate entry point
 * (host/src/twin/) that this library never imports.
 */
export * from './protocol/constants.js';
export * from './protocol/messages.js';
export * from './protocol/limits.js';

export { crc16xmodem } from './framing/crc16.js';
export { base64Encode, base64DecodeStrict } from './framing/base64.js';
export { encodeFrame, classifyLine, type LineClass, type LineDefect } from './framing/frame.js';
export { LineReader } from './framing/line-reader.js';
export { encodeCbor, decodeCbor } from './codec/cbor.js';
export { readStrict, MalformedCbor, type CborItem } from './codec/strict.js';

export { TransportError, type Transport, type TransportErrorKind, type TransportEvents } from './transport/transport.js';
export { Rfc2217Transport, parseRfc2217Url, type ControlLines, type LineSettings, type Parity, type Rfc2217Options } from './transport/rfc2217.js';
export { MemoryTransport, createMemoryLink } from './transport/memory.js';
export {
  SerialTransport,
  createSerialTransport,
  serialTransportFactory,
  describeOpenError,
  type SerialBinding,
  type SerialOptions,
} from './transport/serial.js';

export { BoardReset, DeviceError, RequestTimeout, ClientClosed, RetriesExhausted, LinkDead, errorName, type LinkCounters } from './client/errors.js';
export {
  PoolClient,
  type ClientOptions,
  type BatchOp,
  type BatchResult,
  type ClientEvents,
  type LinkStats,
} from './client/pool-client.js';
export { type LinkOptions } from './client/link.js';
