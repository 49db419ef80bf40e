/**
 * A fake sysfs tree for tests of port listing: the parts of /sys/class/tty and /sys/devices that
 * listFromSysfs() reads, laid out as Linux lays them out (a usb-serial adapter's tty under its
 * interface, a CDC-ACM tty's device link pointing at the interface, a built-in UART, an empty
 * UART slot, virtual ttys with no device). Test support only.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeUsbTty {
  name: string;
  vendorId: string;
  productId: string;
  serialNumber?: string;
  manufacturer?: string;
  product?: string;
  driver: string;
  /** cdc_acm style (the device link is the interface) instead of usb-serial style (a child of it). */
  acm?: boolean;
  /** usb-serial style only: the adapter's latency_timer in ms (FTDI), listed under bus/usb-serial/devices/<name>. */
  latencyTimer?: number;
}

export interface FakeSysfs {
  root: string;
  remove(): void;
}

function files(dir: string, entries: Record<string, string | undefined>): void {
  mkdirSync(dir, { recursive: true });
  for (const [k, v] of Object.entries(entries)) if (v !== undefined) writeFileSync(join(dir, k), `${v}\n`);
}

/** Builds a tree with the given USB ttys, plus tty0, ptmx, ttyS0 (a real UART) and ttyS1 (an empty slot) unless `bare`. */
export function makeFakeSysfs(usb: FakeUsbTty[], options: { bare?: boolean; noClassTty?: boolean } = {}): FakeSysfs {
  const root = mkdtempSync(join(tmpdir(), 'hil-sysfs-'));
  const classTty = join(root, 'class', 'tty');
  if (!options.noClassTty) mkdirSync(classTty, { recursive: true });
  const drivers = join(root, 'bus', 'drivers');
  const tty = (name: string, device: string | undefined, type?: string) => {
    files(join(classTty, name), { dev: '188:0', type });
    if (device) symlinkSync(device, join(classTty, name, 'device'));
  };
  const driver = (dir: string, name: string) => {
    mkdirSync(join(drivers, name), { recursive: true });
    symlinkSync(join(drivers, name), join(dir, 'driver'));
  };
  usb.forEach((u, i) => {
    const dev = join(root, 'devices', 'pci0000:00', '0000:00:14.0', 'usb1', `1-${i + 1}`);
    files(dev, { idVendor: u.vendorId, idProduct: u.productId, serial: u.serialNumber, manufacturer: u.manufacturer, product: u.product });
    const iface = join(dev, `1-${i + 1}:1.0`);
    files(iface, { bInterfaceNumber: '00' });
    if (u.acm) {
      driver(iface, u.driver);
      tty(u.name, iface);
    } else {
      const port = join(iface, u.name);
      files(port, { port_number: '0', latency_timer: u.latencyTimer !== undefined ? String(u.latencyTimer) : undefined });
      driver(port, u.driver);
      tty(u.name, port);
      mkdirSync(join(root, 'bus', 'usb-serial', 'devices'), { recursive: true });
      symlinkSync(port, join(root, 'bus', 'usb-serial', 'devices', u.name));
    }
  });
  if (!options.bare && !options.noClassTty) {
    tty('tty0', undefined);
    tty('ptmx', undefined);
    const uart = join(root, 'devices', 'pnp0', '00:00');
    files(uart, { id: 'PNP0501' });
    driver(uart, 'serial');
    tty('ttyS0', uart, '4');
    const slot = join(root, 'devices', 'platform', 'serial8250');
    files(slot, {});
    tty('ttyS1', slot, '0');
  }
  return { root, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** An FTDI FT232R adapter, as most benches have, its latency timer at the Linux default (16 ms). */
export const FTDI: FakeUsbTty = { name: 'ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'A50285BI', manufacturer: 'FTDI', product: 'FT232R USB UART', driver: 'ftdi_sio', latencyTimer: 16 };
/** An ST-LINK/V2-1 virtual COM port (a Discovery board with the newer probe). */
export const STLINK_V21: FakeUsbTty = { name: 'ttyACM0', vendorId: '0483', productId: '374B', serialNumber: '066DFF555185754867152640', manufacturer: 'STMicroelectronics', product: 'STM32 STLink', driver: 'cdc_acm', acm: true };
