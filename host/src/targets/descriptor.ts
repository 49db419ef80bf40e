/**
 * A target descriptor: passive data saying what a target is and how to reach, build, flash and
 * reset it (labgrid's habit: the descriptor describes, the strategy in strategy.ts acts). Every
 * way of naming a target ends here: a `--target` spec is parsed into one (parseTargetSpec), a board
 * file (boards/*.json, host/src/boards/descriptor.ts) is validated into one. Nothing downstream
 * ever sees a spec string again, so every field reaches the strategy and the client.
 */
import { isAbsolute, join, relative } from 'node:path';
import { REPO_ROOT, type FirmwareConfig } from './toolchain.js';
import { parseTcpUrl } from '../transport/tcp.js';
import { parseRfc2217Url, type LineFormat } from '../transport/rfc2217.js';

export type TargetKind = 'twin' | 'twin-pty' | 'sim' | 'qemu' | 'serial' | 'tcp' | 'rfc2217';
export type FlashTool = 'openocd' | 'st-flash';

/** A USB device, by its ids (4 hex digits each) and optionally its serial number. */
export interface UsbSelector {
  vendorId: string;
  productId: string;
  serialNumber?: string;
}

export interface FlashStep {
  tool: FlashTool;
  /** Program to run instead of the tool's name on PATH. */
  command?: string;
  /** Arguments; `{image}` becomes the image's absolute path. */
  args: string[];
  /** Image path: absolute, or relative to the descriptor's `root` (the package root when it has none). */
  image?: string;
  /** Longest one attempt may take, in ms (default 120000). */
  timeoutMs?: number;
}

export interface ResetStep {
  /**
   * none: the board boots when its port is opened, or is not reset. lines: the adapter's DTR or
   * RTS line is wired to the board's reset and pulsed (a local port, or over RFC 2217).
   */
  tool: FlashTool | 'none' | 'lines';
  command?: string;
  args?: string[];
  timeoutMs?: number;
  /** lines: the control line wired to reset; asserted (on) for pulseMs, then released. */
  line?: 'dtr' | 'rts';
  /** lines: how long the line is held asserted, in ms (default 100). */
  pulseMs?: number;
}

/**
 * The firmware a target runs: the build configuration and port (what its firmware id says), and
 * optionally the user's own artefacts (absolute, or relative to the descriptor's `root`) so that
 * `sim` and `qemu` run the user's build instead of building the package's.
 */
export interface FirmwareSpec {
  config?: FirmwareConfig;
  port?: string;
  /** A sim binary (firmware/port/host built by the user) run by kind sim. */
  sim?: string;
  /** An ARM ELF run by kind qemu. */
  elf?: string;
}

/** The JSON of a descriptor (boards/schema.json): every field a target can have. */
export interface TargetDescriptor {
  /** The board's name, or the spec a descriptor was parsed from (e.g. "sim:small"); names reports and errors. */
  name: string;
  description?: string;
  notes?: string[];
  kind: TargetKind;
  firmware?: FirmwareSpec;
  port?: { path?: string; usb?: UsbSelector };
  /** Baud rate of a serial port, local or over RFC 2217 (default 115200). */
  baud?: number;
  /** A serial port's USB-UART adapter latency timer to set when it opens, in ms (1..255; FTDI; transport/adapter-latency.ts). */
  latencyTimerMs?: number;
  /** Line format of a serial port, local or over RFC 2217 (default 8N1). */
  dataBits?: LineFormat['dataBits'];
  parity?: LineFormat['parity'];
  stopBits?: LineFormat['stopBits'];
  /** tcp://HOST:PORT (kind tcp) or rfc2217://HOST:PORT (kind rfc2217) of a board behind ser2net. */
  url?: string;
  flash?: FlashStep;
  reset?: ResetStep;
  /** Longest wait for the boot banner after a reset, in ms (default 5000). */
  bannerTimeoutMs?: number;
  /** The client's per-request timeout, in ms (default: PoolClient's). */
  requestTimeoutMs?: number;
  /**
   * Runs the link through the link emulator (transport/emulator.ts), in the syntax of `--link`,
   * e.g. "ber=1e-4,baud=115200,latency=16"; `--link` on the command line overrides it.
   */
  link?: string;
}

/**
 * A descriptor ready for the strategy: where it came from (`file`, absent for a spec) and the
 * folder its relative paths resolve against (`root`; the package root when absent).
 */
export type Target = TargetDescriptor & { file?: string; root?: string };

/** A bad target spec or descriptor field: the user's to fix (exit 2, orchestrator/exit-codes.ts). */
export class TargetSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetSpecError';
  }
}

export const TARGET_HELP = [
  '  twin                 the software twin, in-process over an in-memory link (default)',
  '  twin-pty             the twin served on a pseudo-terminal by socat, reached with the serial transport',
  "  sim[:small]          the firmware's C core built for the host, on a pty it creates (builds it if needed)",
  '  qemu[:small]         the ARM firmware ELF under qemu-system-arm -M netduinoplus2, USART2 on a pty',
  '  serial:PATH[@BAUD]   a board (or anything speaking the protocol) on a serial port, e.g. serial:/dev/ttyUSB0@115200',
  '  usb:VID:PID[:SERIAL][@BAUD]  the serial port of a USB device, found by its ids in sysfs, e.g. usb:0403:6001@115200',
  '  tcp://HOST:PORT      a board behind ser2net (raw TCP mode) or any server speaking the protocol, e.g. tcp://bench-pi.local:3001',
  '  rfc2217://HOST:PORT[@BAUD[,FORMAT]]  a board behind an RFC 2217 server (ser2net telnet(rfc2217), labgrid), e.g. rfc2217://bench-pi.local:3002@115200,8N1',
].join('\n');

