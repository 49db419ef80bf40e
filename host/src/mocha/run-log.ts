/**
 * What a run learns (the target, its hello, the device's log lines, the tests that could not run
 * and why, the link's quality) and the reporter writes out: one RunLog per run, made by the runner,
 * filled by the session (session.ts) and read by the reporter (orchestrator/reporter.ts), handed to
 * both; no module state. Device log lines are attributed to the test running when they arrived;
 * lines between tests are kept with the run.
 */
import type { Hello, LinkCounters } from '../protocol/messages.js';

export interface LoggedLine {
  /** ISO time of arrival. */
  t: string;
  text: string;
}

/**
 * The link's quality over the run: the client's own counters (retransmits, gaps, RTO, ...; whatever
 * its link statistics hold, numbers only), the link emulator's when there is one, and the device's link-layer counters from a last
 * `stats` (PROTOCOL.md §6 keys 15..19; C: the link fields of struct cvm_stats). Either side is
 * undefined when it could not be read, and `note` says why.
 */
export interface LinkQuality {
  /** Summed over every instance of the target the run opened (states such as rtoMs: the last one's). */
  client: Record<string, number> | undefined;
  /** What the link emulator injected (`h2d.flips`, `d2h.drops`, ..., and its seed), when the run went through one. */
  emulator?: Record<string, number>;
  device: LinkCounters | undefined;
  /** Round-trip times the client measured (ms, to the microsecond, oldest first; at most the latest 4096): the report's histogram. */
  rttMs?: number[];
  /** Instances of the target the run opened (a reopen after a link error adds one); absent from `hil diag`. */
  instances?: number;
  note?: string;
}

/** A board reset the client noticed: when, and how it knew (new banner, boot nonce, no_session). */
/** Bytes each way between the host and the target: host → device written, device → host received. */
export interface WireBytes {
  h2d: number;
  d2h: number;
}

export interface ResetEvent {
  /** ISO time. */
  t: string;
  reason: string;
}

/**
 * The errors that are the link's, not the firmware's: the host cannot tell a dead cable from a
 * device that stopped answering, and a verdict must never depend on the cable, so a test ending in
 * one of these is reported as not run (reason `link: …`), never as failed. Matched by name: a
 * user's suite may bring its own copy of the package (its own error classes).
 */
export const LINK_ERRORS: ReadonlySet<string> = new Set(['RequestTimeout', 'LinkDead', 'RetriesExhausted', 'ClientClosed', 'TransportError']);

/** `link: <message>` when `error` is a link error, else undefined. */
export function linkReason(error: unknown): string | undefined {
  if (!(error instanceof Error) || !LINK_ERRORS.has(error.name)) return undefined;
  return `link: ${error.name}: ${error.message}`;
}

/**
 * Thrown by a suite's harness when the test cannot run (the target could not be opened, the link
 * failed before the test began): the test is skipped and reported as not run with `reason`.
 */
export class TestNotRun extends Error {
  /** @param reason one line, prefixed `link: ` or `setup: ` */
  constructor(readonly reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = 'TestNotRun';
  }
}

/** One run's record, filled while it runs. */
export class RunLog {
  /** The target's name, once opened. */
  target: string | undefined;
  /** Its last hello. */
  hello: Hello | undefined;
  /** Every reset the client noticed, in order. */
  readonly resets: ResetEvent[] = [];
  /** Device lines that arrived between tests. */
  readonly between: LoggedLine[] = [];
  /** The link's quality at the end of the run. */
  link: LinkQuality | undefined;
  /**
   * Set when the run was interrupted (SIGINT, SIGTERM): the reason every test it kept from running
   * is reported with, e.g. "interrupted by SIGINT".
   */
  interrupted: string | undefined;
  private inTest = false;
  private current: LoggedLine[] = [];
  private notRun: string | undefined;

  noteTarget(target: string, hello: Hello | undefined): void {
    this.target = target;
    this.hello = hello;
  }

  /** Records one line the device printed (or an event about it, e.g. "[board reset] ..."). */
  noteDeviceLine(text: string): void {
    (this.inTest ? this.current : this.between).push({ t: new Date().toISOString(), text });
  }

  noteReset(reason: string): void {
    this.resets.push({ t: new Date().toISOString(), reason });
    this.noteDeviceLine(`[board reset] ${reason}`);
  }

  /**
   * Marks the running test as not run, with the reason (one line: `link: …`, `setup: …`); the
   * caller then skips it (Mocha's `this.skip()`), and the reporter lists it as not run.
   */
  noteNotRun(reason: string): void {
    this.notRun = reason;
  }

  /** Records the link's quality, once, at the end of the run. */
  noteLink(link: LinkQuality): void {
    this.link = link;
  }

  /** When the current (or last) test began, ISO time. */
  testStartedAt: string | undefined;

  /**
   * Bytes the host has written to the target and received from it so far in this run, over every
   * instance of it (set by the session that owns the target; undefined: not counted).
   */
  wireBytes: (() => WireBytes) | undefined;
  private wireAtBegin: WireBytes | undefined;

  beginTest(): void {
    this.testStartedAt = new Date().toISOString();
    this.inTest = true;
    this.current = [];
    this.notRun = undefined;
    this.wireAtBegin = this.wireBytes?.();
  }

  /**
   * Ends the current test and hands over the lines that arrived during it, why it did not run, if
   * it did not, and the bytes each way since it began (its preparation included).
   */
  endTest(): { lines: LoggedLine[]; notRun: string | undefined; wire: WireBytes | undefined } {
    this.inTest = false;
    const lines = this.current;
    const notRun = this.notRun;
    const now = this.wireBytes?.();
    const begin = this.wireAtBegin;
    const wire = now && begin ? { h2d: now.h2d - begin.h2d, d2h: now.d2h - begin.d2h } : undefined;
    this.current = [];
    this.notRun = undefined;
    this.wireAtBegin = undefined;
    return { lines, notRun, wire };
  }
}
