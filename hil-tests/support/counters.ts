/**
 * The receive counters of PROTOCOL.md §2.1 moved by raw bytes, for the line-handling tests:
 * written as given (in one or several writes), then one stats request, measured over a link that
 * delivered the bytes intact (cleanly()), so a damaged cable never moves a counter the test then
 * blames on the device.
 */
import { encodeFrame, type Stats } from '../../host/src/index.js';
import { target } from './target.js';
import { cleanly } from './expect.js';

export type RxCounter = 'rxBadFrame' | 'rxBadCrc' | 'rxOverlong' | 'rxMalformed' | 'rxNoise';

export const NO_COUNTS: Readonly<Record<RxCounter, number>> = { rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxMalformed: 0, rxNoise: 0 };

/**
 * Asks for stats, writes each chunk with its own write, then asks for stats again (answered: the device still listens).
 * Returns how far each counter moved. rx_frames is left out: a retransmission the client makes on a
 * slow target (an intact duplicate) moves it, and nothing else.
 */
export async function countsOf(chunks: readonly Uint8Array[]): Promise<Record<RxCounter, number>> {
  const { client } = target();
  return cleanly(`counting what ${chunks.length} raw write(s) do`, async () => {
    // Issued in this order without waiting for answers: the device executes in order, so `before`
    // counts nothing of the chunks. Each chunk is its own write, after the one before has left.
    const first = client.stats();
    first.catch(() => undefined); // judged below, with the second
    for (const c of chunks) await client.writeRaw(c);
    const [before, after]: Stats[] = await Promise.all([first, client.stats()]);
    const d = (k: RxCounter) => after[k] - before[k];
    return { rxBadFrame: d('rxBadFrame'), rxBadCrc: d('rxBadCrc'), rxOverlong: d('rxOverlong'), rxMalformed: d('rxMalformed'), rxNoise: d('rxNoise') };
  });
}

/** The frame line of `message` with its CRC damaged ('~' + base64 + '\n'): well-formed, never executed. */
export function badCrcLine(message: Uint8Array): Buffer {
  const line = encodeFrame(message);
  const raw = Buffer.from(line.toString('latin1', 1, line.length - 1), 'base64');
  raw[raw.length - 1]! ^= 0x40;
  return Buffer.from('~' + raw.toString('base64') + '\n', 'latin1');
}
