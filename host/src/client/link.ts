/**
 * The host half of the link layer (PROTOCOL.md §3.2–§3.3): the in-flight window, sequence
 * numbers, retransmission and the dead-link rule. PoolClient hands it encoded-on-demand requests
 * and every response it receives; the Link decides what goes on the wire and when a request is
 * settled. It does no decoding and knows no operation's meaning beyond its largest response.
 *
 * Window (all three hold at every transmission of a new request):
 * - the span from the oldest unanswered request to the newest sent holds at most
 *   min(maxInflightRequests, replay_depth) requests, and the sum of their largest possible
 *   responses is at most replay_bytes. Answered requests inside the span count too: the device
 *   caches their responses, so they occupy the replay cache the oldest unanswered one needs.
 * - the lines written and not yet known to be read by the device (a later reply proves the device
 *   read everything before it: the link is FIFO) hold at most maxInflightBytes, the device's
 *   receive ring. Raw writes count until a later reply, or at most until they could have been
 *   read at 115200 baud.
 *
 * A session begins with hello, sent alone (nothing else unanswered) after one `\n`, with a random
 * seq; the session's requests follow it consecutively (wrapping at 2^32). A request gets its seq
 * when it is first transmitted, so requests queued before the hello wait for it.
 *
 * Retransmission (on unless `retransmit: false`): selective repeat with the device's hold
 * (§3.3 rule 5): `[seq, 14, next]` marks the request held (it is never resent while held: it will
 * run once the gap fills) and, like any reply, shows the device read every transmission before it;
 * go-back-N on `[seq, 12, next]` (a gap the hold could not take), once per gap, resending the
 * unanswered requests from next that are not held;
 * fast retransmit of a request whose transmission the device read without a reply (a response or
 * `held`) coming back for it; go-back from the oldest unanswered request when its RTO (RFC 6298, Karn's rule, doubled
 * on an expiry with nothing heard since the transmission, within rto_max_ms) expires. After maxAttempts transmissions a request fails with
 * RetriesExhausted. Nothing received for deadLinkMs while requests are unanswered fails every
 * unanswered and queued request at once with LinkDead.
 *
 * Probes (when the client gives a probe encoder): a retransmission with no new request behind it
 * and none queued (a tail: RFC 8985's tail-loss probe, for a go-back-N receiver) is followed by a probe `[seq]` whose seq is half the seq space away, which the device answers
 * `[seq, out_of_sequence, next]` without executing anything (PROTOCOL.md §3.3 rule 5). Its
 * answer shows at once, without waiting for an RTO, that the retransmission ahead of it was read
 * and not answered (it was damaged: it is resent, as a fast retransmit), and it keeps a lossy
 * link from looking dead: a long request that the noise keeps damaging gets no answer at all,
 * but the probe behind it, a dozen bytes, almost always does (the RTO then does not back off).
 *
 * Recalls (with the same encoder): a request the device is known to have executed (a reply showed
 * a `next` past it, or answered a later request) whose response did not arrive is resent as the
 * bare `[seq]`: the device answers a duplicate from its cache whatever the message holds (§3.3
 * rule 1), so the full request need not cross again. On a noisy line that is what lets a long
 * request through: its answer must arrive intact once, and each recall costs a dozen bytes
 * instead of the whole request, whose own chance of crossing is as small as its answer's. A recall
 * is only ever sent for a seq the device is known to be past: at `next` it would run as a request
 * of its own (and be answered bad_arg).
 *
 * Attempts: a request is given attemptBudget() transmissions, max_attempts per ATTEMPT_BYTES of
 * its round trip (a long frame is hit more often).
 *
 * Congestion window (a fourth bound, on unanswered requests only): halved on each go-back or RTO,
 * and between losses held near the link's bandwidth-delay product by the round trips (TCP Vegas):
 * on a paced wire a go-back resends every request queued after the gap, so a queue beyond the
 * bandwidth-delay product costs retransmissions and buys no throughput.
 *
 * Without retransmission each request is transmitted once and fails with RequestTimeout after
 * timeoutMs; a request refused with out_of_sequence settles with that reply, and the seqs of new
 * requests restart at the device's `next` once every unanswered request has settled.
 */
import { Framing, Link as LinkDefaults, Op, OpFacts } from '../protocol/constants.js';

/** Timers and time, injectable so the unit tests run on a fake clock. Times in milliseconds. */
export interface Clock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** Whether a timer keeps the process alive. */
  refTimer(handle: unknown, ref: boolean): void;
  /** Runs fn after pending I/O has been read (setImmediate): a dead-link verdict waits for it. */
  afterIo(fn: () => void): void;
}

export const realClock: Clock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
  refTimer: (h, ref) => void (ref ? (h as NodeJS.Timeout).ref() : (h as NodeJS.Timeout).unref()),
  afterIo: (fn) => void setImmediate(fn),
};

/** Options of the link layer; every one has a default from the generated `Link` constants. */
export interface LinkOptions {
  /** Most unanswered requests (further bounded by hello's replay_depth); default Link.replayDepth (32). */
  maxInflightRequests?: number;
  /** Most bytes of request lines not yet read by the device; default Framing.maxInflightBytes (1024). */
  maxInflightBytes?: number;
  /** Retransmit lost requests and responses; default true. */
  retransmit?: boolean;
  /**
   * The line's baud rate when it is known (a serial port's, or the link emulator's pace): how fast
   * the device can read raw bytes, which count in the window until then at the latest; default
   * 115200 (a pty, whose device side reads as fast as it can, is bounded as a 115200 line).
   */
  lineBaud?: number;
  /** Transmissions of one request per ATTEMPT_BYTES of its round trip before it fails with RetriesExhausted (attemptBudget); default Link.maxAttempts (40). */
  maxAttempts?: number;
  /** RTO before the first round-trip sample, ms; default Link.rtoInitialMs (250). */
  rtoInitialMs?: number;
  /** RTO floor, ms; default Link.rtoMinMs (10). */
  rtoMinMs?: number;
  /** RTO ceiling, backoff included, ms; default Link.rtoMaxMs (1000). */
  rtoMaxMs?: number;
  /** Silence (nothing received) while requests are unanswered that makes the link dead, ms; default Link.deadLinkMs (1500). */
  deadLinkMs?: number;
}

/** Link quality since the client was made. Times in milliseconds. */
/** Requests answered after a retransmission that are watched for a second, needless answer. */
const SPURIOUS_WATCH = 256;

