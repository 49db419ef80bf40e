/**
 * The device glue of the twin: what the firmware's main loop does with the bytes its UART receives
 * (PROTOCOL.md §2.1, §3, §3.3, §4, §5, §6), over the twin pool. C counterpart: cvm_device.c, with
 * the same parts beneath it: line handling (line.ts ↔ cvm_line.c), the dispatcher (dispatch.ts ↔
 * cvm_dispatch.c) and the link layer (link.ts ↔ cvm_link.c). A differential test compares its
 * response bytes with the C core's.
 *
 * The device does no I/O: feed() takes received bytes, and every line it writes (banner, log,
 * response frame, injected garbage) is emitted, whole and in order, as one `output` event — the
 * one output path of §2, so a log line never lands inside a frame. Whoever attaches the device to a
 * link (TwinTransport, serveTwinOnPty) forwards `output` to the link and `disconnect` to its end.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { encodeFrame } from '../framing/frame.js';
import { BANNER_PREFIX, Framing, PROTOCOL_VERSION, RESET_CAUSES } from '../protocol/constants.js';
import { type PoolLimits, type ReplayLimits, formatLimits, limitsTag } from '../protocol/limits.js';
import type { Stats } from '../protocol/messages.js';
import { Dispatcher, type ParsedRequest, resolveTwinLimits } from './dispatch.js';
import { LineHandler } from './line.js';
import { LinkLayer, type SessionCounters } from './link.js';
import { Pool } from './pool.js';

/** A reset cause hello may report (C: cvm_reset_cause). */
export type ResetCause = (typeof RESET_CAUSES)[number];

/**
 * How to build a twin: the pool's limits under `limits`, the link layer's sizes as the top-level
 * replayDepth, replayBytes, holdDepth and holdMessageBytes (ReplayLimits, hello keys 13..16), then
 * the device's identity.
 */
export interface TwinDeviceOptions extends Partial<ReplayLimits> {
  /**
   * Build-time limits of the pool, in the one PoolLimits type (protocol/limits.ts; hello's names
   * maxVms, maxGlobals, maxArrays, arrayElements), e.g. `{ maxVms: 2 }`. Those not given take
   * DEFAULT_POOL_LIMITS. See resolveTwinLimits for the bounds; any other key throws RangeError.
   */
  limits?: Partial<PoolLimits>;
  /**
   * Firmware id reported by hello and the banner: printable ASCII without spaces (the banner is
   * split on spaces), at most FIRMWARE_ID_MAX (64) characters. Default
   * `cvm-twin/0.1.0+vms<n>.g<n>.a<n>.e<n>`, the form of the C firmware's id.
   */
  firmwareId?: string;
  /** Boot nonce (uint32) of the first boot. Default: random. reboot() always draws a new random one. */
  bootNonce?: number;
  /** Reset cause of the first boot. Default 'power_on'. */
  resetCause?: ResetCause;
  /**
   * The 96-bit unique id hello reports: 12 bytes, or empty for "cannot be read". Default: derived
   * from the first boot nonce — "TWIN" in ASCII, the nonce big-endian, then its bitwise complement
   * big-endian — and kept across reboot(), as a chip's id survives a reset.
   */
  uniqueId?: Uint8Array;
  /** Monotonic clock in milliseconds, for uptime_ms. Default performance.now(). */
  clock?: () => number;
}

export interface TwinDeviceEvents {
  /** Bytes the device writes to the link: one whole line per event (emitGarbage: its bytes as given). */
  output: [line: Buffer];
  /** disconnect() was called: the link must end as if the cable were pulled. */
  disconnect: [];
}

/**
 * The receive counters of §2.1 (stats keys 7–13). uint32, wrapping. rxOverrun is always 0: the
 * twin's receive path is a synchronous call, it has no ring to overflow.
 */
export type LinkCounters = Pick<Stats, 'rxFrames' | 'rxBadFrame' | 'rxBadCrc' | 'rxOverlong' | 'rxMalformed' | 'rxNoise' | 'rxOverrun'>;

const UINT32_MAX = 0xffffffff;

/** The default firmware id of a twin with these limits: `cvm-twin/0.1.0+vms<n>.g<n>.a<n>.e<n>`. */
export function defaultFirmwareId(l: PoolLimits): string {
  return `cvm-twin/0.1.0+${limitsTag(l)}`;
}

/** The default unique id: "TWIN", the nonce big-endian, its complement big-endian (12 bytes). */
export function uniqueIdFromNonce(nonce: number): Uint8Array {
  const b = Buffer.alloc(12);
  b.write('TWIN', 0, 'latin1');
  b.writeUInt32BE(nonce >>> 0, 4);
  b.writeUInt32BE(~nonce >>> 0, 8);
  return new Uint8Array(b);
}

function randomNonce(): number {
  return randomBytes(4).readUInt32BE(0);
}

