/**
 * The dispatcher's remaining rules (issue 14: the checks mutation testing showed missing): how
 * reset_pool and batches count in stats (PROTOCOL.md §6), and the bounds of a request's seq
 * (§3.1: a uint32; anything wider is malformed and dropped).
 */
import { expect } from 'chai';
import { ErrorCode, Op, StatsKey, encodeCbor, type Stats } from '../host/src/index.js';
import { target } from './support/target.js';
import { cleanly, rejectsWith } from './support/expect.js';
import { RawSession, inRawSession } from './support/raw.js';

describe('dispatch: counting in stats (PROTOCOL.md §6)', () => {
  it('reset_pool clears ops and op_errors, then counts itself: the next stats reports ops 1, op_errors 0', async () => {
    const { client } = target();
    // Issued together, in this order (the device executes in order): each stats sees what was before it.
    const [, , , busy, , s] = await Promise.all([
      client.acquire(0),
      rejectsWith(client.acquire(0), 'already_acquired'),
      rejectsWith(client.release(1), 'not_acquired'),
      client.stats(),
      client.resetPool(),
      client.stats(),
    ]);
    expect(busy.ops, 'ops before reset_pool').to.be.at.least(3);
    expect(busy.opErrors, 'op_errors before reset_pool').to.be.at.least(2);
    expect([s.ops, s.opErrors], '[ops, op_errors] after reset_pool').to.deep.equal([1, 0]);
  });

  it('a reset_pool inside a batch restarts the count and the entries after it count on', async () => {
    // §6's example: after [[1, 0], [1, 0], [11], [1, 0], [1, 0]] stats reports ops = 3.
    const { client } = target();
    // Issued together: the stats follows the batch (the device executes in order).
    const [r, s] = await Promise.all([client.batch([{ op: 'acquire', vm: 0 }, { op: 'acquire', vm: 0 }, { op: 'reset_pool' }, { op: 'acquire', vm: 0 }, { op: 'acquire', vm: 0 }]), client.stats()]);
    expect(r.map((x) => (x.ok ? 'ok' : x.error))).to.deep.equal(['ok', 'already_acquired', 'ok', 'ok', 'already_acquired']);
    expect([s.ops, s.opErrors], '[ops, op_errors]: reset_pool, acquire, failed acquire').to.deep.equal([3, 1]);
    expect(s.contexts[0]!.acquired, 'context 0 acquired again after the reset').to.equal(true);
  });

  it('an empty batch answers an empty result list and counts nothing', async function () {
    // A real empty batch frame, [seq, 9, []] (client.batch([]) sends nothing at all).
    await inRawSession(this.test!.fullTitle(), async (s) => {
      // Executed in this order (the answers are only recorded, so they go out together).
      const [before, b, after] = await s.requestAll([{ op: Op.stats }, { op: Op.batch, args: [[]] }, { op: Op.stats }], 'stats, an empty batch, stats');
      expect(b!.message, 'the answer to [seq, batch, []]').to.deep.equal([b!.message[0], 0, []]);
      const count = (a: typeof before, key: number) => (a!.message[2] as Map<number, number>).get(key)!;
      // §6: ops counts the operations completed before this one; the raw session's retransmissions are answered from the cache, not counted.
      expect([count(after, StatsKey.ops) - count(before, StatsKey.ops), count(after, StatsKey.op_errors) - count(before, StatsKey.op_errors)], 'stats counted, the empty batch not').to.deep.equal([1, 0]);
    }, { borrow: true });
  });

  it('each entry of a batch counts, its errors in op_errors', async () => {
    const { client } = target();
    const [before, r, after] = await Promise.all([
      client.stats(),
      client.batch([{ op: 'acquire', vm: 0 }, { op: 'store_global', vm: 0, global: 0, value: 7 }, { op: 'load_global', vm: 0, global: 0 }, { op: 'release', vm: 1 }]),
      client.stats(),
    ]);
    expect(r.map((x) => (x.ok ? ['ok', x.value] : [x.error]))).to.deep.equal([['ok', undefined], ['ok', undefined], ['ok', 7], ['not_acquired']]);
    expect([after.ops - before.ops, after.opErrors - before.opErrors], 'stats and four entries, one failed').to.deep.equal([5, 1]);
  });
});

describe('dispatch: hello between two calls (PROTOCOL.md §5)', () => {
  it("reports an uptime that has advanced after the host waited (uptime_ms counts the target's time)", async () => {
    const { client } = target();
    const a = await client.hello();
    // At least 50 ms pass between the two answers, whatever the machine's speed: uptime must move.
    await new Promise((r) => setTimeout(r, 50));
    const b = await client.hello();
    expect((b.uptimeMs - a.uptimeMs) >>> 0, 'uptime_ms advanced').to.be.at.least(1);
  });
});