export interface LinkStats {
  /** Request lines written, retransmissions included. */
  transmissions: number;
  /** Transmissions of a request after its first. */
  retransmits: number;
  /** Bytes of request lines written again (the retransmits' share of the wire). */
  retransmittedBytes: number;
  /** `[seq, out_of_sequence, next]` replies received, stale ones included (each a request the device refused). */
  outOfSequence: number;
  /** `[seq, out_of_sequence, next]` replies acted on (go-back-N); stale ones are not counted. */
  goBacks: number;
  /** Requests resent because a later reply showed their request or response was lost. */
  fastRetransmits: number;
  /** `[seq, held, next]` replies received: requests the device kept past a gap (§3.3 rule 5). */
  held: number;
  /** Probes written after retransmissions with nothing new behind them (see Link: probes). */
  probes: number;
  /** Retransmissions sent as the bare `[seq]` of a request the device had executed (see Link: recalls). */
  recalls: number;
  /** RTO expiries (each a go-back from the oldest unanswered request). */
  timeouts: number;
  /** Time the RTO expiries waited: from the later of the last answer and the oldest request's transmission to the expiry, ms. */
  timeoutWaitMs: number;
  /** Times the seqs were renumbered because the device expects a seq whose request has settled. */
  resyncs: number;
  /** Requests failed with RetriesExhausted. */
  exhausted: number;
  /** Times the link was declared dead. */
  deadLinks: number;
  /**
   * Second answers to a request answered after a retransmission: that resend was needless (its
   * first transmission or answer was only late), so the RTO was too short and was doubled.
   */
  spuriousRetransmits: number;
  /** The current retransmission timeout (backoff included). */
  rtoMs: number;
  /** Smoothed round trip; undefined before the first sample. */
  srttMs: number | undefined;
  rttvarMs: number | undefined;
  /** The congestion window now, in requests (AIMD; at most the request window). */
  cwnd: number;
  /** attempts[n]: requests answered after n transmissions (index 0 unused). */
  attempts: number[];
  /** The most transmissions any answered request needed. */
  maxAttemptsUsed: number;
  /**
   * Requests sent while no other request was unanswered: each starts a round trip on an idle link
   * (it pays the whole round trip, and an adapter's latency timer, alone). A suite that keeps the
   * wire busy keeps it low.
   */
  idleStarts: number;
}

/** A request as the link sees it. The client creates it; the link fills in the wire state. */
export interface LinkRequest {
  readonly code: number;
  readonly name: string;
  readonly args: readonly unknown[];
  /** Overall bound from the first transmission, ms; undefined: bounded by attempts and the dead link only. */
  readonly timeoutMs: number | undefined;
  /** Encodes the request line `~base64(CBOR [seq, code, ...args] + CRC)\n` for a seq; throws on unencodable args. */
  encode(seq: number): Buffer;
  /** Called once with the reply message (`[seq, code, ...]`) or an error. */
  settle(error: Error | undefined, message?: unknown[]): void;
  seq: number;
  line: Buffer;
  /** Largest possible response message, bytes (PROTOCOL.md §3.3 window rule). */
  maxResponse: number;
  attempts: number;
  firstTxAt: number;
  lastTxAt: number;
  /** Transmission number of the first transmission. */
  firstTx: number;
  /** Transmission number of the latest transmission. */
  lastTx: number;
  /**
   * The device answered `held` to it in this session: it will run once the gap before it fills,
   * so it is not resent (a reply to it will come). Cleared when it gets a new seq.
   */
  held: boolean;
  /**
   * A reply showed the device executed it in this session (a response to a later request, or a
   * `held`/`out_of_sequence` reply naming a `next` past it) and its response has not arrived: it
   * is resent as a recall, the bare `[seq]` (see Link: recalls). Cleared when it gets a new seq.
   */
  ran: boolean;
  done: boolean;
}

/** Round-trip bytes (request line plus largest response line) per max_attempts transmissions (attemptBudget; constants.json link.attempt_bytes). */
export const ATTEMPT_BYTES: number = LinkDefaults.attemptBytes;

/** Length of the frame line `~base64(message + CRC)\n` that carries a message of `messageBytes` bytes. */
export function lineBytesOf(messageBytes: number): number {
  return 2 + 4 * Math.ceil((messageBytes + Framing.crcBytes) / 3);
}

/**
 * Transmissions a request is given before it fails with RetriesExhausted: `maxAttempts` for each
 * ATTEMPT_BYTES of its round trip (its request line plus the line of its largest response), and
 * at least `maxAttempts`. A frame's chance of crossing a noisy line intact falls with its length,
 * so a fixed count fails the long requests first and on a cable the short ones cross easily: at a
 * byte error rate of 1e-2 a 520-byte line arrives intact once in 185 tries, a 20-byte one 82 times
 * in 100. Scaled so, a full-size echo (520 bytes each way) gets 2,600 transmissions, enough that
 * at 1e-2 it fails about once in 10^5 (its request once intact, its answer once recalled intact);
 * a store (about 36 bytes) gets 120. A dead link still fails everything at once (dead_link_ms).
 */
export function attemptBudget(maxAttempts: number, requestLineBytes: number, maxResponseBytes: number): number {
  return maxAttempts * Math.max(1, Math.ceil((requestLineBytes + lineBytesOf(maxResponseBytes)) / ATTEMPT_BYTES));
}

/**
 * Whether a request opens a session: a hello of exactly [seq, 0] (PROTOCOL.md §3.3 rule 2). A hello
 * with arguments is an ordinary request of the session (the device answers it bad_arg in turn).
 */
export function opensSession(r: Pick<LinkRequest, 'code' | 'args'>): boolean {
  return r.code === Op.hello && r.args.length === 0;
}

/** Bytes written that expect no answer (PoolClient.sendMessage / writeRaw). */
export interface LinkRaw {
  readonly line: Buffer;
  readonly frame: boolean;
  readonly settle: (error?: Error) => void;
}

/** Builds the errors the link fails requests with; the client names its target and formats arguments. */
export interface LinkErrors {
  timeout(r: LinkRequest): Error;
  exhausted(r: LinkRequest, stats: LinkStats): Error;
  dead(silentMs: number, failed: number, stats: LinkStats): (r: LinkRequest | LinkRaw) => Error;
  protocol(r: LinkRequest, what: string): Error;
  /** The device answered `[seq, no_session]`: it lost its session (a reboot). */
  noSession(r: LinkRequest): void;
  /**
   * The link ended its session itself (a request the device expects settled without running, so
   * the requests after it need a new session): queue a hello, as for a first request.
   */
  sessionEnded(): void;
}

interface Tx {
  seq: number; // -1 for raw bytes
  req: LinkRequest | undefined;
  raw: LinkRaw | undefined;
  bytes: number;
  tx: number;
  /** When they have surely been read even if no reply shows it (at the line's rate); raw bytes, probes and settled requests leave the window then. */
  deadline: number;
  /** When it was written (a probe's answer is a round-trip sample). */
  at: number;
}

/** The line rate assumed when none is given (LinkOptions.lineBaud), in baud. */
const DEFAULT_LINE_BAUD = 115_200;
const RAW_SETTLE_MS = 5;
/** Clock granularity G of RFC 6298, ms. */
const GRANULARITY_MS = 1;
/** Round-trip samples a link keeps for reports (the latest; 4096 × 8 bytes). */
export const RTT_SAMPLES_KEPT = 4096;
const HALF = 0x80000000;
/**
 * Delay-based window bounds (TCP Vegas, Brakmo & Peterson 1994), in requests queued beyond the
 * bandwidth-delay product: fewer than ALPHA and the window grows, more than BETA and it shrinks.
 */
