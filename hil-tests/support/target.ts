/**
 * The HIL suite's one link to the target under test. The target is named by HIL_TARGET (default
 * "twin"; `hil test --target` sets it), run through the link emulator when HIL_LINK names one
 * (`hil test --link`), opened for the run, and reset to an empty pool before every
 * test so tests never depend on each other's leftovers. Tests read the limits from hello, so they
 * hold for any build configuration.
 *
 * The per-test preparation is `harness.prepare`, which the runner (orchestrator/run-suite.ts
 * guardTests) runs inside each test rather than in a root hook: a failure there fails (or, for the
 * link, skips as not run) that one test, and the next test starts over with a fresh handshake, or
 * a fresh open when the link closed, instead of Mocha abandoning the run.
 */
import type { Hello, PoolClient } from '../../host/src/index.js';
import type { TwinDevice } from '../../host/src/twin/index.js';
import { openTarget, type OpenTarget } from '../../host/src/targets/index.js';
import { liveChildPids } from '../../host/src/targets/process.js';
import { TestNotRun, linkReason, noteDeviceLine, noteLink, noteReset, noteTarget, type LinkQuality } from '../../host/src/orchestrator/run-context.js';

interface Shared {
  current: OpenTarget | undefined;
  /** The link closed under the client (a disconnect): the next test opens the target again. */
  closed: boolean;
  /** A test ended in a link error or a reset: the next test begins with hello. */
  needsHandshake: boolean;
  /** Why the target could not be opened, when that is a setup problem (retrying cannot help). */
  setupError: string | undefined;
}

// One open target per process, kept on globalThis: a runner that loads this file through require()
// (Mocha does when a CommonJS hook for TypeScript is registered) gets a second instance of the
// module, and both must see the same target.
const shared = ((globalThis as Record<symbol, unknown>)[Symbol.for('componentvm-hil.target')] ??= {
  current: undefined, closed: false, needsHandshake: false, setupError: undefined,
}) as Shared;

/** Time to open a target (build, boot, banner, hello), on top of the test's own timeout. */
const OPEN_TIMEOUT_MS = 60_000;

export interface TargetContext {
  client: PoolClient;
  /** The link under the client (fault-injection and link-layer tests reach it). */
  transport: OpenTarget['transport'];
  hello: Hello;
  name: string;
  /** The twin behind the link (its fault controls: hang, reboot, ...), whatever emulator is in front; undefined for other targets. */
  twin: TwinDevice | undefined;
  /** The link emulator in front of the target, when the run goes through one (`hil test --link`). */
  emulator: OpenTarget['emulator'];
}

/** The TwinDevice a transport leads to, through the link emulator if there is one (duck-typed: see the fixtures). */
function twinOf(current: OpenTarget): TwinDevice | undefined {
  const t = (current.emulator?.inner ?? current.transport) as unknown as { device?: TwinDevice };
  return t.device;
}

/** The open target; valid inside tests. */
export function target(): TargetContext {
  if (!shared.current) throw new Error('HIL target is not open: run the suite with `hil test` (orchestrator/run-suite.ts prepares the target before each test)');
  const current = shared.current;
  return { client: current.client, transport: current.transport, hello: current.client.info!, name: current.name, twin: twinOf(current), emulator: current.emulator };
}

async function closeCurrent(): Promise<void> {
  const current = shared.current;
  shared.current = undefined;
  await current?.close().catch(() => undefined);
}

async function open(ctx: Mocha.Context): Promise<void> {
  if (shared.setupError) throw new TestNotRun(shared.setupError);
  const spec = process.env.HIL_TARGET ?? 'twin';
  const timeout = ctx.timeout();
  ctx.timeout(OPEN_TIMEOUT_MS + timeout);
  try {
    const current = await openTarget(spec, { link: process.env.HIL_LINK });
    shared.current = current;
    shared.closed = false;
    shared.needsHandshake = false;
    current.client.on('log', noteDeviceLine);
    current.client.on('reset', noteReset);
    current.client.on('close', () => (shared.closed = true));
    noteTarget(current.client.target, current.client.info);
  } catch (e) {
    const link = linkReason(e);
    if (link) throw new TestNotRun(`${link} (opening ${spec})`, { cause: e });
    // Not the link: a bad spec, a missing tool, a failed build. Every later test would fail alike.
    shared.setupError = `setup: could not open target ${spec}: ${(e as Error).message.split('\n')[0]}`;
    throw new TestNotRun(shared.setupError, { cause: e });
  } finally {
    ctx.timeout(timeout);
  }
}

/** The suite's harness (run-suite.ts TestHarness): before every test, a ready target with an empty pool. */
export const harness = {
  async prepare(ctx: Mocha.Context): Promise<void> {
    if (shared.current && shared.closed) await closeCurrent();
    if (!shared.current) await open(ctx);
    const client = shared.current!.client;
    // After a reset (its requests rejected with BoardReset) or a link error, begin a new session.
    if (shared.needsHandshake || client.resetPending !== undefined) {
      noteTarget(client.target, await client.hello());
      shared.needsHandshake = false;
    }
    await client.resetPool();
  },
  afterError(error: unknown): void {
    if (linkReason(error) || (error instanceof Error && error.name === 'BoardReset')) shared.needsHandshake = true;
  },
};

/** Numbers only, from whatever the client reports about its link (retransmits, gaps, RTO, ...). */
function clientLinkCounters(client: PoolClient): Record<string, number> {
  const out: Record<string, number> = {};
  // Times to the microsecond: enough for a report, and short in JUnit properties.
  for (const [k, v] of Object.entries(client.linkStats())) if (typeof v === 'number') out[k] = Number.isInteger(v) ? v : Math.round(v * 1000) / 1000;
  return out;
}

/** The emulator's fault counts, flattened (`h2d.flips`, ...), when the link runs through one. */
function emulatorCounters(current: OpenTarget): Record<string, number> | undefined {
  if (!current.emulator) return undefined;
  const c = current.emulator.counters;
  const out: Record<string, number> = { seed: current.emulator.spec.seed, cutH2d: c.cutH2d, cutD2h: c.cutD2h, packetsToHost: c.packetsToHost };
  for (const dir of ['h2d', 'd2h'] as const) for (const [k, v] of Object.entries(c[dir])) out[`${dir}.${k}`] = v;
  return out;
}

/** The link's quality at the end of the run, for run.json and JUnit: the client's counters, the device's, and the emulator's. */
async function linkQuality(current: OpenTarget): Promise<LinkQuality> {
  const { client } = current;
  const emulator = emulatorCounters(current);
  const base = { client: clientLinkCounters(client), ...(emulator ? { emulator } : {}) };
  try {
    const s = await client.stats();
    return { ...base, device: { replayed: s.replayed, outOfSequence: s.outOfSequence, noSession: s.noSession, sessions: s.sessions } };
  } catch (e) {
    return { ...base, device: undefined, note: `the device's counters could not be read: ${(e as Error).message}` };
  }
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(20_000);
    if (shared.current && !shared.closed) noteLink(await linkQuality(shared.current));
    await closeCurrent();
    Object.assign(shared, { closed: false, needsHandshake: false, setupError: undefined });
    // Everything the target started (socat, the sim, QEMU) must be gone once it is closed.
    const left = liveChildPids();
    if (left.length) throw new Error(`processes left running after the target closed: pids ${left.join(', ')}`);
  },
};
