/**
 * The client of the pool protocol (PROTOCOL.md): typed requests over any Transport, matched to
 * their responses by sequence number. The link layer (window, seqs, retransmission, dead link:
 * §3.2–§3.3) is the Link of ./link.ts; this module encodes requests, classifies received lines,
 * decodes results and turns failures into the typed errors of ./errors.ts.
 *
 * Requests wait in a FIFO queue, in call order, for the window and are never dropped. A request
 * issued before any session is open makes the client say hello first. Bytes written by
 * sendMessage()/writeRaw() expect no answer; they go in order with requests, inside the window.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { classifyLine, encodeFrame, type LineDefect } from '../framing/frame.js';
import { LineReader } from '../framing/line-reader.js';
import { BANNER_PREFIX, ErrorCode, Framing, Link as LinkDefaults, Op, OpArgs, OpFacts, OpNameByCode, type ErrorName } from '../protocol/constants.js';
import { describe, helloFromWire, statsFromWire, type Hello, type Stats } from '../protocol/messages.js';
import type { Transport, TransportError } from '../transport/transport.js';
import { BoardReset, ClientClosed, DeviceError, LinkDead, ProtocolError, RequestTimeout, RetriesExhausted, errorName } from './errors.js';
import { Link, UNSENT, opensSession, type Clock, type LinkOptions, type LinkRaw, type LinkRequest, type LinkStats } from './link.js';

export type { LinkStats } from './link.js';

export interface ClientOptions extends LinkOptions {
  /**
   * Overall bound on one request, ms, counted from its first transmission: past it the request
   * fails with RequestTimeout. Default: none with retransmission (a request is bounded by
   * maxAttempts and the dead link), 2000 without.
   */
  timeoutMs?: number;
  /** Timers and time for the link layer (tests); default the real ones. */
  clock?: Clock;
}

/** One pool operation of a batch (PROTOCOL.md §4.2). C: one entry of the batch array in cvm_dispatch.c. */
export type BatchOp =
  | { op: 'acquire'; vm: number }
  | { op: 'release'; vm: number }
  | { op: 'load_global'; vm: number; global: number }
  | { op: 'store_global'; vm: number; global: number; value: number }
  | { op: 'create_array'; vm: number; array: number; size: number }
  | { op: 'load_array'; vm: number; array: number; index: number }
  | { op: 'store_array'; vm: number; array: number; index: number; value: number }
  | { op: 'reset_pool' };

/** The result of one batch entry: `[0]`, `[0, value]` or `[code]` on the wire. */
export type BatchResult = { ok: true; value?: number } | { ok: false; code: number; error: ErrorName | 'unknown' };

export interface ClientEvents {
  /** A log line from the device (its banner, diagnostics), without the line end. */
  log: [text: string];
  /** A received line that could not be used (overlong, bad base64 or length, bad CRC). */
  defect: [defect: LineDefect, line: Buffer];
  /** A frame that answers no pending request: an unknown or expired seq, or not a response at all. */
  unsolicited: [message: unknown];
  /** The device rebooted (a banner, or a hello with a new boot nonce): every context it held is gone. */
  reset: [reason: string];
  /** The client closed; `error` is set when the link ended on its own. */
  close: [error?: Error];
}

const OP_NAME_OF = (code: number): string | undefined => OpNameByCode[code];

type Decode = (result: unknown) => unknown;

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

const noResult: Decode = (r) => {
  if (r !== undefined) throw new ProtocolError(`expected no result, got ${describe(r)}`);
  return undefined;
};

function isInt32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX;
}

const int32Result: Decode = (r) => {
  if (!isInt32(r)) throw new ProtocolError(`expected an int32 result, got ${describe(r)}`);
  return r;
};

const bytesResult: Decode = (r) => {
  if (!(r instanceof Uint8Array)) throw new ProtocolError(`expected a byte string, got ${describe(r)}`);
  return r;
};

const anyResult: Decode = (r) => r;

