/**
 * Transport over RFC 2217 (Telnet Com Port Control): a board behind a serial-over-network server
 * that speaks telnet with the COM-PORT-OPTION, such as ser2net's `telnet(rfc2217)` accepter (what
 * labgrid's exporter serves and its NetworkSerialPort uses). Spec form: `rfc2217://host:port`.
 *
 * On open: TCP (no Nagle, as tcp.ts), then telnet negotiation (RFC 854/855): BINARY both ways
 * (RFC 856: no CR/NUL translation, every byte is data), SUPPRESS-GO-AHEAD both ways (RFC 858),
 * COM-PORT-OPTION from this side; every other option refused. Once the server has agreed to
 * COM-PORT-OPTION, the line settings (baud, data bits, parity, stop bits; RFC 2217 SET-BAUDRATE,
 * SET-DATASIZE, SET-PARITY, SET-STOPSIZE), no flow control, and a purge of both buffers are sent,
 * and open() resolves once the server has acknowledged each; `applied` holds what it reported.
 * Data is IAC-escaped both ways (telnet.ts). setControlLines() drives DTR and RTS (SET-CONTROL),
 * for a reset wired to the adapter's control lines; purge() discards the server's buffers.
 *
 * Every wait is bounded (connectTimeoutMs for open, controlTimeoutMs for a command). A server that
 * never negotiates (a raw port), refuses COM-PORT-OPTION, or drops the client with a notice
 * ("Port already in use": kind 'busy') ends open() with a sentence saying which and what to do.
 */
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Framing } from '../protocol/constants.js';
import { TransportError } from './transport.js';
import { StreamTransport } from './stream-transport.js';
import { connectSocket, endSocket } from './tcp.js';
import { Telnet, TelnetDecoder, TelnetOption, escapeIac, negotiation, subnegotiation, type NegotiationVerb } from './telnet.js';
import { NOTICE_HEAD_BYTES, describeServerEnd, noticeIn, serverNotice } from './server-notice.js';

export type Parity = 'none' | 'odd' | 'even' | 'mark' | 'space';
/** A serial line's format (8N1: 8, 'none', 1), local or over RFC 2217. */
export interface LineFormat {
  dataBits: 5 | 6 | 7 | 8;
  parity: Parity;
  stopBits: 1 | 1.5 | 2;
}
/** A serial line's rate and format. */
export interface LineSettings extends LineFormat {
  /** Baud, 1..2^32-1. */
  baudRate: number;
}

/** RFC 2217 COM-PORT-OPTION commands, client to server (the server answers with code + 100). */
export const ComPort = {
  SIGNATURE: 0,
  SET_BAUDRATE: 1,
  SET_DATASIZE: 2,
  SET_PARITY: 3,
  SET_STOPSIZE: 4,
  SET_CONTROL: 5,
  NOTIFY_LINESTATE: 6,
  NOTIFY_MODEMSTATE: 7,
  SET_LINESTATE_MASK: 10,
  SET_MODEMSTATE_MASK: 11,
  PURGE_DATA: 12,
  /** Added to a command's code in the server's answer. */
  SERVER_OFFSET: 100,
} as const;

/** SET-CONTROL values (RFC 2217 §3). */
export const Control = { NO_FLOW: 1, DTR_ON: 8, DTR_OFF: 9, RTS_ON: 11, RTS_OFF: 12 } as const;

const PARITY_CODE: Record<Parity, number> = { none: 1, odd: 2, even: 3, mark: 4, space: 5 };
const STOP_CODE: Record<LineSettings['stopBits'], number> = { 1: 1, 2: 2, 1.5: 3 };
const PURGE_BOTH = 3;
/** How long open() lets a telnet server speak first before asking for the options itself, in ms. */
const SERVER_FIRST_MS = 200;

export const DEFAULT_LINE: LineSettings = { baudRate: Framing.defaultBaud, dataBits: 8, parity: 'none', stopBits: 1 };

