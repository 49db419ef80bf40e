/**
 * The device side of the protocol, in TypeScript: what the firmware's main loop does with the bytes
 * its UART receives (PROTOCOL.md §2.1, §3, §4, §5, §6), over the twin pool. C counterpart:
 * cvm_line.c + cvm_dispatch.c over cvm_pool.c. A differential test compares its response bytes with
 * the C core's, so every rule here follows the spec's order of checks to the letter.
 *
 * The device does no I/O: feed() takes received bytes, and every line it writes (banner, log,
 * response frame, injected garbage) is emitted, whole and in order, as one `output` event — the
 * one output path of §2, so a log line never lands inside a frame. Whoever attaches the device to a
 * link (TwinTransport, serveTwinOnPty) forwards `output` to the link and `disconnect` to its end.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { encodeCbor } from '../codec/cbor.js';
import { type CborItem, MalformedCbor, readStrict } from '../codec/strict.js';
import { classifyLine, encodeFrame } from '../framing/frame.js';
import { LineReader } from '../framing/line-reader.js';
import { BANNER_PREFIX, ErrorCode, Framing, Op, OpArity, PROTOCOL_VERSION, RESET_CAUSES } from '../protocol/constants.js';
import { type Hello, type Stats, helloToWire, statsToWire } from '../protocol/messages.js';
import { Pool, type PoolLimits, resolveLimits } from './pool.js';

/** A reset cause hello may report (C: cvm_reset_cause). */
export type ResetCause = (typeof RESET_CAUSES)[number];

export interface TwinDeviceOptions {
  /** Build-time limits of the pool; defaults from DefaultLimits. See resolveTwinLimits for the bounds. */
  limits?: Partial<PoolLimits>;
  /**
   * Firmware id reported by hello and the banner: printable ASCII, at most FIRMWARE_ID_MAX (64)
   * characters, no spaces (the banner is split on spaces). Default `cvm-twin/0.1.0+vms<n>.g<n>.a<n>.e<n>`,
   * the form of the C firmware's id.
   */
  firmwareId?: string;
  /** Boot nonce (uint32) of the first boot. Default: random. reboot() always draws a new random one. */
  bootNonce?: number;
  /** Reset cause of the first boot. Default 'power_on'. */
  resetCause?: ResetCause;
  /**
   * The 96-bit unique id hello reports: 12 bytes, or empty for "cannot be read". Default: derived
   * from the first boot nonce — "TWIN" in ASCII, the nonce big-endian, then its bitwise complement
   * big-endian — and kept across reboot(), as a chip's id survives a reset.
   */
  uniqueId?: Uint8Array;
  /** Monotonic clock in milliseconds, for uptime_ms. Default performance.now(). */
  clock?: () => number;
}

export interface TwinDeviceEvents {
  /** Bytes the device writes to the link: one whole line per event (emitGarbage: its bytes as given). */
  output: [line: Buffer];
  /** disconnect() was called: the link must end as if the cable were pulled. */
  disconnect: [];
}

/**
 * The link counters of §2.1 (stats keys 7–13). uint32, wrapping. rxOverrun is always 0: the
 * twin's receive path is a synchronous call, it has no ring to overflow.
 */
export type LinkCounters = Pick<Stats, 'rxFrames' | 'rxBadFrame' | 'rxBadCrc' | 'rxOverlong' | 'rxMalformed' | 'rxNoise' | 'rxOverrun'>;

const E = ErrorCode;
const OP_COUNT = Object.keys(Op).length;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** What each argument of an operation must be (§3.1 step 4). */
const enum Arg {
  /** vm, global, array, index or size: any integer (major type 0 or 1). */
  Id,
  /** An integer in int32. */
  Value,
  /** A byte string (echo). */
  Bytes,
  /** An array (batch). */
  Array,
}

/** Argument kinds by op code; their counts are checked against the generated OpArity below. */
const ARGS: readonly (readonly Arg[])[] = [
  /* hello */ [],
  /* acquire */ [Arg.Id],
  /* release */ [Arg.Id],
  /* load_global */ [Arg.Id, Arg.Id],
  /* store_global */ [Arg.Id, Arg.Id, Arg.Value],
  /* create_array */ [Arg.Id, Arg.Id, Arg.Id],
  /* load_array */ [Arg.Id, Arg.Id, Arg.Id],
  /* store_array */ [Arg.Id, Arg.Id, Arg.Id, Arg.Value],
  /* stats */ [],
  /* batch */ [Arg.Array],
  /* echo */ [Arg.Bytes],
  /* reset_pool */ [],
];
for (let op = 0; op < OP_COUNT; op++) {
  if (ARGS[op]?.length !== OpArity[op]) throw new Error(`twin: argument table disagrees with OpArity for op ${op}`);
}

