/**
 * Test support: a small scripted device on the far end of a memory link, with the v2 link layer
 * of PROTOCOL.md §3.3 (session, consecutive seqs, replay cache, out_of_sequence, no_session) and
 * hooks to lose chosen request or response lines. It is not the twin: it pins the client's own
 * behaviour, including what a correct device never does (answering out of order or twice,
 * garbage, silence). Every executed request is recorded, so tests can check exactly-once order.
 */
import { decodeCbor, encodeCbor } from '../../codec/cbor.js';
import { classifyLine, encodeFrame } from '../../framing/frame.js';
import { LineReader } from '../../framing/line-reader.js';
import { Framing, Link, Op } from '../../protocol/constants.js';
import { helloToWire, statsToWire, type Hello } from '../../protocol/messages.js';
import type { MemoryTransport } from '../../transport/memory.js';

export type Request = [number, number, ...unknown[]];
/** What the device does with a request it executes: answer with a message, or nothing yet (held). */
export type Script = (req: Request, device: FakeDevice) => unknown[] | undefined;

export function fakeHello(overrides: Partial<Hello & { replayDepth: number; replayBytes: number }> = {}): Hello {
  return {
    protoVersion: 2,
    firmwareId: 'fake-0.0',
    maxVms: 4,
    maxGlobals: 64,
    maxArrays: 16,
    arrayElements: 64,
    maxLine: Framing.maxLineBytes,
    maxBatch: Framing.maxBatchOps,
    bootNonce: 0x1234abcd,
    uptimeMs: 5,
    resetCause: 'power_on',
    uniqueId: new Uint8Array(0),
    replayDepth: Link.replayDepth,
    replayBytes: Link.replayBytes,
    holdDepth: Link.holdDepth,
    holdMessageBytes: Link.holdMessageBytes,
    ...overrides,
  } as Hello;
}

export function zeroStats() {
  const c = { acquired: false, globalsInUse: 0, arraysActive: 0, elements: 0, bytesUsed: 0, hwGlobals: 0, hwArrays: 0, hwElements: 0 };
  return {
    contextsAcquired: 0, contextsHw: 0, acquires: 0, releases: 0, ops: 0, opErrors: 0, rxFrames: 0, rxBadFrame: 0,
    rxBadCrc: 0, rxOverlong: 0, rxMalformed: 0, rxNoise: 0, rxOverrun: 0, contexts: [c, c, c, c],
    replayed: 0, outOfSequence: 0, noSession: 0, sessions: 0, held: 0,
  };
}

/** Answers like a trivial device: loads return vm*1000 + id, stores succeed, global ≥ 64 is out_of_range. */
export const defaultScript: Script = (req, device) => {
  const [seq, op, ...args] = req;
  switch (op) {
    case Op.hello:
      return [seq, 0, helloToWire(device.hello)];
    case Op.echo:
      return [seq, 0, args[0]];
    case Op.load_global:
    case Op.store_global:
      if ((args[1] as number) >= 64) return [seq, 3];
      return op === Op.load_global ? [seq, 0, (args[0] as number) * 1000 + (args[1] as number)] : [seq, 0];
    case Op.load_array:
      return [seq, 0, (args[0] as number) * 1000 + (args[2] as number)];
    case Op.stats:
      return [seq, 0, statsToWire(zeroStats())];
    case Op.batch: {
      const ops = args[0] as number[][];
      if (ops.length > device.hello.maxBatch) return [seq, 10];
      return [seq, 0, ops.map((o) => (o[0] === Op.load_global ? [0, o[1]! * 1000 + o[2]!] : o[0] === Op.acquire && o[1]! >= 4 ? [3] : [0]))];
    }
    default:
      return op <= 11 ? [seq, 0] : [seq, 1];
  }
};

export class FakeDevice {
  hello = fakeHello();
  script: Script = defaultScript;
  /** Decoded requests in arrival order (duplicates and refused ones included). */
  readonly requests: Request[] = [];
  /** Requests executed, in execution order (each seq once when the link layer works). */
  readonly executed: Request[] = [];
  /** Non-frame or undecodable lines received. */
  readonly other: Buffer[] = [];
  /** Lose this received request line (before the device sees it); `n` counts request lines from 0. */
  dropIn: (req: Request, n: number) => boolean = () => false;
  /** Lose this response line (after the device executed or refused); `n` counts response lines from 0. */
  dropOut: (message: unknown[], n: number) => boolean = () => false;
  /** Say nothing at all (every response is lost). */
  silent = false;
  /** Link-layer counters, as the device's stats would report them. */
  readonly link = { replayed: 0, outOfSequence: 0, noSession: 0, sessions: 0, held: 0 };
  /** Bytes of request lines received and not yet answered, and the most there ever were. */
  unanswered = 0;
  maxUnanswered = 0;

