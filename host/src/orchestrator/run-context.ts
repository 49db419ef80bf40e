/**
 * What the suite's target hooks learn during a run (the target, its hello, the device's log lines,
 * the tests that could not run and why, the link's quality) and the reporter writes out. Device
 * log lines are attributed to the test running when they arrived; lines between tests are kept
 * with the run.
 */
import type { Hello } from '../protocol/messages.js';

export interface LoggedLine {
  /** ISO time of arrival. */
  t: string;
  text: string;
}

/**
 * The link's quality over the run: the client's own counters (retransmits, gaps, RTO, ...; whatever
 * its link statistics hold, numbers only), the link emulator's when there is one, and the device's link-layer counters from a last
 * `stats` (PROTOCOL.md §6 keys 15..18; C: the link fields of struct cvm_stats). Either side is
 * undefined when it could not be read, and `note` says why.
 */
export interface LinkQuality {
  client: Record<string, number> | undefined;
  /** What the link emulator injected (`h2d.flips`, `d2h.drops`, ..., and its seed), when the run went through one. */
  emulator?: Record<string, number>;
  device: { replayed: number; outOfSequence: number; noSession: number; sessions: number } | undefined;
  note?: string;
}

interface State {
  target: string | undefined;
  hello: Hello | undefined;
  resets: string[];
  inTest: boolean;
  current: LoggedLine[];
  between: LoggedLine[];
  /** Why the current test could not run, when it could not. */
  notRun: string | undefined;
  link: LinkQuality | undefined;
}

// Kept on globalThis: the suite's hooks may reach this module through require() and the reporter
// through import, which makes two instances of it (see hil-tests/support/target.ts).
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for('componentvm-hil.run-context')] ??= {
  target: undefined, hello: undefined, resets: [], inTest: false, current: [], between: [], notRun: undefined, link: undefined,
}) as State;

/**
 * The errors that are the link's, not the firmware's: the host cannot tell a dead cable from a
 * device that stopped answering, and a verdict must never depend on the cable, so a test ending in
 * one of these is reported as not run (reason `link: …`), never as failed. Matched by name, since
 * the suite may load the client's error classes through a second module instance.
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

export function noteTarget(target: string, hello: Hello | undefined): void {
  state.target = target;
  state.hello = hello;
}

/** Records one line the device printed (or an event about it, e.g. "[board reset] ..."). */
export function noteDeviceLine(text: string): void {
  (state.inTest ? state.current : state.between).push({ t: new Date().toISOString(), text });
}

export function noteReset(reason: string): void {
  state.resets.push(reason);
  noteDeviceLine(`[board reset] ${reason}`);
}

/**
 * Marks the running test as not run, with the reason (one line: `link: …`, `setup: …`); the
 * caller then skips it (Mocha's `this.skip()`), and the reporter lists it as not run.
 */
export function noteNotRun(reason: string): void {
  state.notRun = reason;
}

/** Records the link's quality, once, at the end of the run. */
export function noteLink(link: LinkQuality): void {
  state.link = link;
}

export function beginTest(): void {
  state.inTest = true;
  state.current = [];
  state.notRun = undefined;
}

/** Ends the current test and hands over the lines that arrived during it and why it did not run, if it did not. */
export function endTest(): { lines: LoggedLine[]; notRun: string | undefined } {
  state.inTest = false;
  const lines = state.current;
  const notRun = state.notRun;
  state.current = [];
  state.notRun = undefined;
  return { lines, notRun };
}

/** Forgets everything learnt: the start of a run (several runs may share a process, as the orchestrator's tests do). */
export function beginRun(): void {
  Object.assign(state, { target: undefined, hello: undefined, resets: [], inTest: false, current: [], between: [], notRun: undefined, link: undefined });
}

export function runContext(): Readonly<Pick<State, 'target' | 'hello' | 'resets' | 'between' | 'link'>> {
  return state;
}