const QUEUED_ALPHA = 2;
const QUEUED_BETA = 4;
/** The congestion window's floor, in requests: at 115200 baud 4 requests cover the bandwidth-delay product. */
const CWND_MIN = 4;
/** Round-trip samples per epoch of the least-round-trip filter (the least of this epoch and the last). */
const MIN_RTT_EPOCH = 256;
/**
 * The window shrinks for queueing only while the link is lossy: within this many round-trip
 * samples of the last go-back or RTO. A queue costs nothing on a link that loses nothing (and on
 * an unpaced link the round trips vary with the host's load, not with a queue on a wire).
 */
const LOSSY_SAMPLES = 1024;

/** Largest possible response message of a request whose message is `messageLength` bytes (PROTOCOL.md §3.3). */
export function maxResponseOf(code: number, args: readonly unknown[], messageLength: number): number {
  const rule = OpFacts[code]?.maxResponse ?? 'max_message';
  if (typeof rule === 'number') return rule;
  if (rule === 'max_message') return Framing.maxMessageBytes;
  // An echo's response has the request's length; the seq may be re-encoded up to 4 bytes wider.
  if (rule === 'request') return Math.min(Framing.maxMessageBytes, messageLength + 4);
  const entries = Array.isArray(args[0]) ? (args[0] as unknown[]) : [];
  let n = 9;
  for (const e of entries) n += Array.isArray(e) && typeof e[0] === 'number' && OpFacts[e[0]]?.result === 'int32' ? 7 : 2;
  return n;
}

export class Link {
  private readonly clock: Clock;
  private readonly errors: LinkErrors;
  private readonly write: (data: Buffer, raws: LinkRaw[] | undefined, sent: LinkRequest[] | undefined) => void;
  private readonly maxRequestsOption: number;
  private readonly maxBytes: number;
  readonly retransmit: boolean;
  private readonly maxAttempts: number;
  private readonly rtoMin: number;
  private readonly rtoMax: number;
  /** How fast the device can read raw bytes, bytes/ms (LinkOptions.lineBaud). */
  private readonly lineBytesPerMs: number;
  private readonly deadLinkMs: number;

  private depthLimit: number;
  private bytesLimit: number = LinkDefaults.replayBytes;

  private queue: (LinkRequest | LinkRaw)[] = [];
  private queueHead = 0;
  /** Oldest unanswered request .. newest sent, consecutive seqs from span[spanHead].seq. */
  private span: LinkRequest[] = [];
  private spanHead = 0;
  private spanResponse = 0;
  private unanswered = 0;
  /** Index into span from which unanswered requests are (re)transmitted before anything new. */
  private cursor = 0;
  private fast: LinkRequest[] = [];
  private fifo: Tx[] = [];
  private fifoHead = 0;
  private fifoBytes = 0;
  private txCount = 0;
  /** Replies to transmissions numbered up to this were sent before the last go-back: stale. */
  private goBackTx = 0;

  /** 'lent': open, and lent to a caller writing its own frames (lend()); requests wait for it back. */
  private session: 'none' | 'opening' | 'open' | 'lent' = 'none';
  private nextSeq = 0;
  /**
   * The session is to end once nothing of it is unanswered (restartSession): a request the device
   * expects settled without running (a failure here; without retransmission, a refusal).
   */
  private restartPending = false;

  private srtt: number | undefined;
  private rttvar: number | undefined;
  /** The last RTT_SAMPLES_KEPT round-trip samples (ms), a ring from rttNext: what reports plot. */
  private readonly rtts: number[] = [];
  private rttNext = 0;
  private rto: number;
  private lastRxAt = 0;
  /**
   * When the last request was answered. The RTO runs from the later of this and the oldest
   * unanswered request's transmission (RFC 6298 §5.3: restart the timer when new data is
   * acknowledged), so requests queued behind a full window on a slow wire are not expired for
   * the time they waited behind the others.
   */
  private lastAnswerAt = 0;
  /**
   * Congestion window: the most unanswered requests (answered ones inside the span do not count:
   * the replay depth bounds the span). Every go-back resends every unanswered request after the
   * gap, so a window past the link's bandwidth-delay product is mostly wasted retransmissions on
   * a lossy wire. Halved on each go-back or RTO (never below CWND_MIN); between losses it follows
   * the round trips (delay(): it grows while few requests queue on the wire, shrinks when many do).
   */
  private cwnd: number = LinkDefaults.replayDepth;
  private minRttCur = Infinity;
  private minRttPrev = Infinity;
  private minRttSamples = 0;
  /** Round-trip samples so far, and the count up to which the link counts as lossy (LOSSY_SAMPLES after the last go-back or RTO). */
  private samples = 0;
  private lossyUntil = 0;
  /**
   * The congestion state before the last RTO expiry, and the seq of the request it went back
   * from: restored when that request turns out answered twice (the expiry was spurious, see
   * spurious()); cleared by any later go-back.
   */
  private rtoUndo: { seq: number; cwnd: number; lossyUntil: number } | undefined;
  private busySince = 0;

  private timer: unknown;
  private armedFor = Infinity;
  private pumpScheduled = false;
  private deadCheck = false;
  private rtoCheck = false;
  private afterRto = false;
  private closed = false;

  /** Encodes the bare `[seq]`: a probe (at a seq half the seq space away) or a recall (at an executed request's seq). */
  private readonly probeLine: ((seq: number) => Buffer) | undefined;
  /** Seqs answered after more than one transmission, the latest SPURIOUS_WATCH: a second answer to one is a needless resend. */
  private readonly resentAnswered = new Set<number>();
  private lastSpuriousAt = -Infinity;
  private readonly counters = { transmissions: 0, retransmits: 0, retransmittedBytes: 0, outOfSequence: 0, goBacks: 0, fastRetransmits: 0, held: 0, probes: 0, recalls: 0, timeouts: 0, timeoutWaitMs: 0, resyncs: 0, exhausted: 0, deadLinks: 0, spuriousRetransmits: 0, maxAttemptsUsed: 0, idleStarts: 0 };
  private readonly attempts: number[] = [0];

