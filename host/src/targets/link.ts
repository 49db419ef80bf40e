/**
 * A descriptor → its link: the transport, with whatever it needs started first (socat, the sim,
 * QEMU) and a USB id resolved to its port, and the link emulator in front when asked. The one
 * place every target's transport is made, so every kind can run through the emulator. The
 * strategy (strategy.ts) opens it; the monitor listens on it without a client.
 */
import { realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { SerialTransport } from '../transport/serial.js';
import { TransportError, type Transport } from '../transport/transport.js';
import { TcpTransport, parseTcpUrl } from '../transport/tcp.js';
import { Rfc2217Transport, parseRfc2217Url } from '../transport/rfc2217.js';
import { resolveUsbPort } from '../transport/serial-list.js';
import { setLatencyTimer } from '../transport/adapter-latency.js';
import { LinkEmulator, hasFaults, parseLinkSpec, type LinkSpec } from '../transport/emulator.js';
import { TwinTransport } from '../twin/transport.js';
import { serveTwinOnPty } from '../twin/pty.js';
import { firmwareConfig, resolveIn, toTarget, whereOf, TargetSpecError, type Target } from './descriptor.js';
import { startSim } from './sim.js';
import { startQemu } from './qemu.js';
import type { ManagedProcess } from '../process/managed.js';

/** How a target's link is opened. */
export interface LinkOptions {
  /**
   * Runs the target's transport through the link emulator (transport/emulator.ts): a parsed spec,
   * or its text (e.g. "ber=1e-3,seed=7,baud=115200"; LinkSpecError, exit 2, when it is bad).
   * Undefined: the descriptor's own `link`; "none" or "": the target's own link, untouched.
   */
  link?: LinkSpec | string;
  /** The sysfs root a serial port's adapter is found under (default /sys; tests pass a fake tree). */
  sysfsRoot?: string;
  /** Told a line worth showing that is not an error (e.g. the adapter's latency timer could not be set); default stderr. */
  onNote?: (line: string) => void;
}

/**
 * Sets the latency timer of the adapter at `path` when the descriptor asks (`latencyTimerMs`):
 * a timer that may not be written (or an adapter without one) is a note, never a failure.
 */
function applyLatencyTimer(t: Target, path: string, options: LinkOptions): void {
  if (t.latencyTimerMs === undefined) return;
  let tty: string;
  try {
    tty = basename(realpathSync(path));
  } catch {
    tty = basename(path);
  }
  const r = setLatencyTimer(tty, t.latencyTimerMs, options.sysfsRoot !== undefined ? { sysfsRoot: options.sysfsRoot } : {});
  if (!r.ok) (options.onNote ?? ((l: string) => console.error(l)))(`${whereOf(t)}: /latencyTimerMs: ${r.message}`);
}

/** A target's link, opened as far as the transport (no client yet). */
export interface OpenLink {
  /** The descriptor's name. */
  name: string;
  /** Not yet open: the caller opens it (and attaches its listeners first). The emulator, when there is one. */
  transport: Transport;
  /** The link emulator in front of the target's transport, when asked for. */
  emulator?: LinkEmulator;
  /**
   * Starts a target that was created halted (QEMU), once the transport is open, so that its boot
   * banner is not lost; undefined for targets that are already running.
   */
  start?: () => Promise<void>;
  /**
   * Reboots the device behind the link as its reset pin would (the twin's reboot('pin'), the sim's
   * reset pulse, QEMU's system_reset): it prints a new banner. Undefined for a link that cannot
   * reach the device's reset (a board's reset step is its descriptor's, strategy.ts resetBoard).
   */
  reset?: () => Promise<void>;
  /** Stops everything the link started (processes); does not close the transport. */
  close(): Promise<void>;
}

/** The emulator spec of LinkOptions.link, parsed; undefined for a clean link. */
export function linkSpecOf(link: LinkSpec | string | undefined, where = '--link'): LinkSpec | undefined {
  return typeof link === 'string' ? parseLinkSpec(link, where) : link;
}

/** The link a target runs through: `override` (--link) when given, else the descriptor's `link`. */
export function effectiveLink(t: Target, override: LinkSpec | string | undefined): LinkSpec | undefined {
  return override !== undefined ? linkSpecOf(override, '--link') : linkSpecOf(t.link, `${whereOf(t)}: /link`);
}

/** Whether the link emulator in front of a link injects faults (then a banner may arrive damaged). */
export function hasFaultsOn(link: { emulator?: LinkEmulator }): boolean {
  return !!link.emulator && hasFaults(link.emulator.spec);
}

/**
 * A stack of undo steps, run in reverse, each once, errors swallowed: what every "start these, and
 * stop them all again if a later step fails" in the target layer uses.
 */
export class Cleanup {
  private steps: Array<() => Promise<void>> = [];
  /** Adds a step; it runs before the steps added earlier. */
  push(step: () => Promise<void>): void {
    this.steps.push(step);
  }
  /** Runs every step (last added first) and forgets them. */
  async run(): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const s of steps) await s().catch(() => undefined);
  }
}