/**
 * Longest firmware id, in bytes (C: CVM_FIRMWARE_ID_MAX, which truncates; the twin refuses instead,
 * since its id is a constructor argument). With it, hello always fits one message.
 */
export const FIRMWARE_ID_MAX = 64;

/**
 * The device. Construct, attach an `output` listener, then boot() to print the banner (what the
 * firmware does at reset); a link adapter does that once the line is open.
 */
export class TwinDevice extends EventEmitter<TwinDeviceEvents> {
  /** The pool's limits, every one filled in (hello keys 2..5). */
  readonly limits: Readonly<PoolLimits>;
  /** The link layer's sizes: the replay cache's and the hold's (hello keys 13..16). */
  readonly replay: Readonly<ReplayLimits>;
  readonly firmwareId: string;
  readonly uniqueId: Uint8Array;
  /** The pool this device serves (read it in tests; mutating it directly bypasses ops counting). */
  readonly pool: Pool;
  private nonce: number;
  private cause: ResetCause;
  private readonly clock: () => number;
  private bootedAt: number;
  private hung = false;
  private readonly line: LineHandler;
  private readonly link: LinkLayer;
  private readonly dispatcher: Dispatcher;

  /**
   * Throws RangeError for limits or replay-cache sizes the firmware would not build with, or an
   * unusable firmware id, nonce or unique id.
   */
  constructor(options: TwinDeviceOptions = {}) {
    super();
    this.limits = Object.freeze(resolveTwinLimits(options.limits));
    this.link = new LinkLayer({
      replayDepth: options.replayDepth,
      replayBytes: options.replayBytes,
      holdDepth: options.holdDepth,
      holdMessageBytes: options.holdMessageBytes,
    });
    this.replay = this.link.limits;
    this.pool = new Pool(this.limits);
    this.firmwareId = options.firmwareId ?? defaultFirmwareId(this.limits);
    const nonce = options.bootNonce ?? randomNonce();
    if (!Number.isInteger(nonce) || nonce < 0 || nonce > UINT32_MAX) throw new RangeError(`twin: bootNonce must be a uint32, got ${nonce}`);
    this.nonce = nonce;
    this.cause = options.resetCause ?? 'power_on';
    if (!RESET_CAUSES.includes(this.cause)) throw new RangeError(`twin: unknown reset cause ${String(this.cause)}`);
    const id = options.uniqueId ?? uniqueIdFromNonce(nonce);
    if (id.length !== 12 && id.length !== 0) throw new RangeError(`twin: uniqueId must be 12 bytes or empty, got ${id.length}`);
    this.uniqueId = new Uint8Array(id);
    this.clock = options.clock ?? (() => performance.now());
    this.bootedAt = this.clock();
    this.checkFirmwareId();
    this.line = new LineHandler((message) => this.answer(message));
    this.dispatcher = new Dispatcher({
      pool: this.pool,
      limits: this.limits,
      replay: this.replay,
      identity: () => ({ firmwareId: this.firmwareId, bootNonce: this.nonce, uptimeMs: this.uptimeMs, resetCause: this.cause, uniqueId: this.uniqueId }),
      lineCounters: () => this.line.lineCounters(),
      sessionCounters: () => this.link.sessionCounters(),
    });
  }

  /** The boot nonce of the current boot (uint32). */
  get bootNonce(): number {
    return this.nonce;
  }

  /** The reset cause hello reports for the current boot. */
  get resetCause(): ResetCause {
    return this.cause;
  }

  /** Milliseconds since the current boot, uint32, wrapping. */
  get uptimeMs(): number {
    return Math.floor(this.clock() - this.bootedAt) >>> 0;
  }

  /** True between hang() and resume() (or reboot()). */
  get isHung(): boolean {
    return this.hung;
  }

  /** Whether a session is open (a hello since boot, §3.3), and the seq it executes next. */
  get session(): { open: boolean; next: number } {
    return { open: this.link.sessionOpen, next: this.link.next };
  }

  /** A copy of the receive counters (stats keys 7–13). */
  linkCounters(): LinkCounters {
    const s = this.dispatcher.stats();
    return { rxFrames: s.rxFrames, rxBadFrame: s.rxBadFrame, rxBadCrc: s.rxBadCrc, rxOverlong: s.rxOverlong, rxMalformed: s.rxMalformed, rxNoise: s.rxNoise, rxOverrun: s.rxOverrun };
  }

  /** A copy of the link layer's counters (stats keys 15–18). */
  sessionCounters(): SessionCounters {
    return this.link.sessionCounters();
  }

  /** The stats result as of now: ops counts the operations completed before this one. */
  stats(): Stats {
    return this.dispatcher.stats();
  }

