/**
 * `hil monitor`: a passive view of a target's UART. It opens the link and listens: every line the
 * device sends becomes a record (a log line, a decoded frame, or a damaged line), timestamped,
 * printed, and appended to a capture file as a JSON line; `--replay` prints a capture again, line
 * for line as it was printed live (the printed form depends on the record only). It sends nothing,
 * except one hello when asked (`hello: true`) to show some traffic.
 *
 * Capture format, one JSON object a line:
 *   { "t": ISO-8601 time, "dir": "rx" (device→host) | "tx" (host→device) | "link",
 *     "kind": "log" | "frame" | "defect" | "link",
 *     "text": the log line or link event | "hex": the frame's CBOR message or the damaged line,
 *     "decoded": { seq, op, args, status, result, error, code, ... } (frames and defects) }
 */
import { appendFileSync, closeSync, openSync, readFileSync } from 'node:fs';
import { decodeCbor, encodeCbor } from '../codec/cbor.js';
import { errorName } from '../client/errors.js';
import { classifyLine, encodeFrame } from '../framing/frame.js';
import { LineReader } from '../framing/line-reader.js';
import { BANNER_PREFIX, Op, OpArgs, OpNameByCode, StatsKey } from '../protocol/constants.js';
import { helloFromWire, statsFromWire } from '../protocol/messages.js';
import { openLink } from '../targets/index.js';
import type { Transport } from '../transport/transport.js';
import { UsageError } from './exit-codes.js';

export type Direction = 'rx' | 'tx' | 'link';

/** A decoded frame: the request or response fields, JSON-safe (byte strings as {bstr: hex}). */
export interface DecodedFrame {
  seq?: number;
  /** The operation's name; `opKnown` says whether it is from the request (true) or guessed from the result. */
  op?: string;
  opKnown?: boolean;
  /** Request arguments by name (known pool operations) or in order. */
  args?: Record<string, unknown> | unknown[];
  status?: 'ok' | 'error';
  result?: unknown;
  /** The error's name and code, for an error response. */
  error?: string;
  code?: number;
  /** Why the frame could not be decoded (malformed CBOR, not a message). */
  invalid?: string;
  /** For a damaged line: overlong, bad_frame, bad_crc. */
  defect?: string;
}

export interface CaptureRecord {
  t: string;
  dir: Direction;
  kind: 'log' | 'frame' | 'defect' | 'link';
  text?: string;
  hex?: string;
  decoded?: DecodedFrame;
}

/** A CBOR value as JSON: byte strings as {bstr: hex}, maps as objects, big integers as strings. */
export function jsonSafe(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bstr: Buffer.from(v).toString('hex') };
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v instanceof Map) return Object.fromEntries([...v.entries()].map(([k, x]) => [String(k), jsonSafe(x)]));
  if (v === undefined) return null;
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

/** A result with named fields where its shape tells what it is (hello, stats), else as it is. */
function namedResult(op: string | undefined, result: unknown): unknown {
  try {
    if (op === 'hello') return jsonSafe(helloFromWire(result));
    if (op === 'stats') return jsonSafe(statsFromWire(result));
  } catch {
    // not the shape it should have: show it raw
  }
  return jsonSafe(result);
}

/** What a response's result says about its operation, when the request was not seen. */
function guessOp(result: unknown): string | undefined {
  if (result instanceof Map) {
    if (result.size === 12 && typeof result.get(2) === 'string') return 'hello';
    if (result.size === Object.keys(StatsKey).length && Array.isArray(result.get(StatsKey.contexts))) return 'stats';
    return undefined;
  }
  if (result instanceof Uint8Array) return 'echo';
  if (Array.isArray(result)) return 'batch';
  return undefined;
}

/**
 * Decodes one frame's CBOR message. `dir` tells a request (tx) from a response (rx); `sent` maps
 * the seqs of requests seen going out to their op names, so a response is named by its request.
 */