  private session = false;
  private next = 0;
  private cache: { seq: number; line: Buffer | undefined; message: unknown[]; bytes: number }[] = [];
  private inCount = 0;
  private outCount = 0;
  private readonly lineBytes = new Map<number, number>();
  private readonly reader = new LineReader((line) => this.onLine(line));

  constructor(readonly end: MemoryTransport) {
    end.on('data', (chunk) => this.reader.push(chunk));
  }

  /** Forgets the session, as a reboot does (the next request but hello is answered no_session). */
  reboot(): void {
    this.session = false;
    this.cache = [];
  }

  private onLine(line: Buffer): void {
    const c = classifyLine(line);
    if (c.kind !== 'frame') {
      if (c.kind !== 'empty') this.other.push(line);
      return;
    }
    let req: Request;
    try {
      req = decodeCbor(c.message) as Request;
    } catch {
      this.other.push(line);
      return;
    }
    if (!Array.isArray(req) || typeof req[0] !== 'number') {
      this.other.push(line);
      return;
    }
    if (this.dropIn(req, this.inCount++)) return;
    this.requests.push(req);
    const seq = req[0];
    const d = (this.next - seq) >>> 0;
    if (this.session && d >= 1 && d <= this.cache.length) {
      const hit = this.cache[this.cache.length - d]!;
      this.link.replayed++;
      if (hit.line) this.out(hit.line, hit.message);
      return;
    }
    const isHello = req.length === 2 && req[1] === Op.hello;
    if (isHello) {
      this.session = true;
      this.cache = [];
      this.next = seq;
      this.link.sessions++;
    } else if (!this.session) {
      this.link.noSession++;
      return this.send([seq, 13]);
    } else if (seq !== this.next) {
      this.link.outOfSequence++;
      return this.send([seq, 12, this.next]);
    }
    this.unanswered += line.length + 1;
    this.maxUnanswered = Math.max(this.maxUnanswered, this.unanswered);
    this.lineBytes.set(seq, line.length + 1);
    this.executed.push(req);
    this.next = (seq + 1) >>> 0;
    this.cache.push({ seq, line: undefined, message: [], bytes: 0 }); // filled when answered
    const depth = (this.hello as Hello & { replayDepth: number }).replayDepth;
    while (this.cache.length > depth) this.cache.shift();
    const answer = this.script(req, this);
    if (answer) this.send(answer);
  }

  /** Writes a response (or any message) as a frame line; a response to an executed request is cached. */
  send(message: unknown[]): void {
    const seq = message[0] as number;
    const line = encodeFrame(encodeCbor(message));
    const bytes = this.lineBytes.get(seq);
    if (bytes !== undefined) {
      this.unanswered -= bytes;
      this.lineBytes.delete(seq);
    }
    if (message[1] !== 12 && message[1] !== 13) this.cache_(seq, line, message);
    this.out(line, message);
  }

  /** §3.3: drop the oldest entries while the cache is full or the new response does not fit. */
  private cache_(seq: number, line: Buffer, message: unknown[]): void {
    const entry = this.cache.find((e) => e.seq === seq && e.line === undefined);
    if (!entry) return;
    const h = this.hello as Hello & { replayBytes: number };
    const bytes = encodeCbor(message).length;
    let used = 0;
    for (const e of this.cache) used += e.bytes;
    while (this.cache[0] !== entry && used + bytes > h.replayBytes) used -= this.cache.shift()!.bytes;
    Object.assign(entry, { line, message, bytes });
  }

  private out(line: Buffer, message: unknown[]): void {
    if (this.silent || this.dropOut(message, this.outCount++)) return;
    void this.end.write(line);
  }

  /** Answers a request the script held back, as the default script would. */
  answer(req: Request): void {
    this.send(defaultScript(req, this)!);
  }

  log(text: string): void {
    void this.end.write(Buffer.from(text + '\n', 'latin1'));
  }

  raw(bytes: Buffer): void {
    void this.end.write(bytes);
  }
}
