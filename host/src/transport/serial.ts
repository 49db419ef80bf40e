/**
 * Transport over a serial port with the `serialport` package: a USB-UART adapter, a board's
 * virtual COM port, or a pseudo-terminal (the sim's, QEMU's). 8N1, no flow control.
 *
 * Habits learnt on ptys (shared/qemu-notes.md): the port is always read (a listener is attached
 * for the whole life of the port and never paused, so the peer never blocks on a full pty); set()
 * and get() are never called (they fail on a pty); `lock: false` lets a second process open the
 * same path. Bounding the bytes in flight is the client's job (PoolClient's window).
 *
 * The binding is injectable, as in zwave-js's serial factory: unit tests pass
 * @serialport/binding-mock; by default the platform binding of the `serialport` package is loaded
 * on first open (so merely importing this module loads no native code).
 */
import { SerialPortStream } from '@serialport/stream';
import { Framing } from '../protocol/constants.js';
import { TransportError } from './transport.js';
import { StreamTransport } from './stream-transport.js';
import { PortBusyError, commandLineOf, lockPort, openerOf, type PortLock } from './lock.js';
import type { ControlLines, LineFormat } from './rfc2217.js';

/** A serialport binding (@serialport/bindings-cpp, @serialport/binding-mock, ...). */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

export interface SerialOptions extends Partial<LineFormat> {
  /** The port: a device (/dev/ttyUSB0, /dev/ttyACM0, COM3) or a pseudo-terminal (/dev/pts/N). */
  path: string;
  /** Line rate in baud; default Framing.defaultBaud (115200). */
  baudRate?: number;
  /**
   * Hold the port exclusively while open (default true): the UUCP lock file in /var/lock that
   * minicom and ser2net honour, and flock (lock.ts). false lets another process open it too.
   */
  lock?: boolean;
  /** The binding to open the port with; default the `serialport` package's platform binding. */
  binding?: SerialBinding;
  /** Name in error messages; default `serial:<path>`. */
  name?: string;
  /**
   * The process that owns the other end of a pseudo-terminal (the sim, QEMU, socat), when this
   * side started it. Its exit ends the link as a disconnect naming it. serialport does not always
   * notice a pty's master closing (a read stays parked in the binding's poller, seen in about one
   * run in five here), so the owner's exit is the reliable signal.
   */
  peer?: { label: string; exited: Promise<unknown>; /** How it ended ("killed by SIGSEGV", "exit code 1"), read once it has. */ exitReason?: () => string };
}

/** Longest wait, after a pty with a peer ended, for the peer's exit that explains it (ms). */
const PEER_EXIT_WAIT_MS = 1000;

let platformBinding: Promise<SerialBinding> | undefined;
function defaultBinding(): Promise<SerialBinding> {
  platformBinding ??= import('serialport').then((m) => m.SerialPort.binding as SerialBinding);
  return platformBinding;
}

/** Turns an OS error from opening `path` into a sentence with the reason and what to do about it. */
export function describeOpenError(path: string, error: unknown): string {
  const raw = error instanceof Error ? error.message : String(error);
  const reason = raw
    .replace(/^Error:?\s*/, '')
    .replace(/,?\s*cannot open .*$/i, '')
    .trim();
  const pty = path.startsWith('/dev/pts/');
  if (/no such file|ENOENT|does not exist/i.test(raw)) {
    const hint = pty
      ? 'is the simulator or QEMU that created this pseudo-terminal still running?'
      : 'is the adapter plugged in? `hil list` shows ports';
    return `no such port: ${path} (${reason}) — ${hint}`;
  }
  if (/permission denied|EACCES/i.test(raw)) {
    return `permission denied: ${path} (${reason}) — add your user to the dialout group (sudo usermod -aG dialout $USER, then log in again)`;
  }
  if (/lock|EBUSY|busy/i.test(raw)) {
    const pid = openerOf(path);
    return new PortBusyError(path, pid, pid !== undefined ? commandLineOf(pid) : undefined, `${reason}: it holds an flock on it`).message;
  }
  return `cannot open ${path}: ${reason}`;
}

/** A serial port as a Transport. One instance opens one path; it can be reopened after close(). */
export class SerialTransport extends StreamTransport<SerialPortStream> {
  readonly name: string;
  readonly path: string;
  readonly baudRate: number;
  private readonly lock: boolean;
  /** The line format (SerialOptions; default 8N1). */
  private readonly format: LineFormat;
  private readonly binding: SerialBinding | undefined;
  private held: PortLock | undefined;
  protected readonly closedReason = 'port closed';
  protected readonly endReason = 'end of stream';
  private readonly peer: SerialOptions['peer'];