/** The baud rates a target may name (boards/schema.json's /baud says the same; descriptor.test.ts checks it). */
export const BAUD_RANGE = { min: 300, max: 4_000_000 } as const;

/** The spec forms, as TARGET_HELP names them. */
const TARGET_FORMS = TARGET_HELP.split('\n').map((l) => l.trim().split(/\s{2,}/)[0]!);

/** `boards/x.json` for a file under the working directory, else the absolute path. */
export function displayPath(file: string): string {
  const r = relative(process.cwd(), file);
  return r && !r.startsWith('..') && !isAbsolute(r) ? r : file;
}

/** Where a descriptor's field comes from, for error messages: its file, or the --target spec. */
export function whereOf(t: Target): string {
  return t.file ? displayPath(t.file) : `--target ${t.name}`;
}

/** The firmware configuration a target runs (default "default"). */
export function firmwareConfig(t: TargetDescriptor): FirmwareConfig {
  return t.firmware?.config ?? 'default';
}

/**
 * A target spec as a descriptor: twin, twin-pty, sim[:small], qemu[:small], serial:PATH[@BAUD],
 * usb:VID:PID[:SERIAL][@BAUD], tcp://HOST:PORT, rfc2217://HOST:PORT[@BAUD[,FORMAT]]. Throws TargetSpecError (exit 2) naming the forms.
 */
export function parseTargetSpec(spec: string): Target {
  const configOf = (kind: 'sim' | 'qemu'): FirmwareConfig => {
    const c = spec.slice(kind.length + 1) || 'default';
    if (c !== 'default' && c !== 'small') throw new TargetSpecError(`bad target "${spec}": the firmware configurations are default and small`);
    return c;
  };
  const baudOf = (b: string | undefined): { baud?: number } => {
    if (b === undefined) return {};
    const n = Number(b);
    if (!Number.isInteger(n) || n < BAUD_RANGE.min || n > BAUD_RANGE.max) throw new TargetSpecError(`bad target "${spec}": the baud rate must be an integer from ${BAUD_RANGE.min} to ${BAUD_RANGE.max} (got "${b}"), e.g. ${spec.slice(0, spec.lastIndexOf('@'))}@115200`);
    return { baud: n };
  };
  if (spec === 'twin' || spec === 'twin-pty') return { name: spec, kind: spec };
  for (const kind of ['sim', 'qemu'] as const) {
    if (spec === kind || spec.startsWith(`${kind}:`)) return { name: spec, kind, firmware: { config: configOf(kind), port: kind === 'sim' ? 'sim' : 'stm32f407' } };
  }
  if (spec.startsWith('serial:')) {
    const m = /^serial:([^@]+)(?:@(\d+))?$/.exec(spec);
    if (!m) throw new TargetSpecError(`bad target "${spec}": expected serial:PATH or serial:PATH@BAUD`);
    return { name: spec, kind: 'serial', port: { path: m[1]! }, ...baudOf(m[2]) };
  }
  if (spec.startsWith('usb:')) {
    const m = /^usb:([0-9a-fA-F]{4}):([0-9a-fA-F]{4})(?::([^@]+))?(?:@(\d+))?$/.exec(spec);
    if (!m) throw new TargetSpecError(`bad target "${spec}": expected usb:VID:PID[:SERIAL][@BAUD], e.g. usb:0483:374b@115200`);
    return { name: spec, kind: 'serial', port: { usb: { vendorId: m[1]!.toLowerCase(), productId: m[2]!.toLowerCase(), ...(m[3] ? { serialNumber: m[3] } : {}) } }, ...baudOf(m[4]) };
  }
  if (spec.startsWith('rfc2217:')) {
    const m = /^(rfc2217:\/\/[^@]+?)(?:@(\d+)(?:,([5-8])([NOEMSnoems])(1|1\.5|2))?)?$/.exec(spec);
    if (!m || !parseRfc2217Url(m[1]!)) throw new TargetSpecError(`bad target "${spec}": expected rfc2217://HOST:PORT[@BAUD[,FORMAT]], e.g. rfc2217://bench-pi.local:3002@115200,8N1 (FORMAT: data bits 5-8, parity N/O/E/M/S, stop bits 1, 1.5 or 2)`);
    const parity = m[4] ? ({ n: 'none', o: 'odd', e: 'even', m: 'mark', s: 'space' } as const)[m[4].toLowerCase() as 'n'] : undefined;
    return {
      name: spec,
      kind: 'rfc2217',
      url: m[1]!,
      ...baudOf(m[2]),
      ...(m[3] ? { dataBits: Number(m[3]) as 5 | 6 | 7 | 8, parity: parity!, stopBits: Number(m[5]) as 1 | 1.5 | 2 } : {}),
    };
  }
  if (spec.startsWith('tcp:')) {
    if (!parseTcpUrl(spec)) throw new TargetSpecError(`bad target "${spec}": expected tcp://HOST:PORT, e.g. tcp://bench-pi.local:3001`);
    return { name: spec, kind: 'tcp', url: spec };
  }
  throw new TargetSpecError(`unknown target "${spec}": give ${TARGET_FORMS.join(', ')}, or a board name with --board (hil --help describes each)`);
}

/** A spec or a descriptor, as a descriptor. */
export function toTarget(t: string | Target): Target {
  return typeof t === 'string' ? parseTargetSpec(t) : t;
}

/**
 * A path of a descriptor's field, absolute: as it is when absolute, else against the descriptor's
 * `root` (the folder of the config file or board file that gave it), else the package root.
 */
export function resolveIn(t: Target, path: string): string {
  return isAbsolute(path) ? path : join(t.root ?? REPO_ROOT, path);
}
