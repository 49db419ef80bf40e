/**
 * The link layer of the twin (PROTOCOL.md §3.3): every request executed exactly once and in order
 * over a lossy line. C counterpart: cvm_link.c, rule for rule, so the differential test sees the
 * same bytes from both.
 *
 * It holds the session (open or not, and `next`, the seq executed next), the replay cache (the
 * response messages of the session's most recent executed requests, a run of consecutive seqs
 * ending at next − 1), the hold (requests 1..holdDepth ahead of next, kept until the gap fills,
 * in a ring of holdDepth slots whose head is next's slot: k ahead is k slots past it) and the counters stats reports as keys 15..19. The cache's index is a
 * ring of `depth` slots like the C core's; the C core also keeps the bytes in a ring of `bytes`,
 * the twin keeps each message as its own Buffer and only accounts for its length, which is all the
 * eviction rule looks at.
 *
 * Use, for each request that passed §3.1 steps 1 and 2 (its seq known):
 *   const d = link.receive(seq, isHello, message);
 *   if d.execute: build the response message, then link.cache(response) (this advances next),
 *     then while link.takeHeld() gives a request: execute it and cache its response (rule 4's drain);
 *   else send d.message.
 */
import { encodeCbor } from '../codec/cbor.js';
import { ErrorCode } from '../protocol/constants.js';
import { type ReplayLimits, resolveReplayLimits } from '../protocol/limits.js';
import type { LinkCounters } from '../protocol/messages.js';

/** The link layer's counters (stats keys 15..19). uint32, wrapping. C: cvm_link_counters. */
export type SessionCounters = LinkCounters;

/** What receive() decided, in the order of the rules of §3.3. C: cvm_link_action. */
export type LinkDecision =
  /** Rule 2 (a hello opened a new session: the cache is empty, next is seq) or rule 4 (seq = next): execute, then cache(). */
  | { readonly execute: true }
  /** Rule 1 (a duplicate: its cached response), 3 ([seq, 13]), 5 (held: [seq, 14, next]) or 6 ([seq, 12, next]): send message; nothing executed. */
  | { readonly execute: false; readonly rule: 1 | 3 | 5 | 6; readonly message: Buffer };

const EXECUTE: LinkDecision = { execute: true };

const inc = (n: number): number => (n + 1) >>> 0;

export class LinkLayer {
  readonly limits: Readonly<ReplayLimits>;
  private open = false;
  private nextSeq = 0;
  /** Ring of `replayDepth` slots; the entries are first..first+count−1 (mod depth), oldest first. */
  private readonly entries: (Buffer | undefined)[];
  private first = 0;
  private count = 0;
  private used = 0;
  /** The hold: slot (holdHead + k) mod holdDepth keeps the message of the request k ahead of next (1..holdDepth). */
  private readonly hold: (Buffer | undefined)[];
  /** next's slot: seq mod holdDepth at the hello, one on each time next advances (C: hold_next). */
  private holdHead = 0;
  private readonly counters: SessionCounters = { replayed: 0, outOfSequence: 0, noSession: 0, sessions: 0, held: 0 };

  /**
   * Boot state: no session, an empty cache, counters 0. Sizes not given take DEFAULT_REPLAY_LIMITS.
   * Throws RangeError for sizes outside LinkBounds (resolveReplayLimits).
   */
  constructor(limits: Partial<ReplayLimits> = {}) {
    this.limits = Object.freeze(resolveReplayLimits(limits, 'twin'));
    this.entries = new Array<Buffer | undefined>(this.limits.replayDepth);
    this.hold = new Array<Buffer | undefined>(this.limits.holdDepth);
  }

  /** Whether a session is open (a hello since boot). */
  get sessionOpen(): boolean {
    return this.open;
  }

  /** The seq executed next; meaningful while a session is open. */
  get next(): number {
    return this.nextSeq;
  }

  /** Responses cached now, 0..replayDepth. */
  get cachedCount(): number {
    return this.count;
  }

  /** Bytes the cached responses hold, 0..replayBytes. */
  get cachedBytes(): number {
    return this.used;
  }

  /** Requests held now, 0..holdDepth. */
  get heldCount(): number {
    return this.hold.reduce((n, m) => n + (m ? 1 : 0), 0);
  }

