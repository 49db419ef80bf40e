/**
 * A raw session on the target's link, for the tests of the link layer itself (PROTOCOL.md §3.3)
 * and of requests the client would never build: it writes frames with the seqs it chooses and
 * reads every frame line the device sends, byte for byte.
 *
 * It writes through the client's writeRaw (so its bytes stay in order with the client's own and
 * within the client's window) and reads with its own line reader on the transport, beside the
 * client's (the client sees the answers as unsolicited frames). It borrows the client's session
 * (PoolClient.lendSession: the client's own requests wait meanwhile) and either opens a session
 * of its own with a hello at a seeded seq, or, when the test needs no hello of its own, goes on in
 * the client's session at the seq the device expects. close() detaches and gives the session back
 * at the seq the device now expects; when that is unknown (a request of its own went unanswered,
 * the device answered no_session) or the device may still hold a request of it past a gap, the
 * client re-handshakes (client.hello()) instead.
 *
 * A lossy link may drop a request or its answer: exchange() then sends the same bytes again, as
 * any host may (§3.3), and counts it in `retransmits`; as the client does (host/src/client/link.ts),
 * each resend is followed by a probe `[seq]` half the seq space away (answered `[p,
 * out_of_sequence, next]`, executing nothing: it shows at once that the device read the resend,
 * and which requests ran), and a request the session executes is, once a reply shows it ran,
 * recalled as the bare `[seq]` (answered from the cache, §3.3 rule 1) instead of resent whole: on a noisy line a long request and its long answer
 * seldom both cross in one attempt. A test that checks a device counter allows for those: each
 * retransmission (a probe counts as one) may add one duplicate (replayed) or one refusal. A
 * request is given as many transmissions as the client gives it (attemptBudget).
 */
import { ErrorCode, Framing, HelloKey, Link, Op, RequestTimeout, classifyLine, decodeCbor, encodeCbor, encodeFrame, type PoolClient } from '../../host/src/index.js';
import { LineReader } from '../../host/src/framing/line-reader.js';
import { attemptBudget, maxResponseOf } from '../../host/src/client/link.js';
import { target } from './target.js';
import { prng, seedFor } from './expect.js';

/** One frame line the device sent: its bytes (without `\n`) and its decoded message. */
export interface RawAnswer {
  line: Buffer;
  message: unknown[];
}

/** Longest a raw request is retried before giving up (the link, not the device, failed), ms: within a test's timeout. */
const RAW_BUDGET_MS = 150_000;
const HALF = 0x80000000;
/** Bytes a probe's line takes at most (`~` + base64 of a 5-byte seq's message and CRC + `\n`). */
const PROBE_ROOM = 14;

export class RawSession {
  /** The seq the device expects next in this session. */
  next: number;
  /** The hello that opened this session, as the device answered it. */
  opened: RawAnswer = { line: Buffer.alloc(0), message: [] };
  /** Requests this session had to send again because neither it nor its answer came through. */
  retransmits = 0;

  private readonly answers: RawAnswer[] = [];
  private wake: (() => void) | undefined;
  /** Whether `next` is what the device expects: false after a request went unanswered or a no_session answer. */
  private known = true;
  private lent: { next: number; giveBack: (next: number | undefined) => void } | undefined;

  private constructor(
    private readonly client: PoolClient,
    private readonly detach: () => void,
    next: number,
  ) {
    this.next = next >>> 0;
  }

  /**
   * Opens a session at `helloSeq` (a test draws it from its seeded PRNG): `\n` then
   * `[helloSeq, hello]`. Resolves once the device answered it; rejects with a link error. With
   * `borrow`, no hello when the client has a session open: the raw session goes on in it, from
   * the seq the device expects (`opened` stays empty); `helloSeq` only when none is open.
   */
  static async open(helloSeq: number, borrow = false): Promise<RawSession> {
    const { client, transport } = target();
    // The client's requests in flight (the runner's reset_pool) settle first (lendSession waits
    // for them): a raw hello must not overtake a retransmission of theirs into the device's new
    // session, nor a raw request take a seq of theirs.
    const lent = await client.lendSession();
    const pending: RawAnswer[] = [];
    let session: RawSession | undefined;
    const reader = new LineReader((line) => {
      const c = classifyLine(line);
      if (c.kind !== 'frame') return;
      let message: unknown;
      try {
        message = decodeCbor(c.message);
      } catch {
        return; // not ours to judge: the client reports what it cannot decode
      }
      if (!Array.isArray(message)) return;
      const answer = { line: Buffer.from(line), message };
      if (session) session.push(answer);
      else pending.push(answer);
    });
    const onData = (chunk: Buffer) => reader.push(chunk);
    transport.on('data', onData);
    const detach = () => void transport.off('data', onData);
    if (borrow && lent) {
      session = new RawSession(client, detach, lent.next);
      session.lent = lent;
      return session;
    }
    const probe = new RawSession(client, detach, (helloSeq + 1) >>> 0);
    probe.lent = lent;
    for (const a of pending) probe.push(a);
    session = probe;
    try {
      // The leading '\n' ends whatever partial line the device may hold (§3.3: a host begins so).
      await client.writeRaw(Buffer.from('\n'));
      // A hello at a seq the lent session executed lately is a duplicate (§3.3 rule 3), answered
      // from the cache, no new session: as when a replay (HIL_SEED) gives every test the same seq
      // and this one follows a raw session of the last test. A hello half the seq space away
      // opens a session first, so that the test's own hello is one.
      if (lent && ((lent.next - helloSeq) >>> 0) - 1 < (client.info?.replayDepth ?? 0)) await probe.hello((helloSeq + 0x80000000) >>> 0);
      await probe.hello(helloSeq);
      return probe;
    } catch (e) {
      detach();
      lent?.giveBack(undefined);
      throw e;
    }
  }

