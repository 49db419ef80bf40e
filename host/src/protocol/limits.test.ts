import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HelloKey } from './constants.js';
import {
  DEFAULT_POOL_LIMITS,
  DEFAULT_REPLAY_LIMITS,
  POOL_LIMIT_KEYS,
  POOL_LIMIT_MAXIMA,
  formatLimits,
  limitsOf,
  limitsTag,
  resolvePoolLimits,
  resolveReplayLimits,
} from './limits.js';

/** protocol/constants.json, the single source the generated DefaultLimits / LimitMaxima / Link come from. */
const source = JSON.parse(readFileSync(new URL('../../../protocol/constants.json', import.meta.url), 'utf8')) as {
  limits: Record<string, { value: number; max: number }>;
  link: Record<string, { value: number }>;
};
const camel = (s: string) => s.replace(/_(.)/g, (_, c: string) => c.toUpperCase());

describe('protocol limits (one type for hello, banner, build configs, twin, differential)', () => {
  it("names the pool limits as hello does, in hello's key order", () => {
    const helloNames = Object.entries(HelloKey)
      .sort(([, a], [, b]) => a - b)
      .map(([name]) => camel(name));
    assert.deepEqual(POOL_LIMIT_KEYS, ['maxVms', 'maxGlobals', 'maxArrays', 'arrayElements']);
    assert.deepEqual(helloNames.filter((n) => (POOL_LIMIT_KEYS as readonly string[]).includes(n)), [...POOL_LIMIT_KEYS]);
    for (const k of ['replayDepth', 'replayBytes', 'holdDepth', 'holdMessageBytes']) assert.ok(helloNames.includes(k), k);
  });

  it('takes the defaults and maxima from protocol/constants.json, one limit to one entry', () => {
    const entries = Object.values(source.limits);
    assert.equal(entries.length, POOL_LIMIT_KEYS.length);
    assert.deepEqual(POOL_LIMIT_KEYS.map((k) => DEFAULT_POOL_LIMITS[k]), entries.map((e) => e.value));
    assert.deepEqual(POOL_LIMIT_KEYS.map((k) => POOL_LIMIT_MAXIMA[k]), entries.map((e) => e.max));
    assert.deepEqual({ ...DEFAULT_REPLAY_LIMITS }, {
      replayDepth: source.link['replay_depth']!.value,
      replayBytes: source.link['replay_bytes']!.value,
      holdDepth: source.link['hold_depth']!.value,
      holdMessageBytes: source.link['hold_message_bytes']!.value,
    });
    for (const o of [DEFAULT_POOL_LIMITS, POOL_LIMIT_MAXIMA, DEFAULT_REPLAY_LIMITS, POOL_LIMIT_KEYS]) assert.ok(Object.isFrozen(o));
  });

  describe('resolvePoolLimits', () => {
    it('fills in the defaults for the limits not given (undefined counts as not given)', () => {
      assert.deepEqual(resolvePoolLimits(), { ...DEFAULT_POOL_LIMITS });
      assert.deepEqual(resolvePoolLimits({ maxVms: 2, maxGlobals: undefined }), { ...DEFAULT_POOL_LIMITS, maxVms: 2 });
      assert.deepEqual(resolvePoolLimits({ ...POOL_LIMIT_MAXIMA }), { ...POOL_LIMIT_MAXIMA });
    });
    for (const key of POOL_LIMIT_KEYS) {
      it(`rejects ${key} of 0, past its maximum, or not an integer, naming it and its range`, () => {
        for (const bad of [0, POOL_LIMIT_MAXIMA[key] + 1, 2.5, -1, NaN, '4']) {
          assert.throws(() => resolvePoolLimits({ [key]: bad as number }, 'cfg'), {
            name: 'RangeError',
            message: `cfg: ${key} must be an integer in 1..${POOL_LIMIT_MAXIMA[key]}, got ${String(bad)}`,
          });
        }
      });
    }
    it('rejects a key that is not a limit (the generated, C-style names included), listing the right ones', () => {
      for (const k of ['maxConcurrentVms', 'vmMaxGlobals', 'vmArrayElements', 'replayDepth']) {
        assert.throws(() => resolvePoolLimits({ [k]: 2 } as never), {
          name: 'RangeError',
          message: `limits: ${k} is not a limit; use maxVms, maxGlobals, maxArrays, arrayElements`,
        });
      }
      assert.throws(() => resolvePoolLimits(null as never), /limits must be an object/);
    });
  });

  describe('resolveReplayLimits', () => {
    it('fills in the defaults and checks each size against LinkBounds', () => {
      assert.deepEqual(resolveReplayLimits(), { ...DEFAULT_REPLAY_LIMITS });
      assert.deepEqual(resolveReplayLimits({ replayDepth: 3, replayBytes: 400 }), { replayDepth: 3, replayBytes: 400, holdDepth: 16, holdMessageBytes: 32 });
      assert.deepEqual(resolveReplayLimits({ holdDepth: 1, holdMessageBytes: 382 }), { replayDepth: 32, replayBytes: 2048, holdDepth: 1, holdMessageBytes: 382 });
      assert.throws(() => resolveReplayLimits({ holdDepth: 256 }), { message: 'limits: holdDepth must be an integer in 1..255, got 256' });
      assert.throws(() => resolveReplayLimits({ holdMessageBytes: 383 }), { message: 'limits: holdMessageBytes must be an integer in 7..382, got 383' });
      assert.throws(() => resolveReplayLimits({ replayDepth: 256 }), { message: 'limits: replayDepth must be an integer in 1..255, got 256' });
      assert.throws(() => resolveReplayLimits({ replayBytes: 381 }), { message: 'limits: replayBytes must be an integer in 382..65535, got 381' });
      assert.throws(() => resolveReplayLimits({ maxVms: 2 } as never), { message: 'limits: maxVms is not a limit; use replayDepth, replayBytes, holdDepth, holdMessageBytes' });
    });
  });

  it("spells limits as the banner and the firmware id do, and takes hello's four from a larger object", () => {
    const l = { maxVms: 2, maxGlobals: 16, maxArrays: 4, arrayElements: 16 };
    assert.equal(formatLimits(l), 'vms=2 globals=16 arrays=4 elements=16');
    assert.equal(limitsTag(l), 'vms2.g16.a4.e16');
    assert.deepEqual(limitsOf({ ...l, replayDepth: 3 } as typeof l), l);
  });
});