  constructor(
    write: (data: Buffer, raws: LinkRaw[] | undefined, sent: LinkRequest[] | undefined) => void,
    errors: LinkErrors,
    options: LinkOptions = {},
    clock: Clock = realClock,
    probeLine?: (seq: number) => Buffer,
  ) {
    this.probeLine = probeLine;
    this.write = write;
    this.errors = errors;
    this.clock = clock;
    this.maxRequestsOption = Math.max(1, options.maxInflightRequests ?? LinkDefaults.replayDepth);
    this.depthLimit = Math.min(this.maxRequestsOption, LinkDefaults.replayDepth);
    this.maxBytes = options.maxInflightBytes ?? Framing.maxInflightBytes;
    this.retransmit = options.retransmit ?? true;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? LinkDefaults.maxAttempts);
    this.rtoMin = options.rtoMinMs ?? LinkDefaults.rtoMinMs;
    this.rtoMax = Math.max(this.rtoMin, options.rtoMaxMs ?? LinkDefaults.rtoMaxMs);
    // 8N1: 10 bits a byte.
    this.lineBytesPerMs = (options.lineBaud !== undefined && options.lineBaud > 0 ? options.lineBaud : DEFAULT_LINE_BAUD) / 10 / 1000;
    this.rto = Math.min(this.rtoMax, Math.max(this.rtoMin, options.rtoInitialMs ?? LinkDefaults.rtoInitialMs));
    this.deadLinkMs = options.deadLinkMs ?? LinkDefaults.deadLinkMs;
  }

  /** Applies a device's replay cache size from its hello (keys 13, 14). */
  setReplayLimits(depth: number, bytes: number): void {
    this.depthLimit = Math.max(1, Math.min(this.maxRequestsOption, depth));
    this.bytesLimit = Math.max(Framing.maxMessageBytes, bytes);
  }

  /** The round-trip samples the RTO learnt from (ms; requests answered after one transmission), oldest first; at most RTT_SAMPLES_KEPT, the latest. */
  rttSamples(): number[] {
    return [...this.rtts.slice(this.rttNext), ...this.rtts.slice(0, this.rttNext)];
  }

  get stats(): LinkStats {
    return { ...this.counters, rtoMs: this.rto, srttMs: this.srtt, rttvarMs: this.rttvar, cwnd: Math.floor(this.cwnd), attempts: [...this.attempts] };
  }

  /** Requests and raw writes waiting for the window, and requests unanswered. */
  get load(): { queued: number; unanswered: number } {
    return { queued: this.queue.length - this.queueHead, unanswered: this.unanswered };
  }

  get sessionOpen(): boolean {
    return this.session === 'open';
  }

  /** Whether the session is lent (lend()): requests, hello included, wait until it is given back. */
  get sessionLent(): boolean {
    return this.session === 'lent';
  }

  /**
   * Lends the open session to a caller that writes its own frames (through raw writes, which still
   * go out): returns the seq the device expects next. Only with nothing unanswered or queued
   * (undefined otherwise, and when no session is open). Requests issued meanwhile, hello
   * included, wait for giveBack().
   */
  lend(): number | undefined {
    if (this.session !== 'open' || this.unanswered > 0 || this.queueHead < this.queue.length) return undefined;
    this.session = 'lent';
    return this.nextSeq;
  }

  /**
   * Takes the lent session back: the device expects `next` (the borrower had every seq before it
   * answered), or, with undefined, the borrower left the session unknown and the next request
   * opens a new one with hello. Nothing happens when the session ended meanwhile (endSession).
   */
  giveBack(next: number | undefined): void {
    if (this.session !== 'lent') return;
    if (next === undefined) this.session = 'none';
    else {
      this.session = 'open';
      this.nextSeq = next >>> 0;
    }
    this.schedulePump();
  }

  /**
   * The borrower of a lent session saw the device answer a frame that ended its latest raw write
   * (the answer to a probe it put last): every raw byte written so far has been read, so those
   * bytes leave the byte window now instead of at line time (a borrower that resends long frames
   * on a noisy line would otherwise wait the line time of each resend).
   */
  rawRead(): void {
    let last = -1;
    for (let i = this.fifoHead; i < this.fifo.length; i++) if (this.fifo[i]!.raw) last = i;
    if (last < 0) return;
    for (let k = this.fifoHead; k <= last; k++) this.fifoBytes -= this.fifo[k]!.bytes;
    this.fifoHead = last + 1;
    if (this.fifoHead === this.fifo.length) this.clearFifo();
    this.schedulePump();
  }

  /** Whether a hello is queued or unanswered. */
  get helloPending(): boolean {
    if (this.session === 'opening') return true;
    for (let i = this.queueHead; i < this.queue.length; i++) if (isRequest(this.queue[i]!) && opensSession(this.queue[i] as LinkRequest)) return true;
    return false;
  }

  submit(item: LinkRequest | LinkRaw): void {
    this.queue.push(item);
    this.schedulePump();
  }

  /** Something arrived (any byte): the link is alive. */
  heard(): void {
    this.lastRxAt = this.clock.now();
  }

  /**
   * A reply `[seq, code, ...]` arrived. Returns false when it answers no unanswered request
   * (the client reports it as unsolicited).
   */
  onReply(seq: number, message: unknown[]): boolean {
    this.consumed = EMPTY;
    const r = this.find(seq);
    const code = message[1];
    // Every reply answers one transmission but a response of a request the device held: it comes
    // when the gap fills, maybe after replies to later transmissions (even to a resend of it), so
    // a response shows only that the device read the request's first transmission.
    const response = r !== undefined && code !== 12 && code !== 13 && code !== 14;
    const t = this.consumedThrough(seq, response ? r.firstTx : Infinity);
    if (r === undefined) {
      if (this.resentAnswered.delete(seq)) this.spurious(seq);
      if (t !== undefined) this.fastRetransmitBefore(t);
      if (t !== undefined && (code === 12 || code === 14) && message.length === 3 && typeof message[2] === 'number') this.ranThrough(message[2] >>> 0, t);
      // A probe is sent once (each has a seq of its own), so its answer is a round trip Karn's rule
      // allows: it sets the RTO back from a backoff that a stuck request's lost replies had built
      // (a long request on a noisy line gets no sample of its own for hundreds of attempts, and
      // each lost probe answer would then cost rto_max_ms).
      if (t !== undefined && t.req === undefined && t.raw === undefined) this.sample(this.clock.now() - t.at);
      this.schedulePump();
      return t !== undefined && t.req === undefined && t.raw === undefined; // a probe's answer is expected
    }
    if (code === 12 && message.length === 3 && typeof message[2] === 'number') {
      this.counters.outOfSequence++;
      const next = message[2] >>> 0;
      const d = (next - seq) >>> 0;
      if (d !== 0 && d < HALF) {
        this.fail(r, this.errors.protocol(r, `answered out_of_sequence expecting seq ${next}, after this request's seq ${seq}: its response has left the device's replay cache (a host window bug)`));
      } else if (!this.retransmit) {
        this.restartPending = true;
        this.answer(r, message);
      } else if (t !== undefined && t.tx > this.goBackTx) {
        this.ranThrough(next, undefined);
        this.goBack(next, t);
      } else if (t !== undefined) {
        this.fastRetransmitBefore(t);
        this.ranThrough(next, t);
      }
      this.schedulePump();
      return true;
    }
    if (code === 14 && message.length === 3 && typeof message[2] === 'number') {
      this.counters.held++;
      const next = message[2] >>> 0;
      const d = (next - seq) >>> 0;
      if (d === 0 || d < HALF) {
        this.fail(r, this.errors.protocol(r, `answered held expecting seq ${next}, not after this request's seq ${seq}: a device bug`));
      } else if (!this.retransmit) {
        // Nothing resends the gap: the held request would wait for ever, and its hold must not
        // outlive the session (restartSession).
        this.restartPending = true;
        this.answer(r, message);
      } else if (this.find(next) === undefined) {
        // The device waits for a request that settled here (it failed): this one can never run in
        // this session.
        this.resync(next);
      } else {
        r.held = true;
        if (t !== undefined) {
          this.fastRetransmitBefore(t);
          this.ranThrough(next, t);
        }
      }
      this.schedulePump();
      return true;
    }
    if (code === 13 && message.length === 2) {
      this.errors.noSession(r);
      return true;
    }
    this.consumed = EMPTY;
    this.ranBefore(r);
    if (r.attempts === 1 && !r.held) {
      // A held request's answer waited for the gap: no round trip of the link (Karn, extended).
      this.sample(this.clock.now() - r.firstTxAt);
      this.delay(this.clock.now() - r.firstTxAt);
    }
    this.attempts[r.attempts] = (this.attempts[r.attempts] ?? 0) + 1;
    if (r.attempts > this.counters.maxAttemptsUsed) this.counters.maxAttemptsUsed = r.attempts;
    if (opensSession(r)) {
      this.session = 'open';
      this.nextSeq = (r.seq + 1) >>> 0;
      this.restartPending = false;
    }
    this.answer(r, message);
    this.schedulePump();
    return true;
  }

  /** Fails every unanswered and queued request (and raw write) matching `which` with `error(item)`. */
  failAll(error: (item: LinkRequest | LinkRaw) => Error, which: (item: LinkRequest | LinkRaw) => boolean = () => true): number {
    let n = 0;
    for (let i = this.spanHead; i < this.span.length; i++) {
      const r = this.span[i]!;
      if (!r.done && which(r)) {
        this.fail(r, error(r));
        n++;
      }
    }
    const queued = this.queue.slice(this.queueHead);
    const keep: (LinkRequest | LinkRaw)[] = [];
    this.queue = keep;
    this.queueHead = 0;
    for (const q of queued) {
      if (!which(q)) {
        keep.push(q);
        continue;
      }
      n++;
      if (isRequest(q)) q.settle(error(q));
      else q.settle(error(q));
    }
    if (this.session === 'opening' && !this.helloPending) this.session = 'none';
    this.schedulePump();
    return n;
  }

  /** The device lost its session (no_session, a banner, a new nonce): a hello must open a new one. */
  endSession(): void {
    if (this.session === 'open' || this.session === 'lent') this.session = 'none';
    this.clearFifo();
  }

  /** Stops the timers; the client fails what is left with its own error. */
  close(error: (item: LinkRequest | LinkRaw) => Error): void {
    this.failAll(error);
    this.closed = true;
    this.clearFifo();
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  // ---- transmitting ----

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pump);
  }

  private fits(n: number): boolean {
    return this.fifoBytes === 0 || this.fifoBytes + n <= this.maxBytes;
  }

  /** Writes what the window allows: fast retransmits, then a go-back's resends, then new requests, as one write. */
  readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.closed) return;
    const lines: Buffer[] = [];
    let sent: LinkRequest[] | undefined;
    let raws: LinkRaw[] | undefined;
    const now = this.clock.now();
    let resent = false;
    let fresh = false;
    if (this.fast.length > 0) {
      for (const r of this.fast.splice(0)) if (!r.done && this.transmit(r, now, lines)) ((sent ??= []).push(r), (resent = true));
    }
    if (this.afterRto && this.cursor < this.span.length) {
      // After silence the device's line assembler may hold a partial line (a lost `\n` would
      // swallow the resend too): end it first, as before a hello.
      lines.push(NEWLINE);
    }
    this.afterRto = false;
    while (this.cursor < this.span.length) {
      const r = this.span[this.cursor]!;
      if (r.done || r.held || r.lastTx > this.goBackTx) {
        this.cursor++;
        continue;
      }
      if (!this.fits(this.lineOf(r).length)) break;
      this.cursor++;
      if (this.transmit(r, now, lines)) ((sent ??= []).push(r), (resent = true));
    }
    if (this.cursor >= this.span.length) {
      const queue = this.queue;
      while (this.queueHead < queue.length) {
        const item = queue[this.queueHead]!;
        if (!isRequest(item)) {
          if (!this.fits(item.line.length)) break;
          this.queueHead++;
          this.pushTx(-1, undefined, item, item.line.length, this.readBy(now, item.line.length));
          lines.push(item.line);
          (raws ??= []).push(item);
          continue;
        }
        if (opensSession(item)) {
          if (this.spanHead < this.span.length || this.session === 'opening' || this.session === 'lent') break; // hello goes alone
          if (!this.prepare(item, (Math.random() * 0x100000000) >>> 0)) continue;
          this.queueHead++;
          this.enter(item);
          this.session = 'opening';
          lines.push(NEWLINE); // ends any partial line in the device's assembler (§3.3)
          this.transmit(item, now, lines);
          (sent ??= []).push(item);
          break;
        }
        if (this.restartPending && this.session === 'open') {
          if (this.spanHead < this.span.length) break;
          this.restartSession();
          continue;
        }
        if (this.session !== 'open') {
          if (this.session === 'none' && this.promoteHello()) continue;
          break; // waits for the hello
        }
        if (this.span.length - this.spanHead >= this.depthLimit) break;
        if (this.unanswered >= Math.floor(this.cwnd)) break;
        if ((item.line === UNSENT || item.seq !== this.nextSeq) && !this.prepare(item, this.nextSeq)) continue;
        if (this.spanHead < this.span.length && this.spanResponse + item.maxResponse > this.bytesLimit) break;
        if (!this.fits(item.line.length)) break;
        this.queueHead++;
        this.enter(item);
        this.nextSeq = (this.nextSeq + 1) >>> 0;
        this.transmit(item, now, lines);
        (sent ??= []).push(item);
        fresh = true;
      }
      if (this.queueHead > 1024 && this.queueHead * 2 > queue.length) {
        this.queue = queue.slice(this.queueHead);
        this.queueHead = 0;
      }
    }
    if (resent && !fresh && this.probeLine && this.session === 'open' && this.unanswered > 0) {
      // A seq half the seq space away is older than any cache (PROTOCOL.md §3.3 rule 5): the
      // device executes nothing and answers [seq, out_of_sequence, next].
      const seq = (this.nextSeq + HALF + this.counters.probes) >>> 0;
      const line = this.probeLine(seq);
      this.counters.probes++;
      this.pushTx(seq, undefined, undefined, line.length, this.readBy(now, line.length));
      lines.push(line);
    }
    if (lines.length === 0) return;
    this.write(lines.length === 1 ? lines[0]! : Buffer.concat(lines), raws, sent);
  };

  /** Gives the request at the queue's head its seq, line and largest response; false (dequeued and settled) when it cannot be encoded. */
  private prepare(r: LinkRequest, seq: number): boolean {
    try {
      r.line = r.encode(seq);
    } catch (e) {
      this.queueHead++;
      r.done = true;
      r.settle(e as Error);
      return false;
    }
    r.seq = seq;
    r.held = false;
    r.ran = false;
    r.maxResponse = maxResponseOf(r.code, r.args, messageLength(r.line));
    return true;
  }

  /** Puts a prepared request at the end of the span. */
  private enter(r: LinkRequest): void {
    if (this.spanHead === this.span.length) {
      this.span = [];
      this.spanHead = 0;
      this.cursor = 0;
    }
    this.span.push(r);
    this.cursor = this.span.length;
    this.spanResponse += r.maxResponse;
    if (this.unanswered++ === 0) {
      this.busySince = this.clock.now();
      this.counters.idleStarts++;
    }
    this.arm(Math.max(this.lastRxAt, this.busySince) + this.deadLinkMs);
  }

  /** The line r's next transmission writes: its request, or its recall once it is known to have run. */
  private lineOf(r: LinkRequest): Buffer {
    return r.ran && this.probeLine ? this.probeLine(r.seq) : r.line;
  }

  /** Writes one transmission of r into `lines`; false when r has used its attempts (and is failed). */
  private transmit(r: LinkRequest, now: number, lines: Buffer[]): boolean {
    if (r.attempts >= attemptBudget(this.maxAttempts, r.line.length, r.maxResponse)) {
      this.counters.exhausted++;
      this.fail(r, this.errors.exhausted(r, this.stats));
      return false;
    }
    const line = this.lineOf(r);
    r.attempts++;
    if (r.attempts === 1) r.firstTxAt = now;
    else {
      this.counters.retransmits++;
      this.counters.retransmittedBytes += line.length;
      if (line !== r.line) this.counters.recalls++;
    }
    r.lastTxAt = now;
    this.counters.transmissions++;
    r.lastTx = this.pushTx(r.seq, r, undefined, line.length, this.readBy(now, line.length));
    if (r.attempts === 1) r.firstTx = r.lastTx;
    lines.push(line);
    const deadline = this.retransmit ? now + this.rto : r.timeoutMs !== undefined ? now + r.timeoutMs : Infinity;
    this.arm(r.timeoutMs !== undefined ? Math.min(deadline, r.firstTxAt + r.timeoutMs) : deadline);
    return true;
  }

  /** When `bytes` written at `now` have surely been read, if nothing is to show it sooner: at the line's rate. */
  private readBy(now: number, bytes: number): number {
    return now + RAW_SETTLE_MS + bytes / this.lineBytesPerMs;
  }

  private pushTx(seq: number, req: LinkRequest | undefined, raw: LinkRaw | undefined, bytes: number, deadline: number): number {
    const tx = ++this.txCount;
    this.fifo.push({ seq, req, raw, bytes, tx, deadline, at: this.clock.now() });
    this.fifoBytes += bytes;
    if (raw) this.arm(deadline);
    return tx;
  }

  // ---- receiving ----

  /** The unanswered request with this seq. */
  private find(seq: number): LinkRequest | undefined {
    if (this.spanHead === this.span.length) return undefined;
    const i = this.spanHead + ((seq - this.span[this.spanHead]!.seq) >>> 0);
    const r = i < this.span.length ? this.span[i] : undefined;
    return r !== undefined && !r.done && r.seq === seq ? r : undefined;
  }

  /**
   * A reply to `seq` proves the device read every line written before the transmission it
   * answers (the earliest not yet consumed one of that seq): drops them from the byte window and
   * returns that transmission, or undefined when none is recorded (sent before the last go-back
   * cleared the record, or a seq this client never sent).
   */
  private consumedThrough(seq: number, maxTx = Infinity): Tx | undefined {
    const fifo = this.fifo;
    let i = this.fifoHead;
    while (i < fifo.length && fifo[i]!.seq !== seq) i++;
    if (i === fifo.length || fifo[i]!.tx > maxTx) return undefined;
    const t = fifo[i]!;
    this.consumed = i > this.fifoHead ? fifo.slice(this.fifoHead, i) : EMPTY;
    for (let k = this.fifoHead; k <= i; k++) this.fifoBytes -= fifo[k]!.bytes;
    this.fifoHead = i + 1;
    if (this.fifoHead === fifo.length) {
      this.fifo = [];
      this.fifoHead = 0;
    }
    return t;
  }

  /** Transmissions consumed before the one the last reply answered. */
  private consumed: Tx[] = [];

  /** Resends requests whose latest transmission the device read without their response coming back. */
  private fastRetransmitBefore(_t: Tx): void {
    const consumed = this.consumed;
    this.consumed = EMPTY;
    for (const c of consumed) {
      if (c.raw || !c.req) continue; // raw bytes, or a probe
      const p = c.req!;
      if (!this.retransmit || p.done || p.held || p.lastTx !== c.tx) continue;
      const i = this.indexOf(p);
      if (i >= this.cursor && i >= 0) continue; // a go-back will resend it anyway
      this.counters.fastRetransmits++;
      this.fast.push(p);
    }
  }

  /**
   * A response to r: the device executed every request before it, the held ones included (they
   * ran when their gap filled), and wrote their responses before r's. One still unanswered whose
   * latest transmission went out before r's first lost its response (or the reply to that
   * transmission): resend it (the copy comes from the cache). One resent since may have its
   * answer on the way; a later response or its RTO decides.
   */
  private ranBefore(r: LinkRequest): void {
    const end = this.indexOf(r);
    for (let i = this.spanHead; i < end; i++) {
      const p = this.span[i]!;
      if (p.done) continue;
      p.ran = true;
      if (p.lastTx >= r.firstTx) continue;
      p.held = false;
      if (!this.retransmit || i >= this.cursor || this.fast.includes(p)) continue; // a go-back will resend it anyway, or it is already to be resent
      this.counters.fastRetransmits++;
      this.fast.push(p);
    }
  }

  /**
   * A reply (to transmission `t`, when known) names the seq the device expects: every request
   * before it ran, so one still unanswered lost its response and is resent as a recall from now on
   * (it is no longer held either: it ran when its gap filled). With `t`, one whose latest
   * transmission the device read before writing that reply is resent now (its answer was lost),
   * as ranBefore() does for a response. Only replies to transmissions of this session (`t`
   * recorded, or a request of the span) are taken: a probe's reply from before a new session
   * names the old session's `next`.
   */
  private ranThrough(next: number, t: Tx | undefined): void {
    for (let i = this.spanHead; i < this.span.length; i++) {
      const p = this.span[i]!;
      const d = (next - p.seq) >>> 0;
      if (d === 0 || d >= HALF) break; // the span's seqs are consecutive: the rest are not before next
      if (p.done) continue;
      p.ran = true;
      p.held = false;
      if (t === undefined || !this.retransmit || p.lastTx >= t.tx || i >= this.cursor || this.fast.includes(p)) continue;
      this.counters.fastRetransmits++;
      this.fast.push(p);
    }
  }

  private indexOf(r: LinkRequest): number {
    if (this.spanHead === this.span.length) return -1;
    const i = this.spanHead + ((r.seq - this.span[this.spanHead]!.seq) >>> 0);
    return i < this.span.length && this.span[i] === r ? i : -1;
  }

  /** `[r, 12, next]` for a transmission after the last go-back: resend every unanswered request from `next`. */
  private goBack(next: number, t: Tx): void {
    this.counters.goBacks++;
    const target = this.find(next);
    this.consumed = EMPTY; // every unanswered request from the cursor is resent below
    if (target === undefined) return this.resync(next);
    let from = this.indexOf(target);
    for (let i = this.spanHead; i < from; i++) if (!this.span[i]!.done) from = i; // lost responses before next
    void t;
    this.startGoBack(from);
  }

  private startGoBack(from: number): void {
    this.rtoUndo = undefined;
    this.cwnd = Math.max(CWND_MIN, Math.min(this.cwnd, this.depthLimit) / 2);
    this.lossyUntil = this.samples + LOSSY_SAMPLES;
    this.goBackTx = this.txCount;
    this.cursor = Math.min(this.cursor, from);
  }

  /**
   * The device expects `next`, whose request has settled (it failed here): nothing from `next` on
   * was executed, and the device may hold requests after it that can never run in this session
   * (§3.3 rule 5: a held request runs only after every one before it). Renumbering them would let
   * a stale held copy run under a new request's seq, so the session ends instead: the unanswered
   * requests from `next` on go back to the head of the queue, unsent, and once the ones before
   * `next` are answered (from the cache, which the new session empties) a hello opens a new
   * session, whose seqs they take (restartSession).
   */
  private resync(next: number): void {
    const keep: LinkRequest[] = [];
    const tail: LinkRequest[] = [];
    for (let i = this.spanHead; i < this.span.length; i++) {
      const r = this.span[i]!;
      const d = (r.seq - next) >>> 0;
      if (d < HALF) {
        if (!r.done) tail.push(r);
      } else {
        keep.push(r);
      }
    }
    for (const r of tail) {
      // Never executed: in the new session it is a new request, with attempts of its own.
      r.line = UNSENT;
      r.seq = -1;
      r.attempts = 0;
      r.firstTx = r.lastTx = 0;
      r.held = false;
      r.ran = false;
      this.unanswered--;
    }
    this.queue = [...tail, ...this.queue.slice(this.queueHead)];
    this.queueHead = 0;
    this.span = keep;
    this.spanHead = 0;
    this.spanResponse = 0;
    for (const r of this.span) this.spanResponse += r.maxResponse;
    this.clearFifo();
    this.goBackTx = this.txCount;
    this.cursor = 0;
    this.restartPending = true;
    this.advanceHead();
  }

  /**
   * Ends the session the link can no longer use (resync) once nothing of it is unanswered, and has
   * the client queue a hello, which the pump then sends ahead of the requests waiting for it.
   */
  private restartSession(): void {
    this.restartPending = false;
    this.counters.resyncs++;
    this.session = 'none';
    this.clearFifo();
    if (!this.helloPending) this.errors.sessionEnded();
    this.promoteHello();
  }

  /** Moves the first queued hello to the head of the queue (a request needs a session first); false when none is queued. */
  private promoteHello(): boolean {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const q = this.queue[i]!;
      if (isRequest(q) && opensSession(q)) {
        if (i > this.queueHead) {
          this.queue.splice(i, 1);
          this.queue.splice(this.queueHead, 0, q);
        }
        return true;
      }
    }
    return false;
  }

  private clearFifo(): void {
    this.fifo = [];
    this.fifoHead = 0;
    this.fifoBytes = 0;
  }

  private answer(r: LinkRequest, message: unknown[]): void {
    this.lastAnswerAt = this.clock.now();
    if (r.attempts > 1) {
      this.resentAnswered.add(r.seq);
      if (this.resentAnswered.size > SPURIOUS_WATCH) this.resentAnswered.delete(this.resentAnswered.values().next().value!);
    }
    this.retire(r);
    r.settle(undefined, message);
  }

  private fail(r: LinkRequest, error: Error): void {
    if (r.done) return;
    if (r.seq !== -1 && this.indexOf(r) >= 0) this.retire(r);
    else r.done = true;
    if (opensSession(r) && this.session === 'opening') {
      this.session = 'none';
      // Requests waiting for this session can only wait for a hello that will not come.
      if (!this.helloPending) this.failWaiting(error);
    }
    r.settle(error);
  }

  private failWaiting(error: Error): void {
    const waiting = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const q of waiting) q.settle(error);
  }

  private retire(r: LinkRequest): void {
    r.done = true;
    this.unanswered--;
    this.advanceHead();
    this.schedulePump();
  }

  private advanceHead(): void {
    const span = this.span;
    while (this.spanHead < span.length && span[this.spanHead]!.done) {
      this.spanResponse -= span[this.spanHead]!.maxResponse;
      this.spanHead++;
    }
    if (this.spanHead === span.length) {
      this.span = [];
      this.spanHead = 0;
      this.cursor = 0;
      this.spanResponse = 0;
      if (this.fifoHead < this.fifo.length) {
        // Transmissions no reply will show read (a resend answered by an earlier copy's answer, a
        // probe or a duplicate whose answer was lost): they leave the byte window once they have
        // surely been read, or they would hold it closed for good on an idle link.
        this.arm(this.fifo[this.fifoHead]!.deadline);
      }
      if (this.timer !== undefined) this.clock.refTimer(this.timer, false);
    } else if (this.spanHead > 1024) {
      this.span = span.slice(this.spanHead);
      this.cursor = Math.max(0, this.cursor - this.spanHead);
      this.spanHead = 0;
    }
  }

  /**
   * The delay-based half of the congestion window (TCP Vegas): a round trip longer than the least
   * one seen is time the request queued behind others on the wire, and cwnd × (rtt − least) / rtt
   * estimates how many requests wait there. On a paced link every request queued beyond the
   * bandwidth-delay product adds nothing to throughput but is resent on the next go-back, so the
   * window is held at 2–4 queued requests while the link is lossy (LOSSY_SAMPLES): +1/cwnd per
   * sample below, −1/cwnd above; on a link that lost nothing lately it grows by +1/cwnd per
   * sample whatever the queue (TCP's additive increase). The least
   * round trip is the least over this epoch and the last (MIN_RTT_EPOCH samples each), so that
   * it follows a link that became slower.
   */
  private delay(rtt: number): void {
    this.samples++;
    if (rtt < this.minRttCur) this.minRttCur = rtt;
    if (++this.minRttSamples >= MIN_RTT_EPOCH) {
      this.minRttPrev = this.minRttCur;
      this.minRttCur = Infinity;
      this.minRttSamples = 0;
    }
    const least = Math.min(this.minRttCur, this.minRttPrev);
    const queued = rtt > 0 ? (this.cwnd * (rtt - least)) / rtt : 0;
    const lossy = this.samples < this.lossyUntil;
    if (lossy && queued > QUEUED_BETA) this.cwnd = Math.max(CWND_MIN, this.cwnd - 1 / this.cwnd);
    else if (!lossy || queued < QUEUED_ALPHA) this.cwnd = Math.min(this.depthLimit, this.cwnd + 1 / this.cwnd);
  }

  /** RFC 6298 §2 with one round-trip sample of a request transmitted once (Karn). */
  private sample(rtt: number): void {
    if (this.rtts.length < RTT_SAMPLES_KEPT) this.rtts.push(rtt);
    else {
      this.rtts[this.rttNext] = rtt;
      this.rttNext = (this.rttNext + 1) % RTT_SAMPLES_KEPT;
    }
    if (this.srtt === undefined || this.rttvar === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
      this.srtt = 0.875 * this.srtt + 0.125 * rtt;
    }
    this.rto = Math.min(this.rtoMax, Math.max(this.rtoMin, this.srtt + Math.max(GRANULARITY_MS, 4 * this.rttvar)));
  }

  /**
   * A request answered twice: one of its retransmissions was needless (Eifel's and DSACK's idea,
   * RFC 3522 / RFC 3708, with the device's replay cache as the duplicate's witness). Without this
   * the RTO could collapse: on a link whose round trip grows with its queue (QEMU's UART behind
   * ser2net, a loaded host), every request is resent before its answer, Karn's rule leaves no RTT
   * sample, answers keep arriving so no silence backs the RTO off, and the resends fill the queue
   * further. The RTO doubles, at most once a round trip, until the next sample sets it again.
   *
   * When the request answered twice is the one the last RTO expiry went back from (and no go-back
   * came since), nothing was lost: the expiry's congestion response is undone (RFC 4015, Eifel's
   * response), the window and the lossy state as they were. Otherwise one late answer (an adapter's
   * latency timer holding a packet) would leave the window at its floor for LOSSY_SAMPLES round
   * trips, every few requests a round trip of their own.
   */
  private spurious(seq: number): void {
    this.counters.spuriousRetransmits++;
    const undo = this.rtoUndo;
    if (undo && undo.seq === seq) {
      this.rtoUndo = undefined;
      this.cwnd = Math.max(this.cwnd, undo.cwnd);
      this.lossyUntil = undo.lossyUntil;
    }
    const now = this.clock.now();
    if (now - this.lastSpuriousAt < (this.srtt ?? this.rto)) return;
    this.lastSpuriousAt = now;
    this.rto = Math.min(this.rtoMax, this.rto * 2);
  }

  // ---- the timer ----

  private arm(deadline: number): void {
    if (this.closed) return;
    if (this.timer !== undefined && this.armedFor <= deadline) {
      this.clock.refTimer(this.timer, true);
      return;
    }
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.armedFor = deadline;
    this.timer = this.clock.setTimer(this.sweep, Math.max(0, Math.ceil(deadline - this.clock.now())));
  }

  /** Expires RTOs, overall timeouts, raw bytes and the dead link; re-arms for the next deadline. */
  readonly sweep = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    if (this.closed) return;
    const now = this.clock.now() + 1; // timers may fire up to a millisecond early against performance.now()
    let next = Infinity;
    while (this.fifoHead < this.fifo.length && settled(this.fifo[this.fifoHead]!) && this.fifo[this.fifoHead]!.deadline <= now) {
      this.fifoBytes -= this.fifo[this.fifoHead++]!.bytes;
    }
    for (let i = this.fifoHead; i < this.fifo.length; i++) {
      const e = this.fifo[i]!;
      if (settled(e)) {
        // One whose time has come waits behind an unanswered transmission (the window is FIFO):
        // it leaves with that one's reply or RTO, so no timer for it (it would fire at once, for ever).
        if (e.deadline > now) next = Math.min(next, e.deadline);
        break;
      }
    }
    if (this.unanswered > 0) {
      const silentFor = now - Math.max(this.lastRxAt, this.busySince);
      if (silentFor >= this.deadLinkMs) {
        this.checkDead();
        next = Math.min(next, now + this.deadLinkMs);
      } else {
        next = Math.min(next, Math.max(this.lastRxAt, this.busySince) + this.deadLinkMs);
      }
      for (let i = this.spanHead; i < this.span.length; i++) {
        const r = this.span[i]!;
        if (r.done || r.attempts === 0) continue;
        if (r.timeoutMs !== undefined) {
          const d = r.firstTxAt + r.timeoutMs;
          if (d <= now) {
            this.fail(r, this.errors.timeout(r));
            continue;
          }
          next = Math.min(next, d);
        }
      }
      const oldest = this.spanHead < this.span.length ? this.span[this.spanHead]! : undefined;
      if (oldest !== undefined && !oldest.done && oldest.attempts > 0) {
        if (this.retransmit) {
          const d = Math.max(oldest.lastTxAt, this.lastAnswerAt) + this.rto;
          if (d <= now) {
            this.checkRto(oldest);
            next = Math.min(next, now + this.rto);
          } else {
            next = Math.min(next, d);
          }
        }
      }
    }
    if (next !== Infinity) this.arm(next);
    this.schedulePump();
  };

  /**
   * The RTO verdict on the oldest unanswered request, after any bytes already waiting have been
   * read: timers run before I/O callbacks, so a busy event loop would otherwise expire requests
   * whose answers are already here.
   */
  private checkRto(oldest: LinkRequest): void {
    if (this.rtoCheck) return;
    this.rtoCheck = true;
    this.clock.afterIo(() => {
      this.rtoCheck = false;
      if (this.closed || oldest.done || this.span[this.spanHead] !== oldest) return;
      const from = Math.max(oldest.lastTxAt, this.lastAnswerAt);
      if (this.clock.now() + 1 < from + this.rto) return;
      this.counters.timeouts++;
      this.counters.timeoutWaitMs += this.clock.now() - from;
      // Back off only when nothing at all came back: bytes heard since the transmission (a
      // damaged reply) show the device answered within the RTO, so waiting longer gains nothing.
      if (this.lastRxAt <= oldest.lastTxAt) this.rto = Math.min(this.rtoMax, this.rto * 2);
      this.clearFifo(); // the device has had an RTO to read what it got
      // Everything before the oldest unanswered request is answered or settled: if it was held,
      // it has run (its response was lost) or never will (restartSession); either way resend it.
      oldest.held = false;
      const undo = { seq: oldest.seq, cwnd: this.cwnd, lossyUntil: this.lossyUntil };
      this.startGoBack(this.spanHead);
      this.rtoUndo = undo;
      this.afterRto = true;
      this.fast = [];
      this.arm(this.clock.now() + this.rto);
      this.schedulePump();
    });
  }

  /** The dead-link verdict, after any bytes already waiting have been read. */
  private checkDead(): void {
    if (this.deadCheck) return;
    this.deadCheck = true;
    this.clock.afterIo(() => {
      this.deadCheck = false;
      if (this.closed || this.unanswered === 0) return;
      const silentMs = this.clock.now() - Math.max(this.lastRxAt, this.busySince);
      if (silentMs + 1 < this.deadLinkMs) return;
      this.counters.deadLinks++;
      const failed = this.unanswered + (this.queue.length - this.queueHead);
      const error = this.errors.dead(silentMs, failed, this.stats);
      this.clearFifo();
      this.failAll(error);
    });
  }
}

const NEWLINE = Buffer.from('\n');
/** The line of a request not yet given a seq. */
export const UNSENT: Buffer = Buffer.alloc(0);
const EMPTY: Tx[] = [];

/** A transmission no answer is awaited for: raw bytes, a probe, or a request already settled. */
function settled(t: Tx): boolean {
  return t.req === undefined || t.req.done;
}

function isRequest(item: LinkRequest | LinkRaw): item is LinkRequest {
  return (item as LinkRequest).encode !== undefined;
}

/** Length of the CBOR message inside a frame line `~base64\n`: 3/4 of the base64, less the CRC. */
function messageLength(line: Buffer): number {
  const b64 = line.length - 2;
  let pad = 0;
  if (line[line.length - 2] === 0x3d) pad++;
  if (line[line.length - 3] === 0x3d) pad++;
  return (b64 / 4) * 3 - pad - Framing.crcBytes;
}
