/**
 * The link emulator: seeded byte faults (each kind, bursts, rates within statistical bounds over a
 * large sample, the same for any chunking), the spec syntax, adapter pacing on a hand-driven
 * clock (no wall-clock assertions), the cut, and a target run through it end to end.
 */
import { expect } from 'chai';
import { createMemoryLink, type MemoryTransport } from './memory.js';
import {
  FaultInjector,
  LinkEmulator,
  LinkSpecError,
  directionSeed,
  formatLinkSpec,
  parseLinkSpec,
  type FaultOptions,
  type LinkClock,
} from './emulator.js';
import { prng } from '../util/prng.js';
import { openTarget } from '../targets/index.js';

const SEED = Number(process.env.EMULATOR_SEED ?? 0x5eed);
console.log(`  emulator tests: seed ${SEED} (replay with EMULATOR_SEED=${SEED})`);

/** Pseudo-random bytes, reproducible from the seed. */
function bytes(n: number, seed = SEED): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

const popcount = (x: number): number => {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
};

/** A clock driven by hand: advance() moves time and fires due timers in time order. */
class ManualClock implements LinkClock {
  t = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private ids = 0;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }
  get armed(): number {
    return this.timers.length;
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.timers.shift();
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('link emulator: FaultInjector', () => {
  const opts = (o: Partial<FaultOptions> = {}): FaultOptions => ({ ber: 1e-2, ...o });

  it('the same seed gives the same faults; another seed gives others', () => {
    const input = bytes(100_000);
    const a = FaultInjector.seeded(opts(), SEED).apply(input);
    const b = FaultInjector.seeded(opts(), SEED).apply(input);
    const c = FaultInjector.seeded(opts(), SEED + 1).apply(input);
    expect(a.equals(b)).to.equal(true);
    expect(a.equals(input)).to.equal(false);
    expect(a.equals(c)).to.equal(false);
  });

  it('the output does not depend on how the bytes are chunked (bursts span chunks)', () => {
    const input = bytes(50_000);
    const o = opts({ ber: 2e-2, burst: 5 });
    const whole = FaultInjector.seeded(o, SEED).apply(input);
    const f = FaultInjector.seeded(o, SEED);
    const r = prng(SEED ^ 1);
    const parts: Buffer[] = [];
    for (let i = 0; i < input.length; ) {
      const n = 1 + Math.floor(r() * 200);
      parts.push(f.apply(input.subarray(i, i + n)));
      i += n;
    }
    expect(Buffer.concat(parts).equals(whole)).to.equal(true);
  });

  it('rates: fault events and each kind within 5 sigma of their expectation over 2,000,000 bytes', () => {
    const n = 2_000_000;
    for (const ber of [1e-4, 1e-3, 1e-2]) {
      const f = FaultInjector.seeded(opts({ ber }), SEED);
      f.apply(bytes(n));
      const c = f.counts;
      const mean = n * ber;
      const within = (x: number, m: number) => expect(Math.abs(x - m), `ber ${ber}: ${x} vs ${m.toFixed(1)}`).to.be.below(5 * Math.sqrt(m) + 1);
      within(c.faults, mean);
      within(c.flips, mean / 3);
      within(c.drops, mean / 3);
      within(c.dups, mean / 3);
      expect(c.flips + c.drops + c.dups).to.equal(c.faults);
      expect(c.bytesIn).to.equal(n);
      expect(c.bytesOut).to.equal(n - c.drops + c.dups);
    }
  });

  it('shares weight the kinds (flip=2,drop=1,dup=0)', () => {
    const f = FaultInjector.seeded(opts({ shares: { flip: 2, drop: 1, dup: 0 } }), SEED);
    f.apply(bytes(1_000_000));
    const { flips, drops, dups, faults } = f.counts;
    expect(dups).to.equal(0);
    expect(Math.abs(flips - (faults * 2) / 3)).to.be.below(5 * Math.sqrt(faults));
    expect(flips + drops).to.equal(faults);
  });

  it('flip inverts exactly one bit of a byte and keeps the length', () => {
    const input = bytes(200_000);
    const f = FaultInjector.seeded(opts({ shares: { flip: 1, drop: 0, dup: 0 } }), SEED);
    const out = f.apply(input);
    expect(out.length).to.equal(input.length);
    let changed = 0;
    for (let i = 0; i < input.length; i++) {
      if (out[i] === input[i]) continue;
      changed++;
      expect(popcount(out[i]! ^ input[i]!)).to.equal(1);
    }
    expect(changed).to.equal(f.counts.flips).and.to.be.above(1000);
  });

  it('drop removes bytes: the output is the input with counts.drops bytes missing', () => {
    const input = bytes(200_000);
    const f = FaultInjector.seeded(opts({ shares: { flip: 0, drop: 1, dup: 0 } }), SEED);
    const out = f.apply(input);
    expect(out.length).to.equal(input.length - f.counts.drops);
    // A subsequence: every output byte found in order in the input.
    let j = 0;
    for (let i = 0; i < out.length; i++) {
      while (j < input.length && input[j] !== out[i]) j++;
      expect(j, `output byte ${i} not found in order`).to.be.below(input.length);
      j++;
    }
    expect(f.counts.drops).to.be.above(1000);
  });

  it('dup delivers a byte twice: removing the repeats gives the input back', () => {
    const input = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 2 ? 0xaa : 0x55)); // no natural repeats
    const f = FaultInjector.seeded(opts({ shares: { flip: 0, drop: 0, dup: 1 } }), SEED);
    const out = f.apply(input);
    expect(out.length).to.equal(input.length + f.counts.dups);
    const dedup = Buffer.from(Array.from(out).filter((b, i) => i === 0 || b !== out[i - 1]));
    expect(dedup.equals(input)).to.equal(true);
  });

  it('bursts: a fault hits a run of N bytes (flips come in runs of 8, a dup repeats the run)', () => {
    const input = bytes(400_000);
    const f = FaultInjector.seeded(opts({ ber: 1e-2, burst: 8, shares: { flip: 1, drop: 0, dup: 0 } }), SEED);
    const out = f.apply(input);
    expect(f.counts.flips).to.equal(f.counts.faults * 8);
    // Rate stays about ber: events start at ber / burst.
    expect(Math.abs(f.counts.flips - input.length * 1e-2)).to.be.below(5 * 8 * Math.sqrt((input.length * 1e-2) / 8));
    // Damaged positions form runs whose lengths are multiples of 8 (adjacent bursts merge).
    let run = 0;
    for (let i = 0; i <= input.length; i++) {
      const hit = i < input.length && out[i] !== input[i];
      if (hit) run++;
      else if (run) {
        expect(run % 8, `run of ${run} ending at ${i}`).to.equal(0);
        run = 0;
      }
    }
    const d = new FaultInjector(opts({ ber: 1, burst: 4, shares: { flip: 0, drop: 0, dup: 1 } }), () => 0); // a fault at every chance
    expect([...d.apply(Buffer.from('abcdefgh'))].map((c) => String.fromCharCode(c)).join('')).to.equal('abcdabcdefghefgh');
  });

  it('ber 0 touches nothing and draws nothing', () => {
    let draws = 0;
    const f = new FaultInjector({ ber: 0 }, () => (draws++, 0));
    const input = bytes(1000);
    expect(f.apply(input)).to.equal(input);
    expect(draws).to.equal(0);
  });

  it('rejects options out of bounds', () => {
    expect(() => new FaultInjector({ ber: 1.5 }, Math.random)).to.throw(RangeError, /\[0, 1\]/);
    expect(() => new FaultInjector({ ber: 0.1, burst: 0 }, Math.random)).to.throw(RangeError, /burst/);
    expect(() => new FaultInjector({ ber: 0.1, shares: { flip: 0, drop: 0, dup: 0 } }, Math.random)).to.throw(RangeError, /shares/);
  });
});

