/**
 * A raw session on the target's link, for the tests of the link layer itself (PROTOCOL.md §3.3)
 * and of requests the client would never build: it writes frames with the seqs it chooses and
 * reads every frame line the device sends, byte for byte.
 *
 * It writes through the client's writeRaw (so its bytes stay in order with the client's own and
 * within the client's window) and reads with its own line reader on the transport, beside the
 * client's (the client sees the answers as unsolicited frames). It opens a session of its own
 * with a hello at a seeded seq; close() detaches and re-handshakes the client (client.hello()), so
 * the client, and the next test, go on in a session of their own.
 *
 * A lossy link may drop a request or its answer: exchange() then sends the same bytes again, as
 * any host may (§3.3), and counts it in `retransmits`. A test that checks a device counter allows
 * for those: each retransmission may add one duplicate (replayed) or one refusal.
 */
import { ErrorCode, HelloKey, Link, Op, RequestTimeout, classifyLine, decodeCbor, encodeCbor, encodeFrame, type PoolClient } from '../../host/src/index.js';
import { LineReader } from '../../host/src/framing/line-reader.js';
import { maxResponseOf } from '../../host/src/client/link.js';
import { target } from './target.js';
import { prng, seedFor } from './expect.js';

/** One frame line the device sent: its bytes (without `\n`) and its decoded message. */
export interface RawAnswer {
  line: Buffer;
  message: unknown[];
}

/** Longest a raw request is retried before giving up (the link, not the device, failed), ms: within a test's timeout. */
const RAW_BUDGET_MS = 15_000;

export class RawSession {
  /** The seq the device expects next in this session. */
  next: number;
  /** The hello that opened this session, as the device answered it. */
  opened: RawAnswer = { line: Buffer.alloc(0), message: [] };
  /** Requests this session had to send again because neither it nor its answer came through. */
  retransmits = 0;

  private readonly answers: RawAnswer[] = [];
  private wake: (() => void) | undefined;

  private constructor(
    private readonly client: PoolClient,
    private readonly detach: () => void,
    first: number,
  ) {
    this.next = (first + 1) >>> 0;
  }

  /**
   * Opens a session at `helloSeq` (a test draws it from its seeded PRNG): `\n` then
   * `[helloSeq, hello]`. Resolves once the device answered it; rejects with a link error.
   */
  static async open(helloSeq: number): Promise<RawSession> {
    const { client, transport } = target();
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
    // The leading '\n' ends whatever partial line the device may hold (§3.3: a host begins so).
    await client.writeRaw(Buffer.from('\n'));
    const probe = new RawSession(client, detach, helloSeq >>> 0);
    for (const a of pending) probe.push(a);
    session = probe;
    try {
      await probe.hello(helloSeq);
      return probe;
    } catch (e) {
      detach();
      throw e;
    }
  }

  /** Sends `[seq, hello]`: a new session (§3.3 rule 2) from `seq`, whatever `next` was. */
  async hello(seq: number): Promise<RawAnswer> {
    this.opened = await this.exchange(RawSession.frame(seq, Op.hello), seq >>> 0, 'hello');
    this.next = (seq + 1) >>> 0;
    return this.opened;
  }

  /** Every frame this session received so far that answers `seq` (a duplicate answer shows as two). */
  answersTo(seq: number): RawAnswer[] {
    return this.answers.filter((a) => a.message[0] === seq >>> 0);
  }

  private push(answer: RawAnswer): void {
    this.answers.push(answer);
    this.wake?.();
  }