/** Ops a batch may not hold (§4.2): their results are unbounded. */
const NOT_IN_BATCH: readonly boolean[] = Array.from({ length: OP_COUNT }, (_, op) => op === Op.hello || op === Op.stats || op === Op.batch || op === Op.echo);

function argOk(kind: Arg, item: CborItem): boolean {
  switch (kind) {
    case Arg.Id:
      return item.t === 'int';
    case Arg.Value:
      return item.t === 'int' && typeof item.v === 'number' && item.v >= INT32_MIN && item.v <= INT32_MAX;
    case Arg.Bytes:
      return item.t === 'bytes';
    case Arg.Array:
      return item.t === 'array';
  }
}

/** Exactly the op's number of arguments, each of the right CBOR type, starting at items[base]. */
function argsOk(op: number, items: readonly CborItem[], base: number): boolean {
  const kinds = ARGS[op]!;
  if (items.length - base !== kinds.length) return false;
  for (let i = 0; i < kinds.length; i++) if (!argOk(kinds[i]!, items[base + i]!)) return false;
  return true;
}

/**
 * An id, index or size as the pool takes it. An integer too wide for a double's exact range is
 * past every limit either way, so it becomes -1: out_of_range for an id, bad_size for a size (the
 * C core's CVM_POOL_ID_INVALID).
 */
function num(item: CborItem): number {
  const v = (item as { v: number | bigint }).v;
  return typeof v === 'number' ? v : -1;
}

/** Size in bytes of the shortest CBOR head carrying v (RFC 8949 §4.2.1). C: CVM_CBOR_UINT_SIZE. */
function cborUintSize(v: number): number {
  return v < 24 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= UINT32_MAX ? 5 : 9;
}

/**
 * Largest stats response of a configuration, by the same formula as CVM_STATS_RESPONSE_MAX in
 * cvm_config.h, so the twin accepts exactly the configurations the firmware builds.
 */
export function worstCaseStatsBytes(l: PoolLimits): number {
  const elements = l.vmMaxArrays * l.vmArrayElements;
  const entry =
    2 + 2 * cborUintSize(l.vmMaxGlobals) + 2 * cborUintSize(l.vmMaxArrays) + 2 * cborUintSize(elements) + cborUintSize(4 * (l.vmMaxGlobals + elements));
  const keyCount = 14;
  return 7 + 1 + keyCount + 13 * 5 + cborUintSize(l.maxConcurrentVms) + l.maxConcurrentVms * entry;
}

/**
 * resolveLimits (each limit in 1..LimitMaxima) plus the C build's other check: the worst-case stats
 * response must fit one message. Throws RangeError.
 */
export function resolveTwinLimits(limits: Partial<PoolLimits> = {}): PoolLimits {
  const l = resolveLimits(limits);
  const worst = worstCaseStatsBytes(l);
  if (worst > Framing.maxMessageBytes) {
    throw new RangeError(
      `twin: with limits ${JSON.stringify(l)} a stats response may take ${worst} bytes, more than max_message_bytes (${Framing.maxMessageBytes})`,
    );
  }
  return l;
}

/** The default firmware id of a twin with these limits. */
export function defaultFirmwareId(l: PoolLimits): string {
  return `cvm-twin/0.1.0+vms${l.maxConcurrentVms}.g${l.vmMaxGlobals}.a${l.vmMaxArrays}.e${l.vmArrayElements}`;
}

/** The default unique id: "TWIN", the nonce big-endian, its complement big-endian (12 bytes). */
export function uniqueIdFromNonce(nonce: number): Uint8Array {
  const b = Buffer.alloc(12);
  b.write('TWIN', 0, 'latin1');
  b.writeUInt32BE(nonce >>> 0, 4);
  b.writeUInt32BE(~nonce >>> 0, 8);
  return new Uint8Array(b);
}

function randomNonce(): number {
  return randomBytes(4).readUInt32BE(0);
}

/**
 * Longest firmware id, in bytes (C: CVM_FIRMWARE_ID_MAX, which truncates; the twin refuses instead,
 * since its id is a constructor argument). With it, hello always fits one message.
 */
export const FIRMWARE_ID_MAX = 64;

const inc = (n: number): number => (n + 1) >>> 0;

/**
 * The device. Construct, attach an `output` listener, then boot() to print the banner (what the
 * firmware does at reset); a link adapter does that once the line is open.
 */