describe('link emulator: spec syntax', () => {
  it('parses every key and prints a canonical form that parses back', () => {
    const s = parseLinkSpec('ber=1e-3,seed=7,baud=115200,latency=1')!;
    expect(s).to.deep.include({ seed: 7, baud: 115200, latencyMs: 1, packetBytes: 62 });
    expect(s.h2d.ber).to.equal(1e-3);
    expect(s.d2h.ber).to.equal(1e-3);
    expect(formatLinkSpec(s)).to.equal('ber=0.001,seed=7,baud=115200,latency=1');
    for (const text of ['ber-h2d=0.01,ber-d2h=0.0001,flip=2,drop=1,dup=0,burst=4,seed=1', 'baud=921600,packet=64', 'ber=0.1,seed=4294967295']) {
      expect(formatLinkSpec(parseLinkSpec(text)!)).to.equal(text);
    }
    expect(parseLinkSpec('none')).to.equal(undefined);
    expect(formatLinkSpec(parseLinkSpec('ber=0')!)).to.equal('ber=0');
    expect(parseLinkSpec('')).to.equal(undefined);
    expect(parseLinkSpec('baud=115200')!.latencyMs).to.equal(16);
  });

  it('a bad key or value is one line naming it and the valid forms', () => {
    const cases: Array<[string, RegExp]> = [
      ['ber=2', /ber=2 is out of range: ber takes a rate in \[0, 1\]/],
      ['bre=1e-3', /unknown key "bre" \(keys: ber, /],
      ['ber', /"ber" is not KEY=VALUE/],
      ['seed=-1', /seed=-1 is out of range/],
      ['baud=fast', /baud=fast is out of range: baud takes an integer/],
      ['latency=16', /give baud too/],
      ['ber=1e-3,ber-h2d=1e-3', /not both/],
      ['ber=1e-3,ber=1e-2', /ber is given twice/],
      ['flip=0,drop=0,dup=0', /all 0/],
    ];
    for (const [text, re] of cases) {
      let err: unknown;
      try {
        parseLinkSpec(text, '--link');
      } catch (e) {
        err = e;
      }
      expect(err, text).to.be.instanceOf(LinkSpecError);
      const m = (err as Error).message;
      expect(m, text).to.match(re).and.to.match(/^--link "/).and.to.include('the form is KEY=VALUE,... (or "none"): ber=RATE');
      expect(m.includes('\n'), text).to.equal(false);
    }
  });
});

/** An emulator in front of one end of a memory link; `device` is the far end. */
async function emulated(spec: string, clock?: ManualClock): Promise<{ emu: LinkEmulator; device: MemoryTransport; received: Buffer[]; atDevice: Buffer[]; writes: number[] }> {
  const [host, device] = createMemoryLink('host', 'device');
  const emu = new LinkEmulator(host, parseLinkSpec(spec)!, clock ? { clock } : {});
  const received: Buffer[] = [];
  const atDevice: Buffer[] = [];
  const writes: number[] = []; // sizes of the emulator's writes to the inner transport
  const write = host.write.bind(host);
  host.write = (d: Buffer) => (writes.push(d.length), write(d));
  emu.on('data', (d) => received.push(d));
  device.on('data', (d) => atDevice.push(d));
  await emu.open();
  await device.open();
  return { emu, device, received, atDevice, writes };
}

describe('link emulator: transport', () => {
  it('applies the seeded faults each way and counts everything, replayable from the seed', async () => {
    const run = async () => {
      const { emu, device, received, atDevice } = await emulated('ber=0.02,seed=99');
      const up = bytes(20_000, 1);
      const down = bytes(20_000, 2);
      await emu.write(up);
      await device.write(down);
      await tick();
      await tick();
      const c = emu.counters;
      await emu.close();
      return { c, rx: Buffer.concat(received), tx: Buffer.concat(atDevice), name: emu.name };
    };
    const a = await run();
    const b = await run();
    expect(a.name).to.include('seed=99').and.to.include('ber=0.02');
    expect(a.rx.equals(b.rx) && a.tx.equals(b.tx)).to.equal(true);
    expect(a.c.h2d.bytesIn).to.equal(20_000);
    expect(a.c.d2h.bytesIn).to.equal(20_000);
    expect(a.tx.length).to.equal(a.c.h2d.bytesOut);
    expect(a.rx.length).to.equal(a.c.d2h.bytesOut);
    expect(a.c.h2d.faults).to.be.above(0);
    expect(a.c.d2h.faults).to.be.above(0);
    // The emulator's h2d faults are exactly those a FaultInjector seeded with directionSeed applies.
    const same = FaultInjector.seeded(parseLinkSpec('ber=0.02')!.h2d, directionSeed(99, 'h2d')).apply(bytes(20_000, 1));
    expect(same.equals(a.tx)).to.equal(true);
  });

  it('without a seed it picks one and names it, so the run can be replayed', async () => {
    const { emu } = await emulated('ber=0.001');
    expect(emu.spec.seed).to.be.a('number');
    expect(emu.name).to.match(/\[link ber=0\.001,seed=\d+\]$/);
    await emu.close();
  });

  it('cut() drops everything both ways and counts it; restore() reconnects', async () => {
    const { emu, device, received, atDevice } = await emulated('baud=115200,latency=0');
    emu.cut();
    await emu.write(Buffer.from('hello\n'));
    await device.write(Buffer.from('world\n'));
    await tick();
    expect(emu.counters.cutH2d).to.equal(6);
    expect(emu.counters.cutD2h).to.equal(6);
    expect(received).to.deep.equal([]);
    emu.restore();
    await emu.close();
    expect(atDevice).to.deep.equal([]);
  });

  it('setFaults(false) passes bytes untouched until faults are turned on again', async () => {
    const { emu, device, received, atDevice } = await emulated('ber=0.5,seed=3');
    emu.setFaults(false);
    await emu.write(Buffer.from('clean up\n'));
    await device.write(Buffer.from('clean down\n'));
    await tick();
    expect(Buffer.concat(atDevice).toString()).to.equal('clean up\n');
    expect(Buffer.concat(received).toString()).to.equal('clean down\n');
    expect(emu.counters.h2d.bytesIn + emu.counters.d2h.bytesIn).to.equal(0);
    emu.setFaults(true);
    await emu.write(Buffer.alloc(1000, 0x41));
    await tick();
    expect(emu.counters.h2d.faults).to.be.above(100);
    await emu.close();
  });

  // Timers fire on whole milliseconds (as Node's do), never early: a delivery is due at its
  // moment and happens within the next millisecond.
  it('pacing: device → host bytes arrive at the baud rate in ≤ 62-byte packets, or when the latency timer expires', async () => {
    const clock = new ManualClock();
    const { emu, device, received } = await emulated('baud=115200,latency=16', clock);
    const byteMs = 10_000 / 115200;
    await device.write(bytes(200));
    await tick();
    const at = (ms: number) => clock.advance(ms - clock.now());
    at(62 * byteMs - 0.01); // the 62nd byte is still on the wire
    expect(received).to.have.length(0);
    at(62 * byteMs + 1);
    expect(received.map((b) => b.length)).to.deep.equal([62]);
    at(186 * byteMs - 0.01);
    expect(received.map((b) => b.length)).to.deep.equal([62, 62]);
    at(186 * byteMs + 1);
    expect(received.map((b) => b.length)).to.deep.equal([62, 62, 62]);
    // 14 bytes left: all arrived by 200 byte times, they wait for the latency timer of their packet's first byte.
    const expiry = 187 * byteMs + 16;
    at(expiry - 0.01);
    expect(received).to.have.length(3);
    at(expiry + 1);
    expect(received.map((b) => b.length)).to.deep.equal([62, 62, 62, 14]);
    expect(emu.counters.packetsToHost).to.equal(4);
    expect(emu.counters.d2h.bytesIn).to.equal(200);
    expect(Buffer.concat(received).equals(bytes(200))).to.equal(true);
    expect(clock.armed).to.equal(0);
    await emu.close();
  });

  it('pacing: a short reply waits for the latency timer (1 ms and 16 ms)', async () => {
    for (const latency of [1, 16]) {
      const clock = new ManualClock();
      const { emu, device, received } = await emulated(`baud=921600,latency=${latency}`, clock);
      await device.write(Buffer.from('~abcdefgh\n'));
      await tick();
      const byteMs = 10_000 / 921600;
      clock.advance(byteMs + latency - 0.001);
      expect(received, `latency ${latency}`).to.have.length(0);
      clock.advance(1);
      expect(received.map(String)).to.deep.equal(['~abcdefgh\n']);
      await emu.close();
    }
  });

  it('pacing: host → device bytes leave at the baud rate, in order', async () => {
    const clock = new ManualClock();
    const { emu, atDevice, writes } = await emulated('baud=115200', clock);
    const data = bytes(1152);
    await emu.write(data.subarray(0, 600));
    await emu.write(data.subarray(600));
    clock.advance(50); // 576 byte times at 115200
    await tick();
    const sofar = Buffer.concat(atDevice).length;
    expect(sofar).to.be.within(512, 576);
    clock.advance(51);
    await tick();
    expect(Buffer.concat(atDevice).equals(data)).to.equal(true);
    expect(Math.max(...writes)).to.be.at.most(64);
    expect(writes.reduce((a, b) => a + b, 0)).to.equal(1152);
    await emu.close();
  });

  it('latency=0 hands bytes over as they arrive, still in ≤ 62-byte packets', async () => {
    const clock = new ManualClock();
    const { emu, device, received } = await emulated('baud=115200,latency=0', clock);
    await device.write(bytes(100));
    await tick();
    clock.advance(100 * (10_000 / 115200) - 0.01); // the last byte still on the wire
    expect(Buffer.concat(received).length).to.be.below(100);
    clock.advance(1.02);
    expect(Buffer.concat(received).equals(bytes(100))).to.equal(true);
    expect(received.length).to.be.at.least(2);
    expect(Math.max(...received.map((b) => b.length))).to.be.at.most(62);
    await emu.close();
  });
});

describe('link emulator: a target through it (openTarget)', function () {
  this.timeout(20_000);

  it('twin through a paced link: requests answered, bytes counted, every packet ≤ 62 bytes', async () => {
    const t = await openTarget('twin', { link: 'baud=921600,latency=1' });
    try {
      expect(t.emulator).to.not.equal(undefined);
      const sizes: number[] = [];
      const before = t.emulator!.counters.packetsToHost;
      t.transport.on('data', (d) => sizes.push(d.length));
      await t.client.acquire(0);
      await Promise.all(Array.from({ length: 40 }, (_, i) => t.client.storeGlobal(0, i % t.client.info!.maxGlobals, i * 7)));
      for (let i = 0; i < 40; i++) expect(await t.client.loadGlobal(0, i % t.client.info!.maxGlobals)).to.equal(i * 7);
      const c = t.emulator!.counters;
      expect(c.h2d.bytesIn).to.be.above(0);
      expect(c.d2h.bytesIn).to.be.above(0);
      expect(c.packetsToHost - before).to.equal(sizes.length);
      expect(Math.max(...sizes)).to.be.at.most(62);
    } finally {
      await t.close();
    }
  });

  it(`twin through a lossy link (ber=1e-3, seed ${SEED}): every write applied once, in order`, async () => {
    const t = await openTarget('twin', { link: `ber=1e-3,seed=${SEED}` });
    try {
      const info = t.client.info!;
      await t.client.resetPool();
      await t.client.acquire(1);
      const n = 1000;
      await Promise.all(Array.from({ length: n }, (_, i) => t.client.storeGlobal(1, i % info.maxGlobals, i)));
      for (let g = 0; g < Math.min(n, info.maxGlobals); g++) {
        const last = n - 1 - ((n - 1 - g) % info.maxGlobals);
        expect(await t.client.loadGlobal(1, g)).to.equal(last);
      }
      expect(t.emulator!.counters.h2d.faults + t.emulator!.counters.d2h.faults).to.be.above(0);
    } finally {
      await t.close();
    }
  });
});
