/**
 * Board descriptors: the files in boards/ against the schema, the error messages of bad ones
 * (file, JSON pointer, fix), name/path resolution, and the mapping to target specs.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BOARDS_DIR, SCHEMA_FILE, DescriptorError, boardNames, loadAllBoards, loadBoard, validateDescriptor } from './descriptor.js';
import { BAUD_RANGE, firmwareConfig, parseTargetSpec, type TargetDescriptor } from '../targets/descriptor.js';

/** What decides where a descriptor leads: the same for a board and the spec that names the same target. */
const reach = (d: TargetDescriptor) => ({ kind: d.kind, config: firmwareConfig(d), port: d.port, baud: d.baud, url: d.url });

const FILE = join(BOARDS_DIR, 'x.json');

function problems(data: unknown, file = FILE): string[] {
  try {
    validateDescriptor(data, file);
  } catch (e) {
    expect(e).to.be.instanceOf(DescriptorError);
    return (e as DescriptorError).message.split('\n');
  }
  throw new Error('the descriptor was accepted');
}

describe('board descriptors', () => {
  it('every file in boards/ is valid and reaches the target its spec names', () => {
    const { boards, errors } = loadAllBoards();
    expect(errors.map((e) => e.message)).to.deep.equal([]);
    const specs: Record<string, string> = {
      twin: 'twin',
      'twin-pty': 'twin-pty',
      sim: 'sim',
      'sim-small': 'sim:small',
      'qemu-stm32f4': 'qemu',
      'qemu-stm32f4-small': 'qemu:small',
      'stm32f407-discovery': 'usb:0403:6001@115200',
      'remote-example': 'rfc2217://bench-pi.local:3002@115200',
    };
    for (const b of boards) expect(reach(b), b.name).to.deep.equal(reach(parseTargetSpec(specs[b.name]!)));
    expect(boards.map((b) => b.name).sort()).to.deep.equal(Object.keys(specs).sort());
    expect(boardNames()).to.have.length(8);
  });

  it('parses a spec into a descriptor: a serial port by path, with a baud, and a USB id with a serial number', () => {
    expect(parseTargetSpec('serial:/dev/ttyACM0')).to.deep.equal({ name: 'serial:/dev/ttyACM0', kind: 'serial', port: { path: '/dev/ttyACM0' } });
    expect(parseTargetSpec('serial:/dev/ttyACM0@9600')).to.deep.include({ kind: 'serial', port: { path: '/dev/ttyACM0' }, baud: 9600 });
    expect(parseTargetSpec('usb:0483:374B:066D')).to.deep.include({ kind: 'serial', port: { usb: { vendorId: '0483', productId: '374b', serialNumber: '066D' } } });
    expect(() => parseTargetSpec('bogus')).to.throw(/unknown target "bogus"/);
  });

  it('a spec takes the baud rates a descriptor takes (BAUD_RANGE is boards/schema.json\'s /baud)', () => {
    const baud = (JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as { properties: { baud: { minimum: number; maximum: number } } }).properties.baud;
    expect({ min: baud.minimum, max: baud.maximum }).to.deep.equal(BAUD_RANGE);
    expect(() => parseTargetSpec(`serial:/dev/ttyUSB0@${BAUD_RANGE.max + 1}`)).to.throw('bad target "serial:/dev/ttyUSB0@4000001": the baud rate must be an integer from 300 to 4000000 (got "4000001"), e.g. serial:/dev/ttyUSB0@115200');
    expect(parseTargetSpec(`serial:/dev/ttyUSB0@${BAUD_RANGE.min}`).baud).to.equal(300);
  });

  it('a misspelt kind is one line: the field it stands for, nothing about a kind the file does not have', () => {
    expect(problems({ name: 'x', kynd: 'serial', port: { path: '/dev/ttyUSB0' } })).to.deep.equal(['boards/x.json: /kynd is not a descriptor field: did you mean /kind? rename it']);
    expect(problems({ name: 'x', kind: 'seriall', port: { path: '/dev/ttyUSB0' } })).to.deep.equal(['boards/x.json: /kind must be one of twin, twin-pty, sim, qemu, serial, tcp, rfc2217 (got "seriall"); fix the value or add a target kind (host/src/targets/link.ts)']);
  });

  it('names the file, the field and the fix: a flash tool without a strategy', () => {
    const d = { name: 'x', kind: 'serial', port: { path: '/dev/ttyUSB0' }, flash: { tool: 'jlink', args: ['{image}'] } };
    expect(problems(d)).to.deep.equal(['boards/x.json: /flash/tool must be one of openocd, st-flash (got "jlink"); fix the value or add a strategy (host/src/boards/strategy.ts)']);
  });

  it('reports every problem, one a line', () => {
    const p = problems({ name: 'x', kind: 'twin', port: { path: '/dev/x' }, baud: 9600, colour: 'red' });
    expect(p).to.have.members([
      'boards/x.json: /colour is not a descriptor field; remove it or fix its spelling (fields here: name, description, notes, kind, firmware, port, baud, dataBits, parity, stopBits, latencyTimerMs, url, flash, reset, bannerTimeoutMs, requestTimeoutMs, link)',
      'boards/x.json: /port is not used by kind "twin"; remove it, or change /kind',
      'boards/x.json: /baud is not used by kind "twin"; remove it, or change /kind',
    ]);
  });

  it('says what a kind needs and gives an example', () => {
    expect(problems({ name: 'x', kind: 'serial' })[0]).to.match(/^boards\/x\.json: \/port is missing \(kind serial needs it\); add e\.g\. "port": \{"path": "\/dev\/ttyUSB0"\}/);
    expect(problems({ name: 'x', kind: 'tcp' })[0]).to.equal('boards/x.json: /url is missing (kind tcp needs it); add e.g. "url": "tcp://bench-pi.local:3001"');
    expect(problems({ name: 'x', kind: 'tcp', url: 'tcp://host' })[0]).to.equal('boards/x.json: /url does not have the expected form (got "tcp://host"); write it as tcp://HOST:PORT (kind tcp) or rfc2217://HOST:PORT (kind rfc2217), e.g. tcp://bench-pi.local:3001');
    expect(problems({ name: 'x', kind: 'jtag' })[0]).to.equal('boards/x.json: /kind must be one of twin, twin-pty, sim, qemu, serial, tcp, rfc2217 (got "jtag"); fix the value or add a target kind (host/src/targets/link.ts)');
  });

  it('checks the port, the USB ids and the reset step', () => {
    const usb = { vendorId: '0403', productId: '6001' };
    expect(problems({ name: 'x', kind: 'serial', port: { path: '/dev/x', usb } })).to.deep.equal(['boards/x.json: /port must give exactly one of path, usb (got path, usb); keep one']);
    expect(problems({ name: 'x', kind: 'serial', port: { usb: { ...usb, vendorId: '403' } } })).to.deep.equal([
      'boards/x.json: /port/usb/vendorId does not have the expected form (got "403"); write 4 hex digits as `hil list` shows them, e.g. 0483',
    ]);
    expect(problems({ name: 'x', kind: 'serial', port: { usb }, reset: { tool: 'openocd' } })).to.deep.equal([
      'boards/x.json: /reset/args is missing; add the tool\'s arguments, or use "tool": "none"',
    ]);
    expect(problems({ name: 'x', kind: 'serial', port: { usb }, baud: 12 })).to.deep.equal(['boards/x.json: /baud must be ≥ 300 (got 12); fix the value']);
  });

  it('checks what a schema cannot: the name, {image}, st-flash images, the image config', () => {
    const port = { path: '/dev/ttyUSB0' };
    expect(problems({ name: 'y', kind: 'twin' })).to.deep.equal(['boards/x.json: /name must be "x", the file\'s name (got "y"); rename the file or fix the name']);
    expect(problems({ name: 'x', kind: 'serial', port, flash: { tool: 'openocd', args: ['-c', 'program fw.elf'] } })[0]).to.match(/\/flash\/args must contain \{image\}/);
    expect(problems({ name: 'x', kind: 'serial', port, flash: { tool: 'st-flash', args: ['write', '{image}', '0x8000000'], image: 'fw.elf' } })[0]).to.match(
      /\/flash\/image must be a raw binary \(\.bin\) for st-flash \(got "fw\.elf"\)/,
    );
    expect(
      problems({ name: 'x', kind: 'serial', port, firmware: { config: 'default' }, flash: { tool: 'openocd', args: ['{image}'], image: 'firmware/build/small/arm/cvm-fw.elf' } })[0],
    ).to.equal('boards/x.json: /flash/image is a CONFIG=small build but /firmware/config is "default"; make them agree');
  });

  it('checks the link with the link emulator\'s own parser: one line naming the key and the forms', () => {
    expect(validateDescriptor({ name: 'x', kind: 'sim', link: 'ber=1e-3,seed=7,baud=115200' }, FILE).link).to.equal('ber=1e-3,seed=7,baud=115200');
    const p = problems({ name: 'x', kind: 'sim', link: 'ber=1e-3,sed=7' });
    expect(p).to.have.length(1);
    expect(p[0]).to.match(/^boards\/x\.json: \/link "ber=1e-3,sed=7": unknown key "sed" \(keys: ber, .*\); the form is KEY=VALUE/);
  });

  describe('loadBoard', () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'hil-boards-'));
      writeFileSync(join(dir, 'mine.json'), JSON.stringify({ name: 'mine', kind: 'sim', firmware: { config: 'small' } }));
      writeFileSync(join(dir, 'broken.json'), '{ "name": "broken", ');
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('resolves a name in boards/', () => {
      const b = loadBoard('sim-small');
      expect(b.file).to.equal(join(BOARDS_DIR, 'sim-small.json'));
      expect(reach(b)).to.deep.equal(reach(parseTargetSpec('sim:small')));
    });

    it('resolves a path', () => {
      const b = loadBoard(join(dir, 'mine.json'));
      expect(b.name).to.equal('mine');
      expect(b.file).to.equal(join(dir, 'mine.json'));
    });

    it('names the known boards for an unknown name', () => {
      expect(() => loadBoard('nope')).to.throw(DescriptorError, /no board named "nope" in boards; boards are: qemu-stm32f4, qemu-stm32f4-small, remote-example, sim, sim-small, stm32f407-discovery, twin, twin-pty/);
    });

    it('reports a file that is not JSON, or not there', () => {
      expect(() => loadBoard(join(dir, 'broken.json'))).to.throw(DescriptorError, /broken\.json: is not valid JSON \(.*\); fix the syntax/);
      expect(() => loadBoard(join(dir, 'gone.json'))).to.throw(DescriptorError, /gone\.json: cannot be read \(ENOENT\); check the path/);
    });

    it('loadAllBoards keeps going past a bad file', () => {
      const { boards, errors } = loadAllBoards(dir);
      expect(boards.map((b) => b.name)).to.deep.equal(['mine']);
      expect(errors).to.have.length(1);
      expect(errors[0]!.file).to.equal(join(dir, 'broken.json'));
    });
  });
});
