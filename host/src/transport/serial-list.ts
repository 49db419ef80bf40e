/**
 * Which serial ports are attached, with the USB vendor/product ids and serial number of the
 * adapter behind each. Read from Linux sysfs (/sys/class/tty/<name>/device and the USB device
 * directory above it), which needs no helper program; serialport's own list() runs `udevadm` and
 * fails where that is missing (`spawn udevadm ENOENT`, shared/qemu-notes.md), so it is only the
 * fall-back for machines without sysfs. Pseudo-terminals have no device and are never listed.
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { readLatencyTimer } from './adapter-latency.js';

/** The USB identity of the device a port belongs to (lower-case hex ids, as lsusb prints them). */
export interface UsbIdentity {
  /** 4 hex digits, e.g. "0483". */
  vendorId: string;
  /** 4 hex digits, e.g. "374b". */
  productId: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
}

export interface SerialPortInfo {
  /** The device path, e.g. /dev/ttyUSB0. */
  path: string;
  /** Set for ports on a USB device. */
  usb?: UsbIdentity;
  /** The kernel driver, e.g. ftdi_sio, cdc_acm, cp210x, serial (a built-in UART). */
  driver?: string;
  /** The adapter's latency timer in ms, when it has one (FTDI: sysfs bus/usb-serial/devices/<tty>/latency_timer; adapter-latency.ts). */
  latencyTimerMs?: number;
  /** Where the facts came from. */
  source: 'sysfs' | 'serialport';
}

export interface ListOptions {
  /** The sysfs root; default /sys. Tests pass a fake tree. */
  sysfsRoot?: string;
  /** The device directory the paths are reported under; default /dev. */
  devRoot?: string;
  /**
   * The fall-back lister used when there is no sysfs; default serialport's SerialPort.list().
   * Pass null to disable the fall-back.
   */
  fallback?: (() => Promise<SerialPortInfo[]>) | null;
}

