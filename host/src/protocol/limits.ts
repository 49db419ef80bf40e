/**
 * The device's build-time limits, one type for every part of the host that speaks of them: hello and
 * the boot banner report them (PROTOCOL.md §5), a build's configuration sets them (firmware/Makefile
 * CONFIG=...), the twin is created with them, the differential stream draws its arguments from them.
 *
 * - PoolLimits: the pool's four (hello keys 2..5). The names are hello's; C: MAX_CONCURRENT_VMS,
 *   VM_MAX_GLOBALS, VM_MAX_ARRAYS, VM_ARRAY_ELEMENTS. The generated constants (DefaultLimits,
 *   LimitMaxima) keep the C-derived names; this module is the one place the two spellings meet.
 * - ReplayLimits: the link layer's sizes, its replay cache and its hold (hello keys 13..16; §3.3).
 *   C: CVM_REPLAY_DEPTH, CVM_REPLAY_BYTES, CVM_HOLD_DEPTH, CVM_HOLD_MESSAGE_BYTES; generated
 *   defaults Link, bounds LinkBounds.
 *
 * hello reports both (its result type, messages.ts Hello, carries the fields of each).
 */
import { DefaultLimits, LimitMaxima, Link, LinkBounds } from './constants.js';

/** The pool's build-time limits. Each an integer in 1..POOL_LIMIT_MAXIMA. */
export interface PoolLimits {
  /** Contexts in the pool (MAX_CONCURRENT_VMS), 1..15. */
  maxVms: number;
  /** int32 globals per context (VM_MAX_GLOBALS), 1..255. */
  maxGlobals: number;
  /** Arrays per context (VM_MAX_ARRAYS), 1..255. */
  maxArrays: number;
  /** int32 elements an array may hold at most (VM_ARRAY_ELEMENTS), 1..65535. */
  arrayElements: number;
}

/** The link layer's build-time sizes (§3.3): the replay cache's and the hold's. */
export interface ReplayLimits {
  /** Responses the cache keeps (CVM_REPLAY_DEPTH): LinkBounds.replayDepth (1..255), default Link.replayDepth (32). */
  replayDepth: number;
  /**
   * Bytes of response messages the cache holds (CVM_REPLAY_BYTES): LinkBounds.replayBytes
   * (382..65535, at least max_message_bytes), default Link.replayBytes (2048).
   */
  replayBytes: number;
  /** Requests past a gap the device holds (CVM_HOLD_DEPTH): LinkBounds.holdDepth (1..255), default Link.holdDepth (16). */
  holdDepth: number;
  /** Longest request message it holds, bytes (CVM_HOLD_MESSAGE_BYTES): LinkBounds.holdMessageBytes (7..382), default Link.holdMessageBytes (32). */
  holdMessageBytes: number;
}

/** Each pool limit's name in the generated constants (DefaultLimits, LimitMaxima). */
const GENERATED_NAME = {
  maxVms: 'maxConcurrentVms',
  maxGlobals: 'vmMaxGlobals',
  maxArrays: 'vmMaxArrays',
  arrayElements: 'vmArrayElements',
} as const satisfies Record<keyof PoolLimits, keyof typeof DefaultLimits & keyof typeof LimitMaxima>;

/** The pool limits' names, in hello's order. */
export const POOL_LIMIT_KEYS = Object.freeze(Object.keys(GENERATED_NAME) as (keyof PoolLimits)[]);

function fromGenerated(table: Record<(typeof GENERATED_NAME)[keyof PoolLimits], number>): Readonly<PoolLimits> {
  return Object.freeze({
    maxVms: table[GENERATED_NAME.maxVms],
    maxGlobals: table[GENERATED_NAME.maxGlobals],
    maxArrays: table[GENERATED_NAME.maxArrays],
    arrayElements: table[GENERATED_NAME.arrayElements],
  });
}

/** The limits of a default build (protocol/constants.json DefaultLimits). */
export const DEFAULT_POOL_LIMITS: Readonly<PoolLimits> = fromGenerated(DefaultLimits);

