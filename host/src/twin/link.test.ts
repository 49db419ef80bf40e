import assert from 'node:assert/strict';
import { decodeCbor } from '../codec/cbor.js';
import { ErrorCode as E, Framing, Link } from '../protocol/constants.js';
import { LinkLayer } from './link.js';

/** Executes a request at the link layer with a response of `len` bytes whose first byte tags it. */
function execute(link: LinkLayer, seq: number, len: number, isHello = false): Buffer {
  const d = link.receive(seq, isHello);
  assert.equal(d.execute, true, `seq ${seq} executes`);
  const msg = Buffer.alloc(len, seq & 0xff);
  link.cache(msg);
  return msg;
}

describe('twin link layer (cvm_link.c)', () => {
  it('defaults to Link.replayDepth / replayBytes and validates both', () => {
    assert.deepEqual({ ...new LinkLayer().limits }, { replayDepth: Link.replayDepth, replayBytes: Link.replayBytes });
    assert.deepEqual({ ...new LinkLayer({ replayDepth: 3 }).limits }, { replayDepth: 3, replayBytes: Link.replayBytes });
    assert.throws(() => new LinkLayer({ replayDepth: 0 }), /^RangeError: twin: replayDepth must be/);
    assert.throws(() => new LinkLayer({ replayBytes: Framing.maxMessageBytes - 1 }), /replayBytes/);
  });
  it('answers no_session, then opens on hello with the cache empty and next = seq', () => {
    const link = new LinkLayer();
    const d = link.receive(5, false);
    assert.ok(!d.execute && d.rule === 3);
    assert.deepEqual(decodeCbor(d.message), [5, E.no_session]);
    execute(link, 9, 10, true);
    assert.deepEqual([link.sessionOpen, link.next, link.cachedCount, link.cachedBytes], [true, 10, 1, 10]);
  });
  it('the index wraps around its ring: every cached seq maps to its own response', () => {
    const link = new LinkLayer({ replayDepth: 3, replayBytes: 1000 });
    execute(link, 0, 4, true);
    const msgs = new Map<number, Buffer>();
    for (let seq = 1; seq <= 11; seq++) msgs.set(seq, execute(link, seq, 4 + seq));
    for (const seq of [9, 10, 11]) assert.equal(link.cached(seq), msgs.get(seq));
    for (const seq of [0, 8, 12]) assert.equal(link.cached(seq), undefined);
    assert.deepEqual([link.cachedCount, link.cachedBytes], [3, 13 + 14 + 15]);
  });
  it('evicts FIFO while count = depth or used + L > bytes, both rules in one cache()', () => {
    const link = new LinkLayer({ replayDepth: 4, replayBytes: 400 });
    execute(link, 100, 100, true);
    execute(link, 101, 100);
    execute(link, 102, 100);
    execute(link, 103, 50);
    assert.equal(link.cachedCount, 4);
    execute(link, 104, 250); // depth drops 100; bytes (250 + 250 > 400) drop 101; 150 + 250 = 400 fits
    assert.deepEqual([link.cachedCount, link.cachedBytes], [3, 400]);
    assert.equal(link.cached(101), undefined);
    assert.equal(link.cached(102)!.length, 100);
  });
  it('a response larger than replay_bytes empties the cache and still advances next (never happens: responses ≤ max_message_bytes)', () => {
    const link = new LinkLayer({ replayBytes: Framing.maxMessageBytes });
    execute(link, 1, 10, true);
    assert.equal(link.receive(2, false).execute, true);
    link.cache(Buffer.alloc(Framing.maxMessageBytes + 1));
    assert.deepEqual([link.cachedCount, link.next], [0, 3]);
    const d = link.receive(1, false);
    assert.ok(!d.execute && d.rule === 5, 'no gap is ever cached');
  });
  it('counters wrap at 2^32; reset() is the boot state', () => {
    const link = new LinkLayer();
    (link as unknown as { counters: { noSession: number } }).counters.noSession = 0xffffffff;
    link.receive(1, false);
    assert.equal(link.sessionCounters().noSession, 0);
    execute(link, 1, 5, true);
    link.reset();
    assert.deepEqual([link.sessionOpen, link.cachedCount, link.sessionCounters()], [false, 0, { replayed: 0, outOfSequence: 0, noSession: 0, sessions: 0 }]);
  });
});
