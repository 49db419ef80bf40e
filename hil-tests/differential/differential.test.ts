/**
 * Differential fidelity: the same seeded pseudo-random request stream (a protocol v2 session with
 * duplicates, go-backs, gaps and hellos mid-session: differential/stream.ts) goes to the twin, the
 * sim and QEMU, and every response frame must be byte-identical across them. Twice: as the host
 * sent it, and as a link with seeded host → device faults delivers it (the link emulator's
 * FaultInjector at DIFF_BER, default 1e-3, flip/drop/duplicate in equal shares; seeded from the
 * same seed, as `--link` would be). DIFF_COUNT sets the number of requests of the faulted stream
 * (default 10,000; the clean one gets half as many), DIFF_SEED replays both; on a mismatch the test prints the seed, the
 * request and the differing responses. Each mismatch ever found becomes a vector in
 * protocol/vectors/.
 */
import { expect } from 'chai';
import { decodeCbor } from '../../host/src/codec/cbor.js';
import { encodeCbor } from '../../host/src/codec/cbor.js';
import { encodeFrame, classifyLine } from '../../host/src/framing/frame.js';
import { HelloKey, Op } from '../../host/src/protocol/constants.js';
import { RequestStream, type StreamItem } from '../../host/src/differential/stream.js';
import { chunk, runQemu, runSim, runTwin, WINDOW_BYTES } from '../../host/src/differential/targets.js';
import { liveChildPids } from '../../host/src/process/managed.js';
import { createProgress } from '../../host/src/orchestrator/progress.js';
import { configLimits } from '../../host/src/targets/build-info.js';
import { needTools } from '../../host/src/testing/tools.js';

const count = Number(process.env.DIFF_COUNT ?? 10_000);
const seed = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : (Math.random() * 2 ** 32) >>> 0;
const ber = Number(process.env.DIFF_BER ?? 1e-3);
for (const [name, v] of [['DIFF_COUNT', count], ['DIFF_SEED', seed], ['DIFF_BER', ber]] as const) {
  if (!Number.isFinite(v) || v < 0 || (name !== 'DIFF_BER' && !Number.isInteger(v)) || (name === 'DIFF_BER' && v > 1)) {
    throw new Error(`${name}=${process.env[name]} is not valid: use a whole number (DIFF_COUNT, DIFF_SEED) or a rate in [0, 1] (DIFF_BER)`);
  }
}
/** The build every target runs (twin, sim, QEMU); the stream draws its ids and sizes around its limits. */
const CONFIG = 'default';
const limits = configLimits(CONFIG);

// Sync requests use seqs far above the stream's own (its sessions start below 0x70000000, or just
// under the wrap), so they are never a duplicate: the device answers them [seq, out_of_sequence,
// next] (or no_session), executing nothing. The leading '\n' ends a line a fault left open.
const SYNC_BASE = 0xf0000000;
const syncItem = (i: number): StreamItem => ({
  bytes: Buffer.concat([Buffer.from('\n'), encodeFrame(encodeCbor([SYNC_BASE + i, Op.echo, Buffer.from('sync')]))]),
  what: `sync ${i}`,
  seq: SYNC_BASE + i,
});

function describe_(line: string | undefined): string {
  if (line === undefined) return '(nothing)';
  const c = classifyLine(Buffer.from(line.trimEnd(), 'latin1'));
  if (c.kind !== 'frame') return `${c.kind}: ${JSON.stringify(line)}`;
  // The holder's own value: JSON.stringify hands a replacer a Buffer already turned into {type, data}.
  const replacer = function (this: Record<string, unknown>, k: string, v: unknown): unknown {
    const raw = this[k];
    return raw instanceof Uint8Array ? `h'${Buffer.from(raw).toString('hex')}'` : typeof v === 'bigint' ? String(v) : v;
  };
  return `${JSON.stringify(decodeCbor(c.message), replacer)}  ${JSON.stringify(line)}`;
}

/**
 * A mutated request can turn into hello, whose firmware id, nonce, uptime, reset cause and unique
 * id differ by nature between targets: such a pair matches when everything else does.
 */
