/**
 * Transport over TCP: a board behind a serial-over-network server (Debian's `ser2net` in raw mode,
 * where every byte of the connection is a byte of the UART), or anything else that serves the
 * protocol on a socket (QEMU's TCP chardev, socat). Spec form: `tcp://host:port`.
 *
 * Nagle is off (setNoDelay): a request line is small and waits for its answer, so Nagle plus the
 * peer's delayed ACK would add ~40 ms to every round trip (measured with QEMU's TCP chardev,
 * shared/qemu-notes.md). Connecting is bounded by connectTimeoutMs; every error names host:port.
 */
import { Socket, connect } from 'node:net';
import { TransportError } from './transport.js';
import { StreamTransport } from './stream-transport.js';

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
export class TcpTransport extends StreamTransport<Socket> {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  private readonly connectTimeoutMs: number;
  protected readonly closedReason = 'connection closed';
  protected readonly endReason = 'the server closed the connection';

  constructor(options: TcpOptions) {
    super();
    if (typeof options.host !== 'string' || options.host === '') throw new TypeError('TcpTransport: host must be a non-empty string');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError(`TcpTransport: port must be 1..65535 (got ${options.port})`);
    this.host = options.host;
    this.port = options.port;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.name = options.name ?? `tcp://${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Connects (no Nagle); rejects with a TransportError (kind 'open') naming host:port, the reason and a hint. */
  protected async connect(): Promise<Socket> {
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
    return socket;
  }

  protected shutdown(socket: Socket): Promise<void> {
    return new Promise<void>((resolve) => {
      if (socket.destroyed) return resolve();
      socket.once('close', () => resolve());
      socket.end();
      // A peer that never acknowledges the FIN must not hold close() open.
      setTimeout(() => socket.destroy(), 1000).unref();
    });
  }

  protected discard(socket: Socket): void {
    if (!socket.destroyed) socket.destroy();
  }
}
