/**
 * One line of the link ↔ what it carries (PROTOCOL.md §2). Pure functions: no I/O, no state.
 * Used by the host client for responses and by the twin for requests, so both sides classify a
 * line the same way. C counterpart: cvm_line.c.
 */
import { Framing } from '../protocol/constants.js';
import { base64DecodeStrict, base64EncodeInto, base64Length } from './base64.js';
import { crc16xmodem } from './crc16.js';

/** Why a line could not be used; names match the stats counters rx_<defect>. */
export type LineDefect = 'overlong' | 'bad_frame' | 'bad_crc';

export type LineClass =
  | { kind: 'empty' }
  | { kind: 'log'; text: string }
  | { kind: 'frame'; message: Buffer }
  | { kind: 'defect'; defect: LineDefect; line: Buffer };

const MARKER = Framing.frameMarker;
const CR = 0x0d;
const LF = 0x0a;

/** Encodes a CBOR message as a complete frame line, '\n' included. Throws RangeError past max_message_bytes. */
export function encodeFrame(message: Uint8Array): Buffer {
  if (message.length > Framing.maxMessageBytes) {
    throw new RangeError(`frame: message of ${message.length} bytes exceeds max_message_bytes (${Framing.maxMessageBytes})`);
  }
  const raw = Buffer.allocUnsafe(message.length + Framing.crcBytes);
  raw.set(message, 0);
  const crc = crc16xmodem(message);
  raw[message.length] = crc >> 8;
  raw[message.length + 1] = crc & 0xff;
  const line = Buffer.allocUnsafe(1 + base64Length(raw.length) + 1);
  line[0] = MARKER;
  line[base64EncodeInto(raw, line, 1)] = LF;
  return line;
}

/**
 * Classifies one line (the bytes before its '\n', the '\n' itself excluded), in the order of
 * PROTOCOL.md §2.1. A line that is not a frame is a log line when received from a device and
 * noise when received by one; the caller decides which.
 */
export function classifyLine(line: Buffer): LineClass {
  if (line.length > Framing.maxLineBytes) return { kind: 'defect', defect: 'overlong', line };
  const end = line.length > 0 && line[line.length - 1] === CR ? line.length - 1 : line.length;
  if (end === 0) return { kind: 'empty' };
  if (line[0] !== MARKER) return { kind: 'log', text: line.toString('latin1', 0, end) };
  const raw = base64DecodeStrict(line, 1, end);
  if (raw === null || raw.length < 1 + Framing.crcBytes || raw.length > Framing.maxFrameBytes) {
    return { kind: 'defect', defect: 'bad_frame', line };
  }
  const bodyEnd = raw.length - Framing.crcBytes;
  if (crc16xmodem(raw, 0, bodyEnd) !== ((raw[bodyEnd]! << 8) | raw[bodyEnd + 1]!)) return { kind: 'defect', defect: 'bad_crc', line };
  return { kind: 'frame', message: raw.subarray(0, bodyEnd) };
}
