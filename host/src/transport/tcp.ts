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
import { startsWithTelnet } from './telnet.js';
import { NOTICE_HEAD_BYTES, describeServerEnd, noticeIn, serverNotice } from './server-notice.js';

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

/** Explains a connect failure in a sentence with what to check; `mode` names the ser2net accepter expected. */
function describeConnectError(where: string, error: NodeJS.ErrnoException, mode: string): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} — is ser2net (or the server) running there, and is this the port of its ${mode} connection?`;
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
  /** The connection's first bytes (NOTICE_HEAD_BYTES at most) and its last ones, to recognise a server's notice. */
  private head = Buffer.alloc(0);
  private tail = '';

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
    this.head = Buffer.alloc(0);
    this.tail = '';
    return connectSocket(this.host, this.port, this.connectTimeoutMs, this.name, 'raw-mode');
  }

  /**
   * Watches the start of the connection: a telnet server (ser2net's telnet(rfc2217) accepter)
   * negotiates first, bytes the protocol never begins with, so the link ends at once with the
   * spec to use; the rest is kept to name a refusal ("Port already in use") when the server hangs up.
   */
  protected override received(chunk: Buffer): void {
    if (this.head.length < NOTICE_HEAD_BYTES) {
      this.head = Buffer.concat([this.head, chunk]).subarray(0, NOTICE_HEAD_BYTES);
      if (startsWithTelnet(this.head)) {
        this.fail(new TransportError(this.name, `this port speaks telnet (it began with telnet negotiation, IAC ${this.head[1]} ${this.head[2] ?? ''}): use rfc2217://${this.where()} (ser2net's telnet(rfc2217) accepter), or point tcp:// at a raw accepter`, 'mismatch'));
        return;
      }
    }
    this.tail = (this.tail + chunk.toString('latin1')).slice(-NOTICE_HEAD_BYTES);
    this.emit('data', chunk);
  }

  protected override endError(error: Error | undefined): TransportError {
    if (error instanceof TransportError) return error;
    const notice = serverNotice(this.head) ?? (noticeIn(this.tail) === 'kicked' ? 'kicked' : undefined);
    if (notice === 'port-in-use' || notice === 'device-in-use') return new TransportError(this.name, describeServerEnd(this.where(), notice), 'busy', { cause: error });
    if (notice || error?.message === this.endReason) return new TransportError(this.name, `disconnected: ${describeServerEnd(this.where(), notice)}`, 'disconnected', { cause: error });
    return super.endError(error);
  }

  /** host:port ([v6]:port). */
  private where(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  protected shutdown(socket: Socket): Promise<void> {
    return endSocket(socket);
  }

  protected discard(socket: Socket): void {
    if (!socket.destroyed) socket.destroy();
  }
}

/**
 * Opens a TCP connection to host:port within timeoutMs, Nagle off; rejects with a TransportError
 * (kind 'open') named `name`, saying why and what to check (`mode`: the ser2net accepter meant,
 * "raw-mode" or "telnet(rfc2217)"). The TCP and the RFC 2217 transport both connect with it.
 */
export async function connectSocket(host: string, port: number, timeoutMs: number, name: string, mode: string): Promise<Socket> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const socket = connect({ host, port });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.destroy();
      reject(new TransportError(name, `no connection to ${where} within ${timeoutMs} ms — is the bench host up and the port open (firewall)?`, 'open'));
    }, timeoutMs);
    const onError = (e: NodeJS.ErrnoException) => {
      cleanup();
      socket.destroy();
      reject(new TransportError(name, describeConnectError(where, e, mode), 'open', { cause: e }));
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

/** Ends a socket on request: FIN, then destroyed after 1 s if the peer never answers it. */
export function endSocket(socket: Socket): Promise<void> {
  return new Promise<void>((resolve) => {
    if (socket.destroyed) return resolve();
    socket.once('close', () => resolve());
    socket.end();
    // A peer that never acknowledges the FIN must not hold close() open.
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}
