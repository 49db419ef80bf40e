/** Assertion helpers shared by the HIL suites. */
import { expect } from 'chai';
import { DeviceError, type ErrorName } from '../../host/src/index.js';
import { TestNotRun } from '../../host/src/mocha/index.js';
import { target } from './target.js';

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

/** What the link did between linkWindow() and a call of the function it returns. */
export interface LinkWindow {
  /**
   * The client's frames beyond one per request: retransmissions (each may put one more copy of a
   * request before the device) and tail-loss probes (each one more good frame, refused).
   */
  retransmits: number;
  /** Bytes the link emulator damaged host → device (flipped, dropped or duplicated); 0 without an emulator. */
  h2dFaults: number;
  /**
   * Whether the device received every byte as written, as far as the host can know: through the
   * emulator, no host → device fault; on a real link, no sign of damage (no gap reply to the
   * client, no damaged line received). A retransmission alone is no sign: a slow target causes
   * them, and an intact duplicate moves no counter but rx_frames and replayed. Except when requests
   * issued before the window were still in flight when it began: a retransmission of one of those
   * (its first copy lost) may land after the window's own bytes and execute after them, so then
   * any retransmission makes the window unclean. And never when the device answered a gap (a
   * go-back): it then missed a request of the window even though its bytes crossed intact (a
   * partial line damaged earlier swallowed it), so it did not see the window's bytes in the order
   * written.
   */
  clean: boolean;
}

/** Bytes the link emulator has damaged in one direction so far (flipped, dropped or duplicated); 0 without an emulator. */
export function emulatorFaults(direction: 'h2d' | 'd2h'): number {
  const c = target().emulator?.counters[direction];
  return c ? c.flips + c.drops + c.dups : 0;
}

/** Starts watching the link; the returned function says what it did since. */
export function linkWindow(): () => LinkWindow {
  const { client, emulator } = target();
  const faults = () => emulatorFaults('h2d');
  const s0 = client.linkStats();
  const d0 = client.counters.defectsIn;
  const f0 = faults();
  const busy = client.inFlight > 0;
  return () => {
    const s = client.linkStats();
    const h2dFaults = faults() - f0;
    const retransmits = s.retransmits - s0.retransmits + s.probes - s0.probes;
    // A go-back or a held request: the device refused or held some of the window's requests, so
    // what it executed may not be what the check sent in the order it sent it.
    const goBack = s.goBacks !== s0.goBacks || s.held !== s0.held;
    const damageSeen = goBack || client.counters.defectsIn !== d0;
    const intact = emulator ? h2dFaults === 0 && !goBack : !damageSeen;
    return { retransmits, h2dFaults, clean: intact && !(busy && retransmits > 0) };
  };
}

/**
 * Attempts of a check on a link without the emulator (a real cable): its host → device damage
 * rate cannot be measured there. The device drops a damaged line unseen, so the host learns of
 * some damage only (a gap reply, a damaged line received) and has no rate to size a budget by.
 */
const CLEAN_ATTEMPTS = 40;
/** The chance, at the rate measured, that no intact run came in all the attempts a check gets. */
const CLEAN_MISS = 1e-6;
/** Most attempts of any check, however damaged the link measures: bounded whatever the estimate. */
const CLEAN_ATTEMPTS_MAX = 20_000;

type Direction = 'h2d' | 'd2h';
const ARROW: Readonly<Record<Direction, string>> = { h2d: 'host → device', d2h: 'device → host' };

/**
 * The per-byte chance that the link emulator starts a fault in `direction`, measured over the
 * session so far; undefined without an emulator. Fault events, not damaged bytes: a burst damages
 * `burst` bytes in a row as one event, and a run is intact when no event begins in it. With the
 * rule of succession's prior (one fault and one intact byte more than seen): never 0 before a
 * fault was seen, never a division by zero before a byte was.
 */
function faultRate(direction: Direction): number | undefined {
  const c = target().emulator?.counters[direction];
  return c ? (c.faults + 1) / (c.bytesIn + 2) : undefined;
}

/**
 * Attempts for runs each intact with chance `pIntact`: the fewest after which an intact one had
 * a 1 − CLEAN_MISS chance of having come, at least CLEAN_ATTEMPTS, at most CLEAN_ATTEMPTS_MAX.
 */
function budgetFor(pIntact: number): number {
  if (!(pIntact > 0)) return CLEAN_ATTEMPTS_MAX;
  const n = Math.ceil(Math.log(CLEAN_MISS) / Math.log1p(-Math.min(pIntact, 1)));
  return Math.min(CLEAN_ATTEMPTS_MAX, Math.max(CLEAN_ATTEMPTS, n));
}

/**
 * The budget of a check that is retried until one run's bytes crossed the link intact, sized by
 * what this link measured: the fault rate of each direction that must be intact (faultRate), and
 * the bytes one attempt put on the wire that way, their mean over the attempts so far (from
 * begin() to end()). Through the emulator a check gets budgetFor(the chance an attempt is
 * intact); on a real link, CLEAN_ATTEMPTS.
 */
export class Attempts {
  /** Attempts ended so far. */
  done = 0;
  /** Of them, those that ran to their end (not discarded part-way). */
  private whole = 0;
  private readonly bytes: Record<Direction, number> = { h2d: 0, d2h: 0 };
  private readonly wholeBytes: Record<Direction, number> = { h2d: 0, d2h: 0 };
  private mark: Record<Direction, number> | undefined;
  /** Where the bytes of the current attempt that must be intact end, per direction (stop()); else at end(). */
  private stopped: Partial<Record<Direction, number>> = {};

