/**
 * Port listing from a fake sysfs tree (host/src/transport/testing/fake-sysfs.ts), the
 * serialport fall-back, and USB-id resolution.
 */
import { expect } from 'chai';
import { FTDI, STLINK_V21, makeFakeSysfs } from './testing/fake-sysfs.js';
import { listFromSysfs, listSerialPorts, matchesUsb, resolveUsbPort, type SerialPortInfo } from './serial-list.js';

describe('serial port listing', () => {
  it('reads USB ids, serial numbers and drivers from sysfs; skips virtual ttys and empty UART slots', () => {
    const fs = makeFakeSysfs([FTDI, STLINK_V21]);
    try {
      const ports = listFromSysfs(fs.root);
      expect(ports.map((p) => p.path)).to.deep.equal(['/dev/ttyACM0', '/dev/ttyS0', '/dev/ttyUSB0']);
      const acm = ports[0]!;
      expect(acm.usb).to.deep.include({ vendorId: '0483', productId: '374b', serialNumber: '066DFF555185754867152640', product: 'STM32 STLink' });
      expect(acm.driver).to.equal('cdc_acm');
      expect(ports[1]).to.deep.equal({ path: '/dev/ttyS0', source: 'sysfs', driver: 'serial' });
      expect(ports[2]!.usb).to.deep.equal({ vendorId: '0403', productId: '6001', serialNumber: 'A50285BI', manufacturer: 'FTDI', product: 'FT232R USB UART' });
      expect(ports[2]!.driver).to.equal('ftdi_sio');
    } finally {
      fs.remove();
    }
  });

  it('uses sysfs when it is there, and says so', async () => {
    const fs = makeFakeSysfs([FTDI]);
    try {
      const l = await listSerialPorts({ sysfsRoot: fs.root, fallback: () => Promise.reject(new Error('must not be called')) });
      expect(l.method).to.equal(`sysfs (${fs.root}/class/tty)`);
      expect(l.ports.map((p) => p.path)).to.deep.equal(['/dev/ttyS0', '/dev/ttyUSB0']);
    } finally {
      fs.remove();
    }
  });

  it("falls back to serialport's list() without sysfs, and names both failures when neither works", async () => {
    const fs = makeFakeSysfs([], { noClassTty: true });
    try {
      const fake: SerialPortInfo[] = [{ path: '/dev/cu.usbserial-1', source: 'serialport', usb: { vendorId: '0403', productId: '6001' } }];
      const l = await listSerialPorts({ sysfsRoot: fs.root, fallback: async () => fake });
      expect(l.method).to.equal("serialport's list()");
      expect(l.ports).to.deep.equal(fake);
      expect(l.notes[0]).to.match(/^sysfs: .*ENOENT/);
      const e = await listSerialPorts({ sysfsRoot: fs.root, fallback: () => Promise.reject(new Error('spawn udevadm ENOENT')) }).catch((err: Error) => err);
      expect((e as Error).message).to.match(/cannot list serial ports: sysfs: .*; serialport's list\(\): spawn udevadm ENOENT/);
    } finally {
      fs.remove();
    }
  });

  it('matches USB ids case-insensitively, the serial number only when given', () => {
    const p: SerialPortInfo = { path: '/dev/ttyACM0', source: 'sysfs', usb: { vendorId: '0483', productId: '374b', serialNumber: 'S1' } };
    expect(matchesUsb(p, { vendorId: '0483', productId: '374B' })).to.equal(true);
    expect(matchesUsb(p, { vendorId: '0483', productId: '374b', serialNumber: 'S1' })).to.equal(true);
    expect(matchesUsb(p, { vendorId: '0483', productId: '374b', serialNumber: 'S2' })).to.equal(false);
    expect(matchesUsb({ path: '/dev/ttyS0', source: 'sysfs' }, { vendorId: '0483', productId: '374b' })).to.equal(false);
  });

  it('resolves a USB id to its port, or says what is attached', async () => {
    const fs = makeFakeSysfs([FTDI, STLINK_V21, { ...FTDI, name: 'ttyUSB1', serialNumber: 'B777' }]);
    try {
      const o = { sysfsRoot: fs.root, fallback: null };
      expect(await resolveUsbPort({ vendorId: '0483', productId: '374b' }, o)).to.equal('/dev/ttyACM0');
      expect(await resolveUsbPort({ vendorId: '0403', productId: '6001', serialNumber: 'B777' }, o)).to.equal('/dev/ttyUSB1');
      const several = await resolveUsbPort({ vendorId: '0403', productId: '6001' }, o).catch((e: Error) => e.message);
      expect(several).to.equal('2 serial ports on USB device 0403:6001 (/dev/ttyUSB0, /dev/ttyUSB1); give the serial number to choose one');
      const none = await resolveUsbPort({ vendorId: '10c4', productId: 'ea60' }, o).catch((e: Error) => e.message);
      expect(none).to.match(/^no serial port on USB device 10c4:ea60; attached: \/dev\/ttyACM0 \(0483:374b serial 066DFF555185754867152640\), /);
    } finally {
      fs.remove();
    }
  });
});