export class TwinDevice extends EventEmitter<TwinDeviceEvents> {
  readonly limits: Readonly<PoolLimits>;
  readonly firmwareId: string;
  readonly uniqueId: Uint8Array;
  /** The pool this device serves (read it in tests; mutating it directly bypasses ops counting). */
  readonly pool: Pool;
  private nonce: number;
  private cause: ResetCause;
  private readonly clock: () => number;
  private bootedAt: number;
  private hung = false;
  private reader!: LineReader;
  private ops = 0;
  private opErrors = 0;
  private readonly link: LinkCounters = { rxFrames: 0, rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxMalformed: 0, rxNoise: 0, rxOverrun: 0 };
  /** The value a successful load_global/load_array left (the C core's out-parameter). */
  private loaded = 0;

  /** Throws RangeError for limits the firmware would not build with, or an unusable firmware id, nonce or unique id. */
  constructor(options: TwinDeviceOptions = {}) {
    super();
    this.limits = Object.freeze(resolveTwinLimits(options.limits));
    this.pool = new Pool(this.limits);
    this.firmwareId = options.firmwareId ?? defaultFirmwareId(this.limits);
    const nonce = options.bootNonce ?? randomNonce();
    if (!Number.isInteger(nonce) || nonce < 0 || nonce > UINT32_MAX) throw new RangeError(`twin: bootNonce must be a uint32, got ${nonce}`);
    this.nonce = nonce;
    this.cause = options.resetCause ?? 'power_on';
    if (!RESET_CAUSES.includes(this.cause)) throw new RangeError(`twin: unknown reset cause ${String(this.cause)}`);
    const id = options.uniqueId ?? uniqueIdFromNonce(nonce);
    if (id.length !== 12 && id.length !== 0) throw new RangeError(`twin: uniqueId must be 12 bytes or empty, got ${id.length}`);
    this.uniqueId = new Uint8Array(id);
    this.clock = options.clock ?? (() => performance.now());
    this.bootedAt = this.clock();
    this.checkFirmwareId();
    this.newReader();
  }

  /** The boot nonce of the current boot (uint32). */
  get bootNonce(): number {
    return this.nonce;
  }

  /** The reset cause hello reports for the current boot. */
  get resetCause(): ResetCause {
    return this.cause;
  }

  /** Milliseconds since the current boot, uint32, wrapping. */
  get uptimeMs(): number {
    return Math.floor(this.clock() - this.bootedAt) >>> 0;
  }

  /** True between hang() and resume() (or reboot()). */
  get isHung(): boolean {
    return this.hung;
  }

  /** A copy of the link counters (stats keys 7–13). */
  linkCounters(): LinkCounters {
    return { ...this.link };
  }

  /** The boot banner line of §5, '\n' included. */
  banner(): string {
    const l = this.limits;
    const nonce = this.nonce.toString(16).padStart(8, '0');
    return `${BANNER_PREFIX} proto=${PROTOCOL_VERSION} fw=${this.firmwareId} nonce=${nonce} vms=${l.maxConcurrentVms} globals=${l.vmMaxGlobals} arrays=${l.vmMaxArrays} elements=${l.vmArrayElements}\n`;
  }

  /** Prints the banner: what the firmware does right after reset, before any frame. */
  boot(): void {
    this.emit('output', Buffer.from(this.banner(), 'latin1'));
  }

  /** Bytes received from the link. Lines are handled as LineReader delivers them (synchronously today). */
  feed(bytes: Buffer): void {
    if (this.hung) return;
    this.reader.push(bytes);
  }

  // ---- fault controls ------------------------------------------------------------------------

  /** Stops answering: received bytes are read and discarded (not counted) until resume() or reboot(). */
  hang(): void {
    this.hung = true;
  }

  /** Answers again. A line cut by the hang is dropped: reception restarts at a line boundary. */
  resume(): void {
    if (!this.hung) return;
    this.hung = false;
    this.newReader();
  }

  /**
   * Resets the device: a new random boot nonce (never the previous one), the pool, ops and link
   * counters cleared, the receive state dropped, uptime restarted, then the banner printed again.
   * hello then reports resetCause (default 'software', as after a firmware-requested reset; pass
   * 'pin' for the reset button, 'watchdog', ...). The unique id is kept.
   */
  reboot(resetCause: ResetCause = 'software'): void {
    if (!RESET_CAUSES.includes(resetCause)) throw new RangeError(`twin: unknown reset cause ${String(resetCause)}`);
    let nonce = randomNonce();
    while (nonce === this.nonce) nonce = randomNonce();
    this.nonce = nonce;
    this.cause = resetCause;
    this.pool.reset();
    this.ops = this.opErrors = 0;
    for (const k of Object.keys(this.link) as (keyof LinkCounters)[]) this.link[k] = 0;
    this.hung = false;
    this.newReader();
    this.bootedAt = this.clock();
    this.boot();
  }