const TARGET_SPECIFIC_HELLO_KEYS = [HelloKey.firmware_id, HelloKey.boot_nonce, HelloKey.uptime_ms, HelloKey.reset_cause, HelloKey.unique_id];
function sameHello(a: string | undefined, b: string | undefined): boolean {
  const decode = (l: string | undefined) => {
    const c = l ? classifyLine(Buffer.from(l.trimEnd(), 'latin1')) : undefined;
    if (c?.kind !== 'frame') return undefined;
    const m = decodeCbor(c.message) as unknown[];
    if (m.length !== 3 || m[1] !== 0 || !(m[2] instanceof Map) || !m[2].has(HelloKey.firmware_id)) return undefined;
    for (const k of TARGET_SPECIFIC_HELLO_KEYS) m[2].delete(k);
    return Buffer.from(encodeCbor(m)).toString('hex');
  };
  const x = decode(a);
  return x !== undefined && x === decode(b);
}

function compare(name: string, reference: string[], other: string[], items: StreamItem[], replay: string): void {
  const bySeq = new Map<unknown, StreamItem>();
  for (const it of items) if (it.seq !== undefined) bySeq.set(it.seq, it);
  const n = Math.max(reference.length, other.length);
  for (let i = 0; i < n; i++) {
    if (reference[i] === other[i] || sameHello(reference[i], other[i])) continue;
    const c = reference[i] ? classifyLine(Buffer.from(reference[i]!.trimEnd(), 'latin1')) : undefined;
    const seqOf = c?.kind === 'frame' ? (decodeCbor(c.message) as unknown[])[0] : undefined;
    const item = bySeq.get(seqOf);
    expect.fail(
      `twin and ${name} differ at response ${i + 1} of ${n} (seed ${seed}; replay with ${replay})\n` +
        `  request:  ${item ? `${item.what}\n            sent as ${JSON.stringify(item.bytes.toString('latin1'))}` : '(see the responses)'}\n` +
        `  twin:     ${describe_(reference[i])}\n  ${name.padEnd(8)}: ${describe_(other[i])}`,
    );
  }
}

const variants = [
  // The CI budget (about a minute, QEMU's serial port being the bottleneck) goes mostly to the
  // faulted stream, which holds every kind of request of the clean one too.
  { title: 'as sent', faults: 0, count: Math.ceil(count / 2) },
  { title: `through seeded link faults (byte error rate ${ber}, flip/drop/duplicate)`, faults: ber, count },
];

describe(`differential: twin, sim and QEMU answer seeded v2 request streams byte for byte`, function () {
  this.timeout(600_000);
  before(() => console.log(`      seed ${seed} (replay with DIFF_SEED=${seed} DIFF_COUNT=${count} DIFF_BER=${ber})`));

  for (const v of variants) {
    describe(`${v.count} requests ${v.title}`, () => {
      let items: StreamItem[];
      let chunks: StreamItem[][];
      let twin: string[];
      const replay = `DIFF_SEED=${seed} DIFF_COUNT=${count} DIFF_BER=${ber}`;

      before(async function () {
        if (v.count === 0) this.skip();
        const stream = new RequestStream(seed, limits, v.faults > 0 ? { ber: v.faults } : undefined);
        items = Array.from({ length: v.count }, () => stream.next());
        if (stream.faultCounts) console.log(`      the link damaged ${stream.faultCounts.flips + stream.faultCounts.drops + stream.faultCounts.dups} of ${stream.faultCounts.bytesIn} bytes (${stream.faultCounts.flips} flipped, ${stream.faultCounts.drops} dropped, ${stream.faultCounts.dups} duplicated)`);
        chunks = chunk(items, WINDOW_BYTES, syncItem);
        twin = await runTwin(chunks, CONFIG);
        expect(twin.length).to.be.greaterThan(v.count / 2, 'the stream should be answered mostly');
      });

      it('the sim (C core on the host) matches the twin', async () => {
        compare('sim', twin, await runSim(chunks, CONFIG), items, replay);
      });

      it('QEMU (the ARM ELF) matches the twin', async function () {
        needTools(this, [['qemu-system-arm', 'qemu-system-arm'], ['arm-none-eabi-gcc', 'gcc-arm-none-eabi']]);
        // The long part of a run by hand (DIFF_COUNT=100000): a bar on a terminal, a line every few seconds in a CI log.
        const progress = createProgress({ title: 'differential' });
        progress.step(`QEMU: ${v.count} requests${v.faults ? ' through link faults' : ''}, windows of ≤ ${WINDOW_BYTES} bytes fed`, chunks.length);
        try {
          compare('qemu', twin, await runQemu(chunks, CONFIG, undefined, (n) => progress.update(n)), items, replay);
        } finally {
          progress.stop();
        }
      });
    });
  }

  after(() => {
    expect(liveChildPids(), 'child processes left running').to.deep.equal([]);
  });
});
