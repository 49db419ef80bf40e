/**
 * `hil list`: the serial ports attached to this machine, the USB identity behind each, and the
 * board descriptor that claims each port (by its path, or by its USB ids). When there is no USB
 * serial device it says so and why, since pseudo-terminals (the sim's, QEMU's, twin-pty's) are
 * never listed: they are reached by target spec, not found.
 */
import { realpathSync } from 'node:fs';
import { BOARDS_DIR, displayPath, loadAllBoards, type Board, type DescriptorError } from '../boards/descriptor.js';
import { formatUsbId, listSerialPorts, matchesUsb, type ListOptions, type PortListing, type SerialPortInfo } from '../transport/serial-list.js';
import { latencyAdvice } from '../transport/adapter-latency.js';

export interface PortMatch {
  board: string;
  by: 'path' | 'USB id';
}

export interface PortRow {
  port: SerialPortInfo;
  matches: PortMatch[];
}

export interface PortReport {
  method: string;
  /** The sysfs root the ports were read from (for the latency timer's path in advice). */
  sysfsRoot: string;
  notes: string[];
  rows: PortRow[];
  /** Serial boards whose port is not attached. */
  absent: Board[];
  /** Descriptors that could not be loaded. */
  descriptorErrors: DescriptorError[];
}

function samePath(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Which serial boards claim `port`. */
export function matchBoards(port: SerialPortInfo, boards: Board[]): PortMatch[] {
  const out: PortMatch[] = [];
  for (const b of boards) {
    if (b.kind !== 'serial' || !b.port) continue;
    if (b.port.path && samePath(b.port.path, port.path)) out.push({ board: b.name, by: 'path' });
    else if (b.port.usb && matchesUsb(port, b.port.usb)) out.push({ board: b.name, by: 'USB id' });
  }
  return out;
}

/** Lists the ports and matches them with the descriptors in `boardsDir`. */
export async function listPorts(options: ListOptions & { /** Board folders, searched in order (default the package's boards/). */ boardsDir?: string | string[] } = {}): Promise<PortReport> {
  const listing: PortListing = await listSerialPorts(options);
  const { boards, errors } = loadAllBoards(options.boardsDir ?? BOARDS_DIR);
  const rows = listing.ports.map((port) => ({ port, matches: matchBoards(port, boards) }));
  const claimed = new Set(rows.flatMap((r) => r.matches.map((m) => m.board)));
  const absent = boards.filter((b) => b.kind === 'serial' && !claimed.has(b.name));
  return { method: listing.method, sysfsRoot: options.sysfsRoot ?? '/sys', notes: listing.notes, rows, absent, descriptorErrors: errors };
}

function boardPort(b: Board): string {
  return b.port?.path ?? `USB ${formatUsbId(b.port!.usb!)}`;
}

/** The report as text: a table of ports, then what is missing and why. */
export function formatPortReport(r: PortReport): string {
  const lines: string[] = [];
  const usbRows = r.rows.filter((x) => x.port.usb);
  const otherRows = r.rows.filter((x) => !x.port.usb);
  lines.push(`serial ports, from ${r.method}:`);
  if (r.rows.length) {
    const w = Math.max(...r.rows.map((x) => x.port.path.length));
    for (const { port, matches } of [...usbRows, ...otherRows]) {
      const u = port.usb;
      const what = u
        ? `${u.vendorId}:${u.productId}  ${u.serialNumber ? `serial ${u.serialNumber}` : 'no serial number'}${u.manufacturer || u.product ? `  ${[u.manufacturer, u.product].filter(Boolean).join(' ')}` : ''}`
        : 'not USB (a built-in UART)';
      const drv = port.driver ? `  [${port.driver}]` : '';
      const who = matches.length ? `board ${matches.map((m) => `${m.board} (by ${m.by})`).join(', ')}` : 'no descriptor';
      const latency = port.latencyTimerMs !== undefined ? `  latency timer ${port.latencyTimerMs} ms` : '';
      lines.push(`  ${port.path.padEnd(w)}  ${what}${drv}  →  ${who}${latency}`);
    }
  }
  if (usbRows.length === 0) {
    lines.push(
      `  no USB serial device is attached${otherRows.length ? ' (only built-in UARTs)' : ''}: plug in the USB-UART adapter or the board's ST-LINK/V2-1 (0483:374b); ` +
        'pseudo-terminals (sim, qemu, twin-pty) are never listed: reach them with --target',
    );
  }
  for (const { port } of r.rows) {
    if (port.latencyTimerMs !== undefined) lines.push(...latencyAdvice(port.path.split('/').pop()!, port.latencyTimerMs, r.sysfsRoot).map((l) => `  ${l}`));
  }
  for (const b of r.absent) lines.push(`  board ${b.name} (${displayPath(b.file)}): its port ${boardPort(b)} is not attached`);
  for (const n of r.notes) lines.push(`  note: ${n}`);
  for (const e of r.descriptorErrors) lines.push(`  bad descriptor: ${e.message.split('\n').join('\n    ')}`);
  return lines.join('\n');
}