  /** The link ends as if the cable were pulled: emits `disconnect` for the adapter to act on. */
  disconnect(): void {
    this.emit('disconnect');
  }

  /** Writes arbitrary bytes on the line, as given (no '\n' added). */
  emitGarbage(bytes: Uint8Array): void {
    this.emit('output', Buffer.from(bytes));
  }

  /**
   * Writes text plus '\n' as one log line, sanitised as cvm_device_log() does so the host never
   * takes it for a frame nor sees it split: a leading '~' becomes '?', each '\r' or '\n' a space,
   * and text past max_line_bytes − 1 bytes is cut there, ending in "...". Text is sent as latin1.
   */
  log(text: string): void {
    let t = text.replace(/[\r\n]/g, ' ').replace(/^~/, '?');
    const max = Framing.maxLineBytes - 1;
    if (t.length > max) t = t.slice(0, max - 3) + '...';
    this.emit('output', Buffer.from(t + '\n', 'latin1'));
  }

  // ---- receive path (§2.1, §3.1) ---------------------------------------------------------------

  private newReader(): void {
    const reader: LineReader = new LineReader((line) => {
      if (reader === this.reader && !this.hung) this.onLine(line);
    });
    this.reader = reader;
  }

  private onLine(line: Buffer): void {
    const c = classifyLine(line);
    const link = this.link;
    switch (c.kind) {
      case 'empty':
        return;
      case 'log':
        link.rxNoise = inc(link.rxNoise);
        return;
      case 'defect':
        if (c.defect === 'overlong') link.rxOverlong = inc(link.rxOverlong);
        else if (c.defect === 'bad_frame') link.rxBadFrame = inc(link.rxBadFrame);
        else link.rxBadCrc = inc(link.rxBadCrc);
        return;
      case 'frame':
        link.rxFrames = inc(link.rxFrames);
        this.onFrame(c.message);
    }
  }

  private onFrame(message: Buffer): void {
    let top: CborItem;
    try {
      top = readStrict(message);
    } catch (e) {
      if (!(e instanceof MalformedCbor)) throw e;
      this.link.rxMalformed = inc(this.link.rxMalformed);
      return;
    }
    const seqItem = top.t === 'array' ? top.v[0] : undefined;
    if (seqItem === undefined || seqItem.t !== 'int' || typeof seqItem.v !== 'number' || seqItem.v < 0 || seqItem.v > UINT32_MAX) {
      this.link.rxMalformed = inc(this.link.rxMalformed);
      return;
    }
    const response = this.request(seqItem.v, (top as { v: CborItem[] }).v);
    this.emit('output', encodeFrame(encodeCbor(response)));
  }

  /** §3.1 steps 3–5 for a request whose seq passed step 2; returns the response message. */
  private request(seq: number, items: CborItem[]): unknown[] {
    const opItem = items[1];
    if (opItem === undefined || opItem.t !== 'int' || opItem.v < 0) return this.fail(seq, E.bad_arg);
    const op = typeof opItem.v === 'number' && opItem.v < OP_COUNT ? opItem.v : -1;
    if (op < 0) return this.fail(seq, E.unknown_op);
    if (!argsOk(op, items, 2)) return this.fail(seq, E.bad_arg);
    switch (op) {
      case Op.hello: {
        const result = helloToWire(this.hello());
        this.count(E.ok);
        return [seq, E.ok, result];
      }
      case Op.stats: {
        const result = statsToWire(this.stats());
        this.count(E.ok);
        return [seq, E.ok, result];
      }
      case Op.echo:
        this.count(E.ok);
        return [seq, E.ok, (items[2] as { v: Uint8Array }).v];
      case Op.batch:
        return this.batch(seq, (items[2] as { v: CborItem[] }).v);
      default: {
        const code = this.poolOp(op, items, 2);
        this.count(code);
        if (code !== E.ok) return [seq, code];
        return op === Op.load_global || op === Op.load_array ? [seq, E.ok, this.loaded] : [seq, E.ok];
      }
    }
  }

