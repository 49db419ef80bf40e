/**
 * The HIL suite's one link to the target under test. The target is named by HIL_TARGET (default
 * "twin"; `hil test --target` sets it), opened once for the whole run, and reset to an empty pool
 * before every test so tests never depend on each other's leftovers. Tests read the limits from
 * hello, so they hold for any build configuration.
 */
import type { Hello, PoolClient } from '../../host/src/index.js';
import { openTarget, type OpenTarget } from '../../host/src/targets/index.js';
import { liveChildPids } from '../../host/src/targets/process.js';
import { noteDeviceLine, noteReset, noteTarget } from '../../host/src/orchestrator/run-context.js';

// One open target per process, kept on globalThis: a runner that loads this file through require()
// (Mocha does when a CommonJS hook for TypeScript is registered) gets a second instance of the
// module, and both must see the same target.
const shared = ((globalThis as Record<symbol, unknown>)[Symbol.for('componentvm-hil.target')] ??= { current: undefined }) as { current: OpenTarget | undefined };

export interface TargetContext {
  client: PoolClient;
  /** The link under the client (fault-injection tests reach the twin's controls through it). */
  transport: OpenTarget['transport'];
  hello: Hello;
  name: string;
}

/** The open target; valid inside tests and hooks. */
export function target(): TargetContext {
  if (!shared.current) throw new Error('HIL target is not open: hil-tests/support/target.ts root hooks did not run (is .mocharc.yml requiring it?)');
  const current = shared.current;
  return { client: current.client, transport: current.transport, hello: current.client.info!, name: current.name };
}

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const spec = process.env.HIL_TARGET ?? 'twin';
    const current = (shared.current = await openTarget(spec));
    current.client.on('log', noteDeviceLine);
    current.client.on('reset', noteReset);
    noteTarget(current.client.target, current.client.info);
  },
  async beforeEach(this: Mocha.Context) {
    const current = shared.current;
    if (!current) return;
    // A reset fails the test it happened in (its requests reject with BoardReset); the run goes on
    // with the next test after a new handshake.
    if (current.client.resetPending !== undefined) noteTarget(current.client.target, await current.client.hello());
    await current.client.resetPool();
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    await shared.current?.close();
    shared.current = undefined;
    // Everything the target started (socat, the sim, QEMU) must be gone once it is closed.
    const left = liveChildPids();
    if (left.length) throw new Error(`processes left running after the target closed: pids ${left.join(', ')}`);
  },
};
