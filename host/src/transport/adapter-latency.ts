/**
 * A USB-UART adapter's latency timer (FTDI chips, Linux ftdi_sio: sysfs
 * /sys/bus/usb-serial/devices/<tty>/latency_timer, in ms, 1..255, 16 by default). The adapter
 * holds device → host bytes until a 62-byte USB packet is full or the timer expires, so every
 * answer shorter than a packet waits up to that long: one round trip after another, a 16 ms timer
 * costs up to 16 ms each (the link emulator models it: `--link baud=115200,latency=16`).
 * Read here for `hil list` and `hil diag`, and written when a descriptor asks (`latencyTimerMs`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where usb-serial ttys are listed in sysfs, under the sysfs root. */
export const USB_SERIAL_DEVICES = join('bus', 'usb-serial', 'devices');

/** The latency timer every Linux FTDI adapter starts with, in ms. */
export const FTDI_DEFAULT_LATENCY_MS = 16;

/** The latency_timer file of `tty` (a name such as ttyUSB0, not a path). */
export function latencyTimerPath(tty: string, sysfsRoot = '/sys'): string {
  return join(sysfsRoot, USB_SERIAL_DEVICES, tty, 'latency_timer');
}

/** The adapter's latency timer in ms; undefined when the tty has none (not a usb-serial adapter with one: CDC-ACM, CP210x, a pty). */
export function readLatencyTimer(tty: string, sysfsRoot = '/sys'): number | undefined {
  try {
    const n = Number(readFileSync(latencyTimerPath(tty, sysfsRoot), 'utf8').trim());
    return Number.isInteger(n) && n >= 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

/** A udev rule that sets every FTDI adapter's latency timer to `ms` when it is plugged in. */
export function latencyUdevRule(ms = 1): string {
  return `ACTION=="add", SUBSYSTEM=="usb-serial", DRIVER=="ftdi_sio", ATTR{latency_timer}="${ms}"`;
}

/**
 * What a latency timer of `ms` costs and how to set it to 1 ms; no lines when it is 1 already.
 * One line each: the cost, the fix for now, the fix for good (udev), the descriptor option.
 */
export function latencyAdvice(tty: string, ms: number, sysfsRoot = '/sys'): string[] {
  if (ms <= 1) return [];
  return [
    `${tty}: latency timer ${ms} ms: an answer shorter than a 62-byte USB packet waits up to ${ms} ms in the adapter, so each sequential round trip costs up to ${ms} ms more (1,000 of them: up to ${ms} s; ${ms}× the wait at 1 ms); \`hil bench\` times the HIL suite through an emulated adapter at 1 and 16 ms`,
    `  set it to 1 ms now: echo 1 | sudo tee ${latencyTimerPath(tty, sysfsRoot)}`,
    `  for good: put  ${latencyUdevRule(1)}  in /etc/udev/rules.d/99-ftdi-latency.rules, then sudo udevadm control --reload && sudo udevadm trigger`,
    `  or give the board's descriptor "latencyTimerMs": 1 (hil sets it when the port opens, if it may write the file)`,
  ];
}

export type SetLatencyResult =
  | { ok: true; before: number | undefined; ms: number }
  | { ok: false; before: number | undefined; ms: number; reason: string; message: string };

/**
 * Writes the adapter's latency timer (1..255 ms). Never throws: when the file is missing (not an
 * adapter with one) or may not be written (permission), the result says so in one line naming the
 * file and what to do. `writeFile` is injectable for tests (as root every write is permitted).
 */
export function setLatencyTimer(tty: string, ms: number, options: { sysfsRoot?: string; writeFile?: (file: string, text: string) => void } = {}): SetLatencyResult {
  const file = latencyTimerPath(tty, options.sysfsRoot);
  const before = readLatencyTimer(tty, options.sysfsRoot);
  if (!Number.isInteger(ms) || ms < 1 || ms > 255) throw new RangeError(`latency timer must be an integer 1..255 ms (got ${ms})`);
  if (before === undefined) {
    return { ok: false, before, ms, reason: 'absent', message: `${tty} has no latency timer (${file} does not exist: not an FTDI-style usb-serial adapter); nothing to set` };
  }
  if (before === ms) return { ok: true, before, ms };
  try {
    (options.writeFile ?? ((f, t) => writeFileSync(f, t)))(file, `${ms}\n`);
    return { ok: true, before, ms };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (e as Error).message;
    return {
      ok: false,
      before,
      ms,
      reason: why,
      message: `could not set ${file} to ${ms} ms (${why}): the adapter stays at ${before} ms; set it with: echo ${ms} | sudo tee ${file}, or for good with the udev rule ${latencyUdevRule(ms)}`,
    };
  }
}
