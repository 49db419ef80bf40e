/**
 * The strategy that brings a described board to "ready" (labgrid's habit: a test asks for a state,
 * not a boot sequence). Per kind:
 *
 *   twin, twin-pty, sim, qemu, tcp   open the target (building the sim / the ELF if needed), hello
 *   serial                           [build, flash with the descriptor's tool (retried once)],
 *                                    open the port, [reset, wait for the banner], hello
 *
 * After a flash the board must show it runs the build just flashed: its banner and hello carry
 * the firmware id and limits of that build, and hello comes from the boot the banner announced.
 * The port is opened before the reset, so the banner (printed once at boot) is never missed.
 *
 * Every process started here (make, openocd, st-flash) is a ManagedProcess, reaped on every path.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { PoolClient, type ClientOptions } from '../client/pool-client.js';
import { BANNER_PREFIX, PROTOCOL_VERSION } from '../protocol/constants.js';
import type { Hello } from '../protocol/messages.js';
import { hasFaultsOn, linkSpecOf, openLink, type OpenTarget } from '../targets/index.js';
import type { LinkSpec } from '../transport/emulator.js';
import { ManagedProcess } from '../targets/process.js';
import { MissingToolError, REPO_ROOT, armElf, buildFirmware, hasTool } from '../targets/toolchain.js';
import { compareWithBuild, expectedFirmware, type ExpectedFirmware } from './build-info.js';
import { displayPath, firmwareConfig, targetSpec, type Board, type FlashTool } from './descriptor.js';

/** A board that cannot be brought to ready; `exitCode` is what the CLI exits with. */
export class BoardError extends Error {
  constructor(message: string, readonly exitCode: number = 3) {
    super(message);
    this.name = 'BoardError';
  }
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

export interface PrepareOptions {
  /** Build and flash the image first (serial boards only); then reset, wait for the banner and verify. */
  flash?: boolean;
  /** Reset once the port is open and wait for the banner, without flashing. */
  reset?: boolean;
  /** Build the image when it is a firmware/build product (default true). */
  build?: boolean;
  /** Progress, one line a step. */
  onStep?: (line: string) => void;
  /** Overrides the descriptor's client options. */
  client?: ClientOptions;
  /** Overrides the descriptor's `link` (the link emulator); "none" runs it on a clean link. */
  link?: LinkSpec | string;
}

/** A board at "ready": an open target that said hello, plus what it took to get there. */
export interface ReadyBoard extends OpenTarget {
  board: Board;
  /** The target spec the descriptor mapped to. */
  spec: string;
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
function defaultPortName(b: Board): string {
  return b.kind === 'sim' ? 'sim' : 'stm32f407';
}

/** The build a board is expected to run; undefined for the twin (it is not firmware). */
export function expectedBuild(b: Board): ExpectedFirmware | undefined {
  if (b.kind === 'twin' || b.kind === 'twin-pty') return undefined;
  return expectedFirmware(firmwareConfig(b), b.firmware?.port ?? defaultPortName(b));
}

/** The image a board is flashed with, absolute; and whether it is a firmware/build product to build first. */
export function flashImage(b: Board): { image: string; built: boolean } {
  const f = b.flash!;
  const config = firmwareConfig(b);
  const rel = f.image ?? (f.tool === 'st-flash' ? armElf(config).replace(/\.elf$/, '.bin') : armElf(config));
  const image = isAbsolute(rel) ? rel : join(REPO_ROOT, rel);
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
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void p.stop();
  }, timeoutMs);
  await p.exited;
  clearTimeout(timer);
  return { exitCode: p.exitCode, signal: p.exitSignal, timedOut, output: p.output };
}

function requireCommand(b: Board, tool: FlashTool, command: string, purpose: string): void {
  if (command.includes('/')) {
    if (!existsSync(command)) throw new BoardError(`${b.name}: ${command} (the ${tool} command in ${displayPath(b.file)}) does not exist`, 2);
  } else if (!hasTool(command)) {
    throw new MissingToolError(command, DEBIAN_PACKAGE[tool], `${purpose} (board ${b.name})`);
  }
}

/**
 * Builds the image if it is a firmware/build product, then runs the descriptor's flash tool,
 * retrying once. Throws FlashError (exit 4) with each attempt's output when both fail.
 */
