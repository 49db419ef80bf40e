/**
 * What the suite's target hooks learn during a run (the target, its hello, the device's log lines)
 * and the reporter writes out. Device log lines are attributed to the test running when they
 * arrived; lines between tests are kept with the run.
 */
import type { Hello } from '../protocol/messages.js';

export interface LoggedLine {
  /** ISO time of arrival. */
  t: string;
  text: string;
}

interface State {
  target: string | undefined;
  hello: Hello | undefined;
  resets: string[];
  inTest: boolean;
  current: LoggedLine[];
  between: LoggedLine[];
}

// Kept on globalThis: the suite's hooks may reach this module through require() and the reporter
// through import, which makes two instances of it (see hil-tests/support/target.ts).
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for('componentvm-hil.run-context')] ??= {
  target: undefined, hello: undefined, resets: [], inTest: false, current: [], between: [],
}) as State;

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

export function beginTest(): void {
  state.inTest = true;
  state.current = [];
}

/** Ends the current test and hands over the lines that arrived during it. */
export function endTest(): LoggedLine[] {
  state.inTest = false;
  const lines = state.current;
  state.current = [];
  return lines;
}

export function runContext(): Readonly<Pick<State, 'target' | 'hello' | 'resets' | 'between'>> {
  return state;
}
