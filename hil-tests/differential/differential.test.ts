/**
 * Differential fidelity: the same seeded pseudo-random request stream goes to the twin, the sim
 * and QEMU, and every response frame must be byte-identical across them. DIFF_COUNT sets the
 * number of requests (default 10,000), DIFF_SEED replays a stream; on a mismatch the test prints
 * the seed, the request and the differing responses. Each mismatch ever found becomes a vector in
 * protocol/vectors/.
 */
import { expect } from 'chai';
import { decodeCbor } from '../../host/src/codec/cbor.js';
import { encodeCbor } from '../../host/src/codec/cbor.js';
import { encodeFrame, classifyLine } from '../../host/src/framing/frame.js';
import { DefaultLimits, HelloKey, Op } from '../../host/src/protocol/constants.js';
import { RequestStream, type StreamItem } from '../../host/src/differential/stream.js';
import { chunk, runQemu, runSim, runTwin, WINDOW_BYTES } from '../../host/src/differential/targets.js';
import { liveChildPids } from '../../host/src/targets/process.js';
import { needTools } from '../../host/src/targets/toolchain.js';

const count = Number(process.env.DIFF_COUNT ?? 10_000);
const seed = process.env.DIFF_SEED ? Number(process.env.DIFF_SEED) : (Math.random() * 2 ** 32) >>> 0;
const limits = { maxVms: DefaultLimits.maxConcurrentVms, maxGlobals: DefaultLimits.vmMaxGlobals, maxArrays: DefaultLimits.vmMaxArrays, arrayElements: DefaultLimits.vmArrayElements };

// Sync requests use seqs far above the stream's own, so they can never be confused with them.
const SYNC_BASE = 0xf0000000;
const syncItem = (i: number): StreamItem => ({ bytes: encodeFrame(encodeCbor([SYNC_BASE + i, Op.echo, Buffer.from('sync')])), what: `sync ${i}` });
const syncLine = (i: number): string => encodeFrame(encodeCbor([SYNC_BASE + i, 0, Buffer.from('sync')])).toString('latin1');

function describe_(line: string | undefined): string {
  if (line === undefined) return '(nothing)';
  const c = classifyLine(Buffer.from(line.trimEnd(), 'latin1'));
  if (c.kind !== 'frame') return `${c.kind}: ${JSON.stringify(line)}`;
  return `${JSON.stringify(decodeCbor(c.message), (_k, v) => (v instanceof Uint8Array ? `h'${Buffer.from(v).toString('hex')}'` : typeof v === 'bigint' ? String(v) : v))}  ${JSON.stringify(line)}`;
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

function compare(name: string, reference: string[], other: string[], items: StreamItem[]): void {
  const n = Math.max(reference.length, other.length);
  for (let i = 0; i < n; i++) {
    if (reference[i] === other[i] || sameHello(reference[i], other[i])) continue;
    const c = reference[i] ? classifyLine(Buffer.from(reference[i]!.trimEnd(), 'latin1')) : undefined;
    const seqOf = c?.kind === 'frame' ? (decodeCbor(c.message) as unknown[])[0] : undefined;
    const item = typeof seqOf === 'number' && seqOf < SYNC_BASE ? items[seqOf - 1] : undefined;
    expect.fail(
      `twin and ${name} differ at response ${i + 1} of ${n} (seed ${seed}; replay with DIFF_SEED=${seed} DIFF_COUNT=${count})\n` +
        `  request:  ${item ? `${item.what}\n            sent as ${JSON.stringify(item.bytes.toString('latin1'))}` : '(see the responses)'}\n` +
        `  twin:     ${describe_(reference[i])}\n  ${name.padEnd(8)}: ${describe_(other[i])}`,
    );
  }
}

describe(`differential: twin, sim and QEMU answer ${count} seeded requests byte for byte`, function () {
  this.timeout(600_000);
  let items: StreamItem[];
  let chunks: StreamItem[][];
  let twin: string[];

  before(async () => {
    console.log(`      seed ${seed} (replay with DIFF_SEED=${seed}), ${count} requests`);
    const stream = new RequestStream(seed, limits);
    items = Array.from({ length: count }, () => stream.next());
    chunks = chunk(items, WINDOW_BYTES, syncItem);
    twin = await runTwin(chunks);
    expect(twin.length).to.be.greaterThan(count / 2, 'the stream should be answered mostly');
  });

  it('the sim (C core on the host) matches the twin', async () => {
    compare('sim', twin, await runSim(chunks), items);
  });

  it('QEMU (the ARM ELF) matches the twin', async function () {
    needTools(this, [['qemu-system-arm', 'qemu-system-arm'], ['arm-none-eabi-gcc', 'gcc-arm-none-eabi']]);
    compare('qemu', twin, await runQemu(chunks, syncLine), items);
  });

  after(() => {
    expect(liveChildPids(), 'child processes left running').to.deep.equal([]);
  });
});
