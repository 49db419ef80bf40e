/**
 * The software twin of the ComponentVM static memory pool (PROTOCOL.md §4.1, §6). C counterpart:
 * firmware/core/src/cvm_pool.c behind the memory-operations table of cvm_pool.h; the method names
 * follow that table (load_global, store_global, create_array, load_array, store_array, context) so
 * a reader can put the two side by side.
 *
 * Every operation returns an error code of PROTOCOL.md §4 (ErrorCode.ok on success) and checks its
 * arguments in the order §4 lists; on failure nothing changes. Ids, indexes and sizes are plain
 * numbers: any value that is not an integer inside the limit (negative, past the limit, or a
 * placeholder such as -1 for a wire integer too wide to represent, like the C core's
 * CVM_POOL_ID_INVALID) is out_of_range — bad_size for a size — at the step that checks that
 * argument, so the order of checks is kept. Values are int32; anything else is a caller bug and
 * throws RangeError (the device rejects such values with bad_arg before they get here).
 *
 * Memory is allocated once, at construction, for every context at the configured limits (as the C
 * pool is one static object); acquire and release zero a context whole.
 */
import { ErrorCode } from '../protocol/constants.js';
import { type PoolLimits, resolvePoolLimits } from '../protocol/limits.js';
import type { ContextStats } from '../protocol/messages.js';

/** An error code of PROTOCOL.md §4: 0 (ok) or one of ErrorCode. */
export type PoolCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Result of load_global / load_array: the value on success, the error code otherwise. */
export type LoadResult = { code: typeof ErrorCode.ok; value: number } | { code: Exclude<PoolCode, 0> };

/** The pool's part of stats (keys 1..4 and 14). C: cvm_pool_telemetry. */
export interface PoolTelemetry {
  /** Contexts acquired now. */
  contextsAcquired: number;
  /** High-water mark of contextsAcquired since boot or reset. */
  contextsHw: number;
  /** Successful acquires, uint32, wraps. */
  acquires: number;
  /** Successful releases, uint32, wraps. */
  releases: number;
  /** One entry per context, in vm id order. */
  contexts: ContextStats[];
}

/**
 * One VM's memory (the original specification's VMMemoryContext; C: struct cvm_vm_memory_context).
 * Exposed read-only through Pool.context() and Pool.contexts for tests and diagnostics; writing
 * through it bypasses the usage figures, as in C.
 */
export interface VMMemoryContext {
  readonly globals: Int32Array;
  /** All arrays back to back: array a occupies [a * arrayElements, (a + 1) * arrayElements). */
  readonly arrays: Int32Array;
  /** Elements of each active array; 0 when inactive. */
  readonly arraySize: Uint32Array;
  /** 1 for an active array, else 0. */
  readonly arrayActive: Uint8Array;
  acquired: boolean;
  /** Highest global id stored since acquire, plus 1. */
  globalsInUse: number;
  /** Arrays created since acquire. */
  arraysActive: number;
  /** Sum of the active arrays' sizes. */
  elements: number;
}

interface HighWater {
  globals: number;
  arrays: number;
  elements: number;
}

const { ok, out_of_range, not_acquired, already_acquired, array_inactive, array_exists, bad_size, past_size } = ErrorCode;
const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** True when id is an integer in [0, limit). */
function inRange(id: number, limit: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < limit;
}

function checkValue(value: number): void {
  if (!Number.isInteger(value) || value < INT32_MIN || value > INT32_MAX) {
    throw new RangeError(`pool: value ${value} is not an int32`);
  }
}

/** The static memory pool. Not shared: one owner drives it (the twin device or a test). */
export class Pool {
  readonly limits: Readonly<PoolLimits>;
  /** Every context, acquired or not, in vm id order (read-only view for tests and diagnostics). */
  readonly contexts: readonly VMMemoryContext[];
  private readonly hw: HighWater[];
  private contextsAcquired = 0;
  private contextsHw = 0;
  private acquires = 0;
  private releases = 0;
  private readonly maxVms: number;
  private readonly maxGlobals: number;
  private readonly maxArrays: number;
  private readonly elementsPerArray: number;

  /**
   * Limits not given take DEFAULT_POOL_LIMITS (protocol/limits.ts). Throws RangeError when a limit
   * is outside 1..POOL_LIMIT_MAXIMA or a key is not a limit (resolvePoolLimits).
   */
  constructor(limits: Partial<PoolLimits> = {}) {
    this.limits = Object.freeze(resolvePoolLimits(limits, 'pool'));
    ({ maxVms: this.maxVms, maxGlobals: this.maxGlobals, maxArrays: this.maxArrays, arrayElements: this.elementsPerArray } = this.limits);
    this.contexts = Array.from({ length: this.maxVms }, () => ({
      globals: new Int32Array(this.maxGlobals),
      arrays: new Int32Array(this.maxArrays * this.elementsPerArray),
      arraySize: new Uint32Array(this.maxArrays),
      arrayActive: new Uint8Array(this.maxArrays),
      acquired: false,
      globalsInUse: 0,
      arraysActive: 0,
      elements: 0,
    }));
    this.hw = Array.from({ length: this.maxVms }, () => ({ globals: 0, arrays: 0, elements: 0 }));
  }

  /** Takes a free context and zeroes it. out_of_range (vm), already_acquired. */
  acquire(vm: number): PoolCode {
    if (!inRange(vm, this.maxVms)) return out_of_range;
    const c = this.contexts[vm]!;
    if (c.acquired) return already_acquired;
    zero(c);
    c.acquired = true;
    this.acquires = (this.acquires + 1) >>> 0;
    this.contextsAcquired++;
    if (this.contextsAcquired > this.contextsHw) this.contextsHw = this.contextsAcquired;
    return ok;
  }

