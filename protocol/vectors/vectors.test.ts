/**
 * The shared vectors (protocol/vectors/*.json) against every implementation: the host's framing
 * and codec, the twin's device side, and the C core built for the host (the sim, fed through its
 * --stdio mode): the C core and the twin must agree with the same bytes. The C unit tests run
 * the same cases against the core linked into a test binary (firmware/tests/test_vectors.c, from
 * the table protocol/gen/vectors-c.ts makes of these files).
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyLine } from '../../host/src/framing/frame.js';
import { decodeCbor, encodeCbor } from '../../host/src/codec/cbor.js';
import { BANNER_PREFIX, HelloKey, RESET_CAUSES } from '../../host/src/protocol/constants.js';
import { TwinDevice } from '../../host/src/twin/device.js';
import { buildFirmware } from '../../host/src/targets/toolchain.js';

const here = dirname(fileURLToPath(import.meta.url));
const frames = JSON.parse(readFileSync(join(here, 'frames.json'), 'utf8')).cases as Array<{ name: string; line_hex: string; class: string; message?: unknown }>;
/** One expected response line (PROTOCOL.md §7): exactly `line`, a hello checked by its structure, or the line of response `same_as`. */
type Expected = { meaning: unknown; line?: string; hello?: { seq: number; fixed: { map: [number, unknown][] } }; same_as?: number };
const exchanges = JSON.parse(readFileSync(join(here, 'exchanges.json'), 'utf8')).cases as Array<{
  name: string;
  steps: Array<{ meaning: string; send_hex: string; expect: Expected[] }>;
}>;

/** A decoded CBOR value in the vectors' JSON form (PROTOCOL.md §7). */
function jsonForm(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bstr: Buffer.from(v).toString('hex') };
  if (v instanceof Map) return { map: [...v].map(([k, x]) => [k, jsonForm(x)]) };
  if (Array.isArray(v)) return v.map(jsonForm);
  if (typeof v === 'bigint') return Number(v);
  return v;
}

describe('vectors: frames.json through the host framing and codec', () => {
  for (const c of frames) {
    it(c.name, () => {
      const bytes = Buffer.from(c.line_hex, 'hex');
      const line = bytes[bytes.length - 1] === 0x0a ? bytes.subarray(0, -1) : bytes;
      const got = classifyLine(line);
      const cls = got.kind === 'defect' ? got.defect : got.kind;
      expect(cls).to.equal(c.class);
      if (got.kind === 'frame') expect(jsonForm(decodeCbor(got.message))).to.deep.equal(c.message);
    });
  }
});

/**
 * Why a response line is not the hello response the expectation describes, or undefined when it is:
 * a frame of [seq, 0, map] in core deterministic encoding, the map holding exactly the hello keys
 * in ascending order, the fixed ones with their values, and the variable ones of their types.
 */
function helloMismatch(line: string, e: NonNullable<Expected['hello']>): string | undefined {
  const c = classifyLine(Buffer.from(line.replace(/\n$/, ''), 'latin1'));
  if (c.kind !== 'frame' || !line.endsWith('\n')) return 'not a frame line';
  const v = decodeCbor(c.message);
  if (!Buffer.from(encodeCbor(v)).equals(c.message)) return 'not in core deterministic encoding';
  if (!Array.isArray(v) || v.length !== 3 || v[0] !== e.seq || v[1] !== 0 || !(v[2] instanceof Map)) return `not [${e.seq}, 0, map]`;
  const m = v[2] as Map<number, unknown>;
  const keys = Object.values(HelloKey);
  if (JSON.stringify([...m.keys()]) !== JSON.stringify(keys)) return `keys ${JSON.stringify([...m.keys()])}, want ${JSON.stringify(keys)}`;
  for (const [k, want] of e.fixed.map) if (m.get(k) !== want) return `key ${k} is ${String(m.get(k))}, want ${String(want)}`;
  const fw = m.get(HelloKey.firmware_id);
  if (typeof fw !== 'string' || !/^[\x21-\x7e]{1,64}$/.test(fw)) return `firmware id ${JSON.stringify(fw)}: want 1..64 printable ASCII characters, no spaces`;
  for (const k of [HelloKey.boot_nonce, HelloKey.uptime_ms]) {
    const n = m.get(k);
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) return `key ${k} is not a uint32`;
  }
  if (!(RESET_CAUSES as readonly unknown[]).includes(m.get(HelloKey.reset_cause))) return `reset cause ${String(m.get(HelloKey.reset_cause))}`;
  const uid = m.get(HelloKey.unique_id);
  if (!(uid instanceof Uint8Array) || (uid.length !== 0 && uid.length !== 12)) return 'unique id is not 0 or 12 bytes';
  return undefined;
}

/** Feeds every step in order, then compares all output lines (banner excluded) with the expected lines. */
function checkExchange(x: (typeof exchanges)[number], output: string[]): void {
  const expected = x.steps.flatMap((s) => s.expect.map((e) => ({ step: s.meaning, e })));
  const got = output.filter((l) => !l.startsWith(BANNER_PREFIX));
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    const ex = expected[i];
    const g = got[i];
    let why: string | undefined;
    if (ex === undefined || g === undefined) why = 'missing';
    else if (ex.e.hello) why = helloMismatch(g, ex.e.hello);
    else if (ex.e.same_as !== undefined) why = g === got[ex.e.same_as] ? undefined : `not the line of response ${ex.e.same_as + 1} (${JSON.stringify(got[ex.e.same_as])})`;
    else why = g === ex.e.line ? undefined : 'other bytes';
    if (why === undefined) continue;
    const decoded = g === undefined ? 'nothing' : describeLine(g);
    expect.fail(`${x.name}: response ${i + 1} differs (${why})\n  request:  ${ex?.step ?? '(none: extra output)'}\n  expected: ${JSON.stringify(ex?.e.meaning)} ${JSON.stringify(ex?.e.line ?? ex?.e.hello ?? ex?.e.same_as)}\n  got:      ${decoded} ${JSON.stringify(g)}`);
  }
}

function describeLine(line: string): string {
  const c = classifyLine(Buffer.from(line.replace(/\n$/, ''), 'latin1'));
  return c.kind === 'frame' ? JSON.stringify(jsonForm(decodeCbor(c.message))) : c.kind;
}

describe('vectors: exchanges.json against the twin', () => {
  for (const x of exchanges) {
    it(x.name, async () => {
      const device = new TwinDevice({ bootNonce: 0 });
      const out: string[] = [];
      device.on('output', (line: Buffer) => out.push(line.toString('latin1')));
      for (const s of x.steps) device.feed(Buffer.from(s.send_hex, 'hex'));
      await new Promise((r) => setImmediate(r));
      checkExchange(x, out);
    });
  }
});

describe('vectors: exchanges.json against the C core (sim --stdio)', function () {
  let sim: string;
  before(async function () {
    this.timeout(120_000);
    sim = await buildFirmware('sim');
  });

  for (const x of exchanges) {
    it(x.name, async () => {
      const child = spawn(sim, ['--stdio', '--nonce', '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('latin1').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('latin1').on('data', (d: string) => (stderr += d));
      const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
      child.stdin.end(Buffer.concat(x.steps.map((s) => Buffer.from(s.send_hex, 'hex'))));
      const code = await exited;
      expect(code, `cvm-sim exited with ${code}: ${stderr}`).to.equal(0);
      checkExchange(x, stdout.split(/(?<=\n)/).filter((l) => l.length > 0));
    });
  }
});
