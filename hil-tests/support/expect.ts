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

/** Deterministic PRNG, so a random test replays from its printed seed. */
export { prng } from '../../host/src/util/prng.js';

/** The seed for a random test: HIL_SEED if set (to replay), else fresh; always printed. */
export function seedFor(test: string): number {
  const seed = process.env.HIL_SEED ? Number(process.env.HIL_SEED) : (Math.random() * 2 ** 32) >>> 0;
  console.log(`      ${test}: seed ${seed} (replay with HIL_SEED=${seed})`);
  return seed;
}
