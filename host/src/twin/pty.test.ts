import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeCbor } from '../codec/cbor.js';
import { encodeFrame } from '../framing/frame.js';
import { ErrorCode as E, Op } from '../protocol/constants.js';
import { liveChildPids } from '../process/managed.js';
import { MissingToolError } from '../process/tools.js';
import { needTools } from '../testing/tools.js';
import { SerialTransport } from '../transport/serial.js';
import { listenLines } from '../transport/testing/listen.js';
import { TransportError } from '../transport/transport.js';
import { serveTwinOnPty, type ServedTwin } from './pty.js';

const frame = (v: unknown): Buffer => encodeFrame(encodeCbor(v));

/** True while a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A client on the served pty, through serialport, with its received lines decoded. */
async function connect(served: ServedTwin): Promise<{ port: SerialTransport; next(timeoutMs?: number): Promise<unknown> }> {
  // As the targets do: socat's exit ends the link even if serialport misses the pty hangup.
  const port = new SerialTransport({ path: served.path, peer: { label: 'socat', exited: served.process.exited } });
  const { next } = listenLines(port);
  await port.open();
  return { port, next: (timeoutMs = 3000) => next(timeoutMs) };
}

describe('twin on a pty (socat)', function () {
  this.timeout(20_000);
  let served: ServedTwin | undefined;
  let client: SerialTransport | undefined;

  before(function () {
    needTools(this, [['socat', 'socat']]);
  });
  afterEach(async () => {
    await client?.close();
    await served?.close();
    client = served = undefined;
  });

  it('serves the twin: the banner first, then answers; close() leaves no socat process', async () => {
    served = await serveTwinOnPty({ bootNonce: 0x5eed1e55 });
    assert.match(served.path, /^\/dev\/pts\/\d+$/);
    assert.notEqual(served.path, served.devicePath);
    assert.ok(alive(served.pid));
    const c = await connect(served);
    client = c.port;
    assert.equal(await c.next(), served.device.banner().slice(0, -1));
    await client.write(frame([1, Op.hello]));
    const r = (await c.next()) as [number, number, Map<number, unknown>];
    assert.deepEqual([r[0], r[1], r[2].get(9), r[2].get(11)], [1, 0, 0x5eed1e55, 'power_on']);
    await client.write(Buffer.concat([frame([2, Op.acquire, 0]), frame([3, Op.store_global, 0, 1, 9]), frame([4, Op.load_global, 0, 1])]));
    assert.deepEqual([await c.next(), await c.next(), await c.next()], [[2, 0], [3, 0], [4, 0, 9]]);

    const pid = served.pid;
    await client.close();
    client = undefined;
    await served.close();
    assert.equal(alive(pid), false, `socat ${pid} still running`);
    assert.ok(!liveChildPids().includes(pid));
    await served.close(); // twice is safe
  });

  it('a client may close and reopen the same path: same device, no second banner', async () => {
    served = await serveTwinOnPty();
    let c = await connect(served);
    assert.match(String(await c.next()), /^CVM-BOOT /);
    await c.port.write(frame([0, Op.hello]));
    assert.deepEqual(((await c.next()) as unknown[]).slice(0, 2), [0, 0]);
    await c.port.write(frame([1, Op.acquire, 3]));
    assert.deepEqual(await c.next(), [1, 0]);
    await c.port.close();
    c = await connect(served);
    client = c.port;
    await client.write(frame([2, Op.acquire, 3]));
    assert.deepEqual(await c.next(), [2, E.already_acquired], 'the session survives the reopen: the device never saw it');
  });

  it('device.disconnect() ends the client port with an error and reaps socat', async () => {
    served = await serveTwinOnPty();
    const c = await connect(served);
    client = c.port;
    await c.next();
    const closed = new Promise<TransportError | undefined>((resolve) => client!.once('close', resolve));
    served.device.disconnect();
    const error = await closed;
    assert.ok(error instanceof TransportError && error.kind === 'disconnected', String(error));
    await served.close();
    assert.equal(alive(served.pid), false);
  });

  it('a missing socat is an error naming the Debian package', async () => {
    await assert.rejects(serveTwinOnPty({ socat: '/nonexistent/socat' }), (e: unknown) => e instanceof MissingToolError && /Debian package socat/.test(e.message));
  });

  describe('start failures leave no process behind', () => {
    let dir: string;
    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'twin-pty-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('socat that never announces its ptys: bounded wait, clear error, killed', async () => {
      const fake = join(dir, 'silent-socat');
      writeFileSync(fake, '#!/bin/sh\nexec sleep 30\n');
      chmodSync(fake, 0o755);
      const before = new Set(liveChildPids());
      // The message names the bound it gave up at; the test's own timeout proves it does not hang.
      await assert.rejects(serveTwinOnPty({ socat: fake, startTimeoutMs: 300, stopGraceMs: 500 }), /no two "PTY is \/dev\/pts\/N" lines within 300 ms/);
      assert.deepEqual(liveChildPids().filter((p) => !before.has(p)), []);
    });

    it('socat that exits at once: its output in the error', async () => {
      const fake = join(dir, 'failing-socat');
      writeFileSync(fake, '#!/bin/sh\necho "E something is wrong" >&2\nexit 1\n');
      chmodSync(fake, 0o755);
      await assert.rejects(serveTwinOnPty({ socat: fake }), /exited \(exit code 1\).*\n.*E something is wrong/);
    });
  });
});