  /** The boot banner line of §5, '\n' included. */
  banner(): string {
    const nonce = this.nonce.toString(16).padStart(8, '0');
    return `${BANNER_PREFIX} proto=${PROTOCOL_VERSION} fw=${this.firmwareId} nonce=${nonce} ${formatLimits(this.limits)}\n`;
  }

  /** Prints the banner: what the firmware does right after reset, before any frame. */
  boot(): void {
    this.emit('output', Buffer.from(this.banner(), 'latin1'));
  }

  /** Bytes received from the link, in any split. Ignored while hung. */
  feed(bytes: Buffer): void {
    if (this.hung) return;
    this.line.feed(bytes);
  }

  // ---- fault controls ------------------------------------------------------------------------

  /** Stops answering: received bytes are read and discarded (not counted) until resume() or reboot(). */
  hang(): void {
    this.hung = true;
    // A line the reader still holds is not delivered after the hang.
    this.line.restart();
  }

  /** Answers again. A line cut by the hang is dropped: reception restarts at a line boundary. */
  resume(): void {
    if (!this.hung) return;
    this.hung = false;
    this.line.restart();
  }

  /**
   * Resets the device: a new random boot nonce (never the previous one), the pool, ops and every
   * counter cleared, no session open (§3.3: the old session's requests are answered no_session),
   * the receive state dropped, uptime restarted, then the banner printed again. hello then reports
   * resetCause (default 'software', as after a firmware-requested reset; pass 'pin' for the reset
   * button, 'watchdog', ...). The unique id is kept.
   */
  reboot(resetCause: ResetCause = 'software'): void {
    if (!RESET_CAUSES.includes(resetCause)) throw new RangeError(`twin: unknown reset cause ${String(resetCause)}`);
    let nonce = randomNonce();
    while (nonce === this.nonce) nonce = randomNonce();
    this.nonce = nonce;
    this.cause = resetCause;
    this.pool.reset();
    this.dispatcher.reset();
    this.line.resetCounters();
    this.link.reset();
    this.hung = false;
    this.line.restart();
    this.bootedAt = this.clock();
    this.boot();
  }

  /** The link ends as if the cable were pulled: emits `disconnect` for the adapter to act on. */
  disconnect(): void {
    this.emit('disconnect');
  }

  /** Writes arbitrary bytes on the line, as given (no '\n' added). */
  emitGarbage(bytes: Uint8Array): void {
    this.emit('output', Buffer.from(bytes));
  }

  /**
   * Writes text plus '\n' as one log line, sanitised as cvm_device_log() does so the host never
   * takes it for a frame nor sees it split: a leading '~' becomes '?', each '\r' or '\n' a space,
   * and text past max_line_bytes − 1 bytes is cut there, ending in "...". Text is sent as latin1.
   */
  log(text: string): void {
    let t = text.replace(/[\r\n]/g, ' ').replace(/^~/, '?');
    const max = Framing.maxLineBytes - 1;
    if (t.length > max) t = t.slice(0, max - 3) + '...';
    this.emit('output', Buffer.from(t + '\n', 'latin1'));
  }

  /**
   * Answers a CRC-good frame (C: cvm_device_answer): §3.1 steps 1 and 2, then the link layer's
   * rules (§3.3), which either answer it themselves (a replay, no_session, held, out_of_sequence)
   * or have it executed and cache the response, then execute the requests it frees from the hold. The same message always makes the same line, so a replay
   * is byte for byte the original.
   */
  private answer(message: Buffer): void {
    const req = this.dispatcher.parse(message);
    if (req === undefined) return;
    const decision = this.link.receive(req.seq, req.isHello, message);
    if (!decision.execute) {
      this.emit('output', encodeFrame(decision.message));
      return;
    }
    this.execute(req);
    // Rule 4's drain: the requests held past the gap this one filled, in order.
    for (let held = this.link.takeHeld(); held !== undefined; held = this.link.takeHeld()) {
      const next = this.dispatcher.parse(held);
      if (next === undefined) break; // never: it passed steps 1 and 2 when it was held
      this.execute(next);
    }
  }

  /** Executes a request the link layer let through, caches its response and writes its line. */
  private execute(req: ParsedRequest): void {
    const response = this.dispatcher.execute(req);
    this.link.cache(response);
    this.emit('output', encodeFrame(response));
  }

  /** The firmware id must be printable ASCII without spaces, of at most FIRMWARE_ID_MAX bytes. */
  private checkFirmwareId(): void {
    if (!/^[\x21-\x7e]*$/.test(this.firmwareId)) throw new RangeError('twin: firmwareId must be printable ASCII without spaces');
    if (this.firmwareId.length > FIRMWARE_ID_MAX) {
      throw new RangeError(`twin: firmwareId holds ${this.firmwareId.length} characters, more than ${FIRMWARE_ID_MAX}`);
    }
  }
}

export { resolveTwinLimits, worstCaseStatsBytes } from './dispatch.js';
