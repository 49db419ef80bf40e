/**
 * The strategy: the one way any target reaches "ready" (labgrid's habit: a test asks for a state,
 * not a boot sequence). Whatever named the target (a --target spec, a board file, a config file's
 * default), it arrives here as a descriptor (descriptor.ts), and:
 *
 *   [build and flash with the descriptor's tool, retried once]   (serial boards, with `flash`)
 *   open the link (start socat / the sim / QEMU, building the sim or ELF if needed)
 *   open the client with the descriptor's request timeout
 *   [start a halted target; reset; wait for the banner]
 *   hello
 *   [verify that banner and hello are the build just flashed]
 *
 * The port is opened before the reset (or before QEMU is started), so the banner, printed once at
 * boot, is never missed. Every process started here (make, openocd, st-flash, and those openLink
 * starts) is a ManagedProcess, and everything is released, in reverse, if a step fails.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PoolClient, type ClientOptions } from '../client/pool-client.js';
import { BANNER_PREFIX, PROTOCOL_VERSION } from '../protocol/constants.js';
import type { Hello } from '../protocol/messages.js';
import type { LinkEmulator } from '../transport/emulator.js';
import { TransportError, type Transport } from '../transport/transport.js';
import { hasControlLines } from '../transport/rfc2217.js';
import { ManagedProcess } from '../process/managed.js';
import { MissingToolError, hasTool } from '../process/tools.js';
import { REPO_ROOT, armElf, buildFirmware } from './toolchain.js';
import { compareWithBuild, expectedFirmware, type ExpectedFirmware } from './build-info.js';
import { firmwareConfig, resolveIn, toTarget, whereOf, type FlashTool, type Target } from './descriptor.js';
import { Cleanup, hasFaultsOn, openLink, type LinkOptions } from './link.js';

/** A target at "ready": an open client that said hello, and what closes it all. */
export interface OpenTarget {
  /** The descriptor's name: the board's, or the spec it was parsed from (e.g. "twin"). */
  name: string;
  client: PoolClient;
  /**
   * The link under the client: the target's own transport (a twin's carries the fault controls,
   * TwinTransport.device), or the link emulator in front of it (then `emulator.inner` is it).
   */
  transport: Transport;
  /** The link emulator the target runs through, when one was asked for: its counters, seed and cut(). */
  emulator?: LinkEmulator;
  /**
   * Reboots the device as its reset pin would (the twin's reboot('pin'), the sim's reset pulse,
   * QEMU's system_reset, a board's descriptor reset step) and waits for its new banner; resolves
   * with it (undefined when a lossy link damaged it: any line then proves the reboot). The
   * client's next request must be hello (the banner marks the reset, PoolClient.resetPending).
   * Undefined for a target that cannot be reset from here (a board without a reset step, tcp).
   */
  reset?: () => Promise<string | undefined>;
  /** Closes the client and everything the target started (ports, processes); never rejects. */
  close(): Promise<void>;
}

/** A board that cannot be brought to ready; `exitCode` is what the CLI exits with. */
export class BoardError extends Error {
  constructor(message: string, readonly exitCode: number = 3) {
    super(message);
    this.name = 'BoardError';
  }
}

/**
 * Someone else holds the board: a local lock (another hil run, minicom, picocom, ser2net on this
 * machine) or the remote server refused this client ("Port already in use"). Exit code 3: nothing
 * is wrong with the firmware or the setup; run again when the other user is done.
 */
export class BoardBusy extends BoardError {
  constructor(message: string) {
    super(message, 3);
    this.name = 'BoardBusy';
  }
}

/**
 * The link's own diagnosis, when bringing a target up failed because of what the far end is
 * rather than the cable: busy (BoardBusy, exit 3), or another protocol than the spec says, such
 * as telnet on a tcp:// link (BoardError, exit 2: the spec is the user's to fix). Looks through
 * the cause chain (a request fails with ClientClosed caused by the transport's error).
 */
export function boardErrorOf(e: unknown): BoardError | undefined {
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 8; c = c.cause, depth++) {
    if (c instanceof BoardError) return c;
    if (c instanceof TransportError && c.kind === 'busy') return new BoardBusy(c.message);
    if (c instanceof TransportError && c.kind === 'mismatch') return new BoardError(c.message, 2);
  }
  return undefined;
}

/** One run of the flash tool. */
export interface FlashAttempt {
  attempt: number;
  commandLine: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** The tool's output, both streams (last 16 KiB). */
  output: string;
}