/** Checks a line format; throws a RangeError naming the field and the valid values. */
export function checkLineSettings(s: LineSettings): void {
  if (!Number.isInteger(s.baudRate) || s.baudRate < 1 || s.baudRate > 0xffffffff) throw new RangeError(`baud must be an integer 1..4294967295 (got ${s.baudRate})`);
  if (![5, 6, 7, 8].includes(s.dataBits)) throw new RangeError(`data bits must be 5, 6, 7 or 8 (got ${s.dataBits})`);
  if (!(s.parity in PARITY_CODE)) throw new RangeError(`parity must be none, odd, even, mark or space (got ${s.parity})`);
  if (!(s.stopBits in STOP_CODE)) throw new RangeError(`stop bits must be 1, 1.5 or 2 (got ${s.stopBits})`);
}

/** A line format as "115200 8N1". */
export function formatLine(s: LineSettings): string {
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}

/** Parses `rfc2217://host:port` (host a name, IPv4 or [IPv6]); undefined when it is not one. */
export function parseRfc2217Url(url: string): { host: string; port: number } | undefined {
  const m = /^rfc2217:\/\/(\[[0-9a-fA-F:.]+\]|[^:/\s[\]@]+):(\d{1,5})\/?$/.exec(url);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

export interface Rfc2217Options extends Partial<LineSettings> {
  host: string;
  /** 1..65535. */
  port: number;
  /** Longest wait for the connection, the negotiation and the line settings, in ms; default 5000. */
  connectTimeoutMs?: number;
  /** Longest wait for the server's answer to a command after open (control lines, purge), in ms; default 3000. */
  controlTimeoutMs?: number;
  /** Name in error messages; default `rfc2217://host:port`. */
  name?: string;
}

/** The DTR and RTS lines, as set or as the server reported them. */
export interface ControlLines {
  dtr?: boolean;
  rts?: boolean;
}

/** A link whose far end has modem control lines this side can set (a local adapter, an RFC 2217 port). */
export interface ControlLineLink {
  setControlLines(lines: ControlLines): Promise<void>;
}

/** Whether a transport can drive DTR/RTS. */
export function hasControlLines(t: unknown): t is ControlLineLink {
  return typeof (t as Partial<ControlLineLink> | undefined)?.setControlLines === 'function';
}

/** A COM-PORT command as a person reads it, e.g. "SET-CONTROL (DTR on)". */
function commandName(code: number, value: Buffer): string {
  const names: Record<number, string> = { 1: 'SET-BAUDRATE', 2: 'SET-DATASIZE', 3: 'SET-PARITY', 4: 'SET-STOPSIZE', 5: 'SET-CONTROL', 12: 'PURGE-DATA' };
  const controls: Record<number, string> = { 1: 'no flow control', 8: 'DTR on', 9: 'DTR off', 11: 'RTS on', 12: 'RTS off' };
  const name = `RFC 2217 ${names[code] ?? `command ${code}`}`;
  return code === ComPort.SET_CONTROL && controls[value[0]!] ? `${name} (${controls[value[0]!]})` : name;
}

type Side = 'local' | 'remote';
/** Options this side agrees to enable, per side (local: we WILL; remote: we DO). */
const WANTED: Record<Side, ReadonlySet<number>> = {
  local: new Set([TelnetOption.BINARY, TelnetOption.SGA, TelnetOption.COM_PORT]),
  remote: new Set([TelnetOption.BINARY, TelnetOption.SGA]),
};

/**
 * The socket seen through telnet: `data` is the payload, write() escapes IAC, and negotiation and
 * COM-PORT answers are handled here. Data arriving before anyone listens is kept (the transport
 * attaches its listener once open() has finished negotiating).
 */
class TelnetChannel extends EventEmitter {
  /** Option state per side: enabled or not (absent: never negotiated). */
  private readonly enabled: Record<Side, Map<number, boolean>> = { local: new Map(), remote: new Map() };
  private readonly decoder: TelnetDecoder;
  private held: Buffer[] = [];
  /** Options this side asked for and the server has not answered yet ("local:44"). */
  private readonly pendingAsk = new Set<string>();
  /** Whether the server sent anything that is telnet (a command) yet. */
  sawTelnet = false;
  /** Payload bytes received before the first telnet command, when there were any (a raw server). */
  rawBefore = 0;
  /** The first payload bytes and the latest, to recognise a server's notice when it hangs up. */
  head = Buffer.alloc(0);
  tail = '';

  constructor(readonly socket: Socket) {
    super();
    this.decoder = new TelnetDecoder({
      data: (d) => this.payload(d),
      negotiate: (verb, option) => this.negotiate(verb, option),
      subnegotiation: (option, p) => {
        this.sawTelnet = true;
        if (option === TelnetOption.COM_PORT && p.length >= 1) this.emit('comport', p[0]!, p.subarray(1));
      },
      command: () => {
        this.sawTelnet = true;
      },
    });
    socket.on('data', (chunk: Buffer) => {
      this.decoder.push(chunk);
      this.emit('activity');
    });
    socket.on('end', () => this.emit('end'));
    socket.on('close', (hadError: boolean) => this.emit('close', hadError));
    socket.on('error', (e) => this.emit('error', e));
    this.on('newListener', (event) => {
      if (event === 'data' && this.held.length) queueMicrotask(() => this.release());
    });
  }

  private payload(d: Buffer): void {
    if (!this.sawTelnet) {
      this.rawBefore += d.length;
      this.emit('raw');
    }
    if (this.head.length < NOTICE_HEAD_BYTES) this.head = Buffer.concat([this.head, d]).subarray(0, NOTICE_HEAD_BYTES);
    this.tail = (this.tail + d.toString('latin1')).slice(-NOTICE_HEAD_BYTES);
    if (this.listenerCount('data') === 0) this.held.push(Buffer.from(d));
    else this.emit('data', d);
  }

  private release(): void {
    const held = this.held;
    this.held = [];
    for (const d of held) this.emit('data', d);
  }

  /**
   * Asks for options, in one write (RFC 1143's rule: only ask for a change, answer only a
   * change). One write: a server that hangs up at once answers a second write with a reset, and
   * the reset would discard its notice ("Port already in use") before it is read.
   */
  request(asks: Array<[side: Side, option: number, on: boolean]>): void {
    const out: Buffer[] = [];
    for (const [side, option, on] of asks) {
      if (this.enabled[side].get(option) === on) continue;
      const verb = side === 'local' ? (on ? Telnet.WILL : Telnet.WONT) : on ? Telnet.DO : Telnet.DONT;
      this.pendingAsk.add(`${side}:${option}`);
      out.push(negotiation(verb, option));
    }
    if (out.length) this.socket.write(Buffer.concat(out));
  }

  /** Whether an option is on for a side. */
  isOn(side: Side, option: number): boolean {
    return this.enabled[side].get(option) === true;
  }

  private negotiate(verb: NegotiationVerb, option: number): void {
    this.sawTelnet = true;
    // WILL/WONT are about the server's side (remote); DO/DONT ask about ours (local).
    const side: Side = verb === Telnet.WILL || verb === Telnet.WONT ? 'remote' : 'local';
    const wantsOn = verb === Telnet.WILL || verb === Telnet.DO;
    const asked = this.pendingAsk.delete(`${side}:${option}`);
    const before = this.enabled[side].get(option) ?? false;
    const on = wantsOn && WANTED[side].has(option);
    this.enabled[side].set(option, on);
    const positive = side === 'local' ? Telnet.WILL : Telnet.DO;
    const negative = side === 'local' ? Telnet.WONT : Telnet.DONT;
    // An answer to our own request is not answered; a request is answered only when it changes
    // the state or is refused (RFC 854: never acknowledge a mode already in force: no loops).
    if (!asked) {
      if (wantsOn && !on) this.socket.write(negotiation(negative, option));
      else if (on !== before) this.socket.write(negotiation(on ? positive : negative, option));
    }
    this.emit('negotiated', side, option, on);
  }

  /** Sends a COM-PORT-OPTION command. */
  comPort(command: number, value: Buffer): void {
    this.socket.write(subnegotiation(TelnetOption.COM_PORT, Buffer.concat([Buffer.from([command]), value])));
  }

  write(data: Buffer, cb: (err?: Error | null) => void): boolean {
    return this.socket.write(escapeIac(data), cb);
  }

  override once(event: string | symbol, listener: (...args: any[]) => void): this {
    if (event === 'drain') this.socket.once('drain', listener);
    else super.once(event, listener);
    return this;
  }
}

/** An RFC 2217 port as a Transport. One instance connects to one address; it can reconnect after close(). */
export class Rfc2217Transport extends StreamTransport<TelnetChannel> {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** The line format asked for. */
  readonly line: LineSettings;
  /** What the server reported applying, per setting, at the last open (its answers to the SET commands). */
  applied: Partial<LineSettings> = {};
  /** The control lines as the server last reported them (its answers to SET-CONTROL). */
  lines: ControlLines = {};
  private readonly connectTimeoutMs: number;
  private readonly controlTimeoutMs: number;
  private channel: TelnetChannel | undefined;
  /** Waiters for the server's answer to a command, by command code, first asked first answered. */
  private readonly waiting = new Map<number, Array<(value: Buffer) => void>>();
  protected readonly closedReason = 'connection closed';
  protected readonly endReason = 'the server closed the connection';

  constructor(options: Rfc2217Options) {
    super();
    if (typeof options.host !== 'string' || options.host === '') throw new TypeError('Rfc2217Transport: host must be a non-empty string');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) throw new TypeError(`Rfc2217Transport: port must be 1..65535 (got ${options.port})`);
    this.host = options.host;
    this.port = options.port;
    this.line = {
      baudRate: options.baudRate ?? DEFAULT_LINE.baudRate,
      dataBits: options.dataBits ?? DEFAULT_LINE.dataBits,
      parity: options.parity ?? DEFAULT_LINE.parity,
      stopBits: options.stopBits ?? DEFAULT_LINE.stopBits,
    };
    checkLineSettings(this.line);
    this.connectTimeoutMs = options.connectTimeoutMs ?? 5000;
    this.controlTimeoutMs = options.controlTimeoutMs ?? 3000;
    this.name = options.name ?? `rfc2217://${this.where()}`;
  }

  private where(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  /** Connects, negotiates and sets the line (see the file comment); rejects with a TransportError naming host:port and what to do. */
  protected async connect(): Promise<TelnetChannel> {
    const deadline = Date.now() + this.connectTimeoutMs;
    const socket = await connectSocket(this.host, this.port, this.connectTimeoutMs, this.name, 'telnet(rfc2217)');
    const ch = new TelnetChannel(socket);
    this.channel = ch;
    this.applied = {};
    this.lines = {};
    ch.on('comport', (code: number, value: Buffer) => this.answered(code, value));
    // The server may hang up at any point of the opening (ser2net: "Port already in use").
    let onEnd: (e?: unknown) => void = () => {};
    const ended = new Promise<never>((_, reject) => {
      onEnd = (e?: unknown) => reject(this.openEndError(ch, e instanceof Error ? e : undefined));
    });
    ended.catch(() => {});
    for (const ev of ['end', 'close', 'error']) ch.on(ev, onEnd);
    try {
      await Promise.race([this.negotiate(ch, deadline), ended]);
      const l = this.line;
      const u32 = Buffer.alloc(4);
      u32.writeUInt32BE(l.baudRate);
      const [baud, size, parity, stop] = await Promise.race([
        Promise.all([
          this.command(ComPort.SET_BAUDRATE, u32, deadline),
          this.command(ComPort.SET_DATASIZE, Buffer.from([l.dataBits]), deadline),
          this.command(ComPort.SET_PARITY, Buffer.from([PARITY_CODE[l.parity]]), deadline),
          this.command(ComPort.SET_STOPSIZE, Buffer.from([STOP_CODE[l.stopBits]]), deadline),
          this.command(ComPort.SET_CONTROL, Buffer.from([Control.NO_FLOW]), deadline),
          this.command(ComPort.PURGE_DATA, Buffer.from([PURGE_BOTH]), deadline),
        ]),
        ended,
      ]);
      if (baud!.length >= 4) this.applied.baudRate = baud!.readUInt32BE(0);
      if (size!.length >= 1) this.applied.dataBits = size![0] as LineSettings['dataBits'];
      const parityName = (Object.keys(PARITY_CODE) as Parity[]).find((p) => PARITY_CODE[p] === parity![0]);
      if (parityName) this.applied.parity = parityName;
      const stopBits = ([1, 2, 1.5] as const).find((s) => STOP_CODE[s] === stop![0]);
      if (stopBits) this.applied.stopBits = stopBits;
      if (this.applied.baudRate !== undefined && this.applied.baudRate !== l.baudRate) {
        throw new TransportError(this.name, `the server at ${this.where()} set ${this.applied.baudRate} baud when asked for ${l.baudRate}: does the adapter support that rate?`, 'open');
      }
      return ch;
    } catch (e) {
      this.channel = undefined;
      this.failWaiters();
      socket.destroy();
      throw e;
    } finally {
      for (const ev of ['end', 'close', 'error']) ch.off(ev, onEnd);
    }
  }

  /** Waits until the server agreed to COM-PORT-OPTION and answered BINARY and SGA; bounded by the deadline. */
  private negotiate(ch: TelnetChannel, deadline: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: TransportError) => {
        clearTimeout(timer);
        ch.off('negotiated', check);
        ch.off('raw', check);
        if (error) reject(error);
        else resolve();
      };
      const answered = new Set<string>();
      const check = (side?: Side, option?: number, on?: boolean) => {
        if (side !== undefined) answered.add(`${side}:${option}`);
        if (side === 'local' && option === TelnetOption.COM_PORT && on === false) {
          return done(new TransportError(this.name, `the server at ${this.where()} refused COM-PORT-OPTION (RFC 2217): it speaks plain telnet; use a telnet(rfc2217) accepter in ser2net, or tcp://${this.where()} for a raw one`, 'mismatch'));
        }
        if (ch.rawBefore > 0 && !ch.sawTelnet) {
          return done(new TransportError(this.name, `this port does not speak telnet (it sent ${ch.rawBefore} bytes of data before any telnet negotiation): use tcp://${this.where()} (a raw accepter), or an rfc2217 accepter here`, 'mismatch'));
        }
        const binary = answered.has(`local:${TelnetOption.BINARY}`) && answered.has(`remote:${TelnetOption.BINARY}`);
        if (binary && !(ch.isOn('local', TelnetOption.BINARY) && ch.isOn('remote', TelnetOption.BINARY))) {
          return done(new TransportError(this.name, `the server at ${this.where()} refused BINARY (RFC 856) in one direction: without it telnet may alter bytes (CR NUL), and hil needs an 8-bit clean link; enable binary mode on the server`, 'mismatch'));
        }
        if (ch.isOn('local', TelnetOption.COM_PORT) && binary) done();
      };
      const timer = setTimeout(() => {
        const what = ch.sawTelnet ? 'did not agree to COM-PORT-OPTION (RFC 2217)' : `sent no telnet negotiation (a raw port? use tcp://${this.where()})`;
        done(new TransportError(this.name, `the server at ${this.where()} ${what} within ${this.connectTimeoutMs} ms`, ch.sawTelnet ? 'open' : 'mismatch'));
      }, Math.max(0, deadline - Date.now()));
      ch.on('negotiated', check);
      ch.on('raw', check);
      // A telnet server speaks first (ser2net at once): read its opening, and a refusal that
      // follows it, before writing; ask anyway if it stays silent.
      let asked = false;
      const ask = () => {
        clearTimeout(quiet);
        if (asked) return;
        asked = true;
        ch.request([
          ['local', TelnetOption.BINARY, true],
          ['remote', TelnetOption.BINARY, true],
          ['local', TelnetOption.SGA, true],
          ['remote', TelnetOption.SGA, true],
          ['local', TelnetOption.COM_PORT, true],
        ]);
      };
      const quiet = setTimeout(ask, SERVER_FIRST_MS);
      ch.once('activity', () => setImmediate(ask));
    });
  }

  /** The error for a connection that ended during open(): a server notice, or a plain close. */
  private openEndError(ch: TelnetChannel, error: Error | undefined): TransportError {
    const notice = serverNotice(ch.head);
    if (notice === 'port-in-use' || notice === 'device-in-use') return new TransportError(this.name, describeServerEnd(this.where(), notice), 'busy', { cause: error });
    return new TransportError(this.name, `the server at ${this.where()} closed the connection during telnet negotiation${error ? ` (${error.message})` : ''}; is the device behind it held by another client or another of its connections?`, 'open', { cause: error });
  }

  /** Sends a COM-PORT command and resolves with the server's answer's value; rejects past the deadline or when the link ends. */
  private command(code: number, value: Buffer, deadline = Date.now() + this.controlTimeoutMs): Promise<Buffer> {
    const ch = this.channel;
    if (!ch) return Promise.reject(new TransportError(this.name, 'COM-PORT command while the link is not open', 'closed'));
    return new Promise<Buffer>((resolve, reject) => {
      const queue = this.waiting.get(code) ?? [];
      this.waiting.set(code, queue);
      const timer = setTimeout(() => {
        const i = queue.indexOf(settle);
        if (i >= 0) queue.splice(i, 1);
        const control = code === ComPort.SET_CONTROL && value[0]! >= Control.DTR_ON;
        const hint = control ? ': the port behind it cannot drive DTR/RTS (ser2net gives no answer when the device refuses, e.g. a pseudo-terminal or an adapter without the line)' : '';
        reject(new TransportError(this.name, `the server at ${this.where()} did not answer ${commandName(code, value)} in time${hint}`, 'open'));
      }, Math.max(0, deadline - Date.now()));
      const settle = (v: Buffer | undefined): void => {
        clearTimeout(timer);
        if (v) resolve(v);
        else reject(new TransportError(this.name, `the link ended before the server answered ${commandName(code, value)}`, 'closed'));
      };
      queue.push(settle as (v: Buffer) => void);
      ch.comPort(code, value);
    });
  }

  private answered(code: number, value: Buffer): void {
    const cmd = code - ComPort.SERVER_OFFSET;
    if (cmd === ComPort.SET_CONTROL && value.length >= 1) {
      if (value[0] === Control.DTR_ON || value[0] === Control.DTR_OFF) this.lines.dtr = value[0] === Control.DTR_ON;
      if (value[0] === Control.RTS_ON || value[0] === Control.RTS_OFF) this.lines.rts = value[0] === Control.RTS_ON;
    }
    this.waiting.get(cmd)?.shift()?.(value);
  }

  private failWaiters(): void {
    for (const q of this.waiting.values()) for (const w of q.splice(0)) (w as (v: Buffer | undefined) => void)(undefined);
  }

  /**
   * Sets DTR and/or RTS (SET-CONTROL) and resolves once the server has answered each; `lines`
   * then holds what it reported. Rejects with a TransportError when not open or unanswered.
   */
  async setControlLines(lines: ControlLines): Promise<void> {
    if (lines.dtr !== undefined) await this.command(ComPort.SET_CONTROL, Buffer.from([lines.dtr ? Control.DTR_ON : Control.DTR_OFF]));
    if (lines.rts !== undefined) await this.command(ComPort.SET_CONTROL, Buffer.from([lines.rts ? Control.RTS_ON : Control.RTS_OFF]));
  }

  /** Discards what the server's serial port holds in both directions (PURGE-DATA) and resolves once answered. */
  async purge(): Promise<void> {
    await this.command(ComPort.PURGE_DATA, Buffer.from([PURGE_BOTH]));
  }

  protected override endError(error: Error | undefined): TransportError {
    this.failWaiters();
    const ch = this.channel;
    if (error instanceof TransportError || !ch) return super.endError(error);
    const notice = serverNotice(ch.head) ?? (noticeIn(ch.tail) === 'kicked' ? 'kicked' : undefined);
    if (notice === 'port-in-use' || notice === 'device-in-use') return new TransportError(this.name, describeServerEnd(this.where(), notice), 'busy', { cause: error });
    if (notice || error?.message === this.endReason) return new TransportError(this.name, `disconnected: ${describeServerEnd(this.where(), notice)}`, 'disconnected', { cause: error });
    return super.endError(error);
  }

  protected shutdown(ch: TelnetChannel): Promise<void> {
    this.failWaiters();
    return endSocket(ch.socket);
  }

  protected discard(ch: TelnetChannel): void {
    if (!ch.socket.destroyed) ch.socket.destroy();
    if (this.channel === ch) this.channel = undefined;
  }
}
