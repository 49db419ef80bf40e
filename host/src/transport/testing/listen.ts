/**
 * Test helper: what a transport receives, as lines — frames decoded, log lines as text, defects
 * as their classification — to be taken one at a time, in order.
 */
import { decodeCbor } from '../../codec/cbor.js';
import { classifyLine } from '../../framing/frame.js';
import { LineReader } from '../../framing/line-reader.js';
import type { Transport } from '../transport.js';

export interface Listener {
  /** Lines received and not yet taken. */
  lines: unknown[];
  /** The next line; rejects after timeoutMs (default: waits as long as the test allows). */
  next(timeoutMs?: number): Promise<unknown>;
}

export function listenLines(t: Transport): Listener {
  const lines: unknown[] = [];
  const waiters: ((v: unknown) => void)[] = [];
  const reader = new LineReader((line) => {
    const c = classifyLine(line);
    const v = c.kind === 'frame' ? decodeCbor(c.message) : c.kind === 'log' ? c.text : c;
    const w = waiters.shift();
    if (w) w(v);
    else lines.push(v);
  });
  t.on('data', (chunk) => reader.push(chunk));
  return {
    lines,
    next: (timeoutMs?: number) =>
      lines.length
        ? Promise.resolve(lines.shift())
        : new Promise((resolve, reject) => {
            const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject(new Error(`no line within ${timeoutMs} ms`)), timeoutMs);
            waiters.push((v) => {
              clearTimeout(timer);
              resolve(v);
            });
          }),
  };
}
