/**
 * A HIL session: the runner's hold on one target for one run. The runner (orchestrator/run-suite.ts,
 * or the root-hooks plugin in register.ts for a plain `mocha` run) makes one, brings its target to
 * ready through the one strategy (targets/strategy.ts bringUp) before the first test (start, before
 * Mocha runs, for `hil test`), prepares it
 * before every test (a fresh hello after a reset or a link error, a fresh open after a disconnect,
 * then reset_pool so tests never depend on each other's leftovers), and closes it after the last.
 * Tests reach it through the fixture (fixture.ts `target()`), which the runner's root hooks point at
 * this session: the state is the session's, handed to the suite, never module or global state.
 */
import type { ClientOptions, PoolClient } from '../client/pool-client.js';
import { type Hello, linkCountersOf } from '../protocol/messages.js';
import type { LinkSpec } from '../transport/emulator.js';
import type { TwinDevice } from '../twin/device.js';
import { liveChildPids } from '../process/managed.js';
import { bringUp, openTarget, type OpenTarget, type ReadyTarget } from '../targets/strategy.js';
import { toTarget, type Target } from '../targets/descriptor.js';
import { RunLog, TestNotRun, linkReason, type LinkQuality, type WireBytes } from './run-log.js';

/** Time to open a target (build, boot, banner, hello), on top of the test's own timeout, in ms. */
export const OPEN_TIMEOUT_MS = 60_000;

/** What a test sees of its target. */
export interface TargetContext {
  client: PoolClient;
  /** The link under the client (fault-injection and link-layer tests reach it). */
  transport: OpenTarget['transport'];
  hello: Hello;
  /** The descriptor's name: the board's, or the --target spec. */
  name: string;
  /** The twin behind the link (its fault controls: hang, reboot, ...), whatever emulator is in front; undefined for other targets. */
  twin: TwinDevice | undefined;
  /** The link emulator in front of the target, when the run goes through one (`--link`, a descriptor's `link`). */
  emulator: OpenTarget['emulator'];
  /** The descriptor the target was brought up from. */
  descriptor: Target;
  /**
   * The boot banner the target printed while it was brought up (a started sim or QEMU, a board
   * reset by its descriptor, the twin); undefined when the run saw none (a board left running).
   */
  banner: string | undefined;
  /**
   * Reboots the device as its reset pin would, on any target that can be reset from the host (the
   * twin, the sim, QEMU, a board with a reset step in its descriptor), and waits for the new boot
   * banner, once every request in flight was answered; resolves with it (undefined when a lossy
   * link damaged it), and `banner` is that one
   * from then on. The client's next request must be `hello()` (other requests fail BoardReset
   * until then); the runner says hello before the next test itself. Undefined for a target that
   * cannot be reset (a board without a reset step, a tcp link): such a test skips.
   */
  reset: (() => Promise<string | undefined>) | undefined;
  /**
   * Device → host bytes the link emulator damaged while `banner` arrived; 0 without an emulator.
   * A log line has no CRC, so a banner with any may hold the cable's text, not the device's, and
   * later faults say nothing of it. Counted over the reset that printed it, or over the bring-up
   * (the banner and hello's answer: the host cannot tell which bytes held the fault).
   */
  bannerFaults: number;
}

export interface SessionOptions {
  /** The link emulator spec; overrides the descriptor's `link` ("none": a clean link). */
  link?: LinkSpec | string;
  /** Client options over the descriptor's (requestTimeoutMs → timeoutMs). */
  client?: ClientOptions;
  /** The run's record (default: a new one); the runner hands the same one to the reporter. */
  log?: RunLog;
}

/** The TwinDevice a target leads to, through the link emulator if there is one. */
function twinOf(t: OpenTarget): TwinDevice | undefined {
  const inner = (t.emulator?.inner ?? t.transport) as unknown as { device?: TwinDevice };
  return inner.device;
}

/** Device → host bytes the link emulator in front of `t` damaged so far (flipped, dropped or duplicated); 0 without one. */
function d2hFaults(t: OpenTarget): number {
  const c = t.emulator?.counters.d2h;
  return c ? c.flips + c.drops + c.dups : 0;
}

/**
 * TargetContext.bannerFaults of each open target, beside it for as long as it lives (ReadyTarget
 * is the strategy's and has no room for it): set when it came up (noteBringUp) and by each reset.
 */
const bannerFaults = new WeakMap<ReadyTarget, number>();

/** Records the faults of a target's bring-up banner: every device → host byte damaged so far, hello's answer included. */
function noteBringUp(t: ReadyTarget): void {
  bannerFaults.set(t, d2hFaults(t));
}