  /** §4.2: one result per entry, in order; a failing entry does not stop the rest. */
  private batch(seq: number, entries: CborItem[]): unknown[] {
    if (entries.length > Framing.maxBatchOps) return this.fail(seq, E.too_large);
    const results: unknown[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      let code: number;
      const opItem = entry.t === 'array' ? entry.v[0] : undefined;
      if (opItem === undefined || opItem.t !== 'int' || opItem.v < 0) code = E.bad_arg;
      else {
        const op = typeof opItem.v === 'number' && opItem.v < OP_COUNT ? opItem.v : -1;
        const args = (entry as { v: CborItem[] }).v;
        if (op < 0) code = E.unknown_op;
        else if (NOT_IN_BATCH[op]) code = E.not_in_batch;
        else if (!argsOk(op, args, 1)) code = E.bad_arg;
        else {
          code = this.poolOp(op, args, 1);
          if (code === E.ok && (op === Op.load_global || op === Op.load_array)) {
            this.count(code);
            results[i] = [E.ok, this.loaded];
            continue;
          }
        }
      }
      this.count(code);
      results[i] = [code];
    }
    return [seq, E.ok, results];
  }

  /**
   * Runs a pool operation (op 1–7 or 11) whose arguments, at items[base..], passed §3.1 step 4.
   * Returns its error code; a load's value is left in this.loaded.
   */
  private poolOp(op: number, items: readonly CborItem[], base: number): number {
    const pool = this.pool;
    switch (op) {
      case Op.acquire:
        return pool.acquire(num(items[base]!));
      case Op.release:
        return pool.release(num(items[base]!));
      case Op.load_global: {
        const r = pool.load_global(num(items[base]!), num(items[base + 1]!));
        if (r.code === E.ok) this.loaded = r.value;
        return r.code;
      }
      case Op.store_global:
        return pool.store_global(num(items[base]!), num(items[base + 1]!), num(items[base + 2]!));
      case Op.create_array:
        return pool.create_array(num(items[base]!), num(items[base + 1]!), num(items[base + 2]!));
      case Op.load_array: {
        const r = pool.load_array(num(items[base]!), num(items[base + 1]!), num(items[base + 2]!));
        if (r.code === E.ok) this.loaded = r.value;
        return r.code;
      }
      case Op.store_array:
        return pool.store_array(num(items[base]!), num(items[base + 1]!), num(items[base + 2]!), num(items[base + 3]!));
      case Op.reset_pool:
        // Clears the pool figures and ops/op_errors (stats keys 1–6 and 14); link counters stay.
        // The caller then counts reset_pool's own completion, so the next stats reports ops = 1.
        pool.reset();
        this.ops = this.opErrors = 0;
        return E.ok;
      default:
        throw new Error(`twin: op ${op} is not a pool operation`);
    }
  }

  /** A request answered with an error code as a whole: one erroring operation. */
  private fail(seq: number, code: number): unknown[] {
    this.count(code);
    return [seq, code];
  }

  /** Counts one completed operation (§6: ops, op_errors). */
  private count(code: number): void {
    this.ops = inc(this.ops);
    if (code !== E.ok) this.opErrors = inc(this.opErrors);
  }

  private hello(): Hello {
    const l = this.limits;
    return {
      protoVersion: PROTOCOL_VERSION,
      firmwareId: this.firmwareId,
      maxVms: l.maxConcurrentVms,
      maxGlobals: l.vmMaxGlobals,
      maxArrays: l.vmMaxArrays,
      arrayElements: l.vmArrayElements,
      maxLine: Framing.maxLineBytes,
      maxBatch: Framing.maxBatchOps,
      bootNonce: this.nonce,
      uptimeMs: this.uptimeMs,
      resetCause: this.cause,
      uniqueId: this.uniqueId,
    };
  }

  /** The stats result as of now: ops counts the operations completed before this one. */
  stats(): Stats {
    const t = this.pool.telemetry();
    return {
      contextsAcquired: t.contextsAcquired,
      contextsHw: t.contextsHw,
      acquires: t.acquires,
      releases: t.releases,
      ops: this.ops,
      opErrors: this.opErrors,
      ...this.link,
      contexts: t.contexts,
    };
  }

  /** The firmware id must be printable ASCII of at most FIRMWARE_ID_MAX bytes. */
  private checkFirmwareId(): void {
    if (!/^[\x20-\x7e]*$/.test(this.firmwareId)) throw new RangeError('twin: firmwareId must be printable ASCII');
    if (this.firmwareId.length > FIRMWARE_ID_MAX) {
      throw new RangeError(`twin: firmwareId holds ${this.firmwareId.length} characters, more than ${FIRMWARE_ID_MAX}`);
    }
  }
}