function batchResults(count: number): Decode {
  return (r) => {
    if (!Array.isArray(r) || r.length !== count) {
      throw new ProtocolError(`expected an array of ${count} batch results, got ${describe(r)}`);
    }
    const out: BatchResult[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const e: unknown = r[i];
      if (Array.isArray(e) && e[0] === 0 && e.length === 1) out[i] = { ok: true };
      else if (Array.isArray(e) && e[0] === 0 && e.length === 2 && isInt32(e[1])) out[i] = { ok: true, value: e[1] };
      else if (Array.isArray(e) && e.length === 1 && Number.isInteger(e[0]) && e[0] > 0) out[i] = { ok: false, code: e[0], error: errorName(e[0]) };
      else throw new ProtocolError(`batch result ${i}: expected [0], [0, int32] or [code], got ${describe(e)}`);
    }
    return out;
  };
}

/** `vm 1, global 99`: the arguments of a known pool operation (values only when asked), else a short generic form. */
function formatArgs(code: number, args: readonly unknown[], withValues: boolean): string {
  // batch and echo carry a list and a payload: their short generic form reads better.
  const fields = code === Op.batch || code === Op.echo ? undefined : OpArgs[code];
  if (fields && fields.length === args.length) {
    const parts: string[] = [];
    fields.forEach((f, i) => {
      if (f !== 'value' || withValues) parts.push(`${f} ${String(args[i])}`);
    });
    return parts.join(', ');
  }
  if (code === Op.batch && args.length === 1 && Array.isArray(args[0])) return `${args[0].length} ops`;
  return args
    .map((a) => (typeof a === 'number' || typeof a === 'bigint' ? String(a) : a instanceof Uint8Array ? `${a.length} bytes` : describe(a)))
    .join(', ');
}