  /** A copy of the counters (stats keys 15..19). */
  sessionCounters(): SessionCounters {
    return { ...this.counters };
  }

  /** Back to the boot state (a reboot): no session, an empty cache and hold, counters 0. */
  reset(): void {
    this.open = false;
    this.nextSeq = 0;
    this.empty();
    this.hold.fill(undefined);
    this.holdHead = 0;
    for (const k of Object.keys(this.counters) as (keyof SessionCounters)[]) this.counters[k] = 0;
  }

  /**
   * Applies the rules of §3.3, in order, to a request with this seq (uint32); isHello says whether
   * it is exactly [seq, 0]; message is the request message (CBOR, no CRC), kept by reference when
   * it is held (the caller must not change it). Updates the counters. C: cvm_link_receive.
   */
  receive(seq: number, isHello: boolean, message: Buffer): LinkDecision {
    const d = (this.nextSeq - seq) >>> 0;
    if (this.open && d >= 1 && d <= this.count) {
      this.counters.replayed = inc(this.counters.replayed);
      return { execute: false, rule: 1, message: this.cached(seq)! };
    }
    if (isHello) {
      this.empty();
      this.hold.fill(undefined);
      this.open = true;
      this.nextSeq = seq;
      this.holdHead = seq % this.limits.holdDepth;
      this.counters.sessions = inc(this.counters.sessions);
      return EXECUTE;
    }
    if (!this.open) {
      this.counters.noSession = inc(this.counters.noSession);
      return { execute: false, rule: 3, message: encodeCbor([seq, ErrorCode.no_session]) };
    }
    if (d === 0) return EXECUTE;
    const ahead = (seq - this.nextSeq) >>> 0;
    if (ahead <= this.limits.holdDepth && message.length <= this.limits.holdMessageBytes) {
      this.hold[(this.holdHead + ahead) % this.limits.holdDepth] = message;
      this.counters.held = inc(this.counters.held);
      return { execute: false, rule: 5, message: encodeCbor([seq, ErrorCode.held, this.nextSeq]) };
    }
    this.counters.outOfSequence = inc(this.counters.outOfSequence);
    return { execute: false, rule: 6, message: encodeCbor([seq, ErrorCode.out_of_sequence, this.nextSeq]) };
  }

  /**
   * Caches message (the response of seq next; kept by reference, the caller must not change it) and
   * advances next by 1, wrapping at 2^32. First drops the oldest entries while the cache holds
   * replayDepth entries or the message does not fit the free bytes (FIFO). Call exactly once after
   * each executing decision. A message longer than replayBytes (never: every response is at most
   * max_message_bytes) empties the cache, so it never holds a gap. C: cvm_link_cache.
   */
  cache(message: Buffer): void {
    this.nextSeq = (this.nextSeq + 1) >>> 0;
    this.holdHead = (this.holdHead + 1) % this.limits.holdDepth;
    const { replayDepth, replayBytes } = this.limits;
    if (message.length > replayBytes) {
      this.empty();
      return;
    }
    while (this.count > 0 && (this.count === replayDepth || this.used + message.length > replayBytes)) {
      this.used -= this.entries[this.first]!.length;
      this.entries[this.first] = undefined;
      this.first = (this.first + 1) % replayDepth;
      this.count--;
    }
    if (this.count === 0) this.first = 0;
    this.entries[(this.first + this.count) % replayDepth] = message;
    this.count++;
    this.used += message.length;
  }

  /**
   * Rule 4's drain: the held request of seq next, taken out of the hold, or undefined when its slot
   * is empty. Only right after cache() (before it, next's slot is the one of next + holdDepth).
   * Execute it and cache() its response before the next call. C: cvm_link_take_held.
   */
  takeHeld(): Buffer | undefined {
    const message = this.hold[this.holdHead];
    this.hold[this.holdHead] = undefined;
    return message;
  }

  /** The cached response of seq, or undefined when it is not cached. C: cvm_link_cached. */
  cached(seq: number): Buffer | undefined {
    const d = (this.nextSeq - seq) >>> 0;
    if (!this.open || d === 0 || d > this.count) return undefined;
    return this.entries[(this.first + this.count - d) % this.limits.replayDepth];
  }

  private empty(): void {
    this.entries.fill(undefined);
    this.first = this.count = this.used = 0;
  }
}