  /**
   * Whether the device may still hold a request of this session (a held reply for a seq not yet
   * executed): the client must not go on in it, or that request would run under one of its seqs.
   */
  private holds(): boolean {
    return this.answers.some((a) => a.message[1] === ErrorCode.held && a.message.length === 3 && ((a.message[0] as number) - this.next) >>> 0 < 0x80000000);
  }

  /** Sends `[seq, hello]`: a new session (§3.3 rule 2) from `seq`, whatever `next` was. */
  async hello(seq: number): Promise<RawAnswer> {
    this.opened = await this.exchange(RawSession.frame(seq, Op.hello), seq >>> 0, 'hello', true);
    this.next = (seq + 1) >>> 0;
    if (this.opened.message[1] === 0) this.known = true;
    return this.opened;
  }

  /** Every frame this session received so far that answers `seq` (a duplicate answer shows as two). */
  answersTo(seq: number): RawAnswer[] {
    return this.answers.filter((a) => a.message[0] === seq >>> 0);
  }

  private push(answer: RawAnswer): void {
    if (answer.message[1] === ErrorCode.no_session && answer.message.length === 2) this.known = false;
    this.answers.push(answer);
    this.wake?.();
  }

  /**
   * Writes `line` (a whole frame line) and resolves with the first frame answering `seq` that
   * arrives after it; sends the same bytes again when none comes within the retransmission
   * timeout (the client's current RTO, doubled on each expiry up to Link.rtoMaxMs), as the client
   * itself would, with a probe behind each resend; with `executes` (the session's next request, or
   * a hello) the request is recalled once it is known to have run (see the top). Rejects
   * with RequestTimeout (a link error) after attemptBudget() transmissions or RAW_BUDGET_MS,
   * whichever comes first.
   */
  async exchange(line: Buffer, seq: number, what: string, executes = false): Promise<RawAnswer> {
    const [answer] = await this.exchangeGroup([line], [seq >>> 0], !executes, what, executes);
    return answer!;
  }