export async function flashBoard(b: Board, options: { build?: boolean; onStep?: (line: string) => void } = {}): Promise<FlashReport> {
  const step = options.onStep ?? (() => {});
  if (b.kind !== 'serial' || !b.flash) {
    const why = b.kind === 'serial' ? `${displayPath(b.file)} has no "flash" section` : `kind ${b.kind} is not flashed (${b.kind === 'sim' || b.kind === 'qemu' ? 'it runs the image it is started with, built when it starts' : b.kind === 'tcp' ? 'flash it on the machine it is plugged into' : 'it is not firmware'})`;
    throw new BoardError(`${b.name}: cannot flash: ${why}`, 2);
  }
  const f = b.flash;
  const { image, built } = flashImage(b);
  if (built && options.build !== false) {
    const config = firmwareConfig(b);
    step(`build    make -C firmware arm CONFIG=${config}`);
    await buildFirmware('arm', config);
  }
  if (!existsSync(image)) {
    throw new BoardError(`${b.name}: the image ${image} does not exist${built ? ` (build it: make -C firmware arm CONFIG=${firmwareConfig(b)})` : ''}`, 2);
  }
  const command = f.command ?? f.tool;
  requireCommand(b, f.tool, command, 'flash the firmware');
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

/** Runs the descriptor's reset tool (nothing for "none"); throws BoardError with the tool's output on failure. */
export async function resetBoard(b: Board, onStep: (line: string) => void = () => {}): Promise<void> {
  const r = b.reset;
  if (!r || r.tool === 'none') return;
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

/**
 * Collects the banners a client receives from now on; wait() resolves with the first, bounded.
 * With `anyLine`, any line or damaged line counts (a lossy link may damage the banner itself).
 */
function bannerWatch(client: PoolClient, options: { anyLine?: boolean } = {}): { wait(timeoutMs: number, onTimeout: () => string): Promise<string>; stop(): void } {
  const seen: string[] = [];
  let notify: (() => void) | undefined;
  const onLog = (text: string) => {
    if (!text.startsWith(BANNER_PREFIX) && !options.anyLine) return;
    seen.push(text);
    notify?.();
  };
  const onDefect = (_d: unknown, line: Buffer) => {
    if (options.anyLine) onLog(line.toString('latin1'));
  };
  client.on('log', onLog);
  client.on('defect', onDefect);
  const stop = () => {
    client.off('log', onLog);
    client.off('defect', onDefect);
  };
  return {
    stop,
    wait: (timeoutMs, onTimeout) =>
      new Promise<string>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          notify = undefined;
          stop();
          resolve(seen[0]!);
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
 * Brings a described board to ready and returns it open, handshaken (the same shape as
 * openTarget's, plus what it took). With `flash`, the board is built, flashed, reset, and checked
 * against the build (VerifyError when it runs something else). Everything it opened or started is
 * released if a step fails.
 */
export async function prepareBoard(b: Board, options: PrepareOptions = {}): Promise<ReadyBoard> {
  const step = options.onStep ?? (() => {});
  const flash = options.flash ? await flashBoard(b, { build: options.build, onStep: step }) : undefined;
  if (options.reset && b.kind !== 'serial' && !options.flash) throw new BoardError(`${b.name}: kind ${b.kind} has no reset step (only serial boards are reset)`, 2);
  const spec = targetSpec(b);
  const linkSpec = linkSpecOf(options.link ?? b.link, options.link !== undefined ? '--link' : `${displayPath(b.file)}: /link`);
  step(`open     ${spec}`);
  const link = await openLink(spec, { link: linkSpec });
  if (link.emulator) step(`link     ${link.emulator.name}`);
  const cleanups: Array<() => Promise<void>> = [() => link.close()];
  const closeAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };
  try {
    const client = new PoolClient(link.transport, { ...(b.requestTimeoutMs ? { timeoutMs: b.requestTimeoutMs } : {}), ...options.client });
    cleanups.push(() => client.close());
    // Through a lossy emulated link a halted target's banner may arrive damaged: any line proves it is up.
    const watch = bannerWatch(client, { anyLine: !!link.start && hasFaultsOn(link) });
    await client.open();
    let banner: string | undefined;
    const bannerMs = b.bannerTimeoutMs ?? DEFAULT_BANNER_TIMEOUT_MS;
    if (link.start) {
      // A halted target (QEMU) is started only now that its port is open.
      await link.start();
      const first = await watch.wait(Math.max(bannerMs, 10_000), () => `${b.name}: no boot banner ("${BANNER_PREFIX} ...") within ${Math.max(bannerMs, 10_000)} ms of starting it`);
      if (first.startsWith(BANNER_PREFIX)) banner = first;
    } else if (flash || options.reset) {
      await resetBoard(b, step);
      const resetHow = !b.reset || b.reset.tool === 'none' ? 'reset method none: the board must boot when its port is opened; give /reset in the descriptor' : `after ${b.reset.tool} reset it`;
      banner = await watch.wait(bannerMs, () => `${b.name}: no boot banner ("${BANNER_PREFIX} ...") within ${bannerMs} ms on ${link.transport.name} (${resetHow}); check the wiring (board TX → adapter RX) and the baud rate`);
    } else {
      watch.stop();
    }
    if (banner) step(`banner   ${banner}`);
    const hello = await client.hello();
    step(`hello    ${hello.firmwareId}, ${hello.maxVms} contexts × ${hello.maxGlobals} globals, ${hello.maxArrays} arrays × ${hello.arrayElements} elements, nonce ${hello.bootNonce.toString(16).padStart(8, '0')}`);
    let verified: ExpectedFirmware | undefined;
    if (flash) {
      const expected = expectedBuild(b)!;
      const mismatches = compareWithBuild(expected, banner, hello, PROTOCOL_VERSION);
      if (mismatches.length) throw new VerifyError(b.name, mismatches);
      verified = expected;
      step(`verify   banner and hello match the build: ${expected.firmwareId}`);
    }
    return {
      name: b.name,
      client,
      transport: link.transport,
      ...(link.emulator ? { emulator: link.emulator } : {}),
      close: closeAll,
      board: b,
      spec,
      hello,
      ...(banner ? { banner } : {}),
      ...(flash ? { flash } : {}),
      ...(verified ? { verified } : {}),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}