export function decodeFrame(message: Uint8Array, dir: 'rx' | 'tx', sent: Map<number, string> = new Map()): DecodedFrame {
  let v: unknown;
  try {
    v = decodeCbor(message);
  } catch (e) {
    return { invalid: `malformed CBOR: ${(e as Error).message}` };
  }
  if (!Array.isArray(v) || v.length < 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number') {
    return { invalid: 'not a [seq, code, ...] message', result: jsonSafe(v) };
  }
  const [seq, code, ...rest] = v as [number, number, ...unknown[]];
  if (dir === 'tx') {
    const op = OpNameByCode[code] ?? `op ${code}`;
    sent.set(seq, op);
    const names = OpArgs[code];
    const args = names && names.length === rest.length ? Object.fromEntries(names.map((n, i) => [n, jsonSafe(rest[i])])) : rest.map(jsonSafe);
    return { seq, op, opKnown: true, args };
  }
  const known = sent.get(seq);
  sent.delete(seq);
  const out: DecodedFrame = { seq };
  if (code === 0) {
    out.status = 'ok';
    const op = known ?? (rest.length ? guessOp(rest[0]) : undefined);
    if (op) {
      out.op = op;
      out.opKnown = known !== undefined;
    }
    if (rest.length) out.result = namedResult(op, rest[0]);
  } else {
    if (known) {
      out.op = known;
      out.opKnown = true;
    }
    out.status = 'error';
    out.error = errorName(code);
    out.code = code;
  }
  return out;
}

const ARROW: Record<Direction, string> = { rx: 'dev→host', tx: 'host→dev', link: '--------' };

function formatValue(v: unknown): string {
  return JSON.stringify(v);
}

function formatArgs(args: DecodedFrame['args']): string {
  if (args === undefined) return '';
  if (Array.isArray(args)) return args.length ? `(${args.map(formatValue).join(', ')})` : '';
  const parts = Object.entries(args).map(([k, x]) => `${k} ${formatValue(x)}`);
  return parts.length ? `(${parts.join(', ')})` : '';
}

/** One record as one printed line: `HH:MM:SS.mmm  dev→host  frame   seq 7 hello → ok {...}` (UTC). */
export function formatRecord(r: CaptureRecord): string {
  const time = r.t.length >= 23 ? r.t.slice(11, 23) : r.t;
  const head = `${time}  ${ARROW[r.dir] ?? r.dir}  ${r.kind.padEnd(6)}`;
  const d = r.decoded;
  switch (r.kind) {
    case 'log':
    case 'link':
      return `${head}  ${r.text ?? ''}`;
    case 'defect':
      return `${head}  ${d?.defect ?? 'damaged line'} (${(r.hex?.length ?? 0) / 2} bytes) ${r.hex ?? ''}`;
    case 'frame': {
      if (!d || d.invalid) return `${head}  ${d?.invalid ?? 'undecoded'}: ${r.hex ?? ''}`;
      const op = d.op ? ` ${d.op}${d.opKnown ? '' : '?'}${formatArgs(d.args)}` : '';
      const seq = `seq ${d.seq}${op}`;
      if (r.dir === 'tx') return `${head}  ${seq}`;
      if (d.status === 'error') return `${head}  ${seq} → error ${d.error} (${d.code})`;
      return `${head}  ${seq} → ok${d.result !== undefined ? ` ${formatValue(d.result)}` : ''}`;
    }
  }
}

/**
 * Creates the capture file (kept as it is when it exists: records are appended), so that a monitor
 * announcing it has made it; UsageError naming the file and the reason when it cannot be.
 */
