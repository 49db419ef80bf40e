import assert from 'node:assert/strict';
import { ErrorCode as E } from '../protocol/constants.js';
import { DEFAULT_POOL_LIMITS, POOL_LIMIT_KEYS, POOL_LIMIT_MAXIMA } from '../protocol/limits.js';
import { Pool } from './pool.js';

const idle = { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 };

describe('twin pool', () => {
  let pool: Pool;
  beforeEach(() => {
    pool = new Pool();
  });

  describe('limits', () => {
    it('defaults to DEFAULT_POOL_LIMITS', () => {
      assert.deepEqual({ ...pool.limits }, { ...DEFAULT_POOL_LIMITS });
      assert.equal(pool.contexts.length, DEFAULT_POOL_LIMITS.maxVms);
      assert.ok(Object.isFrozen(pool.limits));
    });
    it('accepts every limit from 1 to its maximum', () => {
      const ones = { maxVms: 1, maxGlobals: 1, maxArrays: 1, arrayElements: 1 };
      assert.deepEqual({ ...new Pool(ones).limits }, ones);
      // The maxima together: 15 contexts of 255 arrays of 65535 elements would be 1 GiB, so each maximum alone.
      for (const key of POOL_LIMIT_KEYS) {
        const p = new Pool({ ...ones, [key]: POOL_LIMIT_MAXIMA[key] });
        assert.equal(p.limits[key], POOL_LIMIT_MAXIMA[key]);
      }
    });
    for (const key of POOL_LIMIT_KEYS) {
      it(`rejects ${key} of 0, past its maximum, or not an integer`, () => {
        for (const bad of [0, POOL_LIMIT_MAXIMA[key] + 1, 2.5, -1, NaN]) {
          assert.throws(() => new Pool({ [key]: bad }), (e: Error) => e instanceof RangeError && e.message.startsWith(`pool: ${key} must be an integer in 1..`));
        }
      });
    }
    it('sizes the pool from the limits', () => {
      const p = new Pool({ maxVms: 2, maxGlobals: 3, maxArrays: 4, arrayElements: 5 });
      assert.equal(p.contexts.length, 2);
      assert.equal(p.contexts[0]!.globals.length, 3);
      assert.equal(p.contexts[0]!.arrays.length, 20);
      assert.equal(p.acquire(1), E.ok);
      assert.equal(p.acquire(2), E.out_of_range);
      assert.equal(p.store_global(1, 2, 1), E.ok);
      assert.equal(p.store_global(1, 3, 1), E.out_of_range);
      assert.equal(p.create_array(1, 3, 5), E.ok);
      assert.equal(p.create_array(1, 4, 5), E.out_of_range);
      assert.equal(p.create_array(1, 0, 6), E.bad_size);
    });
  });

  describe('acquire / release', () => {
    it('acquire: out_of_range (vm), then already_acquired', () => {
      for (const vm of [4, -1, 1.5, NaN, Infinity, 2 ** 40]) assert.equal(pool.acquire(vm), E.out_of_range, `vm ${vm}`);
      assert.equal(pool.acquire(0), E.ok);
      assert.equal(pool.acquire(0), E.already_acquired);
      assert.equal(pool.acquire(3), E.ok);
    });
    it('release: out_of_range (vm), then not_acquired', () => {
      assert.equal(pool.release(4), E.out_of_range);
      assert.equal(pool.release(-1), E.out_of_range);
      assert.equal(pool.release(2), E.not_acquired);
      assert.equal(pool.acquire(2), E.ok);
      assert.equal(pool.release(2), E.ok);
      assert.equal(pool.release(2), E.not_acquired);
    });
    it('context() is the acquired context, null otherwise', () => {
      assert.equal(pool.context(1), null);
      assert.equal(pool.context(9), null);
      pool.acquire(1);
      assert.equal(pool.context(1), pool.contexts[1]);
    });
    it('acquire zeroes whatever the context held', () => {
      // Dirty the storage behind the pool's back, as a stale owner would have left it.
      const c = pool.contexts[2]!;
      c.globals.fill(7);
      c.arrays.fill(7);
      c.arraySize.fill(3);
      c.arrayActive.fill(1);
      c.globalsInUse = 5;
      c.arraysActive = 2;
      c.elements = 9;
      assert.equal(pool.acquire(2), E.ok);
      assert.ok(c.globals.every((v) => v === 0));
      assert.ok(c.arrays.every((v) => v === 0));
      assert.ok(c.arraySize.every((v) => v === 0));
      assert.ok(c.arrayActive.every((v) => v === 0));
      assert.deepEqual([c.globalsInUse, c.arraysActive, c.elements], [0, 0, 0]);
      assert.deepEqual(pool.load_global(2, 0), { code: E.ok, value: 0 });
      assert.equal(pool.load_array(2, 0, 0).code, E.array_inactive);
    });
    it('release zeroes the context so nothing survives into the next owner', () => {
      pool.acquire(1);
      pool.store_global(1, 63, -5);
      pool.create_array(1, 15, 64);
      pool.store_array(1, 15, 63, 99);
      const c = pool.contexts[1]!;
      assert.equal(pool.release(1), E.ok);
      assert.ok(c.globals.every((v) => v === 0));
      assert.ok(c.arrays.every((v) => v === 0));
      assert.ok(c.arraySize.every((v) => v === 0));
      assert.ok(c.arrayActive.every((v) => v === 0));
      assert.equal(c.acquired, false);
      pool.acquire(1);
      assert.deepEqual(pool.load_global(1, 63), { code: E.ok, value: 0 });
      assert.equal(pool.load_array(1, 15, 63).code, E.array_inactive);
    });
  });

  describe('every operation on a context that is not acquired', () => {
    it('fails with not_acquired, after out_of_range (vm) and before the other checks', () => {
      assert.equal(pool.load_global(0, 0).code, E.not_acquired);
      assert.equal(pool.load_global(0, 999).code, E.not_acquired);
      assert.equal(pool.store_global(0, 999, 1), E.not_acquired);
      assert.equal(pool.create_array(0, 999, 0), E.not_acquired);
      assert.equal(pool.load_array(0, 999, 999).code, E.not_acquired);
      assert.equal(pool.store_array(0, 999, 999, 1), E.not_acquired);
      assert.equal(pool.load_global(4, 999).code, E.out_of_range);
      assert.equal(pool.store_global(-1, 999, 1), E.out_of_range);
      assert.equal(pool.create_array(4, 0, 0), E.out_of_range);
      assert.equal(pool.load_array(4, 0, 0).code, E.out_of_range);
      assert.equal(pool.store_array(4, 0, 0, 0), E.out_of_range);
    });
  });

  describe('globals', () => {
    beforeEach(() => assert.equal(pool.acquire(0), E.ok));
    it('a never-stored global reads 0; a stored one reads back', () => {
      assert.deepEqual(pool.load_global(0, 5), { code: E.ok, value: 0 });
      assert.equal(pool.store_global(0, 5, -7), E.ok);
      assert.deepEqual(pool.load_global(0, 5), { code: E.ok, value: -7 });
      assert.equal(pool.store_global(0, 63, 2147483647), E.ok);
      assert.equal(pool.store_global(0, 62, -2147483648), E.ok);
      assert.deepEqual(pool.load_global(0, 63), { code: E.ok, value: 2147483647 });
      assert.deepEqual(pool.load_global(0, 62), { code: E.ok, value: -2147483648 });
    });
    it('out_of_range (global): past the limit or negative', () => {
      for (const g of [64, -1, 1000]) {
        assert.equal(pool.load_global(0, g).code, E.out_of_range);
        assert.equal(pool.store_global(0, g, 1), E.out_of_range);
      }
    });
    it('globals_in_use is the highest global stored since acquire, plus one', () => {
      pool.store_global(0, 10, 1);
      pool.store_global(0, 3, 1);
      pool.load_global(0, 40);
      assert.equal(pool.telemetry().contexts[0]!.globalsInUse, 11);
      assert.equal(pool.telemetry().contexts[0]!.bytesUsed, 44);
    });
    it('a value outside int32 is a caller bug: RangeError, nothing stored', () => {
      for (const v of [2147483648, -2147483649, 1.5, NaN]) assert.throws(() => pool.store_global(0, 0, v), RangeError);
      assert.throws(() => pool.store_array(0, 0, 0, 2 ** 31), { name: 'RangeError', message: 'pool: value 2147483648 is not an int32' });
      assert.equal(pool.telemetry().contexts[0]!.globalsInUse, 0);
    });
  });

  describe('arrays', () => {
    beforeEach(() => assert.equal(pool.acquire(1), E.ok));
    it('create_array: out_of_range (array), bad_size, array_exists, in that order', () => {
      assert.equal(pool.create_array(1, 16, 0), E.out_of_range);
      assert.equal(pool.create_array(1, -1, 0), E.out_of_range);
      assert.equal(pool.create_array(1, 0, 0), E.bad_size);
      assert.equal(pool.create_array(1, 0, 65), E.bad_size);
      assert.equal(pool.create_array(1, 0, -1), E.bad_size);
      assert.equal(pool.create_array(1, 0, 10), E.ok);
      assert.equal(pool.create_array(1, 0, 0), E.bad_size, 'bad_size before array_exists');
      assert.equal(pool.create_array(1, 0, 10), E.array_exists);
      assert.equal(pool.create_array(1, 15, 64), E.ok);
    });
    it('load/store_array: out_of_range (array), out_of_range (index), array_inactive, past_size, in that order', () => {
      for (const f of [(a: number, i: number) => pool.load_array(1, a, i).code, (a: number, i: number) => pool.store_array(1, a, i, 5)]) {
        assert.equal(f(16, 0), E.out_of_range);
        assert.equal(f(-1, 0), E.out_of_range);
        assert.equal(f(0, 64), E.out_of_range, 'index past VM_ARRAY_ELEMENTS before array_inactive');
        assert.equal(f(0, -1), E.out_of_range);
        assert.equal(f(0, 0), E.array_inactive);
        assert.equal(f(0, 63), E.array_inactive);
      }
      pool.create_array(1, 0, 10);
      assert.equal(pool.load_array(1, 0, 10).code, E.past_size);
      assert.equal(pool.store_array(1, 0, 63, 1), E.past_size);
      assert.equal(pool.load_array(1, 0, 64).code, E.out_of_range);
    });
    it('elements read 0 after create and keep what is stored', () => {
      pool.create_array(1, 3, 8);
      assert.deepEqual(pool.load_array(1, 3, 7), { code: E.ok, value: 0 });
      assert.equal(pool.store_array(1, 3, 7, 42), E.ok);
      assert.equal(pool.store_array(1, 3, 0, -1), E.ok);
      assert.deepEqual(pool.load_array(1, 3, 7), { code: E.ok, value: 42 });
      assert.deepEqual(pool.load_array(1, 3, 0), { code: E.ok, value: -1 });
      assert.deepEqual(pool.load_array(1, 3, 1), { code: E.ok, value: 0 });
    });
    it('arrays do not overlap one another', () => {
      pool.create_array(1, 0, 64);
      pool.create_array(1, 1, 64);
      for (let i = 0; i < 64; i++) pool.store_array(1, 0, i, 1000 + i);
      for (let i = 0; i < 64; i++) assert.deepEqual(pool.load_array(1, 1, i), { code: E.ok, value: 0 });
    });
    it('a failed operation changes nothing', () => {
      pool.create_array(1, 2, 4);
      pool.store_array(1, 2, 1, 9);
      const before = JSON.stringify(pool.telemetry());
      pool.create_array(1, 2, 4);
      pool.create_array(1, 3, 0);
      pool.store_array(1, 2, 4, 1);
      pool.store_global(1, 64, 1);
      assert.equal(JSON.stringify(pool.telemetry()), before);
      assert.deepEqual(pool.load_array(1, 2, 1), { code: E.ok, value: 9 });
    });
    it('counts arrays_active and elements', () => {
      pool.create_array(1, 0, 10);
      pool.create_array(1, 15, 64);
      const c = pool.telemetry().contexts[1]!;
      assert.deepEqual([c.arraysActive, c.elements, c.bytesUsed], [2, 74, 296]);
    });
  });

  describe('isolation', () => {
    it('the same ids in two contexts never see each other', () => {
      pool.acquire(0);
      pool.acquire(2);
      pool.store_global(0, 0, 100);
      pool.store_global(2, 0, 200);
      assert.deepEqual(pool.load_global(0, 0), { code: E.ok, value: 100 });
      assert.deepEqual(pool.load_global(2, 0), { code: E.ok, value: 200 });
      pool.create_array(0, 3, 4);
      assert.equal(pool.load_array(2, 3, 0).code, E.array_inactive);
      pool.create_array(2, 3, 8);
      pool.store_array(2, 3, 7, 9);
      assert.equal(pool.load_array(0, 3, 7).code, E.past_size);
      assert.deepEqual(pool.load_array(0, 3, 3), { code: E.ok, value: 0 });
      pool.release(2);
      assert.deepEqual(pool.load_global(0, 0), { code: E.ok, value: 100 });
      assert.equal(pool.load_global(2, 0).code, E.not_acquired);
    });
  });

  describe('telemetry', () => {
    it('starts idle', () => {
      assert.deepEqual(pool.telemetry(), { contextsAcquired: 0, contextsHw: 0, acquires: 0, releases: 0, contexts: [idle, idle, idle, idle] });
    });
    it('counts contexts, their high-water mark, acquires and releases (successful ones only)', () => {
      pool.acquire(0);
      pool.acquire(1);
      pool.acquire(1);
      pool.release(0);
      pool.release(0);
      pool.acquire(3);
      const t = pool.telemetry();
      assert.deepEqual([t.contextsAcquired, t.contextsHw, t.acquires, t.releases], [2, 2, 3, 1]);
    });
    it('high-water marks survive release and re-acquire; reset clears them', () => {
      pool.acquire(0);
      pool.acquire(1);
      pool.store_global(0, 10, 1);
      pool.create_array(0, 2, 20);
      pool.create_array(0, 3, 5);
      pool.release(0);
      let t = pool.telemetry();
      assert.deepEqual(t.contexts[0], { ...idle, hwGlobals: 11, hwArrays: 2, hwElements: 25 });
      assert.deepEqual(t.contexts[1], { ...idle, acquired: true });
      assert.deepEqual([t.contextsAcquired, t.contextsHw, t.acquires, t.releases], [1, 2, 2, 1]);
      pool.acquire(0);
      pool.store_global(0, 2, 1);
      pool.create_array(0, 0, 1);
      t = pool.telemetry();
      assert.deepEqual(t.contexts[0], { acquired: true, globalsInUse: 3, arraysActive: 1, elements: 1, bytesUsed: 16, hwGlobals: 11, hwArrays: 2, hwElements: 25 });
      pool.reset();
      assert.deepEqual(pool.telemetry(), { contextsAcquired: 0, contextsHw: 0, acquires: 0, releases: 0, contexts: [idle, idle, idle, idle] });
    });
    it('reset frees and zeroes every context', () => {
      pool.acquire(0);
      pool.store_global(0, 1, 5);
      pool.acquire(3);
      pool.reset();
      assert.equal(pool.load_global(0, 1).code, E.not_acquired);
      assert.equal(pool.acquire(0), E.ok);
      assert.deepEqual(pool.load_global(0, 1), { code: E.ok, value: 0 });
      assert.equal(pool.acquire(3), E.ok);
    });
    it('acquires and releases wrap at 2^32', () => {
      (pool as unknown as { acquires: number; releases: number }).acquires = 0xffffffff;
      (pool as unknown as { acquires: number; releases: number }).releases = 0xffffffff;
      pool.acquire(0);
      pool.release(0);
      const t = pool.telemetry();
      assert.deepEqual([t.acquires, t.releases], [0, 0]);
    });
    it('telemetry is a snapshot the caller owns', () => {
      const t = pool.telemetry();
      pool.acquire(0);
      assert.equal(t.contexts[0]!.acquired, false);
    });
  });
});