/** A ready target as a test sees it. */
export function contextOf(t: ReadyTarget): TargetContext {
  const pull = t.reset;
  const reset = pull
    ? async () => {
        // What is in flight first (the runner's reset_pool, issued ahead of the test): answered
        // before the device reboots under it, so the test's preparation stands. Nothing is owed
        // to the host then: the faults from here until the banner arrived are the banner's (or a
        // late copy of an answer's, counted against the banner all the same).
        await t.client.idle();
        const f0 = d2hFaults(t);
        const banner = await pull();
        t.banner = banner;
        bannerFaults.set(t, d2hFaults(t) - f0);
        return banner;
      }
    : undefined;
  // A target nobody noted (opened by other means): every fault so far may have hit its banner.
  const faults = bannerFaults.get(t) ?? d2hFaults(t);
  return { client: t.client, transport: t.transport, hello: t.client.info ?? t.hello, name: t.name, twin: twinOf(t), emulator: t.emulator, descriptor: t.board, banner: t.banner, reset, bannerFaults: faults };
}

/** Numbers only, from whatever the client reports about its link (retransmits, gaps, RTO, ...). */
function clientLinkCounters(client: PoolClient): Record<string, number> {
  const out: Record<string, number> = {};
  // Times to the microsecond: enough for a report, and short in JUnit properties.
  for (const [k, v] of Object.entries(client.linkStats())) if (typeof v === 'number') out[k] = Number.isInteger(v) ? v : Math.round(v * 1000) / 1000;
  return out;
}

/** The emulator's fault counts, flattened (`h2d.flips`, ...), when the link runs through one. */
function emulatorCounters(t: OpenTarget): Record<string, number> | undefined {
  if (!t.emulator) return undefined;
  const c = t.emulator.counters;
  const out: Record<string, number> = { seed: t.emulator.spec.seed, cutH2d: c.cutH2d, cutD2h: c.cutD2h, packetsToHost: c.packetsToHost, idleH2dMs: c.idleH2dMs, idleD2hMs: c.idleD2hMs };
  for (const dir of ['h2d', 'd2h'] as const) for (const [k, v] of Object.entries(c[dir])) out[`${dir}.${k}`] = v;
  return out;
}

/** Counters that are a state, not a count: the sum over instances keeps the latest one's. */
const LATEST = new Set(['rtoMs', 'srttMs', 'rttvarMs', 'cwnd', 'seed']);
/** Counters whose sum over instances is their largest. */
const LARGEST = new Set(['maxAttemptsUsed']);

/** Adds one target instance's counters to a run's: counts summed, states the latest, maxima the largest. */
export function addLinkCounters(sum: Record<string, number> | undefined, add: Record<string, number> | undefined): Record<string, number> | undefined {
  if (!add) return sum;
  const out: Record<string, number> = { ...sum };
  for (const [k, v] of Object.entries(add)) {
    const prev = out[k];
    out[k] = prev === undefined || LATEST.has(k) ? v : LARGEST.has(k) ? Math.max(prev, v) : Math.round((prev + v) * 1000) / 1000;
  }
  return out;
}

/** One instance's client and emulator counters, read without a request (valid on a dead link too). */
interface InstanceCounters {
  client: Record<string, number> | undefined;
  emulator: Record<string, number> | undefined;
  /** The bytes each way the client wrote and received. */
  wire: WireBytes;
  instances: number;
}

const NO_INSTANCES: InstanceCounters = { client: undefined, emulator: undefined, wire: { h2d: 0, d2h: 0 }, instances: 0 };

/** The bytes each way a client wrote and received. */
function wireOf(client: PoolClient): WireBytes {
  return { h2d: client.counters.bytesOut, d2h: client.counters.bytesIn };
}

function addWire(a: WireBytes, b: WireBytes): WireBytes {
  return { h2d: a.h2d + b.h2d, d2h: a.d2h + b.d2h };
}

function instanceCounters(t: OpenTarget): InstanceCounters {
  return { client: clientLinkCounters(t.client), emulator: emulatorCounters(t), wire: wireOf(t.client), instances: 1 };
}

function addInstance(sum: InstanceCounters, add: InstanceCounters): InstanceCounters {
  return { client: addLinkCounters(sum.client, add.client), emulator: addLinkCounters(sum.emulator, add.emulator), wire: addWire(sum.wire, add.wire), instances: sum.instances + add.instances };
}

/**
 * The link's quality over the run, for run.json and JUnit: the client's and the emulator's counters
 * summed over every instance of the target the run opened (`earlier`: those already closed, e.g.
 * after a link error), and the device's from a last `stats` of the open one (undefined when none
 * is open or it cannot be read; they count since the device's boot).
 */
