/**
 * The dispatcher of the twin: turns one CRC-good request message into its response message
 * (PROTOCOL.md §3.1, §4, §5, §6), in two calls so that the link layer (link.ts, §3.3) decides in
 * between: parse() applies §3.1 steps 1 and 2 (which give the seq), execute() steps 3..5. C
 * counterpart: cvm_dispatch.c. A differential test compares its bytes with the C core's, so every
 * check follows the spec's order to the letter.
 *
 * Each operation's argument count and kinds, whether it may be batched and whether its result is an
 * int32 come from the generated OpFacts (protocol/constants.json), as the C dispatcher's tables do.
 * It keeps the counters ops, op_errors and rx_malformed (stats keys 5, 6, 11).
 */
import { encodeCbor } from '../codec/cbor.js';
import { type CborItem, MalformedCbor, readStrict } from '../codec/strict.js';
import { type ArgKind, ErrorCode, Framing, Op, OpFacts, PROTOCOL_VERSION, StatsKey } from '../protocol/constants.js';
import { type PoolLimits, type ReplayLimits, limitsOf, resolvePoolLimits } from '../protocol/limits.js';
import { type Hello, type Stats, helloToWire, statsToWire } from '../protocol/messages.js';
import type { LineCounters } from './line.js';
import type { SessionCounters } from './link.js';
import type { Pool } from './pool.js';

const E = ErrorCode;
const OP_COUNT = OpFacts.length;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

for (let op = 0; op < OP_COUNT; op++) {
  if (OpFacts[op]!.code !== op) throw new Error(`twin: OpFacts[${op}] holds op ${OpFacts[op]!.code}; the facts must be indexed by op code`);
}
/** Whether each op's successful result is an int32 ([seq, 0, value]; in a batch [0, value]). C: CVM_OP_INT32_RESULT_TABLE. */
const INT32_RESULT: readonly boolean[] = OpFacts.map((f) => f.result === 'int32');

/** A request that passed §3.1 steps 1 and 2. C: cvm_dispatch_request. */
export interface ParsedRequest {
  readonly seq: number;
  /** Exactly [seq, 0]: the link layer's rule 2 (§3.3). */
  readonly isHello: boolean;
  /** The request array's elements, the seq first. */
  readonly items: readonly CborItem[];
}

/** What hello reports about the device besides its limits (C: cvm_identity, plus the uptime). */
export interface Identity {
  firmwareId: string;
  bootNonce: number;
  uptimeMs: number;
  resetCause: string;
  uniqueId: Uint8Array;
}

/** What the dispatcher reads but does not own (C: the pointers given to cvm_dispatch_init). */
export interface DispatchContext {
  readonly pool: Pool;
  readonly limits: Readonly<PoolLimits>;
  readonly replay: Readonly<ReplayLimits>;
  identity(): Identity;
  lineCounters(): LineCounters;
  sessionCounters(): SessionCounters;
}

function argOk(kind: ArgKind, item: CborItem): boolean {
  switch (kind) {
    case 'id':
      return item.t === 'int';
    case 'int32':
      return item.t === 'int' && typeof item.v === 'number' && item.v >= INT32_MIN && item.v <= INT32_MAX;
    case 'bytes':
      return item.t === 'bytes';
    case 'ops':
      return item.t === 'array';
  }
}

/** §3.1 step 4: exactly the op's number of arguments, each of its kind, starting at items[base]. */
function argsOk(op: number, items: readonly CborItem[], base: number): boolean {
  const args = OpFacts[op]!.args;
  if (items.length - base !== args.length) return false;
  for (let i = 0; i < args.length; i++) if (!argOk(args[i]!.kind, items[base + i]!)) return false;
  return true;
}

