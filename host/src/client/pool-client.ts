/**
 * The client of the pool protocol (PROTOCOL.md): typed requests over any Transport, pipelined
 * within a bounded in-flight window, matched to their responses by sequence number.
 *
 * Window: at most maxInflightRequests requests and maxInflightBytes bytes of request lines are
 * unanswered at any time (the device's receive ring holds max_inflight_bytes; a pty stalls when
 * a host floods it). Requests past the window wait in a FIFO queue, in call order, and are never
 * dropped. A request leaves the window when it is answered, times out or fails. Bytes written by
 * sendMessage()/writeRaw() expect no answer: they stay in the window until a response to a
 * request sent after them proves the device has read past them, or at most for the time they
 * take on a 115200-baud line plus a margin.
 *
 * Timeouts run from the moment a request is written, not from when it was queued, and are
 * checked by one sweep timer armed for the earliest deadline (no timer per request).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { classifyLine, encodeFrame, type LineDefect } from '../framing/frame.js';
import { LineReader } from '../framing/line-reader.js';
import { BANNER_PREFIX, Framing, Op, OpArgs, OpNameByCode, type ErrorName } from '../protocol/constants.js';
import { describe, helloFromWire, statsFromWire, type Hello, type Stats } from '../protocol/messages.js';
import type { Transport, TransportError } from '../transport/transport.js';
import { BoardReset, ClientClosed, DeviceError, ProtocolError, RequestTimeout, errorName } from './errors.js';

export interface ClientOptions {
  /** Per-request timeout in milliseconds, counted from when the request is written; default 2000. */
  timeoutMs?: number;
  /** Most bytes of unanswered request lines; default Framing.maxInflightBytes (1024). */
  maxInflightBytes?: number;
  /** Most unanswered requests; default 32. */
  maxInflightRequests?: number;
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

/** The operations a batch may hold (PROTOCOL.md §4.2): the pool's own. */
const BATCHABLE: ReadonlySet<string> = new Set<BatchOp['op']>(['acquire', 'release', 'load_global', 'store_global', 'create_array', 'load_array', 'store_array', 'reset_pool']);

const OP_NAME_OF = (code: number): string | undefined => OpNameByCode[code];

type Decode = (result: unknown) => unknown;

interface Request {
  raw: false;
  seq: number;
  code: number;
  name: string;
  args: readonly unknown[];
  line: Buffer;
  timeoutMs: number;
  deadline: number;
  order: number;
  decode: Decode;
  resolve: (value: never) => void;
  reject: (error: Error) => void;
}

interface RawWrite {
  raw: true;
  line: Buffer;
  frame: boolean;
  /** Settles the caller's promise; set on the last chunk of a writeRaw() only. */
  resolve?: () => void;
  reject: (error: Error) => void;
}

interface RawSlot {
  bytes: number;
  order: number;
  deadline: number;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
/** Bytes per millisecond on a 115200-baud 8N1 line: how fast a device can possibly read raw bytes. */
const LINE_BYTES_PER_MS = 11.52;
const RAW_SETTLE_MS = 5;

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
 * DeviceError, RequestTimeout, ClientClosed or ProtocolError.
 */
export class PoolClient extends EventEmitter<ClientEvents> {
  /** The transport's name, used in every error message. */
  readonly target: string;
  /** The last hello result; undefined until hello() succeeds. */
  info: Hello | undefined;
  /** Traffic since construction. Lines in = frames + logs + defects + empty lines. */
  readonly counters = { linesIn: 0, framesIn: 0, logsIn: 0, defectsIn: 0, unsolicited: 0, framesOut: 0, bytesOut: 0 };

  private readonly transport: Transport;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly maxRequests: number;
  private readonly reader: LineReader;
  private state: 'new' | 'open' | 'closed' = 'new';

  private seq = (Math.random() * 0x100000000) >>> 0;
  private order = 0; // counts lines written, to relate raw writes to later responses
  private queue: (Request | RawWrite)[] = [];
  private queueHead = 0;
  private pumpScheduled = false;
  private readonly pending = new Map<number, Request>();
  private rawSlots: RawSlot[] = [];
  private rawHead = 0;
  private inflightBytes = 0;
  private inflightRequests = 0;

  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;

  private resetReason: string | undefined;
  private lastAt = 0;
  private lastKind: 'none' | 'frame' | 'log' | 'defect' | 'empty' = 'none';
  private lastDetail: string | number | undefined;

  constructor(transport: Transport, options: ClientOptions = {}) {
    super();
    this.transport = transport;
    this.target = transport.name;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.maxBytes = options.maxInflightBytes ?? Framing.maxInflightBytes;
    this.maxRequests = Math.max(1, options.maxInflightRequests ?? 32);
    this.reader = new LineReader((line) => this.onLine(line));
    transport.on('data', (chunk) => this.reader.push(chunk));
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
    this.schedulePump();
  }