describe('dispatch: the bounds of a request seq (PROTOCOL.md §3.1)', () => {
  it('takes the largest seq, 0xFFFFFFFF, and wraps the session to 0 after it', async () => {
    const s = await RawSession.open(0xffffffff);
    try {
      expect(s.opened.message.slice(0, 2), 'hello at seq 0xFFFFFFFF answered').to.deep.equal([0xffffffff, 0]);
      expect(s.next).to.equal(0);
      const echo = await s.request(Op.echo, [new Uint8Array([5])]);
      expect(echo.message.slice(0, 2), 'the next request is seq 0').to.deep.equal([0, 0]);
    } finally {
      await s.close();
    }
  });

  it('drops a message that is not an array (null, false, a map, text, bytes, a float) as malformed, unanswered', async () => {
    const { client } = target();
    const tops = ['f6', 'f4', 'a10100', '6161', '4101', 'fb3ff8000000000000'];
    // Judged only once a run crossed the link intact: cleanly() discards a damaged run's counts.
    const malformed = await cleanly('sending messages that are not arrays', async () => {
      // Issued together: the device reads them in this order (the client writes in call order).
      const [before, ...rest] = await Promise.all([client.stats(), ...tops.map((t) => client.sendMessage(Buffer.from(t, 'hex'))), client.stats()]);
      const after = rest[rest.length - 1] as Stats;
      return after.rxMalformed - before.rxMalformed;
    });
    expect(malformed, 'rx_malformed').to.equal(tops.length);
  });

  it('drops a request whose seq does not fit a uint32 (2^32) as malformed, unanswered', async () => {
    const { client } = target();
    const malformed = await cleanly('sending a request with seq 2^32', async () => {
      const [before, , after] = await Promise.all([client.stats(), client.sendMessage(encodeCbor([2 ** 32, Op.echo, new Uint8Array([1])])), client.stats()]);
      return after.rxMalformed - before.rxMalformed;
    });
    expect(malformed, 'rx_malformed').to.equal(1);
  });
});

/** The first op code past the last one the protocol defines (PROTOCOL.md §4: unknown_op from there on). */
const FIRST_UNKNOWN_OP = Math.max(...Object.values(Op)) + 1;

describe('dispatch: the op code and a batch entry (PROTOCOL.md §3.1 step 3, §4.2)', () => {
  it('answers a request of its seq alone, or whose op is not an unsigned integer, bad_arg', async function () {
    await inRawSession(this.test!.fullTitle(), async (s) => {
      for (const op of [undefined, -1, 'acquire', new Uint8Array([1])]) {
        const seq = s.next;
        const a = await s.requestMessage(encodeCbor(op === undefined ? [seq] : [seq, op, 0]), `[seq, ${String(op)}]`);
        expect(a.message, `[seq${op === undefined ? '' : `, ${typeof op}`}]`).to.deep.equal([seq, ErrorCode.bad_arg]);
      }
    });
  });

  it('answers the first code past the last op unknown_op', async () => {
    const { client } = target();
    await Promise.all([rejectsWith(client.call(FIRST_UNKNOWN_OP, []), 'unknown_op'), rejectsWith(client.call(FIRST_UNKNOWN_OP, [0]), 'unknown_op')]);
  });

  it('answers each bad batch entry with its own error and runs the rest; every entry counts', async () => {
    const { client } = target();
    const entries: unknown[] = [
      5, // not an array
      [], // empty
      ['acquire'], // not led by an unsigned integer
      [-1],
      [FIRST_UNKNOWN_OP],
      [200, 0],
      [Op.hello],
      [Op.stats],
      [Op.batch, []],
      [Op.echo, new Uint8Array([1])],
      [Op.acquire], // a pool op with a wrong argument count
      [Op.acquire, 0],
    ];
    const E = ErrorCode;
    const want = [[E.bad_arg], [E.bad_arg], [E.bad_arg], [E.bad_arg], [E.unknown_op], [E.unknown_op], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.not_in_batch], [E.bad_arg], [0]];
    // Issued together: the device answers them in this order.
    const [before, results, after] = await Promise.all([client.stats(), client.call(Op.batch, [entries]), client.stats()]);
    expect(results).to.deep.equal(want);
    expect([after.ops - before.ops, after.opErrors - before.opErrors], '[ops, op_errors]: the stats before and the batch entries').to.deep.equal([1 + entries.length, entries.length - 1]);
    expect(after.contexts[0]!.acquired, 'the last entry ran').to.equal(true);
  });

  it('refuses an id or index of 2^32 (past uint32) or a negative one out_of_range at its own check, and a size of 2^32 bad_size', async () => {
    // §4: an id may be any integer; one outside the pool is out_of_range, never taken modulo 2^32.
    const { client } = target();
    // Issued together, executed in this order; no answer is needed before the next request.
    const [, , , , , , , , , , , , , global, element] = await Promise.all([
      ...[2 ** 32, 2 ** 32 + 1, -1, -(2 ** 32)].map((id) => rejectsWith(client.call(Op.acquire, [id]), 'out_of_range')),
      client.acquire(0),
      rejectsWith(client.call(Op.store_global, [0, 2 ** 32, 1]), 'out_of_range'),
      rejectsWith(client.call(Op.load_global, [0, 2 ** 32]), 'out_of_range'),
      rejectsWith(client.call(Op.create_array, [0, 2 ** 32, 1]), 'out_of_range'),
      rejectsWith(client.call(Op.create_array, [0, 0, 2 ** 32]), 'bad_size'),
      rejectsWith(client.call(Op.create_array, [0, 0, 2 ** 32 + 1]), 'bad_size'),
      client.createArray(0, 0, 1),
      // §4: an index at or past VM_ARRAY_ELEMENTS is out_of_range (checked before past_size).
      rejectsWith(client.call(Op.load_array, [0, 0, 2 ** 32]), 'out_of_range'),
      rejectsWith(client.call(Op.store_array, [0, 0, -1, 1]), 'out_of_range'),
      // None of them touched context 0's slot 0 or array 0.
      client.loadGlobal(0, 0),
      client.loadArray(0, 0, 0),
    ]);
    expect(global).to.equal(0);
    expect(element).to.equal(0);
  });
});
