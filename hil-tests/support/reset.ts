/**
 * A reset of the target under test, as its reset pin would do it (TargetContext.reset: the twin's
 * reboot('pin'), the sim's reset pulse, QEMU's system_reset, a board's descriptor reset step), and
 * what the host saw of it: the log lines the device printed from the reset until the hello that
 * opened the next session, that hello, and how long the host waited for both.
 */
import type { Hello } from '../../host/src/index.js';
import { target } from './target.js';
import { emulatorFaults, untilIntact } from './expect.js';

export interface ResetSeen {
  /** The banner the reset made the device print (undefined when a lossy link damaged it). */
  banner: string | undefined;
  /** Every log line received from the reset until hello answered, in order (the banner first). */
  logs: string[];
  /** The hello that opened a session after the reset. */
  hello: Hello;
  /** Host milliseconds from just before the reset until hello answered: the longest the device can have run since. */
  elapsedMs: number;
}

/** Whether the target can be reset from the host; a test that needs it skips otherwise. */
export function canReset(): boolean {
  return target().reset !== undefined;
}

/** Resets the target, waits for its banner, then says hello (the client's session after the reset). */
export async function resetTarget(): Promise<ResetSeen> {
  const { client, reset } = target();
  if (!reset) throw new Error(`${target().name} cannot be reset from the host: check canReset() first`);
  const logs: string[] = [];
  const onLog = (line: string) => void logs.push(line);
  client.on('log', onLog);
  try {
    const t0 = performance.now();
    const banner = await reset();
    const hello = await client.hello();
    const elapsedMs = performance.now() - t0;
    return { banner, logs, hello, elapsedMs };
  } finally {
    client.off('log', onLog);
  }
}

/** The banner of the running boot as the device printed it, or why there is none to judge, and whether that is the cable's doing (`damaged`). */
export type JudgedBanner = { banner: string; why?: undefined; damaged?: undefined } | { banner: undefined; why: string; damaged: boolean };

/**
 * The banner of the running boot with every byte of it intact, for a test that judges its text:
 * a log line has no CRC, so a banner the link emulator damaged may hold the cable's text, not the
 * device's. The one the run saw when none of its bytes was damaged (TargetContext.bannerFaults:
 * faults after it say nothing of it). Else, on a target that can be reset from the host, that of
 * a new boot: reset until one arrives intact, as often as the device → host damage measured on
 * this link and the bytes a banner takes call for (untilIntact; then the test is not run), with
 * the client's hello after each reset. Else none, and why: a board left running printed none, or
 * the banner was damaged and the target cannot be reset for another.
 */
export async function intactBanner(): Promise<JudgedBanner> {
  const t = target();
  if (t.bannerFaults === 0) {
    if (t.banner !== undefined) return { banner: t.banner };
    return { banner: undefined, why: 'no banner: this target was not started or reset by the run (a board left running)', damaged: false };
  }
  if (!canReset()) return { banner: undefined, why: `the link emulator damaged ${t.bannerFaults} bytes of the banner (it has no CRC: its text is not judged), and ${t.name} cannot be reset from the host to print another`, damaged: true };
  const { banner } = await intactReset();
  if (banner === undefined) throw new Error(`${t.name} printed no banner after a reset, over a link that damaged none of its bytes`);
  return { banner };
}

/**
 * resetTarget() until one reset's device → host bytes, from the reset until hello answered,
 * crossed the link intact: its log lines (no CRC) are then the device's own text. As often as the
 * device → host damage measured on this link and the bytes a reset brings call for (untilIntact;
 * then the test is not run); one reset without an emulator (no damage can be measured there).
 */
export function intactReset(): Promise<ResetSeen> {
  return untilIntact<ResetSeen>('a reset whose log lines cross intact', ['d2h'], async (attempts) => {
    const f0 = emulatorFaults('d2h');
    attempts.begin();
    const r = await resetTarget();
    attempts.end();
    const faults = emulatorFaults('d2h') - f0;
    return faults === 0 ? { value: r } : { damage: `${faults} bytes damaged device → host between the reset and hello's answer` };
  });
}
