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
      '  /dev/ttyUSB0  0403:6001  serial A50285BI  FTDI FT232R USB UART  [ftdi_sio]  →  board adapter (by path)',
      '  /dev/ttyS0    not USB (a built-in UART)  [serial]  →  no descriptor',
    ]);
    expect(text).to.match(/board elsewhere \(.*elsewhere\.json\): its port USB 10c4:ea60 is not attached/);
    expect(text).to.match(/bad descriptor: .*broken\.json: \/port is missing/);
  });

  it('says why there is nothing to show: no USB serial device, and ptys are never listed', async () => {
    sysfs = makeFakeSysfs([], { bare: true });
    const text = formatPortReport(await listPorts({ sysfsRoot: sysfs.root, fallback: null, boardsDir: boards }));
    expect(text).to.contain('no USB serial device is attached: plug in the USB-UART adapter');
    expect(text).to.contain('pseudo-terminals (sim, qemu, twin-pty) are never listed');
  });
});
