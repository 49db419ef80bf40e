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

/**
 * Why a check of a log line's text (the banner) is skipped once the emulator damaged device → host
 * bytes: a log line has no CRC, so its text may be the cable's, not the device's.
 */
export const LOG_TEXT_NOT_JUDGED = 'the link emulator damaged device → host bytes: a banner has no CRC, its text is not judged';

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

/** Attempts of a check that needs every byte to reach the device intact (see cleanly()). */
const CLEAN_ATTEMPTS = 40;

/**
 * Runs `check` (which writes to the device and measures what it did) until one run crossed the
 * link intact (LinkWindow.clean), and returns that run's result. A verdict that counts what the
 * device received must never depend on the cable: a run the link damaged is discarded, never
 * judged. After CLEAN_ATTEMPTS damaged runs the test is not run (reason `link: …`).
 */
export async function cleanly<T>(what: string, check: () => Promise<T>): Promise<T> {
  let last: LinkWindow | undefined;
  for (let i = 0; i < CLEAN_ATTEMPTS; i++) {
    // The first run goes out behind whatever is still in flight (the runner's reset_pool, issued
    // ahead of the test): the device executes in order, and a retransmission of theirs makes the
    // run unclean (linkWindow). A run the link damaged is followed by one from an idle link.
    if (i > 0) await target().client.idle();
    const w = linkWindow();
    // A line end first (§3.3: a host begins so): it ends any partial line an earlier damaged byte
    // left in the device, which would otherwise swallow the check's first bytes. Inside the
    // window, so a damaged '\n' makes the run unclean.
    await target().client.writeRaw(Buffer.from('\n'));
    const result = await check();
    last = w();
    if (last.clean) return result;
  }
  throw new TestNotRun(`link: ${what} needs its bytes intact, and the link damaged all ${CLEAN_ATTEMPTS} attempts (the last: ${last!.h2dFaults} bytes damaged host → device, ${last!.retransmits} retransmits)`);
}
