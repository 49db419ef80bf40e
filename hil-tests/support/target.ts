/**
 * The HIL suite's one link to the target under test. The target is named by HIL_TARGET (default
 * "twin"; `hil test --target` sets it), opened once for the whole run, and reset to an empty pool
 * before every test so tests never depend on each other's leftovers. Tests read the limits from
 * hello, so they hold for any build configuration.
 */
import type { Hello, PoolClient } from '../../host/src/index.js';
import { openTarget, type OpenTarget } from '../../host/src/targets/index.js';

let current: OpenTarget | undefined;

export interface TargetContext {
  client: PoolClient;
  hello: Hello;
  name: string;
}

/** The open target; valid inside tests and hooks. */
export function target(): TargetContext {
  if (!current) throw new Error('HIL target is not open: hil-tests/support/target.ts root hooks did not run (is .mocharc.yml requiring it?)');
  return { client: current.client, hello: current.client.info!, name: current.name };
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const spec = process.env.HIL_TARGET ?? 'twin';
    current = await openTarget(spec);
  },
  async beforeEach(this: Mocha.Context) {
    if (current) await current.client.resetPool();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    await current?.close();
    current = undefined;
  },
};