  /** Zeroes a taken context (so nothing survives into the next owner) and frees it. out_of_range (vm), not_acquired. */
  release(vm: number): PoolCode {
    if (!inRange(vm, this.maxVms)) return out_of_range;
    const c = this.contexts[vm]!;
    if (!c.acquired) return not_acquired;
    zero(c);
    this.releases = (this.releases + 1) >>> 0;
    this.contextsAcquired--;
    return ok;
  }

  /** reset_pool: zeroes and frees every context, clears the counters and every high-water mark. */
  reset(): void {
    for (const c of this.contexts) zero(c);
    for (const h of this.hw) h.globals = h.arrays = h.elements = 0;
    this.contextsAcquired = this.contextsHw = this.acquires = this.releases = 0;
  }

  /** The context of vm, or null when vm is out of range or not acquired. */
  context(vm: number): Readonly<VMMemoryContext> | null {
    if (!inRange(vm, this.maxVms)) return null;
    const c = this.contexts[vm]!;
    return c.acquired ? c : null;
  }

  /** Reads a global; a never-stored global reads 0. out_of_range (vm), not_acquired, out_of_range (global). */
  load_global(vm: number, global: number): LoadResult {
    const c = this.lookup(vm);
    if (typeof c === 'number') return { code: c as Exclude<PoolCode, 0> };
    if (!inRange(global, this.maxGlobals)) return { code: out_of_range };
    return { code: ok, value: c.globals[global]! };
  }

  /** Writes a global. out_of_range (vm), not_acquired, out_of_range (global). Throws RangeError for a non-int32 value. */
  store_global(vm: number, global: number, value: number): PoolCode {
    checkValue(value);
    const c = this.lookup(vm);
    if (typeof c === 'number') return c;
    if (!inRange(global, this.maxGlobals)) return out_of_range;
    c.globals[global] = value;
    if (global >= c.globalsInUse) {
      c.globalsInUse = global + 1;
      const h = this.hw[vm]!;
      if (c.globalsInUse > h.globals) h.globals = c.globalsInUse;
    }
    return ok;
  }

  /**
   * Activates a zeroed array of size elements. out_of_range (vm), not_acquired, out_of_range
   * (array), bad_size (not 1..arrayElements), array_exists.
   */
  create_array(vm: number, array: number, size: number): PoolCode {
    const c = this.lookup(vm);
    if (typeof c === 'number') return c;
    if (!inRange(array, this.maxArrays)) return out_of_range;
    if (!Number.isInteger(size) || size < 1 || size > this.elementsPerArray) return bad_size;
    if (c.arrayActive[array]) return array_exists;
    const base = array * this.elementsPerArray;
    c.arrays.fill(0, base, base + this.elementsPerArray);
    c.arrayActive[array] = 1;
    c.arraySize[array] = size;
    c.arraysActive++;
    c.elements += size;
    const h = this.hw[vm]!;
    if (c.arraysActive > h.arrays) h.arrays = c.arraysActive;
    if (c.elements > h.elements) h.elements = c.elements;
    return ok;
  }

  /**
   * Reads an element. out_of_range (vm), not_acquired, out_of_range (array), out_of_range
   * (index ≥ arrayElements), array_inactive, past_size (index ≥ the array's size).
   */
  load_array(vm: number, array: number, index: number): LoadResult {
    const at = this.element(vm, array, index);
    if (at < 0) return { code: -at as Exclude<PoolCode, 0> };
    return { code: ok, value: this.contexts[vm]!.arrays[at]! };
  }

  /** Writes an element; checks as load_array. Throws RangeError for a non-int32 value. */
  store_array(vm: number, array: number, index: number, value: number): PoolCode {
    checkValue(value);
    const at = this.element(vm, array, index);
    if (at < 0) return -at as PoolCode;
    this.contexts[vm]!.arrays[at] = value;
    return ok;
  }

  /** A snapshot of the pool's telemetry (fresh objects; the caller owns them). */
  telemetry(): PoolTelemetry {
    return {
      contextsAcquired: this.contextsAcquired,
      contextsHw: this.contextsHw,
      acquires: this.acquires,
      releases: this.releases,
      contexts: this.contexts.map((c, vm) => {
        const h = this.hw[vm]!;
        return {
          acquired: c.acquired,
          globalsInUse: c.globalsInUse,
          arraysActive: c.arraysActive,
          elements: c.elements,
          bytesUsed: 4 * (c.globalsInUse + c.elements),
          hwGlobals: h.globals,
          hwArrays: h.arrays,
          hwElements: h.elements,
        };
      }),
    };
  }

  /** The first two checks of every context operation: out_of_range (vm), not_acquired. */
  private lookup(vm: number): VMMemoryContext | PoolCode {
    if (!inRange(vm, this.maxVms)) return out_of_range;
    const c = this.contexts[vm]!;
    return c.acquired ? c : not_acquired;
  }

  /** The checks shared by load_array and store_array: the element's offset in arrays, or −code. */
  private element(vm: number, array: number, index: number): number {
    const c = this.lookup(vm);
    if (typeof c === 'number') return -c;
    if (!inRange(array, this.maxArrays) || !inRange(index, this.elementsPerArray)) return -out_of_range;
    if (!c.arrayActive[array]) return -array_inactive;
    if (index >= c.arraySize[array]!) return -past_size;
    return array * this.elementsPerArray + index;
  }
}

/** Zeroes a context whole (C: memset of the struct): data, sizes, flags and usage figures. */
function zero(c: VMMemoryContext): void {
  c.globals.fill(0);
  c.arrays.fill(0);
  c.arraySize.fill(0);
  c.arrayActive.fill(0);
  c.acquired = false;
  c.globalsInUse = c.arraysActive = c.elements = 0;
}
