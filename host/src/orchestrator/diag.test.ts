/**
 * `hil diag`'s adapter line: the latency timer of the FTDI adapter under the target's port, read
 * from a fake sysfs tree (transport/testing/fake-sysfs.ts), through the link emulator too.
 */
import { expect } from 'chai';
import { FTDI, STLINK_V21, makeFakeSysfs, type FakeSysfs } from '../transport/testing/fake-sysfs.js';
import { LinkEmulator, parseLinkSpec } from '../transport/emulator.js';
import { SerialTransport } from '../transport/serial.js';
import { TwinTransport } from '../twin/transport.js';
import { adapterLatencyOf, formatAdapterLatency } from './diag.js';

describe('hil diag: adapter latency', () => {
  let sysfs: FakeSysfs | undefined;
  afterEach(() => {
    sysfs?.remove();
    sysfs = undefined;
  });

  it("reads the latency timer of the port's adapter, says what it costs and how to set it to 1 ms", () => {
    sysfs = makeFakeSysfs([FTDI, STLINK_V21, { ...FTDI, name: 'ttyUSB1', latencyTimer: 1 }]);
    const port = new SerialTransport({ path: '/dev/ttyUSB0' }); // never opened
    const a = adapterLatencyOf(port, sysfs.root)!;
    expect(a.tty).to.equal('ttyUSB0');
    expect(a.ms).to.equal(16);
    const lines = formatAdapterLatency(a);
    expect(lines[0]).to.equal('adapter         ttyUSB0: latency timer 16 ms: an answer shorter than a 62-byte USB packet waits up to 16 ms in the adapter, so each sequential round trip costs up to 16 ms more (1,000 of them: up to 16 s; 16× the wait at 1 ms); `hil bench` times the HIL suite through an emulated adapter at 1 and 16 ms');
    expect(lines.slice(1)).to.deep.equal([
      `                set it to 1 ms now: echo 1 | sudo tee ${sysfs.root}/bus/usb-serial/devices/ttyUSB0/latency_timer`,
      '                for good: put  ACTION=="add", SUBSYSTEM=="usb-serial", DRIVER=="ftdi_sio", ATTR{latency_timer}="1"  in /etc/udev/rules.d/99-ftdi-latency.rules, then sudo udevadm control --reload && sudo udevadm trigger',
      '                or give the board\'s descriptor "latencyTimerMs": 1 (hil sets it when the port opens, if it may write the file)',
    ]);
    // Through the link emulator, the port under it is read.
    expect(adapterLatencyOf(new LinkEmulator(port, parseLinkSpec('ber=0')!), sysfs.root)?.ms).to.equal(16);
    expect(formatAdapterLatency(adapterLatencyOf(new SerialTransport({ path: '/dev/ttyUSB1' }), sysfs.root)!)).to.deep.equal(['adapter         ttyUSB1: latency timer 1 ms (the lowest it goes)']);
  });

  it('has nothing to say for a port without a latency timer (CDC-ACM), a pty or the twin', () => {
    sysfs = makeFakeSysfs([FTDI, STLINK_V21]);
    expect(adapterLatencyOf(new SerialTransport({ path: '/dev/ttyACM0' }), sysfs.root)).to.equal(undefined);
    expect(adapterLatencyOf(new SerialTransport({ path: '/dev/pts/7' }), sysfs.root)).to.equal(undefined);
    expect(adapterLatencyOf(new TwinTransport(), sysfs.root)).to.equal(undefined);
  });
});