  /**
   * Writes `line` (a whole frame line) and resolves with the first frame answering `seq` that
   * arrives after it; sends the same bytes again when none comes within the retransmission
   * timeout (the client's current RTO, doubled on each expiry up to Link.rtoMaxMs), as the client
   * itself would. Rejects with RequestTimeout (a link error) after Link.maxAttempts transmissions
   * or RAW_BUDGET_MS, whichever comes first.
   */
  async exchange(line: Buffer, seq: number, what: string): Promise<RawAnswer> {
    let rto = Math.max(Link.rtoMinMs, this.client.linkStats().rtoMs);
    const start = Date.now();
    let attempt = 0;
    while (attempt < Link.maxAttempts && Date.now() - start < RAW_BUDGET_MS) {
      if (attempt++ > 0) this.retransmits++;
      const from = this.answers.length;
      await this.client.writeRaw(line);
      const found = await this.waitFor((a) => a.message[0] === seq, from, rto);
      if (found) return found;
      rto = Math.min(rto * 2, Link.rtoMaxMs);
    }
    throw new RequestTimeout(this.client.target, `raw ${what} (seq ${seq})`, Date.now() - start, `no answer to ${attempt} transmissions`);
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
    const answer = await this.exchange(RawSession.frame(seq, op, args), seq, `op ${op}`);
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
   * (half its replay_depth, answers within half its replay_bytes), so a lost request or answer is
   * recovered as the client recovers it (go-back-N, PROTOCOL.md §3.3): the group is sent again
   * from its first unanswered seq after the retransmission timeout; what the device already
   * executed it answers from its cache, and a request past a gap it refuses with out_of_sequence
   * (not an answer: it comes again). Each resend counts in `retransmits`. Rejects as exchange().
   */
  async requestAll(requests: readonly { op: number; args?: readonly unknown[] }[], what: string): Promise<RawAnswer[]> {
    const hello = this.opened.message[2] as Map<number, unknown> | undefined;
    const depth = Math.max(1, Math.floor(Number(hello?.get(HelloKey.replay_depth) ?? 1) / 2));
    const bytes = Number(hello?.get(HelloKey.replay_bytes) ?? 0) / 2;
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
      for (const a of await this.exchangeGroup(group, this.next, what)) out.push(a);
      this.next = (this.next + group.length) >>> 0;
    }
    return out;
  }

  /** Writes the lines of seqs first.. at once; resolves with one answer per seq (see requestAll). */
  private async exchangeGroup(lines: Buffer[], first: number, what: string): Promise<RawAnswer[]> {
    const got: (RawAnswer | undefined)[] = new Array(lines.length);
    const isAnswer = (a: RawAnswer, k: number) => a.message[0] === ((first + k) >>> 0) && !(a.message[1] === ErrorCode.out_of_sequence && a.message.length === 3);
    let rto = Math.max(Link.rtoMinMs, this.client.linkStats().rtoMs);
    const start = Date.now();
    const base = this.answers.length;
    let from = 0;
    let attempt = 0;
    let send = true;
    while (Date.now() - start < RAW_BUDGET_MS) {
      if (send) {
        if (attempt === Link.maxAttempts) break;
        if (attempt++ > 0) this.retransmits++;
        await this.client.writeRaw(Buffer.concat(lines.slice(from)));
      }
      const found = await this.waitFor((a) => isAnswer(a, from), base, rto);
      for (let j = base; j < this.answers.length; j++) {
        const a = this.answers[j]!;
        for (let k = from; k < lines.length; k++) if (got[k] === undefined && isAnswer(a, k)) got[k] = a;
      }
      while (from < lines.length && got[from] !== undefined) from++;
      if (from === lines.length) return got as RawAnswer[];
      // An answer came: wait on for the rest of the group. None within the timeout: go back.
      send = !found;
      if (!found) rto = Math.min(rto * 2, Link.rtoMaxMs);
    }
    throw new RequestTimeout(this.client.target, `raw ${what} (seqs ${first}..${(first + lines.length - 1) >>> 0})`, Date.now() - start, `no answer to ${attempt} transmissions`);
  }

  /** Sends `[seq, op, ...args]` for any seq (a duplicate, a gap, an old one); `next` is left alone. */
  send(seq: number, op: number, args: readonly unknown[] = []): Promise<RawAnswer> {
    return this.exchange(RawSession.frame(seq, op, args), seq >>> 0, `op ${op} out of turn`);
  }

  /** Sends a hand-built CBOR message as the session's next request (its first item must be `next`). */
  async requestMessage(message: Uint8Array, what: string): Promise<RawAnswer> {
    const seq = this.next;
    const answer = await this.exchange(encodeFrame(message), seq, what);
    this.next = (seq + 1) >>> 0;
    return answer;
  }

  /** Detaches, then re-handshakes the client so it works in a session of its own again. */
  async close(): Promise<void> {
    this.detach();
    await this.client.hello();
  }
}

/** A seq for a raw session, from a test's seeded PRNG, at least 2^20 away from 0 and from the top. */
export function seqFrom(rand: () => number): number {
  return (0x100000 + Math.floor(rand() * (0xffffffff - 0x200000))) >>> 0;
}

/**
 * Runs `body` in a raw session opened at a seq drawn from the test's seed (printed, replayable
 * with HIL_SEED); always hands the link back to the client afterwards.
 */
export async function inRawSession(title: string, body: (s: RawSession, rand: () => number) => Promise<void>): Promise<void> {
  const rand = prng(seedFor(title));
  const s = await RawSession.open(seqFrom(rand));
  try {
    await body(s, rand);
  } finally {
    await s.close();
  }
}
