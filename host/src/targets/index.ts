/**
 * Target specs → an open, handshaken client. This is the one place that knows every kind of
 * target; tests and the CLI name a target, never build a transport themselves. It sits above the
 * library (it may start the twin, socat, the sim or QEMU), so library code never imports it.
 */
import { PoolClient, type ClientOptions } from '../client/pool-client.js';
import { SerialTransport } from '../transport/serial.js';
import { TransportError, type Transport } from '../transport/transport.js';
import { TcpTransport, parseTcpUrl } from '../transport/tcp.js';
import { resolveUsbPort } from '../transport/serial-list.js';
import { LinkEmulator, hasFaults, parseLinkSpec, type LinkSpec } from '../transport/emulator.js';
import { TwinTransport } from '../twin/transport.js';
import { serveTwinOnPty } from '../twin/pty.js';
import { BANNER_PREFIX } from '../protocol/constants.js';
import { startSim } from './sim.js';
import { startQemu } from './qemu.js';
import type { FirmwareConfig } from './toolchain.js';

export const TARGET_HELP = [
  '  twin                 the software twin, in-process over an in-memory link (default)',
  '  twin-pty             the twin served on a pseudo-terminal by socat, reached with the serial transport',
  "  sim[:small]          the firmware's C core built for the host, on a pty it creates (builds it if needed)",
  '  qemu[:small]         the ARM firmware ELF under qemu-system-arm -M netduinoplus2, USART2 on a pty',
  '  serial:PATH[@BAUD]   a board (or anything speaking the protocol) on a serial port, e.g. serial:/dev/ttyUSB0@115200',
  '  usb:VID:PID[:SERIAL][@BAUD]  the serial port of a USB device, found by its ids in sysfs, e.g. usb:0403:6001@115200',
  '  tcp://HOST:PORT      a board behind ser2net (raw TCP mode) or any server speaking the protocol, e.g. tcp://bench-pi.local:3001',
].join('\n');

export interface OpenTarget {
  /** The spec it was opened from, e.g. "twin". */
  name: string;
  client: PoolClient;
  /**
   * The link under the client: the target's own transport (a twin's carries the fault controls,
   * TwinTransport.device), or the link emulator in front of it (then `emulator.inner` is it).
   */
  transport: Transport;
  /** The link emulator the target runs through, when one was asked for: its counters, seed and cut(). */
  emulator?: LinkEmulator;
  /** Closes the client and everything the target started (ports, processes). */
  close(): Promise<void>;
}

/** How a target's link is opened. */
export interface LinkOptions {
  /**
   * Runs the target's transport through the link emulator (transport/emulator.ts): a parsed spec,
   * or its text (e.g. "ber=1e-3,seed=7,baud=115200"; LinkSpecError, exit 2, when it is bad).
   * Undefined, "none" or "": the target's own link, untouched.
   */
  link?: LinkSpec | string;
}

/** The emulator spec of LinkOptions.link, parsed; undefined for a clean link. */
export function linkSpecOf(link: LinkSpec | string | undefined, where = '--link'): LinkSpec | undefined {
  return typeof link === 'string' ? parseLinkSpec(link, where) : link;
}

/** A bad target spec or a missing tool: the user's to fix, so the CLI exits 2. */
export class TargetSpecError extends Error {
  readonly exitCode = 2;
}

/** A target's link, opened as far as the transport (no client yet): what the monitor listens on. */
export interface OpenLink {
  /** The spec it was opened from. */
  name: string;
  /** Not yet open: the caller opens it (and attaches its listeners first). The emulator, when there is one. */
  transport: Transport;
  /** The link emulator in front of the target's transport, when LinkOptions.link asked for one. */
  emulator?: LinkEmulator;
  /**
   * Starts a target that was created halted (QEMU), once the transport is open, so that its boot
   * banner is not lost; undefined for targets that are already running.
   */
  start?: () => Promise<void>;
  /** Stops everything the link started (processes); does not close the transport. */
  close(): Promise<void>;
}

/**
 * Resolves a spec to its transport, starting what it needs (socat, the sim, QEMU) and resolving a
 * USB id to its port, and puts the link emulator in front of it when `options.link` asks; this is
 * the one place every target's transport is made, so every kind can run through the emulator.
 * Everything it started is stopped again if that fails.
 */