/** An op code item as an op: the op code, -1 for a code that names no operation, undefined when it is not a uint (bad_arg). */
function opOf(item: CborItem | undefined): number | undefined {
  if (item === undefined || item.t !== 'int' || item.v < 0) return undefined;
  return typeof item.v === 'number' && item.v < OP_COUNT ? item.v : -1;
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
 * cvm_config.h (head 7, map head 1, one byte per key, 5 per uint32 counter — every key but the
 * contexts —, then the contexts array), so the twin accepts exactly the configurations the
 * firmware builds.
 */
export function worstCaseStatsBytes(l: PoolLimits): number {
  const elements = l.maxArrays * l.arrayElements;
  const entry =
    2 + 2 * cborUintSize(l.maxGlobals) + 2 * cborUintSize(l.maxArrays) + 2 * cborUintSize(elements) + cborUintSize(4 * (l.maxGlobals + elements));
  const keyCount = Object.keys(StatsKey).length;
  return 7 + 1 + keyCount + (keyCount - 1) * 5 + cborUintSize(l.maxVms) + l.maxVms * entry;
}

/**
 * resolvePoolLimits (defaults filled in, each limit in 1..POOL_LIMIT_MAXIMA, no other key) plus the
 * C build's other check: the worst-case stats response must fit one message. Throws RangeError.
 */
export function resolveTwinLimits(limits: Partial<PoolLimits> = {}): PoolLimits {
  const l = resolvePoolLimits(limits, 'twin');
  const worst = worstCaseStatsBytes(l);
  if (worst > Framing.maxMessageBytes) {
    throw new RangeError(
      `twin: with limits ${JSON.stringify(l)} a stats response may take ${worst} bytes, more than max_message_bytes (${Framing.maxMessageBytes})`,
    );
  }
  return l;
}

const inc = (n: number): number => (n + 1) >>> 0;

export class Dispatcher {
  private ops = 0;
  private opErrors = 0;
  private rxMalformed = 0;
  /** The value a successful load_global/load_array left (the C core's out-parameter). */
  private loaded = 0;

  constructor(private readonly ctx: DispatchContext) {}

  /** Zeroes ops, op_errors and rx_malformed (a reboot; cvm_dispatch_init). */
  reset(): void {
    this.ops = this.opErrors = this.rxMalformed = 0;
  }

  /**
   * §3.1 steps 1 and 2 on a request message: well-formed within max_cbor_depth, an array whose
   * first element is a uint32 seq. Otherwise rx_malformed += 1 and undefined (no reply). Executes
   * nothing. C: cvm_dispatch_parse.
   */
  parse(message: Buffer): ParsedRequest | undefined {
    let top: CborItem;
    try {
      top = readStrict(message);
    } catch (e) {
      if (!(e instanceof MalformedCbor)) throw e;
      this.rxMalformed = inc(this.rxMalformed);
      return undefined;
    }
    const seqItem = top.t === 'array' ? top.v[0] : undefined;
    if (seqItem === undefined || seqItem.t !== 'int' || typeof seqItem.v !== 'number' || seqItem.v < 0 || seqItem.v > UINT32_MAX) {
      this.rxMalformed = inc(this.rxMalformed);
      return undefined;
    }
    const items = (top as { v: CborItem[] }).v;
    return { seq: seqItem.v, isHello: items.length === 2 && opOf(items[1]) === Op.hello, items };
  }

  /**
   * Executes a request parse() accepted (§3.1 steps 3..5, §4, §5, §6), counts it in ops/op_errors
   * and returns its response message (CBOR, core deterministic encoding). C: cvm_dispatch_execute.
   */
  execute(req: ParsedRequest): Buffer {
    return encodeCbor(this.run(req.seq, req.items));
  }

  /** The stats result as of now: ops counts the operations completed before this one. */
  stats(): Stats {
    const t = this.ctx.pool.telemetry();
    return {
      contextsAcquired: t.contextsAcquired,
      contextsHw: t.contextsHw,
      acquires: t.acquires,
      releases: t.releases,
      ops: this.ops,
      opErrors: this.opErrors,
      ...this.ctx.lineCounters(),
      rxMalformed: this.rxMalformed,
      // The twin's receive path is a synchronous call: it has no ring to overflow.
      rxOverrun: 0,
      contexts: t.contexts,
      ...this.ctx.sessionCounters(),
    };
  }

  /** rx_malformed (stats key 11). */
  get malformed(): number {
    return this.rxMalformed;
  }

  private run(seq: number, items: readonly CborItem[]): unknown[] {
    const op = opOf(items[1]);
    if (op === undefined) return this.fail(seq, E.bad_arg);
    if (op < 0) return this.fail(seq, E.unknown_op);
    if (!argsOk(op, items, 2)) return this.fail(seq, E.bad_arg);
    if (OpFacts[op]!.batchable) {
      const code = this.poolOp(op, items, 2);
      this.count(code);
      if (code !== E.ok) return [seq, code];
      return INT32_RESULT[op] ? [seq, E.ok, this.loaded] : [seq, E.ok];
    }
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
      default:
        throw new Error(`twin: op ${OpFacts[op]!.name} is neither batchable nor handled by the dispatcher`);
    }
  }

  /** §4.2: one result per entry, in order; a failing entry does not stop the rest. */
  private batch(seq: number, entries: readonly CborItem[]): unknown[] {
    if (entries.length > Framing.maxBatchOps) return this.fail(seq, E.too_large);
    const results: unknown[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const args = entry.t === 'array' ? entry.v : [];
      const op = opOf(args[0]);
      let code: number;
      if (op === undefined) code = E.bad_arg;
      else if (op < 0) code = E.unknown_op;
      // Checked before the arguments: a not_in_batch entry's arguments are never looked at.
      else if (!OpFacts[op]!.batchable) code = E.not_in_batch;
      else if (!argsOk(op, args, 1)) code = E.bad_arg;
      else {
        code = this.poolOp(op, args, 1);
        if (code === E.ok && INT32_RESULT[op]) {
          this.count(code);
          results[i] = [E.ok, this.loaded];
          continue;
        }
      }
      this.count(code);
      results[i] = [code];
    }
    return [seq, E.ok, results];
  }

  /**
   * Runs a batchable (pool) operation whose arguments, at items[base..], passed §3.1 step 4.
   * Returns its error code; a load's value is left in this.loaded.
   */
  private poolOp(op: number, items: readonly CborItem[], base: number): number {
    const pool = this.ctx.pool;
    const a = (i: number): number => num(items[base + i]!);
    switch (op) {
      case Op.acquire:
        return pool.acquire(a(0));
      case Op.release:
        return pool.release(a(0));
      case Op.load_global: {
        const r = pool.load_global(a(0), a(1));
        if (r.code === E.ok) this.loaded = r.value;
        return r.code;
      }
      case Op.store_global:
        return pool.store_global(a(0), a(1), a(2));
      case Op.create_array:
        return pool.create_array(a(0), a(1), a(2));
      case Op.load_array: {
        const r = pool.load_array(a(0), a(1), a(2));
        if (r.code === E.ok) this.loaded = r.value;
        return r.code;
      }
      case Op.store_array:
        return pool.store_array(a(0), a(1), a(2), a(3));
      case Op.reset_pool:
        // Clears the pool figures and ops/op_errors (stats keys 1–6 and 14); link counters stay.
        // The caller then counts reset_pool's own completion, so the next stats reports ops = 1.
        pool.reset();
        this.ops = this.opErrors = 0;
        return E.ok;
      default:
        throw new Error(`twin: op ${op} is batchable but has no pool function`);
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
    const id = this.ctx.identity();
    return {
      protoVersion: PROTOCOL_VERSION,
      firmwareId: id.firmwareId,
      ...limitsOf(this.ctx.limits),
      maxLine: Framing.maxLineBytes,
      maxBatch: Framing.maxBatchOps,
      bootNonce: id.bootNonce,
      uptimeMs: id.uptimeMs,
      resetCause: id.resetCause,
      uniqueId: id.uniqueId,
      replayDepth: this.ctx.replay.replayDepth,
      replayBytes: this.ctx.replay.replayBytes,
      holdDepth: this.ctx.replay.holdDepth,
      holdMessageBytes: this.ctx.replay.holdMessageBytes,
    };
  }
}
