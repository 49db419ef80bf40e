/**
 * The one transport interface: a byte stream that opens, writes, delivers data and closes. The
 * serial port, the in-memory link to the twin, the sim's pty and QEMU's pty all implement it, so
 * the client cannot tell them apart.
 */
import { EventEmitter } from 'node:events';

export interface TransportEvents {
  /** Bytes received from the target, in order. */
  data: [chunk: Buffer];
  /** The link ended. `error` is set when it ended without close() being called (unplugged, process died). */
  close: [error?: TransportError];
}

/**
 * What went wrong with a link: it could not be opened, a write failed, it ended on its own, it was
 * not open; `busy`: someone else holds the board (a local lock, ser2net's "Port already in use");
 * `mismatch`: the far end speaks another protocol than the spec says (telnet on a tcp:// link).
 */
export type TransportErrorKind = 'open' | 'write' | 'disconnected' | 'closed' | 'busy' | 'mismatch';

/** A failure of the link itself (not of the device's answer); names the transport. */
export class TransportError extends Error {
  constructor(
    readonly transport: string,
    message: string,
    readonly kind: TransportErrorKind = 'open',
    options?: { cause?: unknown },
  ) {
    super(`${transport}: ${message}`, options);
    this.name = 'TransportError';
  }
}

export interface Transport extends EventEmitter<TransportEvents> {
  /** Human-readable identity for error messages, e.g. "serial:/dev/ttyUSB0" or "twin". */
  readonly name: string;
  /** Opens the link; rejects with a TransportError naming what could not be opened and why. */
  open(): Promise<void>;
  /** Writes bytes; resolves once they are handed to the link. Rejects with TransportError when closed. */
  write(data: Buffer): Promise<void>;
  /** Closes the link and releases everything it holds (ports, processes); safe to call twice. */
  close(): Promise<void>;
  readonly isOpen: boolean;
}

/**
 * Writes to a Node stream and resolves once the bytes are written and, when the stream's buffer
 * was full, drained: the back-pressure both the serial and the TCP transport rely on.
 */
export function writeDrained(
  stream: { write(data: Buffer, cb: (err?: Error | null) => void): boolean; once(event: 'drain', listener: () => void): unknown },
  data: Buffer,
  transport: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let pending = 1;
    const done = (): void => {
      if (--pending === 0) resolve();
    };
    const ok = stream.write(data, (err) => {
      if (err) reject(new TransportError(transport, `write failed: ${err.message}`, 'write', { cause: err }));
      else done();
    });
    if (!ok) {
      pending++;
      stream.once('drain', done);
    }
  });
}