/** The flash tool failed on every attempt (exit code 4). */
export class FlashError extends BoardError {
  constructor(readonly board: string, readonly tool: string, readonly attempts: FlashAttempt[]) {
    const how = (a: FlashAttempt) => (a.timedOut ? 'timed out' : a.signal ? `killed by ${a.signal}` : `exit ${a.exitCode}`);
    super(
      [
        `${board}: flashing failed: ${tool} failed on all ${attempts.length} attempts (${attempts.map(how).join(', ')})`,
        ...attempts.flatMap((a) => [`--- attempt ${a.attempt} of ${attempts.length}: ${a.commandLine} (${how(a)}); its output:`, a.output.trimEnd() || '(none)']),
      ].join('\n'),
      4,
    );
    this.name = 'FlashError';
  }
}

/** The board answers, but not with the build just flashed (exit code 4: the flash did not take). */
export class VerifyError extends BoardError {
  constructor(readonly board: string, readonly mismatches: string[]) {
    super(`${board}: after flashing, the board does not run the build just flashed:\n  ${mismatches.join('\n  ')}`, 4);
    this.name = 'VerifyError';
  }
}

export interface FlashReport {
  image: string;
  tool: FlashTool;
  attempts: FlashAttempt[];
}

export interface PrepareOptions extends LinkOptions {
  /** Build and flash the image first (serial boards only); then reset, wait for the banner and verify. */
  flash?: boolean;
  /** Reset once the port is open and wait for the banner, without flashing. */
  reset?: boolean;
  /** Build the image when it is a firmware/build product (default true). */
  build?: boolean;
  /** Progress, one line a step. */
  onStep?: (line: string) => void;
  /** Overrides the client options the descriptor gives (requestTimeoutMs → timeoutMs). */
  client?: ClientOptions;
}

/** A target at "ready", plus what it took to get there. */
export interface ReadyTarget extends OpenTarget {
  /** The descriptor it was brought up from (every field of it was used). */
  board: Target;
  hello: Hello;
  /** The boot banner, when a reset or a flash made the board print one. */
  banner?: string;
  flash?: FlashReport;
  /** The build the board was checked against (hello and banner match it). */
  verified?: ExpectedFirmware;
}

const DEBIAN_PACKAGE: Record<FlashTool, string> = { openocd: 'openocd', 'st-flash': 'stlink-tools' };
const DEFAULT_FLASH_TIMEOUT_MS = 120_000;
const DEFAULT_RESET_TIMEOUT_MS = 30_000;
const DEFAULT_BANNER_TIMEOUT_MS = 5000;
const FLASH_ATTEMPTS = 2;