export interface PortListing {
  ports: SerialPortInfo[];
  /** How the list was made, e.g. "sysfs (/sys/class/tty)". */
  method: string;
  /** Why a source could not be used, when one failed. */
  notes: string[];
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** The first directory at or above `dir` (at most `levels` up) holding an idVendor file: the USB device. */
function usbDeviceDir(dir: string, stop: string, levels = 6): string | undefined {
  let d = dir;
  for (let i = 0; i <= levels && d.startsWith(stop) && d !== stop; i++) {
    if (existsSync(join(d, 'idVendor'))) return d;
    d = dirname(d);
  }
  return undefined;
}

/** Lists ports from sysfs; throws when `<root>/class/tty` does not exist. */
export function listFromSysfs(sysfsRoot = '/sys', devRoot = '/dev'): SerialPortInfo[] {
  const classDir = join(sysfsRoot, 'class', 'tty');
  const names = readdirSync(classDir).sort();
  const root = realpathSync(sysfsRoot);
  const out: SerialPortInfo[] = [];
  for (const name of names) {
    const link = join(classDir, name, 'device');
    let device: string;
    try {
      device = realpathSync(link);
    } catch {
      continue; // a virtual tty (console, vt, pty master): no device behind it
    }
    // A built-in UART slot with no chip behind it reports type 0 (PORT_UNKNOWN); skip those.
    const type = read(join(classDir, name, 'type'));
    if (type === '0') continue;
    let driver: string | undefined;
    try {
      driver = basename(realpathSync(join(device, 'driver')));
    } catch {
      driver = undefined;
    }
    const latency = readLatencyTimer(name, sysfsRoot);
    const info: SerialPortInfo = { path: join(devRoot, name), source: 'sysfs', ...(driver ? { driver } : {}), ...(latency !== undefined ? { latencyTimerMs: latency } : {}) };
    const usbDir = usbDeviceDir(device, root);
    if (usbDir) {
      const usb: UsbIdentity = {
        vendorId: (read(join(usbDir, 'idVendor')) ?? '').toLowerCase(),
        productId: (read(join(usbDir, 'idProduct')) ?? '').toLowerCase(),
      };
      const serial = read(join(usbDir, 'serial'));
      const manufacturer = read(join(usbDir, 'manufacturer'));
      const product = read(join(usbDir, 'product'));
      if (serial) usb.serialNumber = serial;
      if (manufacturer) usb.manufacturer = manufacturer;
      if (product) usb.product = product;
      info.usb = usb;
    }
    out.push(info);
  }
  return out;
}

/** serialport's list(), converted; rejects as serialport does (e.g. spawn udevadm ENOENT). */
async function listFromSerialport(): Promise<SerialPortInfo[]> {
  const { SerialPort } = await import('serialport');
  const ports = await SerialPort.list();
  return ports.map((p) => {
    const info: SerialPortInfo = { path: p.path, source: 'serialport' };
    if (p.vendorId && p.productId) {
      info.usb = { vendorId: p.vendorId.toLowerCase(), productId: p.productId.toLowerCase() };
      if (p.serialNumber) info.usb.serialNumber = p.serialNumber;
      if (p.manufacturer) info.usb.manufacturer = p.manufacturer;
    }
    return info;
  });
}

/**
 * Lists the attached serial ports: from sysfs when there is one, else from serialport's list().
 * Never rejects for a missing source: the listing says which source was used and why another
 * could not be; it rejects only when neither works.
 */
export async function listSerialPorts(options: ListOptions = {}): Promise<PortListing> {
  const sysfsRoot = options.sysfsRoot ?? '/sys';
  const notes: string[] = [];
  try {
    return { ports: listFromSysfs(sysfsRoot, options.devRoot ?? '/dev'), method: `sysfs (${join(sysfsRoot, 'class', 'tty')})`, notes };
  } catch (e) {
    notes.push(`sysfs: ${(e as Error).message}`);
  }
  const fallback = options.fallback === undefined ? listFromSerialport : options.fallback;
  if (fallback) {
    try {
      return { ports: await fallback(), method: "serialport's list()", notes };
    } catch (e) {
      notes.push(`serialport's list(): ${(e as Error).message}`);
    }
  }
  throw new Error(`cannot list serial ports: ${notes.join('; ')}`);
}

/** `0483:374b` or `0483:374b serial 066DFF...`. */
export function formatUsbId(usb: { vendorId: string; productId: string; serialNumber?: string }): string {
  return `${usb.vendorId}:${usb.productId}${usb.serialNumber ? ` serial ${usb.serialNumber}` : ''}`;
}

/** True when `port` is the USB device `want` (ids compared case-insensitively; the serial only when wanted). */
export function matchesUsb(port: SerialPortInfo, want: { vendorId: string; productId: string; serialNumber?: string }): boolean {
  const u = port.usb;
  if (!u) return false;
  return (
    u.vendorId === want.vendorId.toLowerCase() &&
    u.productId === want.productId.toLowerCase() &&
    (want.serialNumber === undefined || u.serialNumber === want.serialNumber)
  );
}

/**
 * The path of the one attached port on the USB device `want`. Throws a sentence naming the ids
 * and what is attached when none matches, or several do and no serial number tells them apart.
 */
export async function resolveUsbPort(
  want: { vendorId: string; productId: string; serialNumber?: string },
  options: ListOptions = {},
): Promise<string> {
  const listing = await listSerialPorts(options);
  const hits = listing.ports.filter((p) => matchesUsb(p, want));
  if (hits.length === 1) return hits[0]!.path;
  const attached = listing.ports.filter((p) => p.usb).map((p) => `${p.path} (${formatUsbId(p.usb!)})`);
  const seen = attached.length ? `attached: ${attached.join(', ')}` : 'no USB serial device is attached';
  if (hits.length === 0) throw new Error(`no serial port on USB device ${formatUsbId(want)}; ${seen} — is it plugged in? \`hil list\` shows ports`);
  throw new Error(`${hits.length} serial ports on USB device ${formatUsbId(want)} (${hits.map((p) => p.path).join(', ')}); give the serial number to choose one`);
}
