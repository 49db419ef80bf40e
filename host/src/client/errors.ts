/**
 * The errors a PoolClient request can fail with. Each names the target and the operation, so a
 * failing HIL test reads as a sentence without a debugger:
 *
 * - DeviceError: the device answered with an error code (PROTOCOL.md §4). C: enum cvm_err.
 * - RequestTimeout: no answer within the request's timeout.
 * - ClientClosed: the link closed (by close() or a disconnect) while the request was pending.
 * - ProtocolError: the answer broke the schema (a device bug).
 * - RetriesExhausted: the request was transmitted Link.maxAttempts times without an answer.
 * - LinkDead: nothing at all was received for Link.deadLinkMs while requests were unanswered.
 * - BoardReset: the target rebooted (banner, new nonce, or no_session) under the request.
 */
import { ErrorCode, type ErrorName } from '../protocol/constants.js';

export { ProtocolError } from '../protocol/messages.js';

const NAME_BY_CODE: ReadonlyMap<number, ErrorName> = new Map(
  Object.entries(ErrorCode).map(([name, code]) => [code, name as ErrorName]),
);

/** The ErrorCode name of a device error code, or 'unknown' for a code this library does not know. */
export function errorName(code: number): ErrorName | 'unknown' {
  return NAME_BY_CODE.get(code) ?? 'unknown';
}

/** `op(args)` when args are given, else `op`. */
function call(op: string, args: string): string {
  return args ? `${op}(${args})` : op;
}

/** The device answered `[seq, code]` with a non-zero code. */
export class DeviceError extends Error {
  /** The error's name in ErrorCode, or 'unknown' for a code newer than this library. */
  readonly codeName: ErrorName | 'unknown';

  /**
   * @param target the transport's name, e.g. "twin" or "serial:/dev/ttyUSB0"
   * @param op the operation's name, e.g. "store_global"
   * @param code the error code as received (1..255)
   * @param args a short description of the arguments, e.g. "vm 1, global 99"
   */
  constructor(
    readonly target: string,
    readonly op: string,
    readonly code: number,
    readonly args = '',
  ) {
    const codeName = errorName(code);
    super(`${target}: ${call(op, args)} failed: ${codeName} (${code})`);
    this.name = 'DeviceError';
    this.codeName = codeName;
  }
}

/** No response arrived within timeoutMs of sending the request. */
export class RequestTimeout extends Error {
  /**
   * @param lastHeard what the target last sent and how long ago, e.g.
   *   `response frame (seq 41) 3 ms ago`, or "nothing since open"
   */
  constructor(
    readonly target: string,
    readonly op: string,
    readonly timeoutMs: number,
    readonly lastHeard: string,
    readonly args = '',
  ) {
    super(`${target}: ${call(op, args)} got no response within ${timeoutMs} ms; last heard from the target: ${lastHeard}`);
    this.name = 'RequestTimeout';
  }
}

/** The request was pending (or issued) when the link closed. */
export class ClientClosed extends Error {
  /**
   * @param disconnected true when the link ended on its own (unplugged, peer process gone), false
   *   when close() was called
   * @param op the request that could not complete, when there was one
   */
  constructor(
    readonly target: string,
    readonly disconnected: boolean,
    readonly op?: string,
    options?: { cause?: unknown },
  ) {
    const what = op ? `${op} failed: ` : '';
    const why = disconnected ? 'the link disconnected' : 'the client was closed';
    const cause = options?.cause instanceof Error ? ` (${options.cause.message})` : '';
    super(`${target}: ${what}${why}${cause}`, options);
    this.name = 'ClientClosed';
  }
}

/**
 * The target rebooted (a new boot banner, or hello reporting a new boot nonce) while this request
 * was in flight, or since the last hello: the contexts it held are gone, so the request fails
 * rather than run against a fresh pool. hello() re-handshakes and clears the condition.
 */
export class BoardReset extends Error {
  constructor(
    readonly target: string,
    readonly reason: string,
    readonly op?: string,
  ) {
    super(`${target}: board reset${op ? ` (${op} not completed)` : ''}: ${reason}; call hello() to re-handshake`);
    this.name = 'BoardReset';
  }
}

/** The link-quality figures quoted in RetriesExhausted and LinkDead (a subset of LinkStats). */
export interface LinkCounters {
  transmissions: number;
  retransmits: number;
  goBacks: number;
  fastRetransmits: number;
  timeouts: number;
  rtoMs: number;
}

function counters(c: LinkCounters): string {
  return `${c.transmissions} transmissions, ${c.retransmits} retransmits, ${c.goBacks} go-backs, ${c.fastRetransmits} fast retransmits, ${c.timeouts} timeouts, RTO ${Math.round(c.rtoMs)} ms`;
}

/**
 * The request was transmitted `attempts` times (the same seq each time) and never answered,
 * while the link was not silent (else it would be LinkDead): its frames or its responses keep
 * being lost. The device executed it at most once.
 */
export class RetriesExhausted extends Error {
  /**
   * @param args a short description of the arguments, e.g. "vm 1, global 2"
   * @param attempts transmissions made (Link.maxAttempts, or the client's maxAttempts option)
   * @param link the client's link counters when it gave up
   */
  constructor(
    readonly target: string,
    readonly op: string,
    readonly args: string,
    readonly attempts: number,
    readonly lastHeard: string,
    readonly link: LinkCounters,
  ) {
    super(`${target}: ${call(op, args)} got no response after ${attempts} transmissions; last heard from the target: ${lastHeard}; link: ${counters(link)}`);
    this.name = 'RetriesExhausted';
  }
}

/**
 * Nothing at all (no line, no byte) arrived for `silentMs` while requests were unanswered: every
 * unanswered and queued request fails at once with this error, rather than one timeout after
 * another. Whether an unanswered request was executed is unknown.
 */
export class LinkDead extends Error {
  /**
   * @param silentMs how long nothing was received, ms (at least Link.deadLinkMs)
   * @param failed how many requests (and raw writes) failed with it, this one included
   * @param op the request this instance failed, when it is one
   */
  constructor(
    readonly target: string,
    readonly silentMs: number,
    readonly failed: number,
    readonly lastHeard: string,
    readonly link: LinkCounters,
    readonly op?: string,
    readonly args = '',
  ) {
    super(`${target}: ${op ? `${call(op, args)} failed: ` : ''}the link is dead: nothing received for ${Math.round(silentMs)} ms, ${failed} requests failed; last heard from the target: ${lastHeard}; link: ${counters(link)}`);
    this.name = 'LinkDead';
  }
}
