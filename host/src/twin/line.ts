/**
 * Line handling of the twin (PROTOCOL.md §2, §2.1): received bytes → lines → classified, the line
 * counters kept, and each CRC-good frame's CBOR message handed on. C counterpart: cvm_line.c.
 *
 * Splitting is the host's LineReader (@serialport/parser-readline, bounded), classifying the
 * framing module's classifyLine: one implementation of §2.1 for host and twin.
 */
import { classifyLine } from '../framing/frame.js';
import { LineReader } from '../framing/line-reader.js';
import type { Stats } from '../protocol/messages.js';

/**
 * The line counters of §2.1 (stats keys 7, 8, 9, 10, 12). uint32, wrapping. C: cvm_line_counters.
 * (rx_malformed, key 11, is the dispatcher's; rx_overrun, key 13, the port's.)
 */
export type LineCounters = Pick<Stats, 'rxFrames' | 'rxBadFrame' | 'rxBadCrc' | 'rxOverlong' | 'rxNoise'>;

const inc = (n: number): number => (n + 1) >>> 0;

export class LineHandler {
  private readonly counters: LineCounters = { rxFrames: 0, rxBadFrame: 0, rxBadCrc: 0, rxOverlong: 0, rxNoise: 0 };
  private reader!: LineReader;

  /** onFrame receives the CBOR message (CRC stripped) of every CRC-good frame, in order. */
  constructor(private readonly onFrame: (message: Buffer) => void) {
    this.restart();
  }

  /** Bytes received, in any split. Lines are handled as LineReader delivers them (synchronously today). */
  feed(bytes: Buffer): void {
    this.reader.push(bytes);
  }

  /**
   * Drops the line being assembled: reception restarts at the next line boundary (after a hang or
   * a reboot). A line the old reader still delivers is ignored.
   */
  restart(): void {
    const reader: LineReader = new LineReader((line) => {
      if (reader === this.reader) this.onLine(line);
    });
    this.reader = reader;
  }

  /** Zeroes the counters (a reboot). */
  resetCounters(): void {
    for (const k of Object.keys(this.counters) as (keyof LineCounters)[]) this.counters[k] = 0;
  }

  /** A copy of the counters. */
  lineCounters(): LineCounters {
    return { ...this.counters };
  }

  private onLine(line: Buffer): void {
    const c = classifyLine(line);
    const n = this.counters;
    switch (c.kind) {
      case 'empty':
        return;
      case 'log':
        n.rxNoise = inc(n.rxNoise);
        return;
      case 'defect':
        if (c.defect === 'overlong') n.rxOverlong = inc(n.rxOverlong);
        else if (c.defect === 'bad_frame') n.rxBadFrame = inc(n.rxBadFrame);
        else n.rxBadCrc = inc(n.rxBadCrc);
        return;
      case 'frame':
        n.rxFrames = inc(n.rxFrames);
        this.onFrame(c.message);
    }
  }
}