function ago(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms ago` : `${(ms / 1000).toFixed(1)} s ago`;
}

/**
 * A client of one device over one Transport. Methods may be called concurrently: requests are
 * pipelined. Every request fails with a typed error naming the target and the operation:
 * DeviceError, RetriesExhausted, LinkDead, RequestTimeout, BoardReset, ClientClosed or
 * ProtocolError.
 */
export class PoolClient extends EventEmitter<ClientEvents> {
  /** The transport's name, used in every error message. */
  readonly target: string;
  /** The last hello result; undefined until hello() succeeds. */
  info: Hello | undefined;
  /**
   * Traffic since construction. Lines in = frames + logs + defects + empty lines; frames out include
   * retransmissions; bytesOut: every byte written to the transport, bytesIn: every byte it delivered.
   */
  readonly counters = { linesIn: 0, framesIn: 0, logsIn: 0, defectsIn: 0, unsolicited: 0, framesOut: 0, bytesOut: 0, bytesIn: 0 };

  private readonly transport: Transport;
  private readonly timeoutMs: number | undefined;
  private readonly maxBytes: number;
  private readonly reader: LineReader;
  private readonly link: Link;
  /** Requests and raw writes not yet settled (idle() waits for them). */
  private readonly unsettled = new Set<Promise<unknown>>();
  private state: 'new' | 'open' | 'closed' = 'new';
  /** Set when the link ended on its own (not close()), with the transport's error. */
  private disconnectedBy: { cause: Error | undefined } | undefined;

  private resetReason: string | undefined;
  private lastAt = 0;
  private lastKind: 'none' | 'frame' | 'log' | 'defect' | 'empty' = 'none';
  private lastDetail: string | number | undefined;

  constructor(transport: Transport, options: ClientOptions = {}) {
    super();
    this.transport = transport;
    this.target = transport.name;
    const retransmit = options.retransmit ?? true;
    this.timeoutMs = options.timeoutMs ?? (retransmit ? undefined : 2000);
    this.maxBytes = options.maxInflightBytes ?? Framing.maxInflightBytes;
    this.link = new Link(this.writeLines, this.linkErrors, options, options.clock, (seq) => encodeFrame(encodeCbor([seq])));
    this.reader = new LineReader((line) => this.onLine(line));
    transport.on('data', (chunk) => {
      this.counters.bytesIn += chunk.length;
      this.link.heard();
      this.reader.push(chunk);
    });
    transport.on('close', (error) => this.onTransportClose(error));
  }

  /** Opens the transport, then asks hello (which sets `info`). Closes the transport again if hello fails. */
  static async connect(transport: Transport, options?: ClientOptions): Promise<PoolClient> {
    const client = new PoolClient(transport, options);
    await client.open();
    try {
      await client.hello();
    } catch (e) {
      await client.close().catch(() => {});
      throw e;
    }
    return client;
  }

  /** Opens the transport; rejects with its TransportError. */
  async open(): Promise<void> {
    await this.transport.open();
    this.state = 'open';
    this.lastKind = 'none';
    this.link.heard();
    this.link.pump();
  }

  /** Fails every pending and queued request with ClientClosed, then closes the transport. Safe to call twice. */
  async close(): Promise<void> {
    if (this.state !== 'closed') this.shutdown(false, undefined);
    await this.transport.close();
  }

  /** Link quality since construction: transmissions, retransmits, go-backs, RTO, SRTT... (a copy). */
  linkStats(): LinkStats {
    return this.link.stats;
  }

  /** Round-trip times the link measured (ms, oldest first; requests answered after one transmission; the latest 4096). */
  linkRttSamples(): number[] {
    return this.link.rttSamples();
  }

  // ---- typed operations (PROTOCOL.md §4) ----

  /**
   * Opens a new session (PROTOCOL.md §3.3): waits for every unanswered request, then sends hello
   * alone with a random seq; requests issued after it wait for its answer. Resolves with the
   * protocol version, firmware id, limits, boot nonce...; sets `info`, and emits `reset` when the
   * boot nonce changed.
   */
  async hello(): Promise<Hello> {
    const h = await this.request<Hello>(Op.hello, 'hello', [], helloFromWire, this.timeoutMs);
    const before = this.info;
    // A reset already announced by a banner is not announced again by the nonce it changed.
    if (before && before.bootNonce !== h.bootNonce && this.resetReason === undefined) {
      this.boardReset(`boot nonce changed from ${hex8(before.bootNonce)} to ${hex8(h.bootNonce)} (reset cause: ${h.resetCause})`);
    }
    this.info = h;
    this.resetReason = undefined; // this hello is the re-handshake
    return h;
  }

  /**
   * Set when the target rebooted since the last hello: every request but hello then fails with
   * BoardReset, so work meant for the old session never runs against the fresh pool unnoticed.
   */
  get resetPending(): string | undefined {
    return this.resetReason;
  }

  private boardReset(reason: string): void {
    // A banner before the first hello is the target coming up, not a reset of a session.
    if (this.info !== undefined) {
      this.resetReason = reason;
      this.link.endSession();
      this.link.failAll(
        (r) => new BoardReset(this.target, reason, (r as LinkRequest).name),
        (r) => isRequest(r) && r.code !== Op.hello,
      );
    }
    this.emit('reset', reason);
  }

  acquire(vm: number): Promise<void> {
    return this.op(Op.acquire, 'acquire', [vm], noResult);
  }

  release(vm: number): Promise<void> {
    return this.op(Op.release, 'release', [vm], noResult);
  }

  loadGlobal(vm: number, global: number): Promise<number> {
    return this.op(Op.load_global, 'load_global', [vm, global], int32Result);
  }

  storeGlobal(vm: number, global: number, value: number): Promise<void> {
    return this.op(Op.store_global, 'store_global', [vm, global, value], noResult);
  }

  createArray(vm: number, array: number, size: number): Promise<void> {
    return this.op(Op.create_array, 'create_array', [vm, array, size], noResult);
  }

  loadArray(vm: number, array: number, index: number): Promise<number> {
    return this.op(Op.load_array, 'load_array', [vm, array, index], int32Result);
  }

  storeArray(vm: number, array: number, index: number, value: number): Promise<void> {
    return this.op(Op.store_array, 'store_array', [vm, array, index, value], noResult);
  }

  stats(): Promise<Stats> {
    return this.request<Stats>(Op.stats, 'stats', [], statsFromWire, this.timeoutMs);
  }

  /** Sends payload and resolves with the device's copy of it. */
  echo(payload: Uint8Array): Promise<Uint8Array> {
    if (!(payload instanceof Uint8Array)) return Promise.reject(new TypeError(`echo: payload must be a Uint8Array, got ${describe(payload)}`));
    return this.request<Uint8Array>(Op.echo, 'echo', [payload], bytesResult, this.timeoutMs);
  }

  resetPool(): Promise<void> {
    return this.op(Op.reset_pool, 'reset_pool', [], noResult);
  }

  /**
   * Runs pool operations in order, one result each; a failing entry does not stop the others.
   * Longer than the device's max_batch (from hello, else Framing.maxBatchOps), or too large for
   * one frame, the list is sent as several pipelined batch requests and the results concatenated.
   * Rejects with TypeError for an unknown op or a non-integer field, before sending anything.
   */
  async batch(ops: BatchOp[]): Promise<BatchResult[]> {
    const wire: number[][] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) wire[i] = batchOpToWire(ops[i]!, i);
    if (wire.length === 0) return [];
    const max = Math.max(1, this.info?.maxBatch ?? Framing.maxBatchOps);
    const parts: Promise<BatchResult[]>[] = [];
    for (let i = 0; i < wire.length; i += max) this.batchChunks(wire.slice(i, i + max), parts);
    if (parts.length === 1) return parts[0]!;
    const results = await Promise.all(parts);
    const out: BatchResult[] = [];
    for (const r of results) for (const x of r) out.push(x);
    return out;
  }

  /**
   * Raw request: sends [seq, op, ...args] encoded with the project's cbor-x config; resolves with
   * the result element (undefined when the response has none); rejects with DeviceError on an
   * error code. For robustness tests and scripting: arguments are sent as given, unchecked.
   * `timeoutMs` bounds this request as the client option does.
   */
  call(op: number, args: unknown[], options?: { timeoutMs?: number; name?: string }): Promise<unknown> {
    const name = options?.name ?? OP_NAME_OF(op) ?? `op ${op}`;
    return this.request<unknown>(op, name, args, anyResult, options?.timeoutMs ?? this.timeoutMs);
  }

  /**
   * Frames arbitrary CBOR bytes (message as-is, CRC appended) and writes the line; expects no
   * response. A request in it is outside the session's numbering: the device answers it
   * out_of_sequence (or from its cache), and the client reports that answer as unsolicited.
   */
  sendMessage(message: Uint8Array): Promise<void> {
    let line: Buffer;
    try {
      line = encodeFrame(message);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueueRaw([line], true);
  }

  /**
   * Says the device answered a frame that ended the latest raw write (see Link.rawRead): what was
   * written raw leaves the in-flight window now. For a borrower of the session (lendSession) that
   * reads its own answers; a wrong call lets later writes overrun the device's receive ring.
   */
  rawRead(): void {
    this.link.rawRead();
  }

  /** Writes raw bytes to the link (noise, damaged frames), in order with requests and within the in-flight window. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return Promise.resolve();
    const copy = Buffer.from(bytes); // the caller may reuse its buffer while this waits in the queue
    const chunks: Buffer[] = [];
    for (let i = 0; i < copy.length; i += this.maxBytes) chunks.push(copy.subarray(i, i + this.maxBytes));
    return this.enqueueRaw(chunks, false);
  }

  // ---- requests ----

  private op<T>(code: number, name: string, args: number[], decode: Decode): Promise<T> {
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (!Number.isInteger(a)) {
        const field = OpArgs[code]?.[i] ?? `argument ${i}`;
        return Promise.reject(new TypeError(`${name}: ${field} must be an integer, got ${describe(a)}`));
      }
    }
    return this.request<T>(code, name, args, decode, this.timeoutMs);
  }

  private batchChunks(wire: number[][], parts: Promise<BatchResult[]>[]): void {
    // [seq, 9, ops]: array head 1 byte, seq at most 5, op code 1.
    if (wire.length > 1 && encodeCbor(wire).length + 7 > Framing.maxMessageBytes) {
      const half = wire.length >> 1;
      this.batchChunks(wire.slice(0, half), parts);
      this.batchChunks(wire.slice(half), parts);
      return;
    }
    parts.push(this.request<BatchResult[]>(Op.batch, 'batch', [wire], batchResults(wire.length), this.timeoutMs));
  }

  private request<T>(code: number, name: string, args: readonly unknown[], decode: Decode, timeoutMs: number | undefined): Promise<T> {
    if (this.state !== 'open') return Promise.reject(this.notOpen(name));
    if (this.resetReason !== undefined && code !== Op.hello) return Promise.reject(new BoardReset(this.target, this.resetReason, name));
    // A request needs a session: open one when none is open or on its way.
    if (!opensSession({ code, args }) && !this.link.sessionOpen && !this.link.sessionLent && !this.link.helloPending) void this.hello().catch(() => {});
    return this.track(new Promise<T>((resolve, reject) => this.link.submit(new PendingRequest(this, code, name, args, timeoutMs, decode, resolve as (v: unknown) => void, reject))));
  }

  /** Keeps `p` in `unsettled` until it settles; returns it. */
  private track<T>(p: Promise<T>): Promise<T> {
    this.unsettled.add(p);
    const drop = (): void => void this.unsettled.delete(p);
    p.then(drop, drop);
    return p;
  }

  /**
   * Resolves once nothing is in flight: every request and raw write issued before (or while it
   * waits) has settled, answered or failed. Never rejects. A test that measures what its own bytes
   * do waits for it, so an earlier request still in flight (the runner's reset_pool, issued ahead
   * of the test) cannot mix into what it counts.
   */
  async idle(): Promise<void> {
    while (this.unsettled.size > 0) await Promise.allSettled([...this.unsettled]);
  }

  /**
   * Lends the client's session to code that writes its own frames (sendMessage/writeRaw) at the
   * seqs it chooses, such as a test of the link layer (PROTOCOL.md §3.3): waits until nothing is
   * in flight, then resolves with the seq the device expects next, or undefined when no session is
   * open (the borrower opens one with its own hello). While lent, the client's requests (hello
   * included) wait; raw writes go out. `giveBack(next)` hands the session back: the device expects
   * `next` (every seq before it answered); `giveBack(undefined)` when the borrower cannot say (a
   * request of its own went unanswered, the device rebooted): the next request opens a new session
   * with hello.
   */
  async lendSession(): Promise<{ next: number; giveBack: (next: number | undefined) => void } | undefined> {
    // Requests issued while idle() waited are waited for too; a caller that keeps issuing them
    // gets no session to borrow (undefined) rather than a wait without end.
    for (let i = 0; i < 100; i++) {
      await this.idle();
      if (!this.link.sessionOpen) return undefined;
      const next = this.link.lend();
      if (next !== undefined) return { next, giveBack: (n) => this.link.giveBack(n) };
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return undefined;
  }

  /** Requests and raw writes issued and not yet settled (idle() waits until there are none). */
  get inFlight(): number {
    return this.unsettled.size;
  }

  /** Turns a reply into the request's result or typed error. @internal for PendingRequest */
  settleReply(r: LinkRequest, msg: unknown[], decode: Decode, resolve: (v: unknown) => void, reject: (e: Error) => void): void {
    const code: unknown = msg[1];
    if (code === 0 && msg.length <= 3) {
      let value: unknown;
      try {
        value = decode(msg[2]);
        if (opensSession(r)) {
          const h = value as Partial<Record<'replayDepth' | 'replayBytes', number>>;
          this.link.setReplayLimits(h.replayDepth ?? LinkDefaults.replayDepth, h.replayBytes ?? LinkDefaults.replayBytes);
        }
      } catch (e) {
        return reject(this.protocolError(r, (e as Error).message));
      }
      return resolve(value);
    }
    // [seq, 12, next] reaches a request only without retransmission: the device refused it.
    const refused = code === ErrorCode.out_of_sequence && msg.length === 3;
    if (typeof code === 'number' && Number.isInteger(code) && code > 0 && (msg.length === 2 || refused)) {
      return reject(new DeviceError(this.target, r.name, code, formatArgs(r.code, r.args, code === 2)));
    }
    reject(this.protocolError(r, `malformed response ${describe(msg)}: expected [seq, 0], [seq, 0, result] or [seq, code]`));
  }

  private enqueueRaw(lines: Buffer[], frame: boolean): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.notOpen(frame ? 'sendMessage' : 'writeRaw'));
    return this.track(new Promise<void>((resolve, reject) => {
      lines.forEach((line, i) => {
        const last = i === lines.length - 1;
        const raw: LinkRaw = { line, frame, settle: (error) => (error ? reject(error) : last ? resolve() : undefined) };
        this.link.submit(raw);
      });
    }));
  }

  private notOpen(op: string): Error {
    // After a disconnect, say so (and why: "cvm-sim exited (killed by SIGSEGV)"), not "the client was closed".
    const ended = this.disconnectedBy;
    return this.state === 'closed'
      ? new ClientClosed(this.target, ended !== undefined, op, ended?.cause ? { cause: ended.cause } : undefined)
      : new Error(`${this.target}: ${op}: the client is not open (call open() or PoolClient.connect())`);
  }

  /** The Link's transmissions: one transport write each, its failure failing what it carried. */
  private readonly writeLines = (data: Buffer, raws: LinkRaw[] | undefined, sent: LinkRequest[] | undefined): void => {
    if (this.state !== 'open' || !this.transport.isOpen) return;
    this.counters.bytesOut += data.length;
    this.counters.framesOut += sent?.length ?? 0;
    if (raws) for (const r of raws) if (r.frame) this.counters.framesOut++;
    this.transport.write(data).then(
      raws &&
        (() => {
          for (const r of raws) r.settle();
        }),
      (error: Error) => {
        for (const r of raws ?? []) r.settle(error);
        if (sent) this.link.failAll(() => error, (q) => sent.includes(q as LinkRequest));
      },
    );
  };

  private readonly linkErrors = {
    timeout: (r: LinkRequest): Error => new RequestTimeout(this.target, r.name, r.timeoutMs!, this.lastHeard(), formatArgs(r.code, r.args, false)),
    exhausted: (r: LinkRequest, stats: LinkStats): Error => new RetriesExhausted(this.target, r.name, formatArgs(r.code, r.args, false), r.attempts, this.lastHeard(), stats),
    dead: (silentMs: number, failed: number, stats: LinkStats) => {
      const heard = this.lastHeard();
      return (item: LinkRequest | LinkRaw): Error =>
        isRequest(item)
          ? new LinkDead(this.target, silentMs, failed, heard, stats, item.name, formatArgs(item.code, item.args, false))
          : new LinkDead(this.target, silentMs, failed, heard, stats, item.frame ? 'sendMessage' : 'writeRaw');
    },
    protocol: (r: LinkRequest, what: string): Error => this.protocolError(r, what),
    noSession: (r: LinkRequest): void => this.boardReset(`the device answered ${r.name} with no_session: it lost its session (it rebooted)`),
    sessionEnded: (): void => void this.hello().catch(() => {}),
  };

  private protocolError(r: LinkRequest, what: string): ProtocolError {
    return new ProtocolError(`${this.target}: ${r.name}(${formatArgs(r.code, r.args, true)}): ${what}`);
  }

  // ---- receiving ----

  private onLine(line: Buffer): void {
    if (this.state === 'closed') return;
    this.counters.linesIn++;
    this.lastAt = performance.now();
    const c = classifyLine(line);
    switch (c.kind) {
      case 'empty':
        this.lastKind = 'empty';
        return;
      case 'log':
        this.counters.logsIn++;
        this.lastKind = 'log';
        this.lastDetail = c.text;
        this.emit('log', c.text);
        if (c.text.startsWith(BANNER_PREFIX)) this.boardReset(`boot banner: ${c.text}`);
        return;
      case 'defect':
        this.counters.defectsIn++;
        this.lastKind = 'defect';
        this.lastDetail = c.defect;
        this.emit('defect', c.defect, c.line);
        return;
      case 'frame':
        this.counters.framesIn++;
        this.lastKind = 'frame';
        this.lastDetail = undefined;
        this.onFrame(c.message);
    }
  }

  private onFrame(message: Buffer): void {
    let msg: unknown;
    try {
      msg = decodeCbor(message);
    } catch {
      return this.unsolicited(message);
    }
    if (!Array.isArray(msg) || typeof msg[0] !== 'number') return this.unsolicited(msg);
    const seq: number = msg[0];
    this.lastDetail = seq;
    if (!this.link.onReply(seq, msg)) this.unsolicited(msg);
  }

  private unsolicited(message: unknown): void {
    this.counters.unsolicited++;
    this.emit('unsolicited', message);
  }

  /** What the target last sent and how long ago, for RequestTimeout, RetriesExhausted and LinkDead. */
  private lastHeard(): string {
    if (this.lastKind === 'none') return 'nothing since open';
    const when = ago(performance.now() - this.lastAt);
    switch (this.lastKind) {
      case 'frame':
        return `${typeof this.lastDetail === 'number' ? `response frame (seq ${this.lastDetail})` : 'a frame'} ${when}`;
      case 'log': {
        const text = String(this.lastDetail);
        return `log line "${text.length > 60 ? `${text.slice(0, 57)}...` : text}" ${when}`;
      }
      case 'defect':
        return `a ${String(this.lastDetail)} line ${when}`;
      default:
        return `an empty line ${when}`;
    }
  }

  // ---- closing ----

  private onTransportClose(error: TransportError | undefined): void {
    if (this.state === 'closed') return;
    this.shutdown(error !== undefined, error);
  }

  private shutdown(disconnected: boolean, cause: Error | undefined): void {
    this.state = 'closed';
    if (disconnected) this.disconnectedBy = { cause };
    const opts = cause ? { cause } : undefined;
    this.link.close((q) => new ClientClosed(this.target, disconnected, isRequest(q) ? q.name : q.frame ? 'sendMessage' : 'writeRaw', opts));
    this.emit('close', cause);
  }
}

/**
 * One request of a PoolClient on its way through the Link. A class rather than an object of
 * closures: a pipelined client makes one per request, and the common path stays allocation-light.
 */
class PendingRequest implements LinkRequest {
  seq = -1;
  line: Buffer = UNSENT;
  maxResponse = 0;
  attempts = 0;
  firstTxAt = 0;
  lastTxAt = 0;
  firstTx = 0;
  lastTx = 0;
  held = false;
  ran = false;
  done = false;

  constructor(
    private readonly client: PoolClient,
    readonly code: number,
    readonly name: string,
    readonly args: readonly unknown[],
    readonly timeoutMs: number | undefined,
    private readonly decode: Decode,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (e: Error) => void,
  ) {}

  encode(seq: number): Buffer {
    return encodeFrame(encodeCbor([seq, this.code, ...this.args]));
  }

  settle(error: Error | undefined, message?: unknown[]): void {
    if (error) this.reject(error);
    else this.client.settleReply(this, message!, this.decode, this.resolve, this.reject);
  }
}

function isRequest(item: LinkRequest | LinkRaw): item is LinkRequest {
  return (item as LinkRequest).encode !== undefined;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function batchOpToWire(op: BatchOp, i: number): number[] {
  const fact = OpFacts[Op[op?.op as keyof typeof Op]];
  if (fact === undefined || !fact.batchable) throw new TypeError(`batch: ops[${i}]: unknown op ${JSON.stringify(op?.op)}`);
  const fields = OpArgs[Op[op.op]]!;
  const out: number[] = [Op[op.op]];
  const src = op as unknown as Record<string, unknown>;
  for (const f of fields) {
    const v = src[f];
    if (!Number.isInteger(v)) throw new TypeError(`batch: ops[${i}] (${op.op}): ${f} must be an integer, got ${describe(v)}`);
    out.push(v as number);
  }
  return out;
}
