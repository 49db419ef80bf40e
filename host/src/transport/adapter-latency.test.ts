/**
 * The adapter's latency timer: read, written, and a clear line when it cannot be written, against
 * a fake sysfs tree (testing/fake-sysfs.ts). As root every write is permitted, so the refusal is
 * the injected writer's.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { FTDI, STLINK_V21, makeFakeSysfs, type FakeSysfs } from './testing/fake-sysfs.js';
import { latencyTimerPath, readLatencyTimer, setLatencyTimer } from './adapter-latency.js';

describe('adapter latency timer', () => {
  let sysfs: FakeSysfs | undefined;
  afterEach(() => {
    sysfs?.remove();
    sysfs = undefined;
  });

  it('reads it where Linux lists usb-serial ttys, and writes it', () => {
    sysfs = makeFakeSysfs([FTDI, STLINK_V21]);
    expect(latencyTimerPath('ttyUSB0', sysfs.root)).to.equal(`${sysfs.root}/bus/usb-serial/devices/ttyUSB0/latency_timer`);
    expect(readLatencyTimer('ttyUSB0', sysfs.root)).to.equal(16);
    expect(readLatencyTimer('ttyACM0', sysfs.root)).to.equal(undefined);
    expect(setLatencyTimer('ttyUSB0', 1, { sysfsRoot: sysfs.root })).to.deep.equal({ ok: true, before: 16, ms: 1 });
    expect(readFileSync(latencyTimerPath('ttyUSB0', sysfs.root), 'utf8')).to.equal('1\n');
    expect(readLatencyTimer('ttyUSB0', sysfs.root)).to.equal(1);
    expect(() => setLatencyTimer('ttyUSB0', 0, { sysfsRoot: sysfs!.root })).to.throw(RangeError, /1\.\.255/);
  });

  it('says in one line when it may not write it, and what to do; and when the adapter has none', () => {
    sysfs = makeFakeSysfs([FTDI, STLINK_V21]);
    const denied = () => {
      throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    };
    const r = setLatencyTimer('ttyUSB0', 1, { sysfsRoot: sysfs.root, writeFile: denied });
    expect(r.ok).to.equal(false);
    const file = `${sysfs.root}/bus/usb-serial/devices/ttyUSB0/latency_timer`;
    expect(!r.ok && r.message).to.equal(`could not set ${file} to 1 ms (permission denied): the adapter stays at 16 ms; set it with: echo 1 | sudo tee ${file}, or for good with the udev rule ACTION=="add", SUBSYSTEM=="usb-serial", DRIVER=="ftdi_sio", ATTR{latency_timer}="1"`);
    expect(readLatencyTimer('ttyUSB0', sysfs.root)).to.equal(16);
    const none = setLatencyTimer('ttyACM0', 1, { sysfsRoot: sysfs.root });
    expect(!none.ok && none.message).to.match(/^ttyACM0 has no latency timer \(.*ttyACM0\/latency_timer does not exist: not an FTDI-style usb-serial adapter\); nothing to set$/);
  });
});
