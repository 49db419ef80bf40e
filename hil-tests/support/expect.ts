/** Assertion helpers shared by the HIL suites. */
import { expect } from 'chai';
import { DeviceError, type ErrorName } from '../../host/src/index.js';

/** Awaits a request that must fail with the given device error code. */
export async function rejectsWith(request: Promise<unknown>, code: ErrorName): Promise<DeviceError> {
  try {
    const value = await request;
    expect.fail(`expected device error ${code}, got success${value === undefined ? '' : ` (${JSON.stringify(value)})`}`);
  } catch (e) {
    if (!(e instanceof DeviceError)) throw e;
    expect(e.codeName, e.message).to.equal(code);
    return e;
  }
  throw new Error('unreachable');
}

/** Deterministic PRNG (mulberry32) so a random test replays from its printed seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed for a random test: HIL_SEED if set (to replay), else fresh; always printed. */
export function seedFor(test: string): number {
  const seed = process.env.HIL_SEED ? Number(process.env.HIL_SEED) : (Math.random() * 2 ** 32) >>> 0;
  console.log(`      ${test}: seed ${seed} (replay with HIL_SEED=${seed})`);
  return seed;
}
