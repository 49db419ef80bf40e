/**
 * The link layer alone, on a fake clock: no transport, no device. Each test writes the replies a
 * device would give (or loses them) and checks what the Link transmits, when, and how it settles
 * requests. The same rules over a real memory link and a fake device are in pool-client.test.ts.
 */
import { expect } from 'chai';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { classifyLine, encodeFrame } from '../framing/frame.js';
import { Framing, Link as LinkDefaults, Op } from '../protocol/constants.js';
import { Link, RTT_SAMPLES_KEPT, UNSENT, attemptBudget, lineBytesOf, maxResponseOf, type Clock, type LinkErrors, type LinkOptions, type LinkRequest } from './link.js';

class FakeClock implements Clock {
  t = 1000;
  private timers: { fn: () => void; at: number; id: number }[] = [];
  private io: (() => void)[] = [];
  private ids = 0;
  now = (): number => this.t;
  setTimer = (fn: () => void, ms: number): unknown => {
    const id = ++this.ids;
    this.timers.push({ fn, at: this.t + ms, id });
    return id;
  };
  clearTimer = (h: unknown): void => {
    this.timers = this.timers.filter((x) => x.id !== h);
  };
  refTimer = (): void => {};
  afterIo = (fn: () => void): void => void this.io.push(fn);
  /** Moves time on by `ms`, firing due timers (and after-I/O callbacks) in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      for (const fn of this.io.splice(0)) fn();
      await flush();
      const due = this.timers.filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((x) => x !== due);
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
    await flush();
  }
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

interface Outcome {
  error?: Error;
  message?: unknown[];
}

function harness(options: LinkOptions = {}, probes = false) {
  const clock = new FakeClock();
  const wire: unknown[][] = [];
  const writes: Buffer[] = [];
  const errors: LinkErrors = {
    timeout: (r) => new Error(`timeout ${r.name}`),
    exhausted: (r) => new Error(`exhausted ${r.name} after ${r.attempts}`),
    dead: (_silentMs, failed) => () => new Error(`dead ${failed}`),
    protocol: (r, what) => new Error(`protocol ${r.name}: ${what}`),
    noSession: () => {},
    sessionEnded: () => void (ended++, submit(Op.hello)),
  };
  let ended = 0;
  const link = new Link(
    (data) => {
      writes.push(data);
      for (const line of data.toString('latin1').split('\n')) {
        const c = classifyLine(Buffer.from(line, 'latin1'));
        if (c.kind === 'frame') wire.push(decodeCbor(c.message) as unknown[]);
      }
    },
    errors,
    options,
    clock,
    probes ? (seq) => encodeFrame(encodeCbor([seq])) : undefined,
  );
  const outcomes = new Map<LinkRequest, Outcome>();
  const submit = (code: number, args: unknown[] = [], name = `op${code}`): LinkRequest => {
    const r: LinkRequest = {
      code, name, args, timeoutMs: undefined,
      encode: (seq) => encodeFrame(encodeCbor([seq, code, ...args])),
      settle: (error, message) => void outcomes.set(r, { error, message }),
      seq: -1, line: UNSENT, maxResponse: 0, attempts: 0, firstTxAt: 0, lastTxAt: 0, firstTx: 0, lastTx: 0, held: false, ran: false, done: false,
    };
    link.submit(r);
    return r;
  };
  /** Sends hello, answers it after `rtt` ms: the session is open. */
  const open = async (rtt = 2) => {
    const h = submit(Op.hello);
    await flush();
    await clock.advance(rtt);
    link.heard();
    link.onReply(h.seq, [h.seq, 0, new Map()]);
    await flush();
    wire.length = 0;
    return h;
  };
  const reply = (seq: number, ...rest: unknown[]) => {
    link.heard();
    return link.onReply(seq, [seq, ...rest]);
  };
  return { clock, link, wire, writes, submit, open, reply, outcomes, sessionsEnded: () => ended };
}

