import assert from 'node:assert/strict';
import { encodeCbor } from '../codec/cbor.js';
import { encodeFrame } from '../framing/frame.js';
import { Op } from '../protocol/constants.js';
import { attachDevice } from './attach.js';
import { TwinDevice } from './device.js';

const frame = (v: unknown): Buffer => encodeFrame(encodeCbor(v));

describe('twin attachDevice', () => {
  it('sends the answers to one received chunk as one write, other output at once, in order', () => {
    const dev = new TwinDevice({ clock: () => 0 });
    const writes: string[] = [];
    let disconnects = 0;
    const a = attachDevice(dev, (b) => writes.push(b.toString('latin1')), () => disconnects++);
    dev.log('before');
    a.feed(Buffer.concat([frame([0, Op.hello]), frame([1, Op.acquire, 0]), frame([2, Op.acquire, 0])]));
    a.feed(Buffer.from('noise\n'));
    dev.disconnect();
    assert.equal(writes.length, 2);
    assert.equal(writes[0], 'before\n');
    const lines = writes[1]!.split(/(?<=\n)/);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.slice(1), [frame([1, 0]).toString('latin1'), frame([2, 5]).toString('latin1')]);
    assert.equal(disconnects, 1);
    a.detach();
    dev.log('after');
    dev.disconnect();
    assert.equal(writes.length, 2);
    assert.equal(disconnects, 1);
  });
});
