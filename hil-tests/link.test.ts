/**
 * The link layer (PROTOCOL.md §3.3) on the target itself: every request executed exactly once and
 * in order. Each test opens a raw session (support/raw.ts) at a seeded seq, so it controls every
 * seq the device sees, compares answers byte for byte, and hands the link back to the client with
 * a fresh hello. Counter deltas allow for the raw session's own retransmissions on a lossy link
 * (each may add one), and are exact on a clean one.
 *
 * These tests are about sequencing: a duplicate, a gap or an old seq goes out after the answers to
 * what it refers to, because what they check is how the device answers a seq given what it has
 * already executed. What goes out together: runs of requests whose answers the test merely records
 * (RawSession.requestAll: executed in seq order, exactly as if sent one by one), and duplicates or
 * refused seqs sent after those answers (RawSession.sendAll: the device executes none of them, so
 * each one's answer depends on what it executed before them, not on the others).
 */
import { expect } from 'chai';
import { ErrorCode, Framing, HelloKey, LinkBounds, Op, StatsKey, base64DecodeStrict, encodeCbor } from '../host/src/index.js';
import { emulatorFaults } from './support/expect.js';
import { RawSession, inRawSession, seqFrom, type RawAnswer } from './support/raw.js';
import { target } from './support/target.js';

/** The stats map of a raw `[seq, 0, {..}]` answer. */
function statsOf(a: RawAnswer): Map<number, unknown> {
  expect(a.message[1], 'stats answered ok').to.equal(0);
  expect(a.message[2]).to.be.instanceOf(Map);
  return a.message[2] as Map<number, unknown>;
}

const counter = (m: Map<number, unknown>, key: number): number => {
  const v = m.get(key);
  expect(v, `stats key ${key}`).to.be.a('number');
  return v as number;
};

/**
 * A store_array request at `seq` whose message is exactly `length` bytes, its ids out of range
 * (so it changes nothing if it ever runs): the ids' and value's CBOR widths are chosen to fit.
 */
function requestOfLength(seq: number, length: number): { seq: number; op: number; args: number[] } {
  const ids = [1, 300, 70_000, 2 ** 40]; // 1, 3, 5 and 9 bytes (as ids, out of range past the first)
  const values = [1, 200, 40_000, 2 ** 30]; // 1, 2, 3 and 5 bytes
  for (const vm of ids) for (const array of ids) for (const index of ids) for (const value of values) {
    const args = [vm === 1 ? 2 ** 40 : vm, array, index, value];
    if (encodeCbor([seq, Op.store_array, ...args]).length === length) return { seq, op: Op.store_array, args };
  }
  throw new Error(`no store_array request of exactly ${length} bytes`);
}

/**
 * `answers`, failing the test when it rejects although the link damaged no byte meanwhile: a held
 * request that runs when it should not takes a seq of the session, so an answer never comes, and
 * over an undamaged link that is the device's doing, not the cable's (a damaged one leaves the
 * rejection as it is: the test is not run).
 */
async function whileUndamaged<T>(answers: Promise<T>): Promise<T> {
  const faults = () => emulatorFaults('h2d') + emulatorFaults('d2h');
  const f0 = faults();
  return answers.catch((e: Error) => {
    if (faults() === f0) expect.fail(`${e.message}, over a link that damaged nothing: a held request ran out of turn?`);
    throw e;
  });
}

/** Bytes of the CBOR message a frame line carries (its decoded length minus the CRC). */
function messageLength(line: Buffer): number {
  const raw = base64DecodeStrict(line, 1, line.length);
  if (!raw) throw new Error(`not a frame line: ${line.toString('latin1')}`);
  return raw.length - Framing.crcBytes;
}

