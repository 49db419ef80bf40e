import assert from 'node:assert/strict';
import { decodeCbor } from '../codec/cbor.js';
import { ErrorCode as E, Framing, Link } from '../protocol/constants.js';
import { LinkLayer } from './link.js';

/** Executes a request at the link layer with a response of `len` bytes whose first byte tags it. */
function execute(link: LinkLayer, seq: number, len: number, isHello = false): Buffer {
  const d = link.receive(seq, isHello, Buffer.alloc(3));
  assert.equal(d.execute, true, `seq ${seq} executes`);
  const msg = Buffer.alloc(len, seq & 0xff);
  link.cache(msg);
  return msg;
}

describe('twin link layer (cvm_link.c)', () => {
  it('defaults to Link.replayDepth / replayBytes and validates both', () => {
    const hold = { holdDepth: Link.holdDepth, holdMessageBytes: Link.holdMessageBytes };
    assert.deepEqual({ ...new LinkLayer().limits }, { replayDepth: Link.replayDepth, replayBytes: Link.replayBytes, ...hold });
    assert.deepEqual({ ...new LinkLayer({ replayDepth: 3 }).limits }, { replayDepth: 3, replayBytes: Link.replayBytes, ...hold });
    assert.throws(() => new LinkLayer({ holdDepth: 0 }), /^RangeError: twin: holdDepth must be an integer in 1\.\.255, got 0$/);
    assert.throws(() => new LinkLayer({ holdMessageBytes: 6 }), /^RangeError: twin: holdMessageBytes must be an integer in 7\.\.382, got 6$/);
    assert.throws(() => new LinkLayer({ replayDepth: 0 }), /^RangeError: twin: replayDepth must be/);
    assert.throws(() => new LinkLayer({ replayBytes: Framing.maxMessageBytes - 1 }), /replayBytes/);
  });
  it('answers no_session, then opens on hello with the cache empty and next = seq', () => {
    const link = new LinkLayer();
    const d = link.receive(5, false, Buffer.alloc(3));
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
    assert.equal(link.receive(2, false, Buffer.alloc(3)).execute, true);
    link.cache(Buffer.alloc(Framing.maxMessageBytes + 1));
    assert.deepEqual([link.cachedCount, link.next], [0, 3]);
    const d = link.receive(1, false, Buffer.alloc(3));
    assert.ok(!d.execute && d.rule === 6, 'no gap is ever cached');
  });
  it('a response of exactly replay_bytes is cached (the smallest cache holds one largest response)', () => {
    const link = new LinkLayer({ replayBytes: Framing.maxMessageBytes });
    execute(link, 1, 10, true);
    assert.equal(link.receive(2, false, Buffer.alloc(3)).execute, true);
    const largest = Buffer.alloc(Framing.maxMessageBytes, 7);
    link.cache(largest);
    assert.deepEqual([link.cachedCount, link.cachedBytes, link.cached(2)], [1, Framing.maxMessageBytes, largest]);
  });
  it('counters wrap at 2^32; reset() is the boot state', () => {
    const link = new LinkLayer();
    (link as unknown as { counters: { noSession: number } }).counters.noSession = 0xffffffff;
    link.receive(1, false, Buffer.alloc(3));
    assert.equal(link.sessionCounters().noSession, 0);
    execute(link, 1, 5, true);
    link.receive(3, false, Buffer.alloc(3));
    link.reset();
    assert.deepEqual([link.sessionOpen, link.cachedCount, link.heldCount, link.sessionCounters()], [false, 0, 0, { replayed: 0, outOfSequence: 0, noSession: 0, sessions: 0, held: 0 }]);
  });
  describe('the hold (rule 5) and the drain (rule 4)', () => {
    const refused = (link: LinkLayer, seq: number, len = 3): unknown => {
      const d = link.receive(seq, false, Buffer.alloc(len));
      assert.ok(!d.execute);
      return decodeCbor(d.message);
    };
    it('holds a request 1..holdDepth ahead of next whose message is at most holdMessageBytes, answering [seq, held, next]', () => {
      const link = new LinkLayer({ holdDepth: 4, holdMessageBytes: 10 });
      execute(link, 100, 5, true);
      assert.deepEqual(refused(link, 102), [102, E.held, 101]);
      assert.deepEqual(refused(link, 105, 10), [105, E.held, 101], 'exactly holdDepth ahead, exactly holdMessageBytes');
      assert.deepEqual(refused(link, 106), [106, E.out_of_sequence, 101], 'holdDepth + 1 ahead: refused');
      assert.deepEqual(refused(link, 103, 11), [103, E.out_of_sequence, 101], 'one byte too long: refused');
      assert.deepEqual(refused(link, 102), [102, E.held, 101], 'a copy of a held request: held again');
      assert.deepEqual([link.heldCount, link.sessionCounters().held, link.sessionCounters().outOfSequence], [2, 3, 2]);
    });
    it('after the gap fills, takeHeld() gives the held requests in seq order, up to the next gap', () => {
      const link = new LinkLayer({ holdDepth: 4 });
      execute(link, 0xfffffffe, 5, true); // next = 0xffffffff: the hold wraps with the seqs
      const m0 = Buffer.from([0]);
      const m2 = Buffer.from([2]);
      assert.ok(!link.receive(0, false, m0).execute);
      assert.ok(!link.receive(2, false, m2).execute);
      assert.equal(link.takeHeld(), undefined, 'next (0xffffffff) is not held');
      execute(link, 0xffffffff, 5);
      assert.equal(link.takeHeld(), m0);
      assert.equal(link.takeHeld(), undefined, 'taken once');
      link.cache(Buffer.alloc(4)); // seq 0 executed
      assert.equal(link.takeHeld(), undefined, 'seq 1 is a gap: 2 stays held');
      assert.equal(link.heldCount, 1);
      execute(link, 1, 4);
      assert.equal(link.takeHeld(), m2);
      link.cache(Buffer.alloc(4));
      assert.deepEqual([link.next, link.heldCount], [3, 0]);
      const dup = link.receive(0, false, m0);
      assert.ok(!dup.execute && dup.rule === 1, 'a drained request is a duplicate now');
      assert.equal(dup.message, link.cached(0));
    });
    it('slots follow next, not seq mod holdDepth: with a depth that does not divide 2^32, seqs either side of the wrap keep their own slots', () => {
      const link = new LinkLayer({ holdDepth: 3 });
      execute(link, 0xfffffffd, 5, true); // next = 0xfffffffe; 0xffffffff and 0 are both ≡ 0 mod 3
      const [m1, m2] = [Buffer.from([1]), Buffer.from([2])];
      assert.ok(!link.receive(0xffffffff, false, m1).execute);
      assert.ok(!link.receive(0, false, m2).execute);
      assert.equal(link.heldCount, 2);
      execute(link, 0xfffffffe, 4);
      assert.equal(link.takeHeld(), m1);
      link.cache(Buffer.alloc(4));
      assert.equal(link.takeHeld(), m2);
    });
    it('a hello empties the hold: nothing held before it runs after it', () => {
      const link = new LinkLayer();
      execute(link, 10, 5, true);
      link.receive(12, false, Buffer.alloc(3));
      execute(link, 11, 5, true); // a hello at 11: next = 12, the hold is empty
      assert.deepEqual([link.heldCount, link.takeHeld()], [0, undefined]);
    });
  });
});
