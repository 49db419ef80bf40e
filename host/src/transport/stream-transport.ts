/**
 * The one state machine of a transport over a Node stream (a serial port, a TCP socket): not open →
 * open → closing (close() called) → not open again, or open → ended on its own (unplugged, peer
 * gone) with a `close` event carrying a 'disconnected' TransportError. Subclasses say how to make the
 * stream (connect), how to close it on request (shutdown) and how to let go of one that ended
 * (discard); everything else, writes with back-pressure included, is here, once.
 */
import { EventEmitter } from 'node:events';
import { TransportError, writeDrained, type Transport, type TransportEvents } from './transport.js';

/** What the base needs of a stream: data and end events, and a write with a callback and drain. */
export interface ByteStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: (error?: Error | boolean | null) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  removeAllListeners(event: 'data'): unknown;
  write(data: Buffer, cb: (err?: Error | null) => void): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

export abstract class StreamTransport<S extends ByteStream> extends EventEmitter<TransportEvents> implements Transport {
  abstract readonly name: string;
  private stream: S | undefined;
  /** close() was called on the current stream. */
  private closing = false;

  /** Opens a new stream; rejects with a TransportError (kind 'open') saying why and what to check. */
  protected abstract connect(): Promise<S>;
  /** Closes the stream on request; resolves once it is closed (bounded: never waits on the peer forever). */
  protected abstract shutdown(stream: S): Promise<void>;
  /** Lets go of a stream that ended (on request or on its own): closes what is still open of it. */
  protected abstract discard(stream: S): void;
  /** The reason when the stream closed on its own without an error, e.g. "port closed". */
  protected abstract readonly closedReason: string;
  /** The reason when the peer ended the stream, e.g. "the server closed the connection". */
  protected abstract readonly endReason: string;

  /** The open stream, when there is one (for a subclass's own controls: DTR/RTS). */
  protected get openStream(): S | undefined {
    return this.closing ? undefined : this.stream;
  }

  get isOpen(): boolean {
    return this.stream !== undefined && !this.closing;
  }

  /** Opens the link (a no-op when open); rejects with a TransportError naming what and why. */
  async open(): Promise<void> {
    if (this.stream) return;
    const stream = await this.connect();
    this.stream = stream;
    this.closing = false;
    stream.on('data', (chunk: Buffer) => this.received(chunk));
    // After open, failures arrive as events: a disconnect closes the stream (with an error, or
    // without one), a failed write may destroy it, a peer's end-of-file ends it.
    stream.on('close', (err) => this.ended(stream, err instanceof Error ? err : new Error(this.closedReason)));
    stream.on('end', () => this.ended(stream, new Error(this.endReason)));
    stream.on('error', (err: Error) => this.ended(stream, err));
  }

  /**
   * Writes bytes; resolves once the stream has taken them and drained when its buffer was full.
   * Rejects with a TransportError: kind 'closed' when not open, 'write' when the write failed.
   */
  write(data: Buffer): Promise<void> {
    const stream = this.stream;
    if (!stream || this.closing) return Promise.reject(new TransportError(this.name, 'write while the link is not open', 'closed'));
    return writeDrained(stream, data, this.name);
  }

  /** Closes the link; `close` is emitted without an error. Safe to call twice. */
  async close(): Promise<void> {
    const stream = this.stream;
    if (!stream || this.closing) return;
    this.closing = true;
    await this.shutdown(stream);
    this.ended(stream, undefined);
  }

  /** Bytes the stream delivered; emitted as `data` (a subclass may look at them first: tcp.ts spots a telnet server). */
  protected received(chunk: Buffer): void {
    this.emit('data', chunk);
  }

  /**
   * The error a stream that ended on its own is reported with: a TransportError the stream (or
   * fail()) gave as it is, anything else as a 'disconnected' one. A subclass may say more (tcp.ts
   * recognises ser2net's "Port already in use").
   */
  protected endError(error: Error | undefined): TransportError {
    if (error instanceof TransportError) return error;
    return new TransportError(this.name, `disconnected: ${error?.message ?? this.closedReason}`, 'disconnected', { cause: error });
  }

  /**
   * Why a stream that ended on its own did: `error` as is, or (a subclass that knows more, e.g. that
   * the process behind a pty died) a better one, possibly after a short bounded wait.
   */
  protected explainEnd(error: Error): Error | Promise<Error> {
    return error;
  }

  /** Ends the current stream as if it had failed with `error` (e.g. the process behind it exited); nothing when closing. */
  protected fail(error: Error): void {
    if (this.stream && !this.closing) this.ended(this.stream, error);
  }

  /** The stream ended: by close() (error ignored) or on its own ('disconnected'). Runs once per stream. */
  private ended(stream: S, error: Error | undefined): void {
    if (this.stream !== stream) return;
    const requested = this.closing;
    this.stream = undefined;
    this.closing = false;
    stream.removeAllListeners('data');
    stream.on('error', () => {}); // late errors of a stream we no longer use
    this.discard(stream);
    if (requested) {
      this.emit('close');
      return;
    }
    const ended = (e: Error) => this.emit('close', this.endError(e));
    const why = this.explainEnd(error ?? new Error(this.closedReason));
    if (why instanceof Error) ended(why);
    else void why.then(ended);
  }
}
