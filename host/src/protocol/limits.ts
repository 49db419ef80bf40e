/**
 * The pool's build-time limits, one type for every part of the host that speaks of them: hello and
 * the boot banner report them (PROTOCOL.md §5), a build's configuration sets them (firmware/Makefile
 * CONFIG=...), the twin is created with them, the differential stream draws its arguments from them.
 * The names are hello's; C: MAX_CONCURRENT_VMS, VM_MAX_GLOBALS, VM_MAX_ARRAYS, VM_ARRAY_ELEMENTS.
 */
import { DefaultLimits } from './constants.js';

export interface PoolLimits {
  /** Contexts in the pool (MAX_CONCURRENT_VMS), 1..15. */
  maxVms: number;
  /** int32 globals per context (VM_MAX_GLOBALS). */
  maxGlobals: number;
  /** Arrays per context (VM_MAX_ARRAYS). */
  maxArrays: number;
  /** int32 elements an array may hold at most (VM_ARRAY_ELEMENTS). */
  arrayElements: number;
}

/** The limits of a default build (protocol/constants.json). */
export const DEFAULT_POOL_LIMITS: Readonly<PoolLimits> = Object.freeze({
  maxVms: DefaultLimits.maxConcurrentVms,
  maxGlobals: DefaultLimits.vmMaxGlobals,
  maxArrays: DefaultLimits.vmMaxArrays,
  arrayElements: DefaultLimits.vmArrayElements,
});

/** The limits a hello (or anything carrying hello's four fields) reports. */
export function limitsOf(h: PoolLimits): PoolLimits {
  return { maxVms: h.maxVms, maxGlobals: h.maxGlobals, maxArrays: h.maxArrays, arrayElements: h.arrayElements };
}

/** "vms=4 globals=64 arrays=16 elements=64", the banner's spelling. */
export function formatLimits(l: PoolLimits): string {
  return `vms=${l.maxVms} globals=${l.maxGlobals} arrays=${l.maxArrays} elements=${l.arrayElements}`;
}
