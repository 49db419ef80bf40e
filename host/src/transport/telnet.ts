/**
 * The telnet layer of an RFC 2217 link (RFC 854 commands, RFC 855 option negotiation and
 * subnegotiation): a decoder that splits a received byte stream into data, commands and
 * subnegotiations, whatever the chunking, and the encoders for the other direction. Data bytes
 * 0xFF are doubled (IAC IAC) both ways, in data and inside subnegotiations. No I/O here: the
 * RFC 2217 transport (rfc2217.ts) owns the socket and the negotiation state.
 *
 * Written here rather than taken from npm, where no package implements RFC 2217: the one telnet
 * codec there, `telnet-stream` 1.1.0, is AGPL-3.0, which a package others install cannot carry;
 * `telnet-client` automates shell prompts (login, exec) and has no binary data or subnegotiation;
 * `telnet` 0.0.1 is a server.
 */

/** RFC 854 command bytes. */
export const Telnet = {
  IAC: 255,
  DONT: 254,
  DO: 253,
  WONT: 252,
  WILL: 251,
  SB: 250,
  GA: 249,
  NOP: 241,
  SE: 240,
} as const;

/** Option codes this product negotiates (RFC 856 BINARY, RFC 858 SGA, RFC 857 ECHO, RFC 2217 COM-PORT-OPTION). */
export const TelnetOption = {
  BINARY: 0,
  ECHO: 1,
  SGA: 3,
  COM_PORT: 44,
} as const;

export type NegotiationVerb = typeof Telnet.WILL | typeof Telnet.WONT | typeof Telnet.DO | typeof Telnet.DONT;

/** What the decoder reports. */
export interface TelnetHandlers {
  /** Payload bytes (IAC IAC already undoubled), in order. */
  data(chunk: Buffer): void;
  /** IAC WILL/WONT/DO/DONT option. */
  negotiate(verb: NegotiationVerb, option: number): void;
  /** IAC SB option payload IAC SE, the payload undoubled. */
  subnegotiation(option: number, payload: Buffer): void;
  /** Any other two-byte command (NOP, GA, ...): ignored by default. */
  command?(command: number): void;
}

/** Longest subnegotiation kept, in bytes; a longer one is a broken peer (RFC 2217's longest is a signature). */
export const MAX_SUBNEGOTIATION = 1024;

type State = 'data' | 'iac' | 'verb' | 'sb-option' | 'sb' | 'sb-iac';

/** A streaming telnet decoder: push() chunks as they come; commands split across chunks are kept. */
export class TelnetDecoder {
  private state: State = 'data';
  private verb: NegotiationVerb = Telnet.WILL;
  private sbOption = 0;
  private sb: number[] = [];

  constructor(private readonly on: TelnetHandlers) {}

  /** Whether the decoder is between commands (nothing half-received). */
  get idle(): boolean {
    return this.state === 'data';
  }

  push(chunk: Buffer): void {
    let start = 0; // first byte of the current run of plain data
    const flush = (end: number): void => {
      if (end > start) this.on.data(chunk.subarray(start, end));
    };
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.state) {
        case 'data':
          if (b === Telnet.IAC) {
            flush(i);
            this.state = 'iac';
          }
          continue;
        case 'iac':
          if (b === Telnet.IAC) {
            this.on.data(Buffer.from([Telnet.IAC]));
            this.state = 'data';
          } else if (b >= Telnet.WILL && b <= Telnet.DONT) {
            this.verb = b as NegotiationVerb;
            this.state = 'verb';
          } else if (b === Telnet.SB) {
            this.state = 'sb-option';
          } else {
            this.on.command?.(b);
            this.state = 'data';
          }
          break;
        case 'verb':
          this.on.negotiate(this.verb, b);
          this.state = 'data';
          break;
        case 'sb-option':
          this.sbOption = b;
          this.sb = [];
          this.state = 'sb';
          break;
        case 'sb':
          if (b === Telnet.IAC) this.state = 'sb-iac';
          else if (this.sb.length < MAX_SUBNEGOTIATION) this.sb.push(b);
          break;
        case 'sb-iac':
          if (b === Telnet.IAC) {
            if (this.sb.length < MAX_SUBNEGOTIATION) this.sb.push(b);
            this.state = 'sb';
          } else {
            // IAC SE ends it; any other command inside a subnegotiation ends it too (a broken peer).
            this.on.subnegotiation(this.sbOption, Buffer.from(this.sb));
            this.sb = [];
            this.state = 'data';
            if (b !== Telnet.SE) this.on.command?.(b);
          }
          break;
      }
      start = i + 1;
    }
    if (this.state === 'data') flush(chunk.length);
  }
}

/** Doubles every 0xFF of `data` (IAC IAC), so the peer reads it as data. */
export function escapeIac(data: Buffer): Buffer {
  const n = data.reduce((k, b) => k + (b === Telnet.IAC ? 1 : 0), 0);
  if (n === 0) return data;
  const out = Buffer.alloc(data.length + n);
  let j = 0;
  for (const b of data) {
    out[j++] = b;
    if (b === Telnet.IAC) out[j++] = b;
  }
  return out;
}

/** IAC verb option. */
export function negotiation(verb: NegotiationVerb, option: number): Buffer {
  return Buffer.from([Telnet.IAC, verb, option]);
}

/** IAC SB option payload(escaped) IAC SE. */
export function subnegotiation(option: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([Telnet.IAC, Telnet.SB, option]), escapeIac(payload), Buffer.from([Telnet.IAC, Telnet.SE])]);
}

/** A verb's name, for messages. */
export function verbName(verb: number): string {
  return ({ [Telnet.WILL]: 'WILL', [Telnet.WONT]: 'WONT', [Telnet.DO]: 'DO', [Telnet.DONT]: 'DONT' } as Record<number, string>)[verb] ?? String(verb);
}

/**
 * Whether `head` (the first bytes a connection delivered) starts with a telnet negotiation
 * (IAC WILL/WONT/DO/DONT): what a telnet server sends first, and never the protocol's first bytes.
 */
export function startsWithTelnet(head: Buffer): boolean {
  return head.length >= 2 && head[0] === Telnet.IAC && head[1]! >= Telnet.WILL && head[1]! <= Telnet.DONT;
}