describe('Link (the host link layer)', () => {
  describe('largest responses (PROTOCOL.md §3.3 window rule)', () => {
    it('follows OpFacts: a number, max_message, request, batch', () => {
      expect(maxResponseOf(Op.acquire, [1], 4)).to.equal(7);
      expect(maxResponseOf(Op.load_global, [1, 2], 5)).to.equal(12);
      expect(maxResponseOf(Op.stats, [], 3)).to.equal(Framing.maxMessageBytes);
      expect(maxResponseOf(Op.echo, [new Uint8Array(10)], 16)).to.equal(20);
      expect(maxResponseOf(Op.batch, [[[Op.load_global, 0, 0], [Op.store_global, 0, 0, 1], [Op.load_array, 0, 0, 0]]], 20)).to.equal(9 + 7 + 2 + 7);
    });
  });

  describe('sessions and seqs', () => {
    it('sends hello alone after a newline; queued requests wait for it, then follow its seq consecutively', async () => {
      const { link, wire, writes, submit, reply } = harness();
      const h = submit(Op.hello);
      const a = submit(Op.acquire, [0]);
      const b = submit(Op.release, [0]);
      await flush();
      expect(wire).to.deep.equal([[h.seq, Op.hello]]);
      expect(writes[0]!.toString('latin1').startsWith('\n~')).to.equal(true);
      reply(h.seq, 0, new Map());
      await flush();
      expect(wire.slice(1)).to.deep.equal([[(h.seq + 1) >>> 0, Op.acquire, 0], [(h.seq + 2) >>> 0, Op.release, 0]]);
      expect([a.seq, b.seq]).to.deep.equal([(h.seq + 1) >>> 0, (h.seq + 2) >>> 0]);
      expect(link.sessionOpen).to.equal(true);
    });

    it('a hello waits until nothing is unanswered', async () => {
      const { wire, submit, open, reply } = harness();
      await open();
      const a = submit(Op.acquire, [0]);
      submit(Op.hello);
      await flush();
      expect(wire.map((m) => m[1])).to.deep.equal([Op.acquire]);
      reply(a.seq, 0);
      await flush();
      expect(wire.map((m) => m[1])).to.deep.equal([Op.acquire, Op.hello]);
    });
  });

  describe('the window', () => {
    it('spans at most replay_depth requests from the oldest unanswered one, answered ones inside it included', async () => {
      const { link, wire, submit, open, reply } = harness();
      await open();
      link.setReplayLimits(4, LinkDefaults.replayBytes);
      const rs = Array.from({ length: 8 }, (_, i) => submit(Op.acquire, [i]));
      await flush();
      expect(wire).to.have.length(4);
      for (const r of rs.slice(1, 4)) reply(r.seq, 0); // the first stays unanswered
      await flush();
      // The first one is resent (its response was lost), nothing new: the span still starts at it.
      expect(wire.slice(4)).to.deep.equal([[rs[0]!.seq, Op.acquire, 0]]);
      reply(rs[0]!.seq, 0);
      await flush();
      expect(wire.slice(5).map((m) => m[2])).to.deep.equal([4, 5, 6, 7]);
    });

    it('keeps the largest responses of the span within replay_bytes', async () => {
      const { link, wire, submit, open } = harness();
      await open();
      link.setReplayLimits(32, 800);
      for (let i = 0; i < 4; i++) submit(Op.stats);
      await flush();
      expect(wire).to.have.length(2); // 2 × 382 ≤ 800 < 3 × 382
    });

    it('keeps request lines not yet read by the device within maxInflightBytes', async () => {
      const { wire, submit, open, reply } = harness({ maxInflightBytes: 40 });
      await open();
      const rs = Array.from({ length: 6 }, () => submit(Op.echo, [new Uint8Array(10)]));
      await flush();
      const lineBytes = rs[0]!.line.length;
      expect(wire).to.have.length(Math.floor(40 / lineBytes));
      reply(rs[0]!.seq, 0, new Uint8Array(10));
      await flush();
      expect(wire).to.have.length(Math.floor(40 / lineBytes) + 1);
    });

    it('counts raw bytes in the window until the line could have carried them: at lineBaud, else at 115200', async () => {
      // 1,020 raw bytes in a window of 1,024: the next request does not fit until they are read.
      const settleAt = async (lineBaud: number | undefined): Promise<number> => {
        const { link, wire, submit, open, clock } = harness({ maxInflightBytes: 1024, ...(lineBaud !== undefined ? { lineBaud } : {}) });
        await open();
        link.submit({ line: Buffer.alloc(1020, 0x41), frame: false, settle: () => {} });
        submit(Op.acquire, [0]);
        await flush();
        const t0 = clock.now();
        while (wire.length === 0 && clock.now() - t0 < 1000) await clock.advance(1);
        return clock.now() - t0;
      };
      const at115200 = await settleAt(undefined);
      const at921600 = await settleAt(921_600);
      expect(at115200).to.be.within(1020 / 11.52, 1020 / 11.52 + 10); // 1,020 bytes of 10 bits at 115200, plus a settle margin
      expect(at921600).to.be.within(1020 / 92.16, 1020 / 92.16 + 10);
    });

    it('a transmission no reply will show read (a resend whose request an earlier copy answered) leaves the window at line time: an idle link never stays closed', async () => {
      const { link, wire, writes, submit, open, reply, clock } = harness({ maxInflightBytes: 1024, rtoInitialMs: 100 });
      await open(50);
      const r = submit(Op.acquire, [0]);
      await flush();
      await clock.advance(200); // its answer is late: the RTO resends it
      expect(wire.filter((m) => m[0] === r.seq)).to.have.length(2);
      reply(r.seq, 0); // the first copy's answer: the resend's is still to come (and may be lost)
      await flush();
      expect(r.done).to.equal(true);
      // 1,010 raw bytes fit only once the resend has left the window: at its line time, not never.
      const before = writes.length;
      link.submit({ line: Buffer.alloc(1010, 0x41), frame: false, settle: () => {} });
      await flush();
      expect(writes.length, 'held back behind the resend').to.equal(before);
      const t0 = clock.now();
      while (writes.length === before && clock.now() - t0 < 1000) await clock.advance(1);
      expect(clock.now() - t0).to.be.below(50);
      expect(writes[writes.length - 1]!.length).to.equal(1010);
    });
  });

  describe('retransmission', () => {
    it('RTO: rto_initial_ms before a sample, then SRTT + max(G, 4·RTTVAR) within the floor and ceiling', async () => {
      const { link, submit, open, reply, clock } = harness();
      expect(link.stats.rtoMs).to.equal(LinkDefaults.rtoInitialMs);
      await open(40); // first sample: SRTT 40, RTTVAR 20 → 120
      expect(link.stats).to.include({ srttMs: 40, rttvarMs: 20, rtoMs: 120 });
      for (let i = 0; i < 30; i++) {
        const r = submit(Op.acquire, [0]);
        await flush();
        await clock.advance(0.1);
        reply(r.seq, 0);
      }
      expect(link.stats.rtoMs).to.equal(LinkDefaults.rtoMinMs); // fast round trips: the floor
    });

    it('a second answer to a resent request shows the resend was needless: the RTO doubles, once a round trip', async () => {
      const { link, submit, open, reply, clock } = harness();
      await open(40); // RTO 120
      const late = submit(Op.acquire, [0]);
      await flush();
      await clock.advance(120); // expired: resent, though the first transmission was only slow
      expect(link.stats.retransmits).to.equal(1);
      const rto = link.stats.rtoMs;
      reply(late.seq, 0); // the answer to the first transmission
      expect(reply(late.seq, 0)).to.equal(false); // the replay cache's answer to the resend: no request left
      expect(link.stats.spuriousRetransmits).to.equal(1);
      expect(link.stats.rtoMs).to.equal(Math.min(LinkDefaults.rtoMaxMs, rto * 2));
      const once = submit(Op.acquire, [1]);
      await flush();
      await clock.advance(5);
      reply(once.seq, 0); // a fresh sample sets the RTO again
      expect(link.stats.rtoMs).to.be.below(rto * 2);
      expect(reply(once.seq, 0), 'a duplicate of a once-sent request is not a spurious resend').to.equal(false);
      expect(link.stats.spuriousRetransmits).to.equal(1);
    });

    it('keeps the round-trip samples the RTO learnt from (once-transmitted requests only, Karn), the latest RTT_SAMPLES_KEPT, oldest first', async () => {
      const { link, submit, open, reply, clock } = harness();
      await open(40);
      expect(link.rttSamples()).to.deep.equal([40]);
      const lost = submit(Op.acquire, [0]);
      await flush();
      await clock.advance(LinkDefaults.rtoInitialMs); // expired and retransmitted: not a sample
      reply(lost.seq, 0);
      expect(link.rttSamples()).to.deep.equal([40]);
      for (let i = 1; i <= RTT_SAMPLES_KEPT + 2; i++) {
        const r = submit(Op.acquire, [0]);
        await flush();
        await clock.advance(i % 7);
        reply(r.seq, 0);
      }
      const kept = link.rttSamples();
      expect(kept).to.have.length(RTT_SAMPLES_KEPT);
      // The first two of the loop and the hello's were overwritten: the oldest kept is sample 3.
      expect(kept.slice(0, 3)).to.deep.equal([3, 4, 5]);
      expect(kept.at(-1)).to.equal((RTT_SAMPLES_KEPT + 2) % 7);
    });

    it('the RTO runs from the last answer (RFC 6298 §5.3): a full window drained slowly over a paced wire never expires', async () => {
      const { link, wire, submit, open, reply, clock } = harness();
      await open(20); // RTO 60
      const rs = Array.from({ length: 32 }, () => submit(Op.acquire, [0]));
      await flush();
      expect(wire).to.have.length(32);
      // Answers arrive 30 ms apart: the last request waits 960 ms in all, far past one RTO.
      for (const r of rs) {
        await clock.advance(30);
        reply(r.seq, 0);
      }
      expect(link.stats).to.include({ timeouts: 0, retransmits: 0 });
      expect(wire).to.have.length(32);
    });

    it('the congestion window halves on a go-back (not below 4) and grows back by one per window of answers', async () => {
      const { link, wire, submit, open, reply } = harness();
      await open(1);
      expect(link.stats.cwnd).to.equal(32);
      const rs = Array.from({ length: 40 }, () => submit(Op.acquire, [0]));
      await flush();
      // The first request was lost: the device refuses the second, expecting the first.
      reply(rs[1]!.seq, 12, rs[0]!.seq);
      await flush();
      expect(link.stats.goBacks).to.equal(1);
      expect(link.stats.cwnd).to.equal(16);
      const sent = wire.length;
      for (const r of rs.slice(0, 16)) reply(r.seq, 0);
      await flush();
      expect(link.stats.cwnd).to.equal(16); // 16 answers at +1/16 each: just short of 17
      expect(wire.length).to.be.greaterThan(sent); // the window moved on as answers came
    });

    it('Karn: a retransmitted request gives no sample; each expiry doubles the RTO up to rto_max_ms', async () => {
      const { link, wire, submit, open, reply, clock } = harness();
      await open(50); // RTO 150
      const r = submit(Op.acquire, [0]);
      await flush();
      await clock.advance(150);
      expect(wire).to.have.length(2);
      expect(link.stats.rtoMs).to.equal(300);
      await clock.advance(300);
      expect(link.stats.rtoMs).to.equal(Math.min(600, LinkDefaults.rtoMaxMs));
      expect(wire).to.have.length(3);
      const srtt = link.stats.srttMs;
      reply(r.seq, 0);
      expect(link.stats.srttMs).to.equal(srtt);
      expect(link.stats).to.include({ timeouts: 2, retransmits: 2, maxAttemptsUsed: 3 });
    });

    it('a retransmission with nothing new behind it is followed by a probe [seq] older than any cache; its answer resends at once', async () => {
      const { link, wire, submit, open, reply, clock, outcomes } = harness({}, true);
      await open(50); // RTO 150
      const r = submit(Op.acquire, [0]);
      await flush();
      await clock.advance(150); // the request was damaged: the RTO resends it, and a probe follows
      expect(wire.map((m) => m.length)).to.deep.equal([3, 3, 1]);
      const probe = wire[2]![0] as number;
      expect((probe - r.seq) >>> 0, 'half the seq space away: rule 5 of §3.3').to.equal(0x80000001);
      expect(link.stats).to.include({ timeouts: 1, probes: 1 });
      // The resend was damaged too; the probe behind it is answered, refused (nothing executed).
      await clock.advance(5);
      expect(reply(probe, 12, r.seq), 'a probe answer is expected, not unsolicited').to.equal(true);
      await flush();
      expect(wire.map((m) => m[0]), 'resent at once, before its RTO, with a probe behind it again').to.deep.equal([r.seq, r.seq, probe, r.seq, (probe + 1) >>> 0]);
      // Backed off once (nothing was heard before that expiry), then set again from the probe's
      // round trip, 5 ms (a probe is sent once: Karn allows the sample): SRTT 50 → 44.375, RTTVAR 25 → 30, RTO 44.375 + 4 × 30.
      expect(link.stats).to.include({ fastRetransmits: 1, timeouts: 1, probes: 2, rtoMs: 164.375 });
      reply(r.seq, 0);
      await flush();
      expect(outcomes.get(r)?.message).to.deep.equal([r.seq, 0]);
      expect(link.stats.attempts[3]).to.equal(1);
    });

    it('a request a reply shows executed is recalled as the bare [seq], never resent whole (PROTOCOL.md §3.3 rule 1)', async () => {
      const { link, wire, submit, open, reply, clock, outcomes } = harness({}, true);
      await open(50); // RTO 150
      const r = submit(Op.echo, [new Uint8Array(200)]);
      await flush();
      await clock.advance(150); // no answer: the RTO resends it whole (nothing shows it ran), a probe behind it
      expect(wire.map((m) => m.length)).to.deep.equal([3, 3, 1]);
      const probe = wire[2]![0] as number;
      await clock.advance(5);
      // The probe's answer names a next past r: r ran, its answer was lost. It is recalled at once.
      reply(probe, 12, (r.seq + 1) >>> 0);
      await flush();
      expect(wire.slice(3), 'the recall, then a probe').to.deep.equal([[r.seq], [(probe + 1) >>> 0]]);
      expect(link.stats).to.include({ recalls: 1, retransmits: 2 });
      // Recalls from then on, on an RTO too.
      await clock.advance(400);
      expect(wire[5], 'after the RTO: recalled again').to.deep.equal([r.seq]);
      reply(r.seq, 0, new Uint8Array(200));
      await flush();
      expect(outcomes.get(r)?.message?.[0]).to.equal(r.seq);
    });

    it('a response to a later request, or a held or gap reply naming a later next, marks the ones before it executed', async () => {
      const { link, wire, submit, open, reply } = harness({}, true);
      await open();
      const [a, b, c, d, e] = [0, 1, 2, 3, 4].map((i) => submit(Op.acquire, [i]));
      await flush();
      reply(b.seq, 0); // a's answer was lost: a ran
      reply(d.seq, 14, c.seq); // d held behind c: c did not run
      await flush();
      expect([a.ran, c.ran, d.ran, d.held]).to.deep.equal([true, false, false, true]);
      expect(wire.slice(5, 7), 'a recalled, c resent whole').to.deep.equal([[a.seq], [c.seq, Op.acquire, 2]]);
      reply(e.seq, 12, e.seq); // refused past a gap at e: c and d ran (d drained when c filled its gap)
      await flush();
      expect([c.ran, d.ran, d.held, e.ran]).to.deep.equal([true, true, false, false]);
      expect(link.stats.recalls).to.be.at.least(1);
    });

    it('no probe while new requests follow the retransmissions (they show the gap themselves)', async () => {
      const { link, wire, submit, open, reply } = harness({}, true);
      await open();
      const rs = Array.from({ length: 3 }, (_, i) => submit(Op.acquire, [i]));
      await flush();
      reply(rs[1]!.seq, 12, rs[0]!.seq);
      submit(Op.acquire, [3]);
      await flush();
      expect(wire.map((m) => m.length)).to.deep.equal([3, 3, 3, 3, 3, 3, 3]);
      expect(link.stats.probes).to.equal(0);
    });

    it('out_of_sequence: goes back to `next` once; gap replies to transmissions before the go-back are stale', async () => {
      const { link, wire, submit, open, reply } = harness();
      await open();
      const rs = Array.from({ length: 5 }, (_, i) => submit(Op.acquire, [i]));
      await flush();
      // rs[1] was lost: the device answers rs[0] and refuses rs[2..4], expecting rs[1].
      reply(rs[0]!.seq, 0);
      for (const r of rs.slice(2)) reply(r.seq, 12, rs[1]!.seq);
      await flush();
      expect(link.stats.goBacks).to.equal(1);
      expect(wire.slice(5).map((m) => m[0])).to.deep.equal(rs.slice(1).map((r) => r.seq));
      for (const r of rs.slice(1)) reply(r.seq, 0);
      expect(rs.every((r) => r.done)).to.equal(true);
    });

    it('fast retransmit: an answer to a later request while an earlier one is unanswered resends the earlier one', async () => {
      const { link, wire, submit, open, reply } = harness();
      await open();
      const [a, b] = [submit(Op.acquire, [0]), submit(Op.acquire, [1])];
      await flush();
      reply(b.seq, 0); // a's response was lost
      await flush();
      expect(wire.slice(2)).to.deep.equal([[a.seq, Op.acquire, 0]]);
      expect(link.stats.fastRetransmits).to.equal(1);
    });

    it('after maxAttempts transmissions per ATTEMPT_BYTES of its round trip the request fails', async () => {
      const { outcomes, submit, open, clock } = harness({ maxAttempts: 2 });
      await open();
      const r = submit(Op.acquire, [0]);
      await flush();
      await clock.advance(5000);
      // acquire: an 18-byte line, a 7-byte response (a 14-byte line): 32 bytes, 2 × 16.
      expect([r.line.length, attemptBudget(2, r.line.length, r.maxResponse)]).to.deep.equal([18, 4]);
      expect(outcomes.get(r)!.error!.message).to.equal('exhausted op1 after 4');
    });

    it('a long request is given attempts in proportion to its round trip, at least maxAttempts', () => {
      // A full-size message: a 514-byte line each way (max_line_bytes, 520, leaves room for a CR).
      expect(lineBytesOf(Framing.maxMessageBytes)).to.equal(514);
      expect(attemptBudget(40, 514, Framing.maxMessageBytes)).to.equal(40 * 65);
      expect(attemptBudget(40, 1, 0), 'never fewer than maxAttempts').to.equal(40);
    });

    it('a gap reply naming a seq after the request: its response left the cache', async () => {
      const { outcomes, submit, open, reply } = harness();
      await open();
      const r = submit(Op.acquire, [0]);
      await flush();
      reply(r.seq, 12, (r.seq + 3) >>> 0);
      expect(outcomes.get(r)!.error!.message).to.match(/^protocol op1: .*has left the device's replay cache/);
    });
  });

  describe('the hold (selective repeat, PROTOCOL.md §3.3 rule 5)', () => {
    it('held: the request is not resent; the requests before it with no reply are, once; the drained responses settle all', async () => {
      const { link, wire, submit, open, reply, outcomes } = harness();
      await open();
      const rs = Array.from({ length: 4 }, (_, i) => submit(Op.acquire, [i]));
      await flush();
      // rs[0] was damaged: the device holds rs[1..3], expecting rs[0].
      for (const r of rs.slice(1)) reply(r.seq, 14, rs[0]!.seq);
      await flush();
      expect(wire.slice(4).map((m) => m[0]), 'only the gap is resent, once').to.deep.equal([rs[0]!.seq]);
      expect(link.stats).to.include({ held: 3, goBacks: 0, fastRetransmits: 1, retransmits: 1 });
      expect(rs.slice(1).every((r) => r.held && !r.done)).to.equal(true);
      for (const r of rs) reply(r.seq, 0); // the gap filled: rs[0], then the drained rs[1..3]
      await flush();
      expect(rs.map((r) => outcomes.get(r)?.message)).to.deep.equal(rs.map((r) => [r.seq, 0]));
      expect(wire, 'nothing more was sent').to.have.length(5);
      expect(link.stats.attempts.slice(1, 3), 'the hello and rs[1..3] once, rs[0] twice').to.deep.equal([4, 1]);
    });

    it('a drained response lost: a later response shows it (the device runs held requests in order), the copy comes from the cache', async () => {
      const { wire, submit, open, reply } = harness();
      await open();
      const [a, b, c] = [submit(Op.acquire, [0]), submit(Op.acquire, [1]), submit(Op.acquire, [2])];
      await flush();
      reply(b.seq, 14, a.seq);
      reply(c.seq, 14, a.seq);
      await flush();
      reply(a.seq, 0);
      reply(c.seq, 0); // b's drained response was lost
      await flush();
      expect(wire.slice(3).map((m) => m[0])).to.deep.equal([a.seq, b.seq]);
      expect(b.held, 'b has run: no longer held').to.equal(false);
      reply(b.seq, 0);
      expect(b.done).to.equal(true);
    });

    it('a drained response shows nothing of the transmissions after the request\'s first: they are not taken as read and unanswered', async () => {
      const { link, wire, submit, open, reply } = harness();
      await open();
      const [a, b] = [submit(Op.acquire, [0]), submit(Op.acquire, [1])];
      await flush();
      reply(b.seq, 14, a.seq); // a was damaged; its resend goes out
      await flush();
      const c = submit(Op.acquire, [2]);
      await flush();
      expect(wire.map((m) => m[0])).to.deep.equal([a.seq, b.seq, a.seq, c.seq]);
      reply(a.seq, 0);
      reply(b.seq, 0); // drained: it answers b's first transmission, read before a's resend and c
      await flush();
      expect(wire, 'c is not resent: its reply is still to come').to.have.length(4);
      expect(link.stats.fastRetransmits).to.equal(1);
      reply(c.seq, 0);
      expect([a, b, c].every((r) => r.done)).to.equal(true);
    });

    it('an RTO resends the oldest unanswered request, held or not, and the others that are not held', async () => {
      const { link, wire, submit, open, reply, clock } = harness({ rtoInitialMs: 100 });
      await open(50);
      const rs = Array.from({ length: 3 }, (_, i) => submit(Op.acquire, [i]));
      await flush();
      reply(rs[1]!.seq, 14, rs[0]!.seq); // rs[2]'s held reply was lost as well as rs[0]
      await flush();
      const sent = wire.length;
      await clock.advance(500); // the resend of rs[0] is lost too: the RTO
      const resent = wire.slice(sent).map((m) => m[0]);
      expect(resent).to.include(rs[0]!.seq);
      expect(resent).to.include(rs[2]!.seq);
      expect(resent, 'rs[1] is held: never resent while rs[0] is unanswered').to.not.include(rs[1]!.seq);
      expect(link.stats.timeouts).to.be.greaterThan(0);
    });

    it('a held reply naming a next not before the request is a device bug: the request fails with a ProtocolError', async () => {
      const { outcomes, submit, open, reply } = harness();
      await open();
      const r = submit(Op.acquire, [0]);
      await flush();
      reply(r.seq, 14, r.seq);
      expect(outcomes.get(r)!.error!.message).to.match(/^protocol op1: answered held expecting seq \d+, not after this request's seq \d+: a device bug$/);
    });

    it('the request the device expects fails here: the session ends (a held copy must never run under a new seq); the ones after it go to a new session after a hello', async () => {
      const { link, wire, submit, open, reply, outcomes, clock, sessionsEnded } = harness({ maxAttempts: 2, rtoInitialMs: 100 });
      const h = await open(50);
      const [a, b, c] = [submit(Op.acquire, [0]), submit(Op.acquire, [1]), submit(Op.acquire, [2])];
      await flush();
      reply(b.seq, 14, a.seq); // a damaged: b and c held behind it, a resent
      reply(c.seq, 14, a.seq);
      for (let i = 0; i < 400 && !outcomes.get(a); i++) await clock.advance(5); // a's resend is lost too: it fails
      // b is now the oldest unanswered request: its RTO (backed off by a's silent expiries) resends it.
      const isB = (m: unknown[] | undefined) => m !== undefined && m[0] === b.seq;
      for (let i = 0; i < 200 && !isB(wire[wire.length - 1]); i++) await clock.advance(5);
      expect(outcomes.get(a)!.error!.message).to.equal(`exhausted op1 after ${attemptBudget(2, a.line.length, a.maxResponse)}`);
      expect(wire[wire.length - 1]).to.deep.equal([b.seq, Op.acquire, 1]);
      expect([b.done, c.done, c.held]).to.deep.equal([false, false, true]);
      reply(b.seq, 14, a.seq); // still held: the device expects a's seq, which has settled here
      await flush();
      expect(sessionsEnded()).to.equal(1);
      expect(link.stats.resyncs).to.equal(1);
      const last = wire[wire.length - 1]!;
      expect(last[1], 'a hello, alone').to.equal(Op.hello);
      expect(last[0]).to.not.equal(h.seq);
      reply(last[0] as number, 0, new Map());
      await flush();
      const s = (last[0] as number) + 1;
      expect(wire.slice(-2), 'b and c, renumbered in the new session').to.deep.equal([[s >>> 0, Op.acquire, 1], [(s + 1) >>> 0, Op.acquire, 2]]);
      expect([b.held, c.held]).to.deep.equal([false, false]);
    });

    it('without retransmission a held request settles with its held reply, and the next request opens a new session', async () => {
      const { wire, submit, open, reply, outcomes, sessionsEnded } = harness({ retransmit: false });
      await open();
      const [a, b] = [submit(Op.acquire, [0]), submit(Op.acquire, [1])];
      await flush();
      reply(b.seq, 14, a.seq);
      expect(outcomes.get(b)!.message).to.deep.equal([b.seq, 14, a.seq]);
      reply(a.seq, 0);
      submit(Op.acquire, [2]);
      await flush();
      expect(sessionsEnded()).to.equal(1);
      expect(wire[wire.length - 1]![1], 'a hello first').to.equal(Op.hello);
    });
  });

  describe('the dead link', () => {
    it('fails every unanswered and queued request at once after dead_link_ms of silence', async () => {
      const { link, outcomes, submit, open, clock } = harness();
      await open();
      const rs = Array.from({ length: 100 }, (_, i) => submit(Op.acquire, [i]));
      await flush();
      await clock.advance(LinkDefaults.deadLinkMs - 10);
      expect(outcomes.size).to.equal(1); // the hello only
      await clock.advance(20);
      expect(rs.map((r) => outcomes.get(r)?.error?.message)).to.deep.equal(rs.map(() => 'dead 100'));
      expect(link.stats.deadLinks).to.equal(1);
    });

    it('any byte heard keeps the link alive', async () => {
      const { link, outcomes, submit, open, clock } = harness({ maxAttempts: 1000 });
      await open();
      const r = submit(Op.acquire, [0]);
      await flush();
      for (let i = 0; i < 10; i++) {
        await clock.advance(LinkDefaults.deadLinkMs / 2);
        link.heard();
      }
      expect(outcomes.has(r)).to.equal(false);
    });
  });
});
