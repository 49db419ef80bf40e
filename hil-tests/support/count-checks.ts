/**
 * Counts what every test of a run checks, to prove a rewrite of the suite kept every assertion
 * (scripts/suite-checks.ts compares two runs). Not part of the suite: load it before the suite's
 * files, `HIL_CHECK_COUNTS=out.json hil test hil-tests/support/count-checks.ts hil-tests/*.test.ts`.
 *
 * Each chai assertion that runs is counted once (`asserts`), and weighed by the values its expected
 * side holds (`values`: 1 for a scalar, the leaves of an array, object or Map), so that 64
 * `expect(v).to.equal(x)` and one `expect(vs).to.deep.equal(xs)` of 64 values weigh the same.
 * Written per test (full title) to the file HIL_CHECK_COUNTS names, after the run.
 */
import { writeFileSync } from 'node:fs';
import * as chai from 'chai';

const out = process.env.HIL_CHECK_COUNTS;

/** The values a check compares against: scalars 1, containers the sum of their leaves (at least 1). */
function leaves(v: unknown, seen: Set<object>): number {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return 1;
  if (seen.has(v)) return 0;
  seen.add(v);
  const items: unknown[] = v instanceof Map ? [...v.values()] : v instanceof Set ? [...v] : Array.isArray(v) ? v : Object.values(v);
  let n = 0;
  for (const x of items) n += leaves(x, seen);
  return Math.max(1, n);
}

if (out) {
  const counts: Record<string, { asserts: number; values: number }> = {};
  let now = { asserts: 0, values: 0 };
  chai.use((c) => {
    const proto = c.Assertion.prototype as unknown as { assert: (...args: unknown[]) => void };
    const assert = proto.assert;
    proto.assert = function (this: unknown, ...args: unknown[]) {
      now.asserts++;
      now.values += leaves(args[3], new Set());
      return assert.apply(this, args);
    };
  });
  beforeEach(() => {
    now = { asserts: 0, values: 0 };
  });
  afterEach(function () {
    const title = this.currentTest!.fullTitle();
    counts[title] = { asserts: now.asserts, values: now.values };
  });
  after(() => writeFileSync(out, JSON.stringify(counts, null, 1)));
}