/**
 * Opens a descriptor's (or a spec's) link: starts what it needs and makes the transport; stops
 * everything it started if that fails.
 */
export async function openLink(target: string | Target, options: LinkOptions = {}): Promise<OpenLink> {
  const t = toTarget(target);
  const linkSpec = effectiveLink(t, options.link); // a bad spec fails before anything is started
  const cleanup = new Cleanup();
  // The peer's exit names how it ended ("cvm-sim (default) exited (killed by SIGSEGV)").
  const peerOf = (label: string, p: ManagedProcess) => ({ label, exited: p.exited, exitReason: () => p.exitReason });
  try {
    let transport: Transport;
    let start: (() => Promise<void>) | undefined;
    let reset: (() => Promise<void>) | undefined;
    const baudRate = t.baud !== undefined ? { baudRate: t.baud } : {};
    const lineFormat = { ...(t.dataBits ? { dataBits: t.dataBits } : {}), ...(t.parity ? { parity: t.parity } : {}), ...(t.stopBits ? { stopBits: t.stopBits } : {}) };
    switch (t.kind) {
      case 'twin': {
        const twin = new TwinTransport();
        transport = twin;
        reset = async () => twin.device.reboot('pin');
        break;
      }
      case 'twin-pty': {
        const served = await serveTwinOnPty();
        cleanup.push(() => served.close());
        reset = async () => served.device.reboot('pin');
        transport = new SerialTransport({ path: served.path, name: `${t.name} (${served.path})`, peer: peerOf('socat (twin pty)', served.process) });
        break;
      }
      case 'sim': {
        // Halted until the port is open, as QEMU is: the banner reaches the host (issue: an open discards what waits).
        const sim = await startSim(firmwareConfig(t), [], { haltedUntilBoot: true, ...(t.firmware?.sim ? { binary: resolveIn(t, t.firmware.sim) } : {}) });
        cleanup.push(() => sim.close());
        transport = new SerialTransport({ path: sim.path, name: `${t.name} (${sim.path})`, peer: peerOf(sim.process.label, sim.process) });
        start = () => sim.boot();
        reset = () => sim.reset();
        break;
      }
      case 'qemu': {
        const q = await startQemu(firmwareConfig(t), t.firmware?.elf ? { elf: resolveIn(t, t.firmware.elf) } : {});
        cleanup.push(() => q.close());
        transport = new SerialTransport({ path: q.path, name: `${t.name} (${q.path})`, peer: peerOf(q.process.label, q.process) });
        start = () => q.resume();
        reset = () => q.reset();
        break;
      }
      case 'serial': {
        const usb = t.port?.usb;
        if (t.port?.path) {
          applyLatencyTimer(t, t.port.path, options);
          transport = new SerialTransport({ path: t.port.path, ...baudRate, ...lineFormat });
        } else if (usb) {
          let path: string;
          try {
            path = await resolveUsbPort(usb, options.sysfsRoot !== undefined ? { sysfsRoot: options.sysfsRoot } : {});
          } catch (e) {
            throw new TransportError(t.name, (e as Error).message, 'open', { cause: e });
          }
          applyLatencyTimer(t, path, options);
          transport = new SerialTransport({ path, ...baudRate, ...lineFormat, name: `${t.name} (${path})` });
        } else {
          throw new TargetSpecError(`${whereOf(t)}: a serial target needs /port/path or /port/usb`);
        }
        break;
      }
      case 'tcp': {
        const a = t.url ? parseTcpUrl(t.url) : undefined;
        if (!a) throw new TargetSpecError(`${whereOf(t)}: bad /url ${JSON.stringify(t.url)}: expected tcp://HOST:PORT, e.g. tcp://bench-pi.local:3001`);
        transport = new TcpTransport(a);
        break;
      }
      case 'rfc2217': {
        const a = t.url ? parseRfc2217Url(t.url) : undefined;
        if (!a) throw new TargetSpecError(`${whereOf(t)}: bad /url ${JSON.stringify(t.url)}: expected rfc2217://HOST:PORT, e.g. rfc2217://bench-pi.local:3002`);
        transport = new Rfc2217Transport({ ...a, ...baudRate, ...lineFormat });
        break;
      }
      default:
        throw new TargetSpecError(`${whereOf(t)}: unknown kind ${JSON.stringify((t as { kind: unknown }).kind)}`);
    }
    const emulator = linkSpec ? new LinkEmulator(transport, linkSpec) : undefined;
    return { name: t.name, transport: emulator ?? transport, ...(emulator ? { emulator } : {}), ...(start ? { start } : {}), ...(reset ? { reset } : {}), close: () => cleanup.run() };
  } catch (e) {
    await cleanup.run();
    throw e;
  }
}