  private async waitFor(match: (a: RawAnswer) => boolean, from: number, ms: number): Promise<RawAnswer | undefined> {
    const deadline = Date.now() + ms;
    for (let i = from; ; ) {
      for (; i < this.answers.length; i++) if (match(this.answers[i]!)) return this.answers[i];
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** The frame line carrying `[seq, op, ...args]`. */
  static frame(seq: number, op: number, args: readonly unknown[] = []): Buffer {
    return encodeFrame(encodeCbor([seq >>> 0, op, ...args]));
  }

  /** Sends the session's next request and advances `next` (it is executed: §3.3 rule 4). */
  async request(op: number, args: readonly unknown[] = []): Promise<RawAnswer> {
    const seq = this.next;
    const answer = await this.exchange(RawSession.frame(seq, op, args), seq, `op ${op}`, true);
    this.next = (seq + 1) >>> 0;
    return answer;
  }

  /**
   * Sends the session's next requests together (pipelined: consecutive seqs from `next`, written
   * at once) and resolves with their answers in order; `next` advances past them. The device
   * executes them in seq order exactly as if each had been sent after the last one's answer, so a
   * test that does not look at an answer before sending the next request loses nothing by it.
   *
   * Sent in groups small enough for the device's replay cache to hold every answer of a group
   * (its replay_depth, answers within its replay_bytes), so a lost request or answer is
   * recovered (PROTOCOL.md §3.3): the group is sent again from its first unanswered seq after the
   * retransmission timeout; what the device already executed it answers from its cache, a request
   * past a gap it holds ([seq, held, next]: not an answer, which comes when the gap fills) or
   * refuses with out_of_sequence (not an answer: it comes again). Each request sent again counts
   * in `retransmits`. Rejects as exchange().
   */
  async requestAll(requests: readonly { op: number; args?: readonly unknown[] }[], what: string): Promise<RawAnswer[]> {
    // The replay cache this session's hello reported, or (a borrowed session) the client's hello.
    const hello = this.opened.message[2] as Map<number, unknown> | undefined;
    const info = this.client.info;
    const depth = Math.max(1, Number(hello?.get(HelloKey.replay_depth) ?? info?.replayDepth ?? 1));
    const bytes = Number(hello?.get(HelloKey.replay_bytes) ?? info?.replayBytes ?? 0);
    const out: RawAnswer[] = [];
    for (let i = 0; i < requests.length; ) {
      const group: Buffer[] = [];
      let answerBytes = 0;
      for (; i < requests.length && group.length < depth; i++) {
        const { op, args = [] } = requests[i]!;
        const message = encodeCbor([(this.next + group.length) >>> 0, op, ...args]);
        const answer = maxResponseOf(op, args, message.length);
        if (group.length > 0 && answerBytes + answer > bytes) break;
        answerBytes += answer;
        group.push(encodeFrame(message));
      }
      const seqs = group.map((_, k) => (this.next + k) >>> 0);
      for (const a of await this.exchangeGroup(group, seqs, false, what, true)) out.push(a);
      this.next = (this.next + group.length) >>> 0;
    }
    return out;
  }

  /**
   * Writes `lines` (the requests of `seqs`, one each) at once; resolves with one answer per seq,
   * resending from the first unanswered after the retransmission timeout (see requestAll). With
   * `refusals`, an out_of_sequence refusal or a held reply is an answer like any other (sendAll's
   * out-of-turn requests); without, it is not (the request comes again, or its response does).
   * Each resend has a probe behind it: answered while the first unanswered request is not, it is a
   * resend at once (the device read that request's copy, and its answer was lost or the copy
   * damaged), as the client's fast retransmit. With `executes` (consecutive seqs from the one the
   * device expects), the `next` a probe's answer (or a held or gap reply) names shows which
   * requests ran: those are recalled as `[seq]` from then on.
   */
  private async exchangeGroup(lines: Buffer[], seqs: readonly number[], refusals: boolean, what: string, executes = false): Promise<RawAnswer[]> {
    const got: (RawAnswer | undefined)[] = new Array(lines.length);
    const linkReply = (a: RawAnswer) => (a.message[1] === ErrorCode.out_of_sequence || a.message[1] === ErrorCode.held) && a.message.length === 3;
    const isAnswer = (a: RawAnswer, k: number) => a.message[0] === seqs[k] && (refusals || !linkReply(a));
    // Transmissions the group is given: the client's for its longest request with the largest
    // answer (a raw request's answer is not known here; RAW_BUDGET_MS bounds the time).
    let budget = 0;
    for (const l of lines) budget = Math.max(budget, attemptBudget(Link.maxAttempts, l.length, Framing.maxMessageBytes));
    // The wait before a resend: the link's smoothed round trip (not the client's RTO, which backs
    // off on its own silent expiries) plus the line time at 115200 baud of the bytes written;
    // doubled on each wait that heard nothing, probe answer included, up to Link.rtoMaxMs.
    const st = this.client.linkStats();
    const rtt = Math.max(Link.rtoMinMs, st.srttMs === undefined ? st.rtoMs : st.srttMs + 4 * (st.rttvarMs ?? 0));
    let backoff = 1;
    let wait = 0;
    const start = Date.now();
    let seen = this.answers.length;
    let from = 0;
    let attempt = 0;
    let send = true;
    // seqs[0..ran) are known to have run (executes only).
    let ran = 0;
    let probe: number | undefined;
    const learn = (a: RawAnswer): void => {
      if (!executes) return;
      const k = seqs.indexOf(a.message[0] as number);
      if (k >= 0 && !linkReply(a)) ran = Math.max(ran, k + 1);
      if (linkReply(a) && typeof a.message[2] === 'number') {
        const n = ((a.message[2] as number) - seqs[0]!) >>> 0;
        if (n <= seqs.length) ran = Math.max(ran, n);
      }
    };
    while (Date.now() - start < RAW_BUDGET_MS) {
      if (send) {
        if (attempt === budget) break;
        // A resend goes in one window's bytes (Framing.maxInflightBytes, the device's receive ring,
        // a probe's room left): beyond it the client holds raw bytes back for their line time, and
        // on a noisy line the lines after the first unanswered one are mostly refused anyway (the
        // hold takes only short requests): they follow once it is answered.
        const out: Buffer[] = [];
        let bytes = 0;
        for (let k = from; k < lines.length; k++) {
          if (got[k] !== undefined) continue;
          const l = k < ran ? RawSession.bare(seqs[k]!) : lines[k]!;
          if (attempt > 0 && out.length > 0 && bytes + l.length > Framing.maxInflightBytes - PROBE_ROOM) break;
          out.push(l);
          bytes += l.length;
        }
        // Each request sent again may put one more copy before the device (a duplicate, a refusal).
        if (attempt++ > 0) {
          this.retransmits += out.length;
          // The probe's seq is new on each resend, so its answer names this resend.
          probe = (seqs[0]! + HALF + attempt) >>> 0;
          out.push(RawSession.bare(probe));
          this.retransmits++;
        }
        const data = Buffer.concat(out);
        wait = (data.length * 10) / 115.2;
        await this.client.writeRaw(data);
      }
      const rto = Math.min(Link.rtoMaxMs, rtt * backoff + wait);
      const p = probe;
      const found = await this.waitFor((a) => isAnswer(a, from) || (p !== undefined && a.message[0] === p), seen, rto);
      for (; seen < this.answers.length; seen++) {
        const a = this.answers[seen]!;
        learn(a);
        for (let k = from; k < lines.length; k++) if (got[k] === undefined && isAnswer(a, k)) got[k] = a;
      }
      while (from < lines.length && got[from] !== undefined) from++;
      if (from === lines.length) return got as RawAnswer[];
      // An answer came: wait on for the rest of the group. The probe's: resend now. None within
      // the timeout: go back.
      const probed = found !== undefined && p !== undefined && found.message[0] === p;
      if (probed) {
        // The probe ended the latest write: the device has read all of it.
        this.client.rawRead();
        probe = undefined;
      }
      send = !found || probed;
      backoff = found ? 1 : Math.min(backoff * 2, 64);
    }
    this.known = false;
    throw new RequestTimeout(this.client.target, `raw ${what} (seq${seqs.length > 1 ? 's' : ''} ${seqs.join(', ')})`, Date.now() - start, `no answer to ${attempt} transmissions`);
  }

  /** The frame line `[seq]`: a probe (at a seq no session is near) or a recall (at an executed request's seq). */
  static bare(seq: number): Buffer {
    return encodeFrame(encodeCbor([seq >>> 0]));
  }

  /** Sends `[seq, op, ...args]` for any seq (a duplicate, a gap, an old one); `next` is left alone. */
  send(seq: number, op: number, args: readonly unknown[] = []): Promise<RawAnswer> {
    return this.exchange(RawSession.frame(seq, op, args), seq >>> 0, `op ${op} out of turn`);
  }

  /**
   * send() for several requests at once, written together in this order; resolves with their
   * answers in order. For requests the device does not execute (duplicates it answers from its
   * cache, seqs it refuses), sent after the answers to what they refer to: each one's answer
   * depends on what the device executed before the group, not on the others, whichever copy of
   * it is answered. (Never with requests it executes: a loss decides whether an executed one ran
   * before a refusal, and a refusal names the seq expected then.) `next` is left alone. Each
   * request sent again counts in `retransmits`.
   */
  sendAll(requests: readonly { seq: number; op: number; args?: readonly unknown[] }[], what: string): Promise<RawAnswer[]> {
    const lines = requests.map(({ seq, op, args = [] }) => RawSession.frame(seq, op, args));
    return this.exchangeGroup(lines, requests.map((r) => r.seq >>> 0), true, what);
  }

  /** Sends a hand-built CBOR message as the session's next request (its first item must be `next`). */
  async requestMessage(message: Uint8Array, what: string): Promise<RawAnswer> {
    const seq = this.next;
    const answer = await this.exchange(encodeFrame(message), seq, what, true);
    this.next = (seq + 1) >>> 0;
    return answer;
  }

  /**
   * Detaches, then gives the client the session back at `next`; when the device's session is
   * unknown, the device may hold a request of this session, or the client had none to lend,
   * re-handshakes the client instead, so it works in a session of its own again.
   */
  async close(): Promise<void> {
    this.detach();
    if (this.lent && this.known && !this.holds()) return this.lent.giveBack(this.next);
    this.lent?.giveBack(undefined);
    await this.client.hello();
  }
}

/** A seq for a raw session, from a test's seeded PRNG, at least 2^20 away from 0 and from the top. */
export function seqFrom(rand: () => number): number {
  return (0x100000 + Math.floor(rand() * (0xffffffff - 0x200000))) >>> 0;
}

/**
 * Runs `body` in a raw session opened at a seq drawn from the test's seed (printed, replayable
 * with HIL_SEED), or with `borrow` in the client's session when it has one (RawSession.open);
 * always hands the link back to the client afterwards.
 */
export async function inRawSession(title: string, body: (s: RawSession, rand: () => number) => Promise<void>, options: { borrow?: boolean } = {}): Promise<void> {
  const rand = prng(seedFor(title));
  const s = await RawSession.open(seqFrom(rand), options.borrow ?? false);
  try {
    await body(s, rand);
  } finally {
    await s.close();
  }
}
