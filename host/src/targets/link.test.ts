/**
 * openLink for a serial descriptor with `latencyTimerMs`: the adapter's timer is set before the
 * port is opened, or a note says why not (a fake sysfs tree; the port itself is never opened).
 */
import { expect } from 'chai';
import { FTDI, STLINK_V21, makeFakeSysfs, type FakeSysfs } from '../transport/testing/fake-sysfs.js';
import { readLatencyTimer } from '../transport/adapter-latency.js';
import { openLink } from './link.js';

describe('openLink: a serial descriptor with latencyTimerMs', () => {
  let sysfs: FakeSysfs | undefined;
  afterEach(() => {
    sysfs?.remove();
    sysfs = undefined;
  });

  it('sets the adapter found by path or by USB id, and notes an adapter without a timer', async () => {
    sysfs = makeFakeSysfs([FTDI, STLINK_V21]);
    const notes: string[] = [];
    const o = { sysfsRoot: sysfs.root, onNote: (l: string) => void notes.push(l) };
    await (await openLink({ name: 'bench', kind: 'serial', port: { path: '/dev/ttyUSB0' }, latencyTimerMs: 1 }, o)).close();
    expect(readLatencyTimer('ttyUSB0', sysfs.root)).to.equal(1);
    await (await openLink({ name: 'bench', kind: 'serial', port: { usb: { vendorId: '0403', productId: '6001' } }, latencyTimerMs: 2 }, o)).close();
    expect(readLatencyTimer('ttyUSB0', sysfs.root)).to.equal(2);
    expect(notes).to.deep.equal([]);
    await (await openLink({ name: 'disco', kind: 'serial', port: { usb: { vendorId: '0483', productId: '374b' } }, latencyTimerMs: 1 }, o)).close();
    expect(notes).to.have.length(1);
    expect(notes[0]).to.match(/^--target disco: \/latencyTimerMs: ttyACM0 has no latency timer .*; nothing to set$/);
  });
});