  /** Fails every pending and queued request with ClientClosed, then closes the transport. Safe to call twice. */
  async close(): Promise<void> {
    if (this.state !== 'closed') this.shutdown(false, undefined);
    await this.transport.close();
  }

  // ---- typed operations (PROTOCOL.md §4) ----

  /** Protocol version, firmware id, limits, boot nonce...; sets `info`, and emits `reset` when the boot nonce changed. */
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
      for (const p of [...this.pending.values()]) if (p.code !== Op.hello) this.settle(p, new BoardReset(this.target, reason, p.name));
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
   */
  call(op: number, args: unknown[], options?: { timeoutMs?: number; name?: string }): Promise<unknown> {
    const name = options?.name ?? OP_NAME_OF(op) ?? `op ${op}`;
    return this.request<unknown>(op, name, args, anyResult, options?.timeoutMs ?? this.timeoutMs);
  }

  /** Frames arbitrary CBOR bytes (message as-is, CRC appended) and writes the line; expects no response. */
  sendMessage(message: Uint8Array): Promise<void> {
    let line: Buffer;
    try {
      line = encodeFrame(message);
    } catch (e) {
      return Promise.reject(e);
    }
    return this.enqueueRaw([line], true);
  }

  /** Writes raw bytes to the link (noise, damaged frames), in order with requests and within the in-flight window. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    if (bytes.length === 0) return Promise.resolve();
    const copy = Buffer.from(bytes); // the caller may reuse its buffer while this waits in the queue
    const chunks: Buffer[] = [];
    for (let i = 0; i < copy.length; i += this.maxBytes) chunks.push(copy.subarray(i, i + this.maxBytes));
    return this.enqueueRaw(chunks, false);
  }

  // ---- requests and the window ----

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

  private request<T>(code: number, name: string, args: readonly unknown[], decode: Decode, timeoutMs: number): Promise<T> {
    if (this.state !== 'open') return Promise.reject(this.notOpen(name));
    if (this.resetReason !== undefined && code !== Op.hello) return Promise.reject(new BoardReset(this.target, this.resetReason, name));
    const seq = this.nextSeq();
    let line: Buffer;
    try {
      line = encodeFrame(encodeCbor([seq, code, ...args]));
    } catch (e) {
      return Promise.reject(e);
    }
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ raw: false, seq, code, name, args, line, timeoutMs, deadline: 0, order: 0, decode, resolve: resolve as (v: never) => void, reject });
      this.schedulePump();
    });
  }

  private enqueueRaw(lines: Buffer[], frame: boolean): Promise<void> {
    if (this.state !== 'open') return Promise.reject(this.notOpen(frame ? 'sendMessage' : 'writeRaw'));
    return new Promise<void>((resolve, reject) => {
      lines.forEach((line, i) => this.queue.push({ raw: true, line, frame, reject, resolve: i === lines.length - 1 ? resolve : undefined }));
      this.schedulePump();
    });
  }

  private notOpen(op: string): Error {
    return this.state === 'closed'
      ? new ClientClosed(this.target, false, op)
      : new Error(`${this.target}: ${op}: the client is not open (call open() or PoolClient.connect())`);
  }

  private nextSeq(): number {
    let s = this.seq;
    while (this.pending.has(s)) s = (s + 1) >>> 0;
    this.seq = (s + 1) >>> 0;
    return s;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.queueHead === this.queue.length) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pump);
  }

  /** Writes as much of the queue as the window allows, as one transport write. */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.state !== 'open' || !this.transport.isOpen) return;
    const queue = this.queue;
    let head = this.queueHead;
    const lines: Buffer[] = [];
    let sent: Request[] | undefined;
    let raws: RawWrite[] | undefined;
    let now = 0;
    while (head < queue.length) {
      const item = queue[head]!;
      const n = item.line.length;
      if (!item.raw && this.inflightRequests >= this.maxRequests) break;
      if (this.inflightBytes > 0 && this.inflightBytes + n > this.maxBytes) break;
      head++;
      if (now === 0) now = performance.now();
      this.inflightBytes += n;
      const order = ++this.order;
      lines.push(item.line);
      this.counters.bytesOut += n;
      if (item.raw) {
        if (item.frame) this.counters.framesOut++;
        this.rawSlots.push({ bytes: n, order, deadline: now + RAW_SETTLE_MS + n / LINE_BYTES_PER_MS });
        this.arm(this.rawSlots[this.rawSlots.length - 1]!.deadline);
        (raws ??= []).push(item);
      } else {
        this.counters.framesOut++;
        this.inflightRequests++;
        item.order = order;
        item.deadline = now + item.timeoutMs;
        this.pending.set(item.seq, item);
        this.arm(item.deadline);
        (sent ??= []).push(item);
      }
    }
    if (head > 1024 && head * 2 > queue.length) {
      this.queue = queue.slice(head);
      head = 0;
    }
    this.queueHead = head;
    if (lines.length === 0) return;
    const data = lines.length === 1 ? lines[0]! : Buffer.concat(lines);
    this.transport.write(data).then(
      raws &&
        (() => {
          for (const r of raws!) r.resolve?.();
        }),
      (error: Error) => {
        for (const r of raws ?? []) r.reject(error);
        for (const p of sent ?? []) if (this.pending.get(p.seq) === p) this.settle(p, error);
      },
    );
  };

  /** Takes a sent request out of the window and settles it: with `error`, or with its decoded result. */
  private settle(p: Request, error: Error | undefined, result?: unknown): void {
    this.pending.delete(p.seq);
    this.inflightRequests--;
    this.inflightBytes -= p.line.length;
    // Nothing left to guard: let the armed timer lapse without holding the process open.
    if (this.inflightRequests === 0 && this.rawHead === this.rawSlots.length) this.timer?.unref();
    this.schedulePump();
    if (error) return p.reject(error);
    let value: unknown;
    try {
      value = p.decode(result);
    } catch (e) {
      return p.reject(this.protocolError(p, (e as Error).message));
    }
    p.resolve(value as never);
  }

  private protocolError(p: Request, what: string): ProtocolError {
    return new ProtocolError(`${this.target}: ${p.name}(${formatArgs(p.code, p.args, true)}): ${what}`);
  }

  private arm(deadline: number): void {
    if (this.timer !== undefined && this.armedFor <= deadline) {
      this.timer.ref(); // it may have been idle (unref'd); it guards a deadline again
      return;
    }
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedFor = deadline;
    this.timer = setTimeout(this.sweep, Math.max(0, Math.ceil(deadline - performance.now())));
  }

  /** Expires requests past their deadline, releases settled raw bytes, re-arms for the next deadline. */
  private readonly sweep = (): void => {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = performance.now() + 1; // timers may fire up to a millisecond early against performance.now()
    let next = Infinity;
    for (const p of this.pending.values()) {
      if (p.deadline <= now) {
        this.settle(p, new RequestTimeout(this.target, p.name, p.timeoutMs, this.lastHeard(), formatArgs(p.code, p.args, false)));
      } else if (p.deadline < next) {
        next = p.deadline;
      }
    }
    while (this.rawHead < this.rawSlots.length && this.rawSlots[this.rawHead]!.deadline <= now) this.releaseRawHead();
    if (this.rawHead < this.rawSlots.length) next = Math.min(next, this.rawSlots[this.rawHead]!.deadline);
    if (next !== Infinity) this.arm(next);
    this.schedulePump();
  };

  private releaseRawHead(): void {
    this.inflightBytes -= this.rawSlots[this.rawHead]!.bytes;
    if (++this.rawHead === this.rawSlots.length) {
      this.rawSlots = [];
      this.rawHead = 0;
    }
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
    const p = this.pending.get(seq);
    if (!p) return this.unsolicited(msg);
    // Everything written before this request has been read by the device.
    while (this.rawHead < this.rawSlots.length && this.rawSlots[this.rawHead]!.order < p.order) this.releaseRawHead();
    const code: unknown = msg[1];
    if (code === 0 && msg.length <= 3) return this.settle(p, undefined, msg[2]);
    if (typeof code === 'number' && Number.isInteger(code) && code > 0 && msg.length === 2) {
      return this.settle(p, new DeviceError(this.target, p.name, code, formatArgs(p.code, p.args, code === 2)));
    }
    this.settle(p, this.protocolError(p, `malformed response ${describe(msg)}: expected [seq, 0], [seq, 0, result] or [seq, code]`));
  }

  private unsolicited(message: unknown): void {
    this.counters.unsolicited++;
    this.emit('unsolicited', message);
  }

  /** What the target last sent and how long ago, for RequestTimeout. */
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
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
    const opts = cause ? { cause } : undefined;
    const pending = [...this.pending.values()];
    const queued = this.queue.slice(this.queueHead);
    this.pending.clear();
    this.queue = [];
    this.queueHead = 0;
    this.rawSlots = [];
    this.rawHead = 0;
    this.inflightBytes = 0;
    this.inflightRequests = 0;
    for (const p of pending) p.reject(new ClientClosed(this.target, disconnected, p.name, opts));
    for (const q of queued) {
      if (q.raw) q.reject(new ClientClosed(this.target, disconnected, q.frame ? 'sendMessage' : 'writeRaw', opts));
      else q.reject(new ClientClosed(this.target, disconnected, q.name, opts));
    }
    this.emit('close', cause);
  }
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

function batchOpToWire(op: BatchOp, i: number): number[] {
  if (!BATCHABLE.has(op?.op)) throw new TypeError(`batch: ops[${i}]: unknown op ${JSON.stringify(op?.op)}`);
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
