/**
 * The twin served on a pseudo-terminal, for whatever must reach it as a serial port (the
 * "twin-pty" target, a terminal, another process). socat creates a connected pair of ptys; the
 * device holds one end through SerialTransport (so its side goes through serialport too) and the
 * caller opens the other by path.
 *
 *     socat -d -d pty,raw,echo=0 pty,raw,echo=0,wait-slave,pty-interval=0.01,ignoreeof
 *
 * When the banner is written, and why: serialport flushes a port's queues when it opens it
 * (tcflush(TCIOFLUSH) in @serialport/bindings-cpp's setup), so a line that reaches the client's pty
 * before the client opens it is lost — measured: a banner written right after the device side
 * opened never arrived. Hence `wait-slave` on the client's end: socat moves no byte until a process
 * opens that end (it polls every pty-interval), and it then logs "starting data transfer loop". The
 * device writes its banner on that notice, or, should the notice be read late, just before it
 * handles the first bytes it receives: either way after the client's open (and its flush), and
 * before any answer. The device side is open before serveTwinOnPty resolves, so nothing the client
 * sends can be flushed by the device's own open.
 *
 * Reconnecting: a client may close its end and open it again, as with a board that stays powered
 * (same device, no new banner). Without `ignoreeof` socat would exit when the client closes (its
 * read of the pty gives EIO); with it, socat retries that read once a second, so the first bytes a
 * reopened client sends are picked up within about a second (measured 0.35–0.95 s); after that,
 * round trips are back to milliseconds.
 *
 * socat is a ManagedProcess (host/src/process/managed.ts): close() sends SIGTERM, then SIGKILL after
 * a bounded wait, and the registry kills it if this process exits or is interrupted first.
 */
import { SerialTransport } from '../transport/serial.js';
import { ManagedProcess } from '../process/managed.js';
import { MissingToolError, hasTool } from '../process/tools.js';
import { attachDevice } from './attach.js';
import { TwinDevice, type TwinDeviceOptions } from './device.js';

export interface ServeTwinOptions extends TwinDeviceOptions {
  /** A device to serve instead of creating one from the other options. */
  device?: TwinDevice;
  /** The socat command; default "socat" (from PATH). */
  socat?: string;
  /** Longest wait for socat to announce both ptys; default 5000 ms. */
  startTimeoutMs?: number;
  /** Longest wait for socat to exit after SIGTERM before SIGKILL; default 2000 ms. */
  stopGraceMs?: number;
}

export interface ServedTwin {
  /** The pty a client opens (e.g. /dev/pts/7). */
  readonly path: string;
  /** The pty the device holds open. */
  readonly devicePath: string;
  readonly device: TwinDevice;
  /** socat's process id. */
  readonly pid: number;
  /** socat itself: its exit is the end of the client's link (see SerialOptions.peer). */
  readonly process: ManagedProcess;
  /**
   * Closes the device's port and stops socat (SIGTERM, then SIGKILL); resolves once socat has
   * exited. Safe to call twice. device.disconnect() does the same, as a pulled cable would: the
   * client's port then ends with an error, and a new twin must be served to reconnect.
   */
  close(): Promise<void>;
}

const PTY_LINES = /PTY is (\S+)[\s\S]*?PTY is (\S+)/;
const TRANSFER_LOOP = /starting data transfer loop/;

/**
 * Starts socat and attaches a TwinDevice to one end. Rejects with MissingToolError (naming the
 * Debian package socat) when socat is not installed, and with an Error carrying socat's output when
 * it exits early or does not announce both ptys within startTimeoutMs; socat is stopped first.
 */
export async function serveTwinOnPty(options: ServeTwinOptions = {}): Promise<ServedTwin> {
  const command = options.socat ?? 'socat';
  if (!hasTool(command)) throw new MissingToolError(command, 'socat', 'serve the twin on a pseudo-terminal');
  const device = options.device ?? new TwinDevice(options);
  const grace = options.stopGraceMs ?? 2000;
  const socat = new ManagedProcess('socat (twin pty)', command, ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0,wait-slave,pty-interval=0.01,ignoreeof'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });

  let port: SerialTransport | undefined;
  let devicePath: string;
  let path: string;
  try {
    const m = await socat.waitFor(PTY_LINES, options.startTimeoutMs ?? 5000, 'two "PTY is /dev/pts/N" lines');
    devicePath = m[1]!;
    path = m[2]!;
    port = new SerialTransport({ path: devicePath, name: `twin-pty-device:${devicePath}` });
    await port.open();
  } catch (e) {
    await port?.close().catch(() => undefined);
    await socat.stop(grace);
    throw e;
  }
  const devicePort = port;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      attachment.detach();
      socat.child.stderr?.off('data', onSocatOutput);
      await devicePort.close().catch(() => undefined);
      await socat.stop(grace);
    })();
    return closing;
  };

  let booted = false;
  const boot = (): void => {
    if (booted) return;
    booted = true;
    device.boot();
  };
  const attachment = attachDevice(
    device,
    (bytes) => {
      // Errors end the port, which its close event reports; a late write has nowhere to go.
      if (devicePort.isOpen) devicePort.write(bytes).catch(() => undefined);
    },
    () => void close(),
  );
  const onSocatOutput = (): void => {
    if (TRANSFER_LOOP.test(socat.output)) boot();
  };
  socat.child.stderr?.on('data', onSocatOutput);
  devicePort.on('data', (chunk) => {
    boot();
    attachment.feed(chunk);
  });
  // socat died or the pty went away: nothing is left to serve; reap everything.
  devicePort.on('close', (error) => {
    if (error) void close();
  });
  void socat.exited.then(() => void close());
  onSocatOutput();

  return { path, devicePath, device, pid: socat.pid, process: socat, close };
}