describe('link layer: exactly once, in order (PROTOCOL.md §3.3)', () => {
  it('answers a duplicate byte for byte from the replay cache and does not execute it again', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const [st0, acq] = (await s.requestAll([{ op: Op.stats }, { op: Op.acquire, args: [0] }], 'stats, acquire')) as [RawAnswer, RawAnswer];
      expect(acq.message).to.deep.equal([acq.message[0], 0], 'the acquire succeeded');
      // Once both are answered: the same acquire again, and an older duplicate (the stats before the acquire).
      const helloSeq = s.opened.message[0] as number;
      const [dup, oldStats, oldHello] = (await s.sendAll([{ seq: acq.message[0] as number, op: Op.acquire, args: [0] }, { seq: st0.message[0] as number, op: Op.stats }, { seq: helloSeq, op: Op.hello }], 'three duplicates')) as [RawAnswer, RawAnswer, RawAnswer];
      // The session's first answer (cached alone until the stats came) is intact too.
      expect(oldHello.line.equals(s.opened.line), 'the cached hello answer, byte for byte').to.equal(true);
      // The original [seq, 0], not already_acquired.
      expect(dup.line.equals(acq.line), `duplicate answered ${dup.line.toString('latin1')}, first answer ${acq.line.toString('latin1')}`).to.equal(true);
      // Its old answer, byte for byte, not fresh counters.
      expect(oldStats.line.equals(st0.line), 'the cached stats answer, not a new one').to.equal(true);
      const st1 = statsOf(await s.request(Op.stats));
      const before = statsOf(st0);
      const replayed = counter(st1, StatsKey.replayed) - counter(before, StatsKey.replayed);
      expect(replayed).to.be.within(3, 3 + s.retransmits, 'three duplicates answered from the cache');
      expect(counter(st1, StatsKey.acquires) - counter(before, StatsKey.acquires)).to.equal(1, 'the acquire ran once');
      expect(counter(st1, StatsKey.ops) - counter(before, StatsKey.ops)).to.equal(2, 'stats and acquire ran; the duplicates did not');
    });
  });

  it('holds a request past a gap [seq, held, next], runs it once the gap fills, in order, then answers a copy from the cache', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const [st0, acq] = (await s.requestAll([{ op: Op.stats }, { op: Op.acquire, args: [0] }], 'stats, acquire')) as [RawAnswer, RawAnswer];
      const before = statsOf(st0);
      expect(acq.message.slice(1)).to.deep.equal([0], 'the acquire succeeded');
      const next = s.next;
      const ahead = (next + 1) >>> 0;
      const [held] = (await s.sendAll([{ seq: ahead, op: Op.store_global, args: [0, 0, 99] }], 'a store past a gap of one')) as [RawAnswer];
      expect(held.message).to.deep.equal([ahead, ErrorCode.held, next]);
      const [again] = (await s.sendAll([{ seq: ahead, op: Op.store_global, args: [0, 0, 99] }], 'the held store again')) as [RawAnswer];
      expect(again.message, 'a copy of a held request is held again').to.deep.equal([ahead, ErrorCode.held, next]);
      // The gap: a load that finds 0, so it ran before the held store; the store then runs.
      const load = await s.request(Op.load_global, [0, 0]);
      expect(load.message).to.deep.equal([next, 0, 0], 'the gap ran first: the held store had not');
      s.next = (ahead + 1) >>> 0;
      const [reload, st1] = (await s.requestAll([{ op: Op.load_global, args: [0, 0] }, { op: Op.stats }], 'load_global, stats')) as [RawAnswer, RawAnswer];
      expect(reload.message.slice(1)).to.deep.equal([0, 99], 'the held store ran once the gap filled');
      const [copy] = (await s.sendAll([{ seq: ahead, op: Op.store_global, args: [0, 0, 99] }], 'the store again, now executed')) as [RawAnswer];
      expect(copy.message, 'a copy of the executed store is answered from the cache').to.deep.equal([ahead, 0]);
      for (const a of s.answersTo(ahead).filter((x) => x.message[1] === 0)) expect(a.line.equals(copy.line), 'the drained answer and the cached copy are one line').to.equal(true);
      const after = statsOf(st1);
      expect(counter(after, StatsKey.held) - counter(before, StatsKey.held)).to.be.within(2, 2 + s.retransmits);
      expect(counter(after, StatsKey.out_of_sequence) - counter(before, StatsKey.out_of_sequence)).to.be.within(0, s.retransmits);
      expect(counter(after, StatsKey.ops) - counter(before, StatsKey.ops)).to.equal(5, 'stats, acquire, load, the held store and the second load ran; no copy did');
    });
  });

  it('drains the hold up to the next gap: held requests run in seq order as each gap before them fills', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      await s.requestAll([{ op: Op.acquire, args: [0] }], 'acquire');
      const n = s.next;
      // n and n + 3 are gaps; n + 1, n + 2 and n + 4 are held behind them.
      const heldOnes = [1, 2, 4].map((k) => ({ seq: (n + k) >>> 0, op: Op.store_global, args: [0, k, k * 10] }));
      const replies = await s.sendAll(heldOnes, 'three stores past two gaps');
      expect(replies.map((a) => a.message)).to.deep.equal(heldOnes.map((r) => [r.seq, ErrorCode.held, n]));
      // The first gap: a load of global 2, then the held n + 1 and n + 2 run; n + 4 waits for n + 3.
      const first = await s.request(Op.load_global, [0, 2]);
      expect(first.message).to.deep.equal([n, 0, 0], 'global 2 was not stored yet');
      s.next = (n + 3) >>> 0;
      const second = await s.request(Op.load_global, [0, 4]);
      expect(second.message, 'n + 1 and n + 2 ran, n + 4 not yet').to.deep.equal([(n + 3) >>> 0, 0, 0]);
      s.next = (n + 5) >>> 0;
      const loads = await s.requestAll([1, 2, 4].map((k) => ({ op: Op.load_global, args: [0, k] })), 'loads of globals 1, 2 and 4');
      expect(loads.map((a) => a.message.slice(1))).to.deep.equal([[0, 10], [0, 20], [0, 40]], 'every held store ran, once');
    });
  });

  it('refuses a request past a gap the hold cannot take (beyond hold_depth, longer than hold_message_bytes, older than the cache) with [seq, out_of_sequence, next], and does not execute it', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const [st0, acq] = (await s.requestAll([{ op: Op.stats }, { op: Op.acquire, args: [0] }], 'stats, acquire')) as [RawAnswer, RawAnswer];
      const before = statsOf(st0);
      expect(acq.message.slice(1)).to.deep.equal([0], 'the acquire succeeded');
      const hello = s.opened.message[2] as Map<number, unknown>;
      const holdDepth = hello.get(HelloKey.hold_depth) as number;
      const holdBytes = hello.get(HelloKey.hold_message_bytes) as number;
      const next = s.next;
      const far = (next + holdDepth + 1) >>> 0;
      const edge = (next + holdDepth) >>> 0;
      // Older than the cache holds (the seq before this session's hello): refused the same way.
      const old = (next - 4) >>> 0;
      // An echo whose message is one byte over hold_message_bytes: [seq, 10, bstr] with a 5-byte seq.
      const long = Buffer.alloc(Math.max(0, holdBytes + 1 - 8));
      const sent = [
        { seq: far, op: Op.store_global, args: [0, 0, 99] },
        { seq: old, op: Op.store_global, args: [0, 0, 98] },
        { seq: (next + 1) >>> 0, op: Op.echo, args: [long] },
      ];
      expect(messageLength(RawSession.frame(sent[2]!.seq, Op.echo, [long]).subarray(0, -1)), 'the echo message').to.be.above(holdBytes);
      const answers = await s.sendAll(sent, 'past the hold, an old seq, a long request past a gap');
      expect(answers.map((a) => a.message)).to.deep.equal(sent.map((r) => [r.seq, ErrorCode.out_of_sequence, next]));
      // hold_depth ahead is still held, and so is a message of exactly hold_message_bytes (both are
      // left held: closing, the raw session has the client say hello, which empties the hold).
      const exact = requestOfLength((next + 2) >>> 0, holdBytes);
      const [atEdge, atSize] = (await s.sendAll([{ seq: edge, op: Op.load_global, args: [0, 0] }, exact], 'exactly hold_depth ahead, exactly hold_message_bytes long')) as [RawAnswer, RawAnswer];
      expect(atEdge.message).to.deep.equal([edge, ErrorCode.held, next]);
      expect(atSize.message, `a ${holdBytes}-byte message is held`).to.deep.equal([exact.seq, ErrorCode.held, next]);
      // Nothing refused ran, and the session goes on at `next`.
      const [load, st1] = (await s.requestAll([{ op: Op.load_global, args: [0, 0] }, { op: Op.stats }], 'load_global, stats')) as [RawAnswer, RawAnswer];
      expect(load.message).to.deep.equal([next, 0, 0]);
      const after = statsOf(st1);
      expect(counter(after, StatsKey.out_of_sequence) - counter(before, StatsKey.out_of_sequence)).to.be.within(3, 3 + s.retransmits);
      expect(counter(after, StatsKey.ops) - counter(before, StatsKey.ops)).to.equal(3, 'stats, acquire and load_global ran; the refused ones did not');
    });
  });

  it('holds a request in every slot (1 to hold_depth ahead), drains them in seq order once the gap fills, empties each slot it drains, and empties every slot on a hello', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      await s.requestAll([{ op: Op.acquire, args: [0] }], 'acquire');
      const depth = (s.opened.message[2] as Map<number, unknown>).get(HelloKey.hold_depth) as number;
      const globals = target().hello.maxGlobals;
      const fill = async (value: number) => {
        const next = s.next;
        const stores = Array.from({ length: depth }, (_, i) => ({ seq: (next + 1 + i) >>> 0, op: Op.store_global, args: [0, (1 + i) % globals, value + i] }));
        const replies = await s.sendAll(stores, `${depth} stores, one in each slot of the hold`);
        expect(replies.map((a) => a.message)).to.deep.equal(stores.map((r) => [r.seq, ErrorCode.held, next]));
        return stores;
      };
      const loadAll = (what: string) => whileUndamaged(s.requestAll(Array.from({ length: depth + 1 }, (_, i) => ({ op: Op.load_global, args: [0, (1 + i) % globals] })), what));
      // Every slot held; the gap at next runs first, then the held stores in seq order.
      const next = s.next;
      const stores = await fill(1000);
      expect((await s.request(Op.load_global, [0, 1 % globals])).message, 'the gap ran before every held store').to.deep.equal([next, 0, 0]);
      s.next = (next + 1 + depth) >>> 0;
      // Loads that take next round the whole ring again: a slot the drain took from must be empty.
      const last = new Map(stores.map((r) => [r.args[1]!, r.args[2]!]));
      const loads = await loadAll('a load of each stored global, round the ring');
      expect(loads.map((a) => a.message.slice(1)), 'every held store ran once, in seq order').to.deep.equal(loads.map((_, i) => [0, last.get((1 + i) % globals) ?? 0]));
      // Every slot held again, then a hello at the gap's seq (never executed: no duplicate): the new
      // session's next then passes every slot, and each must be empty.
      const gap = s.next;
      await fill(2000);
      expect((await s.hello(gap)).message[1], 'hello answered ok').to.equal(0);
      const fresh = await loadAll('loads in the new session, round the ring');
      expect(fresh.map((a) => a.message), 'fresh loads at the held seqs, not the old stores: none ran').to.deep.equal(fresh.map((_, i) => [(gap + 1 + i) >>> 0, 0, last.get((1 + i) % globals) ?? 0]));
    });
  });

  it('starts a new session on a hello mid-session, with the pool untouched', async function () {
    await inRawSession(this.test!.fullTitle(), async (s, rand) => {
      const [st0, acq, store] = (await s.requestAll([{ op: Op.stats }, { op: Op.acquire, args: [0] }, { op: Op.store_global, args: [0, 5, 1234] }], 'stats, acquire, store')) as [RawAnswer, RawAnswer, RawAnswer];
      const before = statsOf(st0);
      expect([acq.message.slice(1), store.message.slice(1)]).to.deep.equal([[0], [0]], 'acquire and store succeeded');
      const storeSeq = store.message[0] as number;
      const first = s.opened;
      const second = await s.hello(seqFrom(rand));
      expect(second.message[1], 'hello answered ok').to.equal(0);
      // The same boot: the nonce is unchanged.
      expect((second.message[2] as Map<number, unknown>).get(HelloKey.boot_nonce)).to.equal((first.message[2] as Map<number, unknown>).get(HelloKey.boot_nonce));
      const [load, again] = (await s.requestAll([{ op: Op.load_global, args: [0, 5] }, { op: Op.acquire, args: [0] }], 'load_global, acquire')) as [RawAnswer, RawAnswer];
      expect(load.message.slice(1)).to.deep.equal([0, 1234], 'the pool kept its contents');
      expect(again.message.slice(1)).to.deep.equal([ErrorCode.already_acquired], 'context 0 is still held');
      // The old session's cache is gone: its seqs are refused, never replayed or executed.
      const old = await s.send(storeSeq, Op.store_global, [0, 5, 1234]);
      expect(old.message).to.deep.equal([storeSeq, ErrorCode.out_of_sequence, s.next]);
      const after = statsOf(await s.request(Op.stats));
      expect(counter(after, StatsKey.sessions) - counter(before, StatsKey.sessions)).to.be.within(1, 1 + s.retransmits);
    });
  });

  it("reports its replay cache in hello, and the cache holds exactly replay_depth answers in replay_bytes", async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      const hello = s.opened.message[2] as Map<number, unknown>;
      const depth = hello.get(HelloKey.replay_depth) as number;
      const bytes = hello.get(HelloKey.replay_bytes) as number;
      expect(depth).to.be.within(LinkBounds.replayDepth.min, LinkBounds.replayDepth.max);
      expect(bytes).to.be.within(LinkBounds.replayBytes.min, LinkBounds.replayBytes.max);
      expect({ depth, bytes }).to.deep.equal({ depth: target().client.info!.replayDepth, bytes: target().client.info!.replayBytes }, "the client's hello read the same");
      // The cache as §3.3 defines it: FIFO by seq, at most `depth` answers in at most `bytes`.
      const cache: { answer: RawAnswer; length: number }[] = [];
      let used = 0;
      const executed = (answer: RawAnswer) => {
        const length = messageLength(answer.line);
        while (cache.length === depth || used + length > bytes) used -= cache.shift()!.length;
        cache.push({ answer, length });
        used += length;
      };
      executed(s.opened);
      // Every cached answer is replayed byte for byte (those whose bytes wrap around the end of the
      // device's ring included), or with `every` false the oldest only; the one before the oldest
      // is refused: it was evicted.
      const check = async (what: string, every = true) => {
        const oldestSeq = cache[0]!.answer.message[0] as number;
        const gone = (oldestSeq - 1) >>> 0;
        const kept = every ? cache : cache.slice(0, 1);
        const copies = [...kept.map((c) => ({ seq: c.answer.message[0] as number, op: Op.echo, args: [Buffer.alloc(0)] })), { seq: gone, op: Op.echo, args: [Buffer.alloc(0)] }];
        const answers = await s.sendAll(copies, `${what}: every cached seq and the one before the oldest`);
        const refused = answers.pop()!;
        answers.forEach((replay, i) => expect(replay.line.equals(kept[i]!.answer.line), `${what}: the cached answer of seq ${copies[i]!.seq} is replayed`).to.equal(true));
        expect(refused.message, `${what}: the answer before the oldest was evicted`).to.deep.equal([gone, ErrorCode.out_of_sequence, s.next]);
      };
      /** Length of the answer to an echo of n bytes at the session's next seq. */
      const echoAnswerLength = (n: number) => encodeCbor([s.next, 0, Buffer.alloc(n)]).length;
      // Small answers: the depth is the bound.
      const small = Array.from({ length: depth + 1 }, (_, i) => ({ op: Op.echo, args: [Buffer.from([i & 0xff])] }));
      for (const answer of await s.requestAll(small, 'small echoes')) executed(answer);
      await check(`after ${depth + 1} small answers`);
      // Large answers (echoes near the largest message): the bytes are the bound.
      const big = Framing.maxMessageBytes - 16;
      const large = Array.from({ length: Math.ceil(bytes / big) + 2 }, (_, i) => ({ op: Op.echo, args: [Buffer.alloc(big, i)] }));
      for (const answer of await s.requestAll(large, 'large echoes')) executed(answer);
      expect(cache.length).to.be.below(depth);
      await check(`after ${Math.ceil(bytes / big) + 2} answers of ${big + 7} bytes`);
      // An answer that fills replay_bytes exactly evicts nothing (`used + L > replay_bytes`, not ≥):
      // first an echo that leaves a gap an echo's answer can fill, then that echo.
      const after = (n: number) => {
        let u = used;
        let k = 0;
        const l = echoAnswerLength(n);
        while (cache.length - k === depth || u + l > bytes) u -= cache[k++]!.length;
        return bytes - (u + l);
      };
      /** The echo payload whose answer is exactly `gap` bytes, or -1 (answer lengths skip a byte where the bstr head grows). */
      const fillFor = (gap: number) => {
        for (let n = 0; n <= big; n++) if (echoAnswerLength(n) === gap) return n;
        return -1;
      };
      let shaper = 0;
      while (shaper < big && fillFor(after(shaper)) < 0) shaper++;
      expect(shaper, 'a shaper size exists').to.be.below(big);
      executed(await s.request(Op.echo, [Buffer.alloc(shaper, 0xa5)]));
      const fill = fillFor(bytes - used);
      expect(fill, 'an echo whose answer fills the cache exactly').to.be.at.least(0);
      const evictedBefore = cache.length;
      executed(await s.request(Op.echo, [Buffer.alloc(fill, 0x5a)]));
      expect([used, cache.length], 'the model: full to the byte, nothing evicted').to.deep.equal([bytes, evictedBefore + 1]);
      await check(`after an answer that fills replay_bytes exactly`, false); // the oldest stays: nothing was evicted
    });
  });

  it('counts duplicates, refusals and sessions in stats (keys 15 to 18)', async () => {
    const { client } = target();
    const s = await client.stats();
    for (const k of ['replayed', 'outOfSequence', 'noSession', 'sessions'] as const) expect(s[k], k).to.be.a('number').and.at.least(0);
    expect(s.sessions, "the client's own hello opened one at least").to.be.at.least(1);
  });

  it('answers [seq, no_session] to everything but hello after a reset', async function () {
    const { reset, name } = target();
    if (!reset) {
      console.log(`      ${name} cannot be reset from the host (no reset step in its descriptor)`);
      return this.skip();
    }
    await inRawSession(this.test!.fullTitle(), async (s, rand) => {
      await s.request(Op.acquire, [0]);
      await reset();
      const refused = await s.send(s.next, Op.acquire, [0]);
      expect(refused.message).to.deep.equal([s.next, ErrorCode.no_session]);
      // A seq of its own: a late copy of the refusal (its request resent on a slow machine) must
      // not pass for the hello's answer.
      const hello = await s.hello(seqFrom(rand));
      expect(hello.message[1]).to.equal(0);
      const st = statsOf(await s.request(Op.stats));
      expect(counter(st, StatsKey.no_session)).to.be.within(1, 1 + s.retransmits);
      expect(counter(st, StatsKey.sessions)).to.be.within(1, 1 + s.retransmits);
    });
  });
});
