/**
 * Splits a byte stream into lines with @serialport/parser-readline, holding at most
 * max_line_bytes + 1 bytes of an unfinished line: past that the rest of the line is dropped, so
 * the line still arrives (and classifies as overlong) but a peer that never sends '\n' cannot
 * grow memory without bound.
 */
import { ReadlineParser } from '@serialport/parser-readline';
import { Framing } from '../protocol/constants.js';

const LF = 0x0a;

export class LineReader {
  private readonly parser = new ReadlineParser({ delimiter: '\n', encoding: 'latin1' });
  private pending = 0; // bytes of the current line already passed to the parser
  private readonly cap: number;

  /** onLine receives each line's bytes without its '\n'. */
  constructor(onLine: (line: Buffer) => void, maxLineBytes: number = Framing.maxLineBytes) {
    this.cap = maxLineBytes + 1;
    this.parser.on('data', (s: string) => onLine(Buffer.from(s, 'latin1')));
  }

  /** Feeds received bytes; lines are delivered synchronously or on the next tick by the parser. */
  push(chunk: Buffer): void {
    let start = 0;
    const parts: Buffer[] = [];
    while (start < chunk.length) {
      const nl = chunk.indexOf(LF, start);
      const end = nl === -1 ? chunk.length : nl;
      const room = Math.max(0, this.cap - this.pending);
      const take = Math.min(room, end - start);
      if (take > 0) parts.push(chunk.subarray(start, start + take));
      this.pending += take;
      if (nl === -1) break;
      parts.push(chunk.subarray(nl, nl + 1));
      this.pending = 0;
      start = nl + 1;
    }
    if (parts.length) this.parser.write(parts.length === 1 ? parts[0] : Buffer.concat(parts));
  }

  /** Delivers an unfinished last line, if any. */
  end(): void {
    this.parser.end();
  }
}