async function linkQuality(earlier: InstanceCounters, t: OpenTarget | undefined): Promise<LinkQuality> {
  const all = t ? addInstance(earlier, instanceCounters(t)) : earlier;
  // Round trips of the open instance (the report's histogram); the closed ones' are not kept.
  const rttMs = t ? t.client.linkRttSamples().map((v) => Math.round(v * 1000) / 1000) : [];
  const base = { client: all.client, ...(all.emulator ? { emulator: all.emulator } : {}), instances: all.instances, rttMs };
  if (!t) return { ...base, device: undefined, note: 'no target was open at the end of the run: the device\'s counters were not read' };
  try {
    const s = await t.client.stats();
    return { ...base, device: linkCountersOf(s) };
  } catch (e) {
    return { ...base, device: undefined, note: `the device's counters could not be read: ${(e as Error).message}` };
  }
}

export class HilSession {
  /** The descriptor every open of this session brings up. */
  readonly descriptor: Target;
  /** The run's record. */
  readonly log: RunLog;
  private readonly options: SessionOptions;
  private current: ReadyTarget | undefined;
  /** The link closed under the client (a disconnect): the next test opens the target again. */
  private closed = false;
  /** A test ended in a link error or a reset: the next test begins with hello. */
  private needsHandshake = false;
  /** Why the target could not be opened, when that is a setup problem (retrying cannot help). */
  private setupError: string | undefined;
  /** Targets a test opened besides the session's (openExtraTarget), closed after that test. */
  private extras: OpenTarget[] = [];
  /** Bumped by abandon(): a bring-up still under way when it was called closes what it opened. */
  private generation = 0;
  /** The reset_pool prepare() issued for the running test: settles with its error, or undefined when answered. */
  private pendingReset: Promise<Error | undefined> | undefined;
  /** The link counters of the instances of the target this run opened and closed again. */
  private closedCounters: InstanceCounters = NO_INSTANCES;

  /** @param target a spec ("twin", "serial:/dev/ttyUSB0") or a descriptor (a board, a config's default) */
  constructor(target: string | Target, options: SessionOptions = {}) {
    this.descriptor = toTarget(target);
    this.options = options;
    this.log = options.log ?? new RunLog();
    this.log.wireBytes = () => (this.current ? addWire(this.closedCounters.wire, wireOf(this.current.client)) : this.closedCounters.wire);
  }

  /** The open target as a test sees it; throws when none is open (outside a test of a run). */
  context(): TargetContext {
    if (!this.current) throw new Error(`HIL target ${this.descriptor.name} is not open: target() is valid inside a test of a run (hil test, or mocha with the componentvm-hil root-hooks plugin)`);
    return contextOf(this.current);
  }

  /**
   * Brings the target to ready before the first test (the runner calls it before Mocha runs): a
   * target that cannot be brought up rejects with bringUp's own error (a bad spec, a missing tool,
   * no such port, ...), before any test or report exists.
   */
  async start(): Promise<void> {
    if (!this.current) await this.attach(this.generation);
  }

  /**
   * bringUp, and the session's hold on what it returned; a target that came up after the test
   * that asked for it was given up (an interrupted run: `generation` moved on) is closed unused.
   */
  private async attach(generation: number): Promise<void> {
    const t = await bringUp(this.descriptor, { ...(this.options.link !== undefined ? { link: this.options.link } : {}), ...(this.options.client ? { client: this.options.client } : {}) });
    if (generation !== this.generation) {
      await t.close();
      throw new TestNotRun(`setup: the test was given up while ${this.descriptor.name} was being opened`);
    }
    noteBringUp(t);
    this.current = t;
    this.closed = false;
    this.needsHandshake = false;
    t.client.on('log', (line) => this.log.noteDeviceLine(line));
    t.client.on('reset', (reason) => this.log.noteReset(reason));
    t.client.on('close', () => (this.closed = true));
    this.log.noteTarget(t.name, t.client.info);
  }

  /** Opens the target again inside a test (after a disconnect, or in a plain mocha run). */
  private async open(ctx: Mocha.Context): Promise<void> {
    if (this.setupError) throw new TestNotRun(this.setupError);
    const name = this.descriptor.name;
    const timeout = ctx.timeout();
    ctx.timeout(OPEN_TIMEOUT_MS + timeout);
    const generation = this.generation;
    try {
      await this.attach(generation);
    } catch (e) {
      if (e instanceof TestNotRun) throw e;
      const link = linkReason(e);
      if (link) throw new TestNotRun(`${link} (opening ${name})`, { cause: e });
      // Not the link: a bad spec, a missing tool, a failed build. Every later test would fail alike.
      this.setupError = `setup: could not open target ${name}: ${(e as Error).message.split('\n')[0]}`;
      throw new TestNotRun(this.setupError, { cause: e });
    } finally {
      ctx.timeout(timeout);
    }
  }

