/**
 * `hil list`'s logic against a fake sysfs tree and a temporary boards folder.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FTDI, STLINK_V21, makeFakeSysfs, type FakeSysfs } from '../transport/testing/fake-sysfs.js';
import { formatPortReport, listPorts } from './list.js';

describe('hil list (logic)', () => {
  let boards = '';
  let sysfs: FakeSysfs | undefined;

  beforeEach(() => {
    boards = mkdtempSync(join(tmpdir(), 'hil-list-boards-'));
    const put = (name: string, d: Record<string, unknown>) => writeFileSync(join(boards, `${name}.json`), JSON.stringify({ name, ...d }));
    put('disco', { kind: 'serial', port: { usb: { vendorId: '0483', productId: '374b' } } });
    put('adapter', { kind: 'serial', port: { path: '/dev/ttyUSB0' } });
    put('elsewhere', { kind: 'serial', port: { usb: { vendorId: '10c4', productId: 'ea60' } } });
    put('sim', { kind: 'sim' });
    writeFileSync(join(boards, 'broken.json'), JSON.stringify({ name: 'broken', kind: 'serial' }));
  });
  afterEach(() => {
    sysfs?.remove();
    sysfs = undefined;
    rmSync(boards, { recursive: true, force: true });
  });

  it('lists ports with USB ids and serial numbers, and the descriptor that claims each', async () => {
    sysfs = makeFakeSysfs([FTDI, STLINK_V21]);
    const r = await listPorts({ sysfsRoot: sysfs.root, fallback: null, boardsDir: boards });
    expect(r.rows.map((x) => [x.port.path, x.matches])).to.deep.equal([
      ['/dev/ttyACM0', [{ board: 'disco', by: 'USB id' }]],
      ['/dev/ttyS0', []],
      ['/dev/ttyUSB0', [{ board: 'adapter', by: 'path' }]],
    ]);
    expect(r.absent.map((b) => b.name)).to.deep.equal(['elsewhere']);
    const text = formatPortReport(r);
    expect(text.split('\n').slice(0, 4)).to.deep.equal([
      `serial ports, from sysfs (${sysfs.root}/class/tty):`,
      '  /dev/ttyACM0  0483:374b  serial 066DFF555185754867152640  STMicroelectronics STM32 STLink  [cdc_acm]  →  board disco (by USB id)',
      '  /dev/ttyUSB0  0403:6001  serial A50285BI  FTDI FT232R USB UART  [ftdi_sio]  →  board adapter (by path)  latency timer 16 ms',
      '  /dev/ttyS0    not USB (a built-in UART)  [serial]  →  no descriptor',
    ]);
    expect(text).to.match(/board elsewhere \(.*elsewhere\.json\): its port USB 10c4:ea60 is not attached/);
    expect(text).to.match(/bad descriptor: .*broken\.json: \/port is missing/);
  });

  it("reads an FTDI adapter's latency timer, says what 16 ms costs and how to set it to 1 ms; says nothing at 1 ms", async () => {
    sysfs = makeFakeSysfs([FTDI, { ...FTDI, name: 'ttyUSB1', serialNumber: 'B777', latencyTimer: 1 }, STLINK_V21]);
    const r = await listPorts({ sysfsRoot: sysfs.root, fallback: null, boardsDir: boards });
    expect(r.rows.map((x) => [x.port.path, x.port.latencyTimerMs])).to.deep.equal([
      ['/dev/ttyACM0', undefined], // CDC-ACM: no latency timer
      ['/dev/ttyS0', undefined],
      ['/dev/ttyUSB0', 16],
      ['/dev/ttyUSB1', 1],
    ]);
    const text = formatPortReport(r);
    expect(text).to.match(/^ {2}\/dev\/ttyUSB1 .*→  no descriptor  latency timer 1 ms$/m);
    const advice = text.split('\n').filter((l) => /ttyUSB|udev|latencyTimerMs/.test(l) && !l.startsWith('  /dev/') && !l.includes('bad descriptor'));
    expect(advice).to.deep.equal([
      '  ttyUSB0: latency timer 16 ms: an answer shorter than a 62-byte USB packet waits up to 16 ms in the adapter, so each sequential round trip costs up to 16 ms more (1,000 of them: up to 16 s; 16× the wait at 1 ms); `hil bench` times the HIL suite through an emulated adapter at 1 and 16 ms',
      `    set it to 1 ms now: echo 1 | sudo tee ${sysfs.root}/bus/usb-serial/devices/ttyUSB0/latency_timer`,
      '    for good: put  ACTION=="add", SUBSYSTEM=="usb-serial", DRIVER=="ftdi_sio", ATTR{latency_timer}="1"  in /etc/udev/rules.d/99-ftdi-latency.rules, then sudo udevadm control --reload && sudo udevadm trigger',
      '    or give the board\'s descriptor "latencyTimerMs": 1 (hil sets it when the port opens, if it may write the file)',
    ]);
  });

  it('says why there is nothing to show: no USB serial device, and ptys are never listed', async () => {
    sysfs = makeFakeSysfs([], { bare: true });
    const text = formatPortReport(await listPorts({ sysfsRoot: sysfs.root, fallback: null, boardsDir: boards }));
    expect(text).to.contain('no USB serial device is attached: plug in the USB-UART adapter');
    expect(text).to.contain('pseudo-terminals (sim, qemu, twin-pty) are never listed');
  });
});