  constructor(options: SerialOptions) {
    super();
    const path = options.path;
    if (typeof path !== 'string' || path === '') throw new TypeError('SerialTransport: path must be a non-empty string');
    this.path = path;
    this.baudRate = options.baudRate ?? Framing.defaultBaud;
    this.lock = options.lock ?? true;
    this.format = { dataBits: options.dataBits ?? 8, parity: options.parity ?? 'none', stopBits: options.stopBits ?? 1 };
    this.binding = options.binding;
    this.name = options.name ?? `serial:${path}`;
    this.peer = options.peer;
    const peer = options.peer;
    peer?.exited.then(() => this.fail(this.peerExited()));
  }

  private peerExited(): Error {
    const how = this.peer?.exitReason?.();
    return new Error(`${this.peer?.label} exited${how ? ` (${how})` : ''}`);
  }

  /**
   * A pty ends when the process behind it dies, and the port often notices first (EIO, a bad file
   * descriptor): when that process exits within PEER_EXIT_WAIT_MS, its end is the reason
   * ("cvm-sim (default) exited (killed by SIGSEGV)"), rather than the port's symptom.
   */
  protected override explainEnd(error: Error): Error | Promise<Error> {
    const peer = this.peer;
    if (!peer) return error;
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), PEER_EXIT_WAIT_MS)));
    return Promise.race([peer.exited.then(() => true), waited]).then((exited) => {
      clearTimeout(timer);
      return exited ? this.peerExited() : error;
    });
  }

  /** Opens the port; rejects with a TransportError (kind 'open') naming the path, the OS reason and a hint. */
  protected async connect(): Promise<SerialPortStream> {
    let binding: SerialBinding;
    try {
      binding = this.binding ?? (await defaultBinding());
    } catch (e) {
      throw new TransportError(this.name, `cannot load the serialport binding: ${(e as Error).message}`, 'open', { cause: e });
    }
    // The lock file first (it names a holder), then flock with the open (it catches flock users).
    if (this.lock && !this.binding) {
      try {
        this.held = lockPort(this.path);
      } catch (e) {
        if (e instanceof PortBusyError) throw new TransportError(this.name, e.message, 'busy', { cause: e });
        throw e;
      }
    }
    const port = new SerialPortStream({
      binding,
      path: this.path,
      baudRate: this.baudRate,
      lock: this.lock,
      dataBits: this.format.dataBits === 5 || this.format.dataBits === 6 || this.format.dataBits === 7 ? this.format.dataBits : 8,
      stopBits: this.format.stopBits,
      parity: this.format.parity,
      rtscts: false,
      autoOpen: false,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        port.open((err) => {
          if (err) reject(new TransportError(this.name, describeOpenError(this.path, err), /lock|EBUSY|busy/i.test(err.message) ? 'busy' : 'open', { cause: err }));
          else resolve();
        });
      });
    } catch (e) {
      this.unlock();
      throw e;
    }
    return port;
  }

  private unlock(): void {
    this.held?.release();
    this.held = undefined;
  }

  /**
   * Sets DTR and/or RTS on the open port (a reset wired to the adapter's lines). Rejects with a
   * TransportError when not open or when the port has no such lines (a pseudo-terminal: ENOTTY).
   */
  async setControlLines(lines: ControlLines): Promise<void> {
    const port = this.openStream;
    if (!port) throw new TransportError(this.name, 'setting DTR/RTS while the link is not open', 'closed');
    const flags = { ...(lines.dtr !== undefined ? { dtr: lines.dtr } : {}), ...(lines.rts !== undefined ? { rts: lines.rts } : {}) };
    await new Promise<void>((resolve, reject) =>
      port.set(flags, (err) => (err ? reject(new TransportError(this.name, `cannot set ${Object.keys(flags).join('/').toUpperCase()} on ${this.path}: ${err.message}${/ioctl/i.test(err.message) ? ' (a pseudo-terminal has no control lines)' : ''}`, 'write', { cause: err })) : resolve())),
    );
  }

  protected shutdown(port: SerialPortStream): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!port.isOpen) return resolve();
      // A close error leaves nothing to recover: the port is gone either way.
      port.close(() => resolve());
    }).finally(() => this.unlock());
  }

  protected discard(port: SerialPortStream): void {
    if (port.isOpen) port.close(() => this.unlock());
    else this.unlock();
  }
}

/** Creates a SerialTransport; same as `new SerialTransport(options)`. */
export function createSerialTransport(options: SerialOptions): SerialTransport {
  return new SerialTransport(options);
}

/**
 * Returns a factory of SerialTransports that open ports through `binding` (e.g. MockBinding in
 * unit tests), like zwave-js's createNodeSerialPortFactory.
 */
export function serialTransportFactory(binding: SerialBinding): (options: Omit<SerialOptions, 'binding'>) => SerialTransport {
  return (options) => new SerialTransport({ ...options, binding });
}