  /**
   * Before every test, inside it (the runner's guard, run-suite.ts guardTests): a ready target
   * with an empty pool. Throws TestNotRun when the test cannot run, a link error when the link
   * failed, any other error when the target misbehaved.
   */
  async prepare(ctx: Mocha.Context): Promise<void> {
    // The previous test's reset, when nobody confirmed it (the test skipped itself): settled first.
    const previous = this.pendingReset;
    this.pendingReset = undefined;
    if (previous && (await previous) !== undefined) this.needsHandshake = true;
    if (this.current && this.closed) await this.closeCurrent();
    if (!this.current) await this.open(ctx);
    const client = this.current!.client;
    // After a reset (its requests rejected with BoardReset) or a link error, begin a new session.
    if (this.needsHandshake || client.resetPending !== undefined) {
      this.log.noteTarget(client.target, await client.hello());
      this.needsHandshake = false;
    }
    // Issued, not awaited: the test's first requests follow it in the same window, and the device
    // executes in order, so the pool is empty before any of them runs. confirmPrepared() (the
    // runner's guard, after the body) confirms its answer; a failed reset decides the test then.
    this.pendingReset = client.resetPool().then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
    );
  }

  /**
   * Confirms the reset_pool prepare() issued for this test: resolves when it was answered, throws
   * its error (a link error, BoardReset, a device error) when it failed; resolves at once when
   * none is pending. The runner calls it after the test's body, whatever the body's outcome.
   */
  async confirmPrepared(): Promise<void> {
    const pending = this.pendingReset;
    this.pendingReset = undefined;
    const error = pending ? await pending : undefined;
    if (error !== undefined) throw error;
  }

  /**
   * Called with the error a test (or its preparation) ended in: the next test begins with hello.
   * Whatever the error: a test that failed or timed out half-way may have left the device in
   * another session (its own raw hello) or a gap, and every later request would then be refused
   * out_of_sequence (seen at byte error rate 1e-2: one test's timeout failed the 14 after it).
   */
  afterError(_error: unknown): void {
    this.needsHandshake = true;
  }

  /**
   * What the link did so far that can slow a test: the client's retransmissions, plus the byte
   * faults the link emulator injected (a test that retries raw frames itself retransmits nothing
   * through the client); undefined while no target is open.
   */
  linkRetransmits(): number | undefined {
    if (!this.current) return undefined;
    const c = this.current.emulator?.counters;
    return this.current.client.linkStats().retransmits + (c ? c.h2d.faults + c.d2h.faults : 0);
  }

  /** A test was given up while its body runs: close the target under it; the next test opens it again. */
  async abandon(): Promise<void> {
    this.generation++;
    await this.closeCurrent();
  }

  /**
   * Opens another target for the running test (a second board, a twin beside the board under
   * test), through the same strategy; closed after the test by closeExtras.
   */
  async openExtra(target: string | Target, options: SessionOptions = {}): Promise<TargetContext> {
    const t = await openTarget(toTarget(target), { ...options.client, ...(options.link !== undefined ? { link: options.link } : {}) });
    noteBringUp(t);
    this.extras.push(t);
    return contextOf(t);
  }

  /** Closes the targets the test opened (never rejects). */
  async closeExtras(): Promise<void> {
    const extras = this.extras.reverse();
    this.extras = [];
    for (const t of extras) await t.close();
  }

  private async closeCurrent(): Promise<void> {
    const t = this.current;
    this.current = undefined;
    if (t) this.closedCounters = addInstance(this.closedCounters, instanceCounters(t));
    await t?.close();
  }

  /**
   * After the last test: records the link's quality, closes everything, and throws when a process
   * the targets started is still running.
   */
  async finish(): Promise<void> {
    await this.closeExtras();
    const open = this.current && !this.closed ? this.current : undefined;
    if (open || this.current || this.closedCounters.instances > 0) {
      const closed = this.current && !open ? addInstance(this.closedCounters, instanceCounters(this.current)) : this.closedCounters;
      this.log.noteLink(await linkQuality(closed, open));
    }
    const t = this.current;
    this.current = undefined;
    await t?.close();
    this.closedCounters = NO_INSTANCES;
    this.closed = false;
    this.needsHandshake = false;
    this.setupError = undefined;
    const left = liveChildPids();
    if (left.length) throw new Error(`processes left running after the target closed: pids ${left.join(', ')}`);
  }
}
