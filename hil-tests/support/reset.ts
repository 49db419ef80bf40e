/**
 * A reset of the target under test, as its reset pin would do it (TargetContext.reset: the twin's
 * reboot('pin'), the sim's reset pulse, QEMU's system_reset, a board's descriptor reset step), and
 * what the host saw of it: the log lines the device printed from the reset until the hello that
 * opened the next session, that hello, and how long the host waited for both.
 */
import type { Hello } from '../../host/src/index.js';
import { target } from './target.js';

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
