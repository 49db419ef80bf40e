/**
 * The shared vectors (protocol/vectors/*.json) against every implementation: the host's framing
 * and codec, the twin's device side, and the C core built for the host (the sim, fed through its
 * --stdio mode). The C unit tests cover the C codec piece by piece; this is where the C core and
 * the twin must agree with the same bytes.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { classifyLine } from '../../host/src/framing/frame.js';
import { decodeCbor } from '../../host/src/codec/cbor.js';
import { BANNER_PREFIX } from '../../host/src/protocol/constants.js';
import { TwinDevice } from '../../host/src/twin/device.js';
import { buildFirmware } from '../../host/src/targets/toolchain.js';

const here = dirname(fileURLToPath(import.meta.url));
const frames = JSON.parse(readFileSync(join(here, 'frames.json'), 'utf8')).cases as Array<{ name: string; line_hex: string; class: string; message?: unknown }>;
const exchanges = JSON.parse(readFileSync(join(here, 'exchanges.json'), 'utf8')).cases as Array<{
  name: string;
  steps: Array<{ meaning: string; send_hex: string; expect: Array<{ meaning: unknown; line: string }> }>;
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

/** Feeds every step in order, then compares all output lines (banner excluded) with the expected lines. */
function checkExchange(x: (typeof exchanges)[number], output: string[]): void {
  const expected = x.steps.flatMap((s) => s.expect.map((e) => ({ step: s.meaning, line: e.line, meaning: e.meaning })));
  const got = output.filter((l) => !l.startsWith(BANNER_PREFIX));
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    const e = expected[i];
    const g = got[i];
    if (e?.line === g) continue;
    const decoded = g === undefined ? 'nothing' : describeLine(g);
    expect.fail(`${x.name}: response ${i + 1} differs\n  request:  ${e?.step ?? '(none: extra output)'}\n  expected: ${JSON.stringify(e?.meaning)} ${JSON.stringify(e?.line)}\n  got:      ${decoded} ${JSON.stringify(g)}`);
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
