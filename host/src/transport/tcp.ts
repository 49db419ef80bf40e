/**
 * Transport over TCP: a board behind a serial-over-network server (Debian's `ser2net` in raw mode,
 * where every byte of the connection is a byte of the UART), or anything else that serves the
 * protocol on a socket (QEMU's TCP chardev, socat). Spec form: `tcp://host:port`.
 *
 * Nagle is off (setNoDelay): a request line is small and waits for its answer, so Nagle plus the
 * peer's delayed ACK would add ~40 ms to every round trip (measured with QEMU's TCP chardev,
 * shared/qemu-notes.md). Connecting is bounded by connectTimeoutMs; every error names host:port.
 */
import { EventEmitter } from 'node:events';
import { Socket, connect } from 'node:net';
import { TransportError, writeDrained, type Transport, type TransportEvents } from './transport.js';

export interface TcpOptions {
  host: string;
  /** 1..65535. */
  port: number;
  /** Longest wait for the connection, in ms; default 5000. */
  connectTimeoutMs?: number;
  /** Name in error messages; default `tcp://host:port`. */
  name?: string;
}

/** Parses `tcp://host:port` (host may be a name, IPv4, or [IPv6]); undefined when it is not one. */
export function parseTcpUrl(url: string): { host: string; port: number } | undefined {
  const m = /^tcp:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]]+):(\d{1,5})\/?$/.exec(url);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

/** Explains a connect failure in a sentence with what to check. */
function describeConnectError(where: string, error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} — is ser2net (or the server) running there, and is this the port of its raw-mode connection?`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve the host of ${where} (${error.code}) — check the name, or use its IP address`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} is unreachable (${error.code}) — check the network route to the bench host`;
    default:
      return `cannot connect to ${where}: ${error.message}`;
  }
}

/** A TCP connection as a Transport. One instance connects to one address; it can reconnect after close(). */
export class TcpTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  private readonly connectTimeoutMs: number;
  private socket: Socket | undefined;
  private closing = false;

  constructor(options: TcpOptions) {
    super();
    if (typeof options.host !== 'string' || options.host === '') throw new TypeError('TcpTransport: host must be a non-empty string');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError(`TcpTransport: port must be 1..65535 (got ${options.port})`);
    this.host = options.host;
    this.port = options.port;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.name = options.name ?? `tcp://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  get isOpen(): boolean {
    return this.socket !== undefined && !this.closing;
  }

  /** Connects; rejects with a TransportError (kind 'open') naming host:port, the reason and a hint. */
  async open(): Promise<void> {
    if (this.socket) return;
    const where = `${this.host}:${this.port}`;
    const socket = connect({ host: this.host, port: this.port });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(new TransportError(this.name, `no connection to ${where} within ${this.connectTimeoutMs} ms — is the bench host up and the port open (firewall)?`, 'open'));
      }, this.connectTimeoutMs);
      const onError = (e: NodeJS.ErrnoException) => {
        cleanup();
        socket.destroy();
        reject(new TransportError(this.name, describeConnectError(where, e), 'open', { cause: e }));
      };
      const onConnect = () => {
        cleanup();
        resolve();
      };
      const cleanup = () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.off('connect', onConnect);
      };
      socket.once('error', onError);
      socket.once('connect', onConnect);
    });
    socket.setNoDelay(true);
    this.socket = socket;
    this.closing = false;
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.on('error', (e) => this.ended(socket, e));
    socket.on('end', () => this.ended(socket, new Error('the server closed the connection')));
    socket.on('close', () => this.ended(socket, new Error('connection closed')));
  }

  /** Writes bytes; resolves once the socket has taken them (and drained when its buffer was full). */
  write(data: Buffer): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closing) return Promise.reject(new TransportError(this.name, 'write while not connected', 'closed'));
    return writeDrained(socket, data, this.name);
  }

  /** Closes the connection; `close` is emitted without an error. Safe to call twice. */
  async close(): Promise<void> {
    const socket = this.socket;
    if (!socket || this.closing) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end();
      // A peer that never acknowledges the FIN must not hold close() open.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
    this.ended(socket, undefined);
  }

  /** The connection ended: by close() or on its own (reported as 'disconnected'). Runs once per socket. */
  private ended(socket: Socket, error: Error | undefined): void {
    if (this.socket !== socket) return;
    const requested = this.closing;
    this.socket = undefined;
    this.closing = false;
    socket.removeAllListeners('data');
    socket.on('error', () => {}); // late errors of a socket we no longer use
    if (!socket.destroyed) socket.destroy();
    if (requested) this.emit('close');
    else this.emit('close', new TransportError(this.name, `disconnected: ${error?.message ?? 'connection closed'}`, 'disconnected', { cause: error }));
  }
}