export async function openLink(spec: string, options: LinkOptions = {}): Promise<OpenLink> {
  const linkSpec = linkSpecOf(options.link); // a bad spec fails before anything is started
  const cleanups: Array<() => Promise<void>> = [];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    let transport: Transport;
    let start: (() => Promise<void>) | undefined;
    const config = (name: string): FirmwareConfig => {
      const c = spec.slice(name.length + 1) || 'default';
      if (c !== 'default' && c !== 'small') throw new TargetSpecError(`bad target "${spec}": the firmware configurations are default and small`);
      return c;
    };
    if (spec === 'twin') {
      transport = new TwinTransport();
    } else if (spec === 'twin-pty') {
      const served = await serveTwinOnPty();
      cleanups.push(() => served.close());
      transport = new SerialTransport({ path: served.path, name: `twin-pty (${served.path})`, peer: { label: 'socat (twin pty)', exited: served.process.exited } });
    } else if (spec === 'sim' || spec.startsWith('sim:')) {
      const sim = await startSim(config('sim'));
      cleanups.push(() => sim.close());
      transport = new SerialTransport({ path: sim.path, name: `${spec} (${sim.path})`, peer: { label: sim.process.label, exited: sim.process.exited } });
    } else if (spec === 'qemu' || spec.startsWith('qemu:')) {
      const q = await startQemu(config('qemu'));
      cleanups.push(() => q.close());
      transport = new SerialTransport({ path: q.path, name: `${spec} (${q.path})`, peer: { label: q.process.label, exited: q.process.exited } });
      start = () => q.resume();
    } else if (spec.startsWith('serial:')) {
      const m = /^serial:([^@]+)(?:@(\d+))?$/.exec(spec);
      if (!m) throw new TargetSpecError(`bad target "${spec}": expected serial:PATH or serial:PATH@BAUD`);
      transport = new SerialTransport({ path: m[1]!, baudRate: m[2] ? Number(m[2]) : undefined });
    } else if (spec.startsWith('usb:')) {
      const m = /^usb:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})(?::([^@]+))?(?:@(\d+))?$/.exec(spec);
      if (!m) throw new TargetSpecError(`bad target "${spec}": expected usb:VID:PID[:SERIAL][@BAUD], e.g. usb:0483:374b@115200`);
      let path: string;
      try {
        path = await resolveUsbPort({ vendorId: m[1]!, productId: m[2]!, ...(m[3] ? { serialNumber: m[3] } : {}) });
      } catch (e) {
        throw new TransportError(spec, (e as Error).message, 'open', { cause: e });
      }
      transport = new SerialTransport({ path, baudRate: m[4] ? Number(m[4]) : undefined, name: `${spec} (${path})` });
    } else if (spec.startsWith('tcp:')) {
      const a = parseTcpUrl(spec);
      if (!a) throw new TargetSpecError(`bad target "${spec}": expected tcp://HOST:PORT, e.g. tcp://bench-pi.local:3001`);
      transport = new TcpTransport(a);
    } else {
      throw new TargetSpecError(`unknown target "${spec}"; targets are:\n${TARGET_HELP}`);
    }
    const emulator = linkSpec ? new LinkEmulator(transport, linkSpec) : undefined;
    return { name: spec, transport: emulator ?? transport, ...(emulator ? { emulator } : {}), ...(start ? { start } : {}), close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * Opens the target (through the link emulator when `options.link` is given) and says hello;
 * everything it started is released if that fails.
 */
export async function openTarget(spec: string, options: ClientOptions & LinkOptions = {}): Promise<OpenTarget> {
  const { link: linkOption, ...clientOptions } = options;
  const link = await openLink(spec, { link: linkOption });
  const cleanups: Array<() => Promise<void>> = [() => link.close()];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const client = new PoolClient(link.transport, clientOptions);
    cleanups.push(() => client.close());
    await client.open();
    if (link.start) {
      // The guest drops bytes until its USART is enabled: speak only after its banner.
      const banner = waitForBanner(client, 10_000, spec, { anyLine: hasFaultsOn(link) });
      await link.start();
      await banner;
    }
    await client.hello();
    return { name: spec, client, transport: link.transport, ...(link.emulator ? { emulator: link.emulator } : {}), close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** Whether the link emulator in front of a link injects faults (then a banner may arrive damaged). */
export function hasFaultsOn(link: { emulator?: LinkEmulator }): boolean {
  return !!link.emulator && hasFaults(link.emulator.spec);
}

/**
 * Resolves when the target prints its boot banner; rejects after timeoutMs naming the target.
 * With `anyLine` (a lossy emulated link, where the banner itself may arrive damaged), any line or
 * damaged line from the target will do: it proves the target is up, which is what the wait is for.
 */
export function waitForBanner(client: PoolClient, timeoutMs: number, name: string, options: { anyLine?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const done = (text: string) => {
      clearTimeout(timer);
      client.off('log', onLog);
      client.off('defect', onDefect);
      resolve(text);
    };
    const onLog = (text: string) => {
      if (text.startsWith(BANNER_PREFIX) || options.anyLine) done(text);
    };
    const onDefect = (_d: unknown, line: Buffer) => {
      if (options.anyLine) done(line.toString('latin1'));
    };
    const timer = setTimeout(() => {
      client.off('log', onLog);
      client.off('defect', onDefect);
      reject(new Error(`${name}: no boot banner ("${BANNER_PREFIX} ...") within ${timeoutMs} ms`));
    }, timeoutMs);
    client.on('log', onLog);
    client.on('defect', onDefect);
  });
}