export function createCapture(file: string): void {
  try {
    closeSync(openSync(file, 'a'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'its folder does not exist' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UsageError(`--capture ${file}: cannot create it (${why}); give a file in a folder you can write to, or --no-capture`);
  }
}

/** The records of a capture file, in order; throws UsageError naming the file and line of a bad one. */
export function readCapture(file: string): CaptureRecord[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: cannot read the capture (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`);
  }
  const out: CaptureRecord[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: CaptureRecord;
    try {
      r = JSON.parse(line) as CaptureRecord;
    } catch (e) {
      throw new UsageError(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
    if (typeof r.t !== 'string' || typeof r.dir !== 'string' || typeof r.kind !== 'string') throw new UsageError(`${file}:${i + 1}: not a capture record (t, dir, kind are required)`);
    out.push(r);
  });
  return out;
}

/** The printed lines of a capture: the same lines the live monitor printed. */
export function replayCapture(file: string): string[] {
  return readCapture(file).map(formatRecord);
}

export interface MonitorOptions {
  /** Send one hello after opening, to show traffic. */
  hello?: boolean;
  /** Append every record to this file (JSON lines). */
  capture?: string;
  /** Stop after this many log, frame and defect records. */
  count?: number;
  /** Stop after this long (ms). */
  durationMs?: number;
  /** Stops the monitor (Ctrl-C). */
  signal?: AbortSignal;
  /** Each record, as it comes. */
  onRecord?: (r: CaptureRecord, line: string) => void;
  /** Called once the link is open (before hello), e.g. to reset a board so its boot is seen. */
  afterOpen?: () => Promise<void>;
  /** Clock, for tests; default the wall clock. */
  now?: () => Date;
}

export interface MonitorSummary {
  records: number;
  frames: number;
  logs: number;
  defects: number;
  /** Why it stopped: count, duration, signal, closed (the link ended). */
  stoppedBy: 'count' | 'duration' | 'signal' | 'closed';
}

/**
 * Listens on an opened-or-not transport until a stop condition; closes it before returning.
 * The caller owns whatever started the transport's far end.
 */
export async function monitorTransport(transport: Transport, options: MonitorOptions = {}, start?: () => Promise<void>): Promise<MonitorSummary> {
  const now = options.now ?? (() => new Date());
  const sent = new Map<number, string>();
  const summary: MonitorSummary = { records: 0, frames: 0, logs: 0, defects: 0, stoppedBy: 'closed' };
  let stopped = false;
  let finish: (why: MonitorSummary['stoppedBy']) => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = (why) => {
      stopped = true;
      summary.stoppedBy = why;
      finish = () => {};
      resolve();
    };
  });
  const emit = (r: CaptureRecord) => {
    if (stopped) return;
    if (options.capture) appendFileSync(options.capture, JSON.stringify(r) + '\n');
    options.onRecord?.(r, formatRecord(r));
    if (r.kind === 'link') return;
    summary.records++;
    if (options.count !== undefined && summary.records >= options.count) finish('count');
  };
  const record = (dir: Direction, kind: CaptureRecord['kind'], fields: Partial<CaptureRecord>) => emit({ t: now().toISOString(), dir, kind, ...fields });
  let bannerSeen: () => void = () => {};
  const banner = new Promise<void>((resolve) => (bannerSeen = resolve));
  const reader = new LineReader((line) => {
    const c = classifyLine(line);
    if (c.kind === 'empty' || stopped) return;
    if (c.kind === 'log') {
      if (c.text.startsWith(BANNER_PREFIX)) bannerSeen();
      summary.logs++;
      record('rx', 'log', { text: c.text });
    } else if (c.kind === 'frame') {
      summary.frames++;
      record('rx', 'frame', { hex: c.message.toString('hex'), decoded: decodeFrame(c.message, 'rx', sent) });
    } else {
      summary.defects++;
      record('rx', 'defect', { hex: c.line.toString('hex'), decoded: { defect: c.defect } });
    }
  });
  const onData = (chunk: Buffer) => reader.push(chunk);
  const onClose = (err?: Error) => {
    record('link', 'link', { text: err ? `link ended: ${err.message}` : 'closed' });
    finish('closed');
  };
  transport.on('data', onData);
  transport.on('close', onClose);
  const timer = options.durationMs !== undefined ? setTimeout(() => finish('duration'), options.durationMs) : undefined;
  // A quiet in-process link (the twin) holds no handle: keep the process alive until a stop.
  const keepAlive = setInterval(() => {}, 1 << 30);
  const onAbort = () => finish('signal');
  options.signal?.addEventListener('abort', onAbort);
  if (options.signal?.aborted) finish('signal');
  try {
    await transport.open();
    record('link', 'link', { text: `opened ${transport.name}` });
    await start?.();
    await options.afterOpen?.();
    if (options.hello && start) {
      // A target started only now (QEMU) drops bytes until its UART is up: speak after its banner.
      let t: NodeJS.Timeout | undefined;
      await Promise.race([banner, finished, new Promise((r) => (t = setTimeout(r, 10_000)))]);
      clearTimeout(t);
    }
    if (options.hello && !stopped) {
      const seq = (Math.random() * 0x100000000) >>> 0;
      const message = encodeCbor([seq, Op.hello]);
      record('tx', 'frame', { hex: message.toString('hex'), decoded: decodeFrame(message, 'tx', sent) });
      await transport.write(encodeFrame(message));
    }
    await finished;
  } finally {
    if (timer) clearTimeout(timer);
    clearInterval(keepAlive);
    options.signal?.removeEventListener('abort', onAbort);
    transport.off('close', onClose);
    transport.off('data', onData);
    await transport.close().catch(() => undefined);
  }
  return summary;
}

/** Opens a target spec's link (starting what it needs) and monitors it; stops everything it started. */
export async function monitorTarget(spec: string, options: MonitorOptions = {}): Promise<MonitorSummary> {
  const link = await openLink(spec);
  try {
    return await monitorTransport(link.transport, options, link.start);
  } finally {
    await link.close();
  }
}