/** A command line as a person would type it (arguments with spaces quoted). */
export function commandLine(command: string, args: string[]): string {
  return [command, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The firmware port a kind runs when the descriptor does not say. */
function defaultPortName(b: Target): string {
  return b.kind === 'sim' ? 'sim' : 'stm32f407';
}

/** The build a board is expected to run; undefined for the twin (it is not firmware). */
export function expectedBuild(b: Target): ExpectedFirmware | undefined {
  if (b.kind === 'twin' || b.kind === 'twin-pty') return undefined;
  return expectedFirmware(firmwareConfig(b), b.firmware?.port ?? defaultPortName(b));
}

/** The image a board is flashed with, absolute; and whether it is a firmware/build product to build first. */
export function flashImage(b: Target): { image: string; built: boolean } {
  const f = b.flash!;
  const config = firmwareConfig(b);
  const image = f.image ? resolveIn(b, f.image) : f.tool === 'st-flash' ? armElf(config).replace(/\.elf$/, '.bin') : armElf(config);
  const built = image.startsWith(join(REPO_ROOT, 'firmware', 'build', config, 'arm') + '/');
  return { image, built };
}

/** Runs a tool to completion within timeoutMs; never rejects (a start failure is an attempt that failed). */
async function runTool(label: string, command: string, args: string[], timeoutMs: number): Promise<Omit<FlashAttempt, 'attempt' | 'commandLine'>> {
  let p: ManagedProcess;
  try {
    p = new ManagedProcess(label, command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return { exitCode: null, signal: null, timedOut: false, output: (e as Error).message };
  }
  const { timedOut } = await p.exitWithin(timeoutMs);
  return { exitCode: p.exitCode, signal: p.exitSignal, timedOut, output: p.output };
}

function requireCommand(b: Target, tool: FlashTool, command: string, purpose: string): void {
  if (command.includes('/')) {
    if (!existsSync(command)) throw new BoardError(`${b.name}: ${command} (the ${tool} command in ${whereOf(b)}) does not exist`, 2);
  } else if (!hasTool(command)) {
    throw new MissingToolError(command, DEBIAN_PACKAGE[tool], `${purpose} (board ${b.name})`);
  }
}

/**
 * Builds the image if it is a firmware/build product, then runs the descriptor's flash tool,
 * retrying once. Throws FlashError (exit 4) with each attempt's output when both fail.
 */
export async function flashBoard(b: Target, options: { build?: boolean; onStep?: (line: string) => void } = {}): Promise<FlashReport> {
  const step = options.onStep ?? (() => {});
  if (b.kind !== 'serial' || !b.flash) {
    const why = b.kind === 'serial' ? `${whereOf(b)} has no "flash" section` : `kind ${b.kind} is not flashed (${b.kind === 'sim' || b.kind === 'qemu' ? 'it runs the image it is started with, built when it starts' : b.kind === 'tcp' || b.kind === 'rfc2217' ? 'flash it on the machine it is plugged into' : 'it is not firmware'})`;
    throw new BoardError(`${b.name}: cannot flash: ${why}`, 2);
  }
  const f = b.flash;
  const { image, built } = flashImage(b);
  // Every tool the flash needs is checked before the build, so a missing one is found at once.
  const command = f.command ?? f.tool;
  requireCommand(b, f.tool, command, 'flash the firmware');
  if (b.reset && b.reset.tool !== 'none' && b.reset.tool !== 'lines') requireCommand(b, b.reset.tool, b.reset.command ?? b.reset.tool, 'reset the board');
  if (built && options.build !== false) {
    const config = firmwareConfig(b);
    step(`build    make -C firmware arm CONFIG=${config}`);
    await buildFirmware('arm', config);
  }
  if (!existsSync(image)) {
    throw new BoardError(`${b.name}: the image ${image} does not exist${built ? ` (build it: make -C firmware arm CONFIG=${firmwareConfig(b)})` : ''}`, 2);
  }
  const args = f.args.map((a) => a.split('{image}').join(image));
  const line = commandLine(command, args);
  const attempts: FlashAttempt[] = [];
  for (let attempt = 1; attempt <= FLASH_ATTEMPTS; attempt++) {
    step(`flash    ${line}   (attempt ${attempt} of ${FLASH_ATTEMPTS})`);
    const r = await runTool(`${f.tool} (${b.name})`, command, args, f.timeoutMs ?? DEFAULT_FLASH_TIMEOUT_MS);
    attempts.push({ attempt, commandLine: line, ...r });
    if (r.exitCode === 0 && !r.timedOut) return { image, tool: f.tool, attempts };
    const how = r.timedOut ? `timed out after ${f.timeoutMs ?? DEFAULT_FLASH_TIMEOUT_MS} ms` : r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
    step(`flash    attempt ${attempt} failed (${how})${attempt < FLASH_ATTEMPTS ? '; retrying' : ''}`);
  }
  throw new FlashError(b.name, f.tool, attempts);
}

/**
 * Runs the descriptor's reset step: nothing for "none"; for "lines", pulses DTR or RTS on `link`
 * (the open transport, or the link emulator in front of it); else runs the tool. Throws BoardError
 * with the tool's output, or naming the link that cannot drive the line.
 */
export async function resetBoard(b: Target, onStep: (line: string) => void = () => {}, link?: Transport): Promise<void> {
  const r = b.reset;
  if (!r || r.tool === 'none') return;
  if (r.tool === 'lines') return pulseLine(b, r.line ?? 'rts', r.pulseMs ?? DEFAULT_PULSE_MS, onStep, link);
  const command = r.command ?? r.tool;
  requireCommand(b, r.tool, command, 'reset the board');
  const args = r.args ?? [];
  const line = commandLine(command, args);
  onStep(`reset    ${line}`);
  const res = await runTool(`${r.tool} reset (${b.name})`, command, args, r.timeoutMs ?? DEFAULT_RESET_TIMEOUT_MS);
  if (res.exitCode !== 0 || res.timedOut) {
    throw new BoardError(`${b.name}: reset failed: ${line} ${res.timedOut ? 'timed out' : `exited ${res.signal ?? res.exitCode}`}; its output:\n${res.output.trimEnd() || '(none)'}`, 3);
  }
}

const DEFAULT_PULSE_MS = 100;

/** Asserts `line` for pulseMs and releases it, on the first transport of `link` (or what it wraps) that drives control lines. */
async function pulseLine(b: Target, line: 'dtr' | 'rts', pulseMs: number, onStep: (line: string) => void, link: Transport | undefined): Promise<void> {
  let t: unknown = link;
  while (t && !hasControlLines(t)) t = (t as { inner?: unknown }).inner;
  if (!hasControlLines(t)) {
    throw new BoardError(`${b.name}: reset by ${line.toUpperCase()} needs an open ${link ? `link that drives control lines (${link.name} does not)` : 'link'}: kinds serial and rfc2217 do`, 2);
  }
  onStep(`reset    pulse ${line.toUpperCase()} for ${pulseMs} ms`);
  try {
    await t.setControlLines({ [line]: true });
    await new Promise((r) => setTimeout(r, pulseMs));
    await t.setControlLines({ [line]: false });
  } catch (e) {
    throw new BoardError(`${b.name}: reset failed: ${(e as Error).message}`, 3);
  }
}

/**
 * How long bytes that arrived without their line end may wait for it, on a link that damages
 * device → host bytes, before they count as a damaged banner: its '\n' may have been the byte lost,
 * and a freshly booted device prints nothing more until the host speaks. Long against a banner's
 * own time on the wire (about 8 ms at 115200 baud, plus an adapter's latency timer).
 */
const CUT_LINE_GRACE_MS = 500;

/**
 * Collects the banners a client receives from now on; wait() resolves with the first, bounded.
 * With `anyLine` (a link that damages bytes), any line or damaged line counts, since the banner
 * itself may be damaged; and so do bytes that never reach a line end within CUT_LINE_GRACE_MS
 * (pass the client's `transport` to see them): wait() then resolves with '' (not a banner).
 */
function bannerWatch(
  client: PoolClient,
  options: { anyLine?: boolean; transport?: Transport } = {},
): { wait(timeoutMs: number, onTimeout: () => string): Promise<string>; stop(): void; first(): string | undefined } {
  const seen: string[] = [];
  let notify: (() => void) | undefined;
  let cut: ReturnType<typeof setTimeout> | undefined;
  const onLog = (text: string) => {
    if (!text.startsWith(BANNER_PREFIX) && !options.anyLine) return;
    seen.push(text);
    notify?.();
  };
  const onDefect = (_d: unknown, line: Buffer) => {
    if (options.anyLine) onLog(line.toString('latin1'));
  };
  // Whichever of the client's listener and this one runs first, a line the chunk completes
  // reaches onLog, which ends the wait and with it the grace.
  const onData = () => {
    if (cut === undefined && !seen.length) cut = setTimeout(() => onLog(''), CUT_LINE_GRACE_MS);
  };
  const watchBytes = options.anyLine ? options.transport : undefined;
  client.on('log', onLog);
  client.on('defect', onDefect);
  watchBytes?.on('data', onData);
  const stop = () => {
    client.off('log', onLog);
    client.off('defect', onDefect);
    watchBytes?.off('data', onData);
    if (cut !== undefined) clearTimeout(cut);
  };
  return {
    stop,
    /** The first banner seen so far (without waiting), then stops watching. */
    first: () => {
      stop();
      return seen.find((l) => l.startsWith(BANNER_PREFIX));
    },
    wait: (timeoutMs, onTimeout) =>
      new Promise<string>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          notify = undefined;
          stop();
          resolve(seen.find((l) => l.startsWith(BANNER_PREFIX)) ?? seen[0]!);
        };
        const timer = setTimeout(() => {
          notify = undefined;
          stop();
          reject(new BoardError(onTimeout(), 3));
        }, timeoutMs);
        if (seen.length) done();
        else notify = done;
      }),
  };
}