/** The largest value of each limit the firmware builds with (cvm_config.h's _Static_asserts; LimitMaxima). */
export const POOL_LIMIT_MAXIMA: Readonly<PoolLimits> = fromGenerated(LimitMaxima);

/** The link layer's sizes in a default build (protocol/constants.json Link). */
export const DEFAULT_REPLAY_LIMITS: Readonly<ReplayLimits> = Object.freeze({
  replayDepth: Link.replayDepth,
  replayBytes: Link.replayBytes,
  holdDepth: Link.holdDepth,
  holdMessageBytes: Link.holdMessageBytes,
});

/**
 * Fills in DEFAULT_POOL_LIMITS for the limits not given and checks each is an integer in
 * 1..POOL_LIMIT_MAXIMA. `who` prefixes the message. Throws RangeError naming the limit, or naming
 * a key that is not a limit (such as a C-style name) and listing the right ones.
 */
export function resolvePoolLimits(limits: Partial<PoolLimits> = {}, who = 'limits'): PoolLimits {
  checkKeys(limits, POOL_LIMIT_KEYS, who);
  const out = { ...DEFAULT_POOL_LIMITS, ...definedOnly(limits) };
  for (const key of POOL_LIMIT_KEYS) checkInt(who, key, out[key], 1, POOL_LIMIT_MAXIMA[key]);
  return limitsOf(out);
}

/**
 * Fills in DEFAULT_REPLAY_LIMITS for the sizes not given and checks each is an integer within
 * LinkBounds. Throws RangeError naming the size, or naming a key that is not one.
 */
export function resolveReplayLimits(limits: Partial<ReplayLimits> = {}, who = 'limits'): ReplayLimits {
  const keys = Object.keys(DEFAULT_REPLAY_LIMITS) as (keyof ReplayLimits)[];
  checkKeys(limits, keys, who);
  const out = { ...DEFAULT_REPLAY_LIMITS, ...definedOnly(limits) };
  for (const key of keys) checkInt(who, key, out[key], LinkBounds[key].min, LinkBounds[key].max);
  return { replayDepth: out.replayDepth, replayBytes: out.replayBytes, holdDepth: out.holdDepth, holdMessageBytes: out.holdMessageBytes };
}

/** The limits a hello (or anything carrying hello's four fields) reports. */
export function limitsOf(h: PoolLimits): PoolLimits {
  return { maxVms: h.maxVms, maxGlobals: h.maxGlobals, maxArrays: h.maxArrays, arrayElements: h.arrayElements };
}

/** "vms=4 globals=64 arrays=16 elements=64", the banner's spelling. */
export function formatLimits(l: PoolLimits): string {
  return `vms=${l.maxVms} globals=${l.maxGlobals} arrays=${l.maxArrays} elements=${l.arrayElements}`;
}

/** "vms4.g64.a16.e64", the limits' part of a firmware id (after the '+' of `cvm-fw/<version>+<port>.`). */
export function limitsTag(l: PoolLimits): string {
  return `vms${l.maxVms}.g${l.maxGlobals}.a${l.maxArrays}.e${l.arrayElements}`;
}

/** Keys set to undefined count as not given (as with exactOptionalPropertyTypes off). */
function definedOnly<T extends object>(o: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function checkKeys(o: object, keys: readonly string[], who: string): void {
  if (o === null || typeof o !== 'object') throw new RangeError(`${who}: limits must be an object with some of ${keys.join(', ')}`);
  for (const k of Object.keys(o)) {
    if (!keys.includes(k)) throw new RangeError(`${who}: ${k} is not a limit; use ${keys.join(', ')}`);
  }
}

function checkInt(who: string, key: string, v: unknown, min: number, max: number): void {
  if (!Number.isInteger(v) || (v as number) < min || (v as number) > max) {
    throw new RangeError(`${who}: ${key} must be an integer in ${min}..${max}, got ${String(v)}`);
  }
}
