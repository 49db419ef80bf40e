/**
 * Typed forms of the protocol's structured results (hello, stats) and their wire maps
 * (PROTOCOL.md §5, §6). The client reads them; the twin writes them; both through this module so
 * the field order and keys are defined once (from the generated constants).
 */
import { CONTEXT_FIELDS, HelloKey, StatsKey } from './constants.js';
import type { PoolLimits, ReplayLimits } from './limits.js';

/** hello result. C: the map written by cvm_dispatch.c for CVM_OP_HELLO. */
export interface Hello extends PoolLimits, ReplayLimits {
  protoVersion: number;
  firmwareId: string;
  /** Most bytes a line may hold before its '\n'. */
  maxLine: number;
  /** Most operations in one batch. */
  maxBatch: number;
  /** uint32, new at every boot. */
  bootNonce: number;
  /** Milliseconds since boot, uint32, wraps. */
  uptimeMs: number;
  resetCause: string;
  /** 12 bytes, or empty where the device cannot read it. */
  uniqueId: Uint8Array;
}

/** One context's entry in stats. C: struct cvm_context_stats. */
export interface ContextStats {
  acquired: boolean;
  globalsInUse: number;
  arraysActive: number;
  elements: number;
  bytesUsed: number;
  hwGlobals: number;
  hwArrays: number;
  hwElements: number;
}

/** stats result. Counters are uint32 and wrap. C: the map written by cvm_dispatch.c for CVM_OP_STATS. */
export interface Stats {
  contextsAcquired: number;
  contextsHw: number;
  acquires: number;
  releases: number;
  ops: number;
  opErrors: number;
  rxFrames: number;
  rxBadFrame: number;
  rxBadCrc: number;
  rxOverlong: number;
  rxMalformed: number;
  rxNoise: number;
  rxOverrun: number;
  contexts: ContextStats[];
  /** Duplicates answered from the replay cache, not executed again (§3.3 rule 1). C: cvm_link_counters.replayed. */
  replayed: number;
  /** Requests refused with [seq, out_of_sequence, next] (§3.3 rule 6). */
  outOfSequence: number;
  /** Requests refused with [seq, no_session] (§3.3 rule 3). */
  noSession: number;
  /** Sessions opened by a hello that was not a duplicate (§3.3 rule 2). */
  sessions: number;
  /** Requests held past a gap and answered [seq, held, next] (§3.3 rule 5). C: cvm_link_counters.held. */
  held: number;
}

/** The link layer's counters (stats keys 15..19, PROTOCOL.md §3.3). C: cvm_link_counters. */
export type LinkCounters = Pick<Stats, 'replayed' | 'outOfSequence' | 'noSession' | 'sessions' | 'held'>;

/** The link counters of a stats result; any one missing (a device of an older protocol) reads 0. */
export function linkCountersOf(s: Partial<LinkCounters>): LinkCounters {
  return { replayed: s.replayed ?? 0, outOfSequence: s.outOfSequence ?? 0, noSession: s.noSession ?? 0, sessions: s.sessions ?? 0, held: s.held ?? 0 };
}

/** A response whose shape breaks the schema: a device bug, never a user error. */
export class ProtocolError extends Error {}

const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function fromMap<T>(what: string, keys: Record<string, number>, value: unknown): T {
  if (!(value instanceof Map)) throw new ProtocolError(`${what}: expected a map, got ${describe(value)}`);
  const out: Record<string, unknown> = {};
  for (const [name, key] of Object.entries(keys)) {
    if (!value.has(key)) throw new ProtocolError(`${what}: key ${key} (${name}) missing`);
    out[camel(name)] = value.get(key);
  }
  return out as T;
}

function toMap(keys: Record<string, number>, value: object): Map<number, unknown> {
  const src = value as Record<string, unknown>;
  return new Map(Object.entries(keys).map(([name, key]) => [key, src[camel(name)]]));
}

export function describe(value: unknown): string {
  if (value instanceof Uint8Array) return `byte string of ${value.length}`;
  if (value instanceof Map) return 'map';
  if (Array.isArray(value)) return `array of ${value.length}`;
  return `${typeof value} ${String(value)}`;
}

function uint(what: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new ProtocolError(`${what}: expected an unsigned integer, got ${describe(v)}`);
  return v;
}

/** Wire map → Hello; throws ProtocolError naming the field that is wrong. */
export function helloFromWire(value: unknown): Hello {
  const h = fromMap<Hello>('hello', HelloKey, value);
  for (const k of ['protoVersion', 'maxVms', 'maxGlobals', 'maxArrays', 'arrayElements', 'maxLine', 'maxBatch', 'bootNonce', 'uptimeMs', 'replayDepth', 'replayBytes', 'holdDepth', 'holdMessageBytes'] as const) {
    uint(`hello.${k}`, h[k]);
  }
  if (typeof h.firmwareId !== 'string') throw new ProtocolError('hello.firmwareId: expected text');
  if (typeof h.resetCause !== 'string') throw new ProtocolError('hello.resetCause: expected text');
  if (!(h.uniqueId instanceof Uint8Array)) throw new ProtocolError('hello.uniqueId: expected a byte string');
  h.uniqueId = new Uint8Array(h.uniqueId);
  return h;
}

/** Hello → wire map, keys in ascending order (deterministic encoding: HelloKey is generated in key order). */
export function helloToWire(h: Hello): Map<number, unknown> {
  return toMap(HelloKey, h);
}

/** Wire map → Stats; throws ProtocolError naming the field that is wrong. */
export function statsFromWire(value: unknown): Stats {
  const s = fromMap<Stats>('stats', StatsKey, value);
  for (const [name] of Object.entries(StatsKey)) {
    if (name !== 'contexts') uint(`stats.${camel(name)}`, (s as unknown as Record<string, unknown>)[camel(name)]);
  }
  const raw = s.contexts as unknown;
  if (!Array.isArray(raw)) throw new ProtocolError('stats.contexts: expected an array');
  s.contexts = raw.map((entry: unknown, vm) => {
    if (!Array.isArray(entry) || entry.length !== CONTEXT_FIELDS.length) {
      throw new ProtocolError(`stats.contexts[${vm}]: expected an array of ${CONTEXT_FIELDS.length}, got ${describe(entry)}`);
    }
    const c: Record<string, unknown> = {};
    CONTEXT_FIELDS.forEach((f, i) => (c[camel(f)] = uint(`stats.contexts[${vm}].${f}`, entry[i])));
    c.acquired = entry[0] === 1;
    return c as unknown as ContextStats;
  });
  return s;
}

/** Stats → wire map, keys in ascending order (StatsKey is generated in key order: 1..13, 14 the contexts, 15..19). */
export function statsToWire(s: Stats): Map<number, unknown> {
  const m = toMap(StatsKey, s);
  m.set(
    StatsKey.contexts,
    s.contexts.map((c) => CONTEXT_FIELDS.map((f) => (f === 'acquired' ? (c.acquired ? 1 : 0) : (c as unknown as Record<string, number>)[camel(f)]))),
  );
  return m;
}