  /** @param directions those whose bytes an attempt needs intact */
  constructor(private readonly directions: readonly Direction[]) {}

  private wire(): Record<Direction, number> | undefined {
    const c = target().emulator?.counters;
    return c ? { h2d: c.h2d.bytesIn, d2h: c.d2h.bytesIn } : undefined;
  }

  /** An attempt begins: its bytes are counted from here. */
  begin(): void {
    this.mark = this.wire();
    this.stopped = {};
  }

  /** The bytes of this attempt that must be intact end here in `direction`: later ones are not counted. */
  stop(direction: Direction): void {
    this.stopped[direction] ??= this.wire()?.[direction];
  }

  /**
   * The attempt begun last ended: its bytes are counted up to here. `whole` false: it was
   * discarded part-way (the link had damaged it), so it wrote fewer bytes than a run that must
   * cross intact, and measures them only until a whole one has.
   */
  end(whole = true): void {
    const now = this.wire();
    if (now && this.mark) {
      for (const d of this.directions) {
        const n = (this.stopped[d] ?? now[d]) - this.mark[d];
        this.bytes[d] += n;
        if (whole) this.wholeBytes[d] += n;
      }
    }
    this.mark = undefined;
    this.done++;
    if (whole) this.whole++;
  }

  /** Mean bytes an attempt put on the wire in `direction`: over the whole ones, when there are. */
  perAttempt(direction: Direction): number {
    if (this.whole) return this.wholeBytes[direction] / this.whole;
    return this.done ? this.bytes[direction] / this.done : 0;
  }

  /** The chance an attempt crossed intact at the rates measured; undefined without an emulator. */
  pIntact(): number | undefined {
    let p = 1;
    for (const d of this.directions) {
      const q = faultRate(d);
      if (q === undefined) return undefined;
      p *= (1 - q) ** this.perAttempt(d);
    }
    return p;
  }

  /** Attempts this check gets, as measured now. */
  budget(): number {
    const p = this.pIntact();
    return p === undefined ? CLEAN_ATTEMPTS : budgetFor(p);
  }

  /** Whether another attempt may follow. */
  more(): boolean {
    return this.done < this.budget();
  }

  /** The attempts and what sized them, for a reason a test is not run. */
  describe(): string {
    const p = this.pIntact();
    if (p === undefined) return `${this.done} attempts (a real link: its damage rate cannot be measured, so ${CLEAN_ATTEMPTS})`;
    const each = this.directions.map((d) => `${Math.round(this.perAttempt(d))} bytes ${ARROW[d]} at a measured fault rate of ${faultRate(d)!.toExponential(2)} a byte`).join(', ');
    const capped = budgetFor(p) === CLEAN_ATTEMPTS_MAX ? `, capped at ${CLEAN_ATTEMPTS_MAX}` : '';
    return `${this.done} attempts (each ${each}: intact with chance ${p.toExponential(2)}; ${this.done} attempts give an intact one with chance ${(1 - (1 - p) ** this.done).toFixed(6)}${capped})`;
  }
}

/**
 * Runs `attempt` until one run crossed the link intact, and returns that run's result: `attempt`
 * resolves with `{ value }` for an intact run, `{ damage }` (what the link did) for one the link
 * damaged, which is discarded, never judged. It marks the bytes that must be intact with
 * `attempts.begin()` and `attempts.end()`, which size the budget (Attempts); once it is spent the
 * test is not run (reason `link: …`). The loop under cleanly(), and under checks whose runs need
 * more than one window (a raw session of their own, a reset).
 */
export async function untilIntact<T>(what: string, directions: readonly Direction[], attempt: (attempts: Attempts) => Promise<{ value: T } | { damage: string }>): Promise<T> {
  const attempts = new Attempts(directions);
  let last = '';
  do {
    const r = await attempt(attempts);
    if ('value' in r) return r.value;
    last = r.damage;
  } while (attempts.more());
  throw new TestNotRun(`link: ${what} needs its bytes intact, and the link damaged all ${attempts.describe()}; the last: ${last}`);
}

/**
 * Runs `check` (which writes to the device and measures what it did) until one run crossed the
 * link intact (LinkWindow.clean), and returns that run's result. A verdict that counts what the
 * device received must never depend on the cable: a run the link damaged is discarded, never
 * judged. The runs are as many as the damage measured on this link calls for (Attempts); then the
 * test is not run (reason `link: …`).
 */
export function cleanly<T>(what: string, check: () => Promise<T>): Promise<T> {
  return untilIntact<T>(what, ['h2d'], async (attempts) => {
    // The first run goes out behind whatever is still in flight (the runner's reset_pool, issued
    // ahead of the test): the device executes in order, and a retransmission of theirs makes the
    // run unclean (linkWindow). A run the link damaged is followed by one from an idle link.
    if (attempts.done > 0) await target().client.idle();
    const w = linkWindow();
    attempts.begin();
    // A line end first (§3.3: a host begins so): it ends any partial line an earlier damaged byte
    // left in the device, which would otherwise swallow the check's first bytes. Inside the
    // window, so a damaged '\n' makes the run unclean.
    await target().client.writeRaw(Buffer.from('\n'));
    const result = await check();
    const v = w();
    attempts.end();
    if (v.clean) return { value: result };
    return { damage: `${v.h2dFaults} bytes damaged host → device, ${v.retransmits} retransmits` };
  });
}