/**
 * Brings a target to ready and returns it open, handshaken, with what it took (see the file
 * comment). Every field of the descriptor is used: the kind and its port, url or firmware
 * artefacts, baud, link, requestTimeoutMs, bannerTimeoutMs, flash and reset. With `flash`, a serial
 * board is built, flashed, reset, and checked against the build (VerifyError when it runs something
 * else). Everything it opened or started is released if a step fails.
 */
export async function bringUp(target: string | Target, options: PrepareOptions = {}): Promise<ReadyTarget> {
  const b = toTarget(target);
  const step = options.onStep ?? (() => {});
  if (options.reset && b.kind !== 'serial' && b.kind !== 'rfc2217' && !options.flash) throw new BoardError(`${b.name}: kind ${b.kind} has no reset step (only serial and rfc2217 boards are reset)`, 2);
  const flash = options.flash ? await flashBoard(b, { ...(options.build !== undefined ? { build: options.build } : {}), onStep: step }) : undefined;
  step(`open     ${b.name} (${b.kind})`);
  const link = await openLink(b, options.link !== undefined ? { link: options.link } : {});
  if (link.emulator) step(`link     ${link.emulator.name}`);
  const cleanup = new Cleanup();
  cleanup.push(() => link.close());
  try {
    // The line's rate, when known: the emulator's pace, else a serial or RFC 2217 port's baud.
    const lineBaud = link.emulator?.spec.baud ?? (b.kind === 'serial' || b.kind === 'rfc2217' ? b.baud : undefined);
    const client = new PoolClient(link.transport, { ...(b.requestTimeoutMs !== undefined ? { timeoutMs: b.requestTimeoutMs } : {}), ...(lineBaud !== undefined ? { lineBaud } : {}), ...options.client });
    cleanup.push(() => client.close());
    // Through a lossy emulated link a halted target's banner may arrive damaged: any line proves it is up.
    const watch = bannerWatch(client, { anyLine: !!link.start && hasFaultsOn(link), transport: link.transport });
    await client.open();
    let banner: string | undefined;
    const bannerMs = b.bannerTimeoutMs ?? DEFAULT_BANNER_TIMEOUT_MS;
    if (link.start) {
      // A halted target (QEMU) is started only now that its port is open.
      const startMs = Math.max(bannerMs, 10_000);
      await link.start();
      const first = await watch.wait(startMs, () => `${b.name}: no boot banner ("${BANNER_PREFIX} ...") within ${startMs} ms of starting it`);
      if (first.startsWith(BANNER_PREFIX)) banner = first;
    } else if (flash || options.reset) {
      await resetBoard(b, step, link.transport);
      const resetHow = !b.reset || b.reset.tool === 'none' ? 'reset method none: the board must boot when its port is opened; give /reset in the descriptor' : `after ${b.reset.tool} reset it`;
      banner = await watch.wait(bannerMs, () => `${b.name}: no boot banner ("${BANNER_PREFIX} ...") within ${bannerMs} ms on ${link.transport.name} (${resetHow}); check the wiring (board TX → adapter RX) and the baud rate`);
    }
    const hello = await client.hello();
    // A target that boots as its port opens (the twin) prints its banner before hello's answer:
    // keep it, without waiting for one a running board will never print.
    if (!link.start && !flash && !options.reset) banner = watch.first();
    if (banner) step(`banner   ${banner}`);
    step(`hello    ${hello.firmwareId}, ${hello.maxVms} contexts × ${hello.maxGlobals} globals, ${hello.maxArrays} arrays × ${hello.arrayElements} elements, nonce ${hello.bootNonce.toString(16).padStart(8, '0')}`);
    let verified: ExpectedFirmware | undefined;
    if (flash) {
      const expected = expectedBuild(b)!;
      const mismatches = compareWithBuild(expected, banner, hello, PROTOCOL_VERSION);
      if (mismatches.length) throw new VerifyError(b.name, mismatches);
      verified = expected;
      step(`verify   banner and hello match the build: ${expected.firmwareId}`);
    }
    const pull = link.reset ?? (b.reset && b.reset.tool !== 'none' && (b.kind === 'serial' || b.kind === 'rfc2217') ? () => resetBoard(b, () => {}, link.transport) : undefined);
    // As long as a start: a reset boots the firmware again from the beginning.
    const resetMs = link.start ? Math.max(bannerMs, 10_000) : bannerMs;
    const reset = pull
      ? async (): Promise<string | undefined> => {
          const w = bannerWatch(client, { anyLine: hasFaultsOn(link), transport: link.transport });
          try {
            await pull();
          } catch (e) {
            w.stop();
            throw boardErrorOf(e) ?? e;
          }
          const line = await w.wait(resetMs, () => `${b.name}: no boot banner ("${BANNER_PREFIX} ...") within ${resetMs} ms of resetting it`);
          return line.startsWith(BANNER_PREFIX) ? line : undefined;
        }
      : undefined;
    return {
      name: b.name,
      client,
      transport: link.transport,
      ...(link.emulator ? { emulator: link.emulator } : {}),
      ...(reset ? { reset } : {}),
      close: () => cleanup.run(),
      board: b,
      hello,
      ...(banner ? { banner } : {}),
      ...(flash ? { flash } : {}),
      ...(verified ? { verified } : {}),
    };
  } catch (e) {
    await cleanup.run();
    throw boardErrorOf(e) ?? e;
  }
}

/**
 * A spec or a descriptor brought to ready (bringUp), with client options given flat as before:
 * `openTarget('sim', { timeoutMs: 500, link: 'ber=1e-3' })`.
 */
export async function openTarget(target: string | Target, options: ClientOptions & LinkOptions = {}): Promise<ReadyTarget> {
  const { link, ...client } = options;
  return bringUp(target, { client, ...(link !== undefined ? { link } : {}) });
}
