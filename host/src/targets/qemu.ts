/**
 * The "qemu" target: the real ARM ELF on Debian's qemu-system-arm (-M netduinoplus2, an STM32F405
 * with the F407's core and USART layout). USART2 is QEMU's second -serial, put on a pty that the
 * serial transport opens, the same code path as a board. QEMU discards output while nobody holds
 * the pty, so it starts halted (-S) and is resumed over QMP only once the pty is open: the boot
 * banner is never lost.
 *
 * The QMP socket lives in a temp folder (`hil-qemu-<pid>-XXXXXX`) only until this process has
 * connected to it: the one connection is held for the machine's life (resume, reset) and the
 * folder is removed at once, QEMU keeping its listening socket open. Should this process be
 * killed before that, the folder goes with the interruption hooks, or (SIGKILL) with the next
 * run's tempDir() (process/interrupt.ts). An abstract socket would need no folder at all, but
 * Node 20 connects to one with the padded address length (QEMU's tight=off), an undocumented
 * detail a later Node could change.
 */
import { connect, type Socket } from 'node:net';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildFirmware, requireTool, type FirmwareConfig } from './toolchain.js';
import { TargetSpecError } from './descriptor.js';
import { ManagedProcess } from '../process/managed.js';
import { tempDir } from '../process/interrupt.js';

export interface RunningQemu {
  path: string;
  process: ManagedProcess;
  /** Resumes the halted guest. */
  resume(): Promise<void>;
  /** Resets the machine (QMP system_reset): the firmware boots again and prints a new banner. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * One QMP connection, held for the machine's life: commands go out one at a time, each resolving
 * when QEMU returns (or rejecting with its error). Events and the greeting are read and dropped.
 */
class Qmp {
  private buf = '';
  private waiting: { command: string; resolve: () => void; reject: (e: Error) => void } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private failure: Error | undefined;

  private constructor(private readonly sock: Socket, private readonly where: string) {
    sock.on('data', (d) => this.onData(d.toString('utf8')));
    sock.on('error', (e) => this.fail(new Error(`QMP on ${where}: ${e.message}`)));
    sock.on('close', () => this.fail(new Error(`QMP on ${where}: the connection closed`)));
  }

  /**
   * Connects (retrying while QEMU has not yet created the socket), reads the greeting and leaves
   * capabilities negotiation, within timeoutMs.
   */
  static async connect(path: string, timeoutMs = 5000): Promise<Qmp> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect(path);
          s.once('connect', () => { s.off('error', reject); resolve(s); });
          s.once('error', reject);
        });
        const q = new Qmp(sock, path);
        try {
          await q.command('qmp_capabilities', Math.max(1000, deadline - Date.now()));
        } catch (e) {
          q.close();
          throw e;
        }
        return q;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if ((code !== 'ENOENT' && code !== 'ECONNREFUSED') || Date.now() >= deadline) throw new Error(`QMP on ${path}: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Sends one command after those before it; resolves when QEMU has returned from it. */
  command(command: string, timeoutMs = 5000): Promise<void> {
    const run = this.queue.then(() => new Promise<void>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`QMP on ${this.where}: no answer to ${command} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = { command, resolve: () => { clearTimeout(timer); resolve(); }, reject: (e) => { clearTimeout(timer); reject(e); } };
      this.sock.write(JSON.stringify({ execute: command }) + '\n');
    }));
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.failure ??= new Error(`QMP on ${this.where}: closed`);
    this.sock.destroy();
  }

  private onData(text: string): void {
    this.buf += text;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
      const w = this.waiting;
      if (!w) continue;
      if (msg.error) {
        this.waiting = undefined;
        w.reject(new Error(`QMP ${w.command}: ${msg.error.desc}`));
      } else if ('return' in msg) {
        this.waiting = undefined;
        w.resolve();
      }
    }
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(this.failure);
  }
}

/**
 * Starts QEMU halted with USART2 on a pty. `elf` runs an ELF the user built (absolute path);
 * without it the package's own ELF of `config` is built if needed.
 */
export async function startQemu(config: FirmwareConfig = 'default', options: { elf?: string } = {}): Promise<RunningQemu> {
  requireTool('qemu-system-arm', 'qemu-system-arm', 'run the ARM firmware under emulation (target qemu)');
  if (options.elf && !existsSync(options.elf)) throw new TargetSpecError(`the ELF ${options.elf} does not exist; build it, or fix firmware.elf`);
  const elf = options.elf ?? (await buildFirmware('arm', config));
  const dir = tempDir('hil-qemu-');
  const sock = join(dir.path, 'qmp.sock');
  const p = new ManagedProcess(`qemu-system-arm (${config})`, 'qemu-system-arm', [
    '-M', 'netduinoplus2', '-nographic', '-monitor', 'none',
    '-serial', 'null', '-serial', 'pty',
    '-qmp', `unix:${sock},server=on,wait=off`,
    '-S', '-kernel', elf,
  ]);
  let qmp: Qmp | undefined;
  const cleanup = async () => {
    qmp?.close();
    await p.stop();
    dir.remove();
  };
  try {
    const m = await p.waitFor(/char device redirected to (\/dev\/pts\/\d+) \(label serial1\)/, 10_000, 'the USART2 pty path');
    // Connected once, for the machine's life; the folder goes at once (QEMU keeps its socket).
    qmp = await Qmp.connect(sock);
    dir.remove();
    const q = qmp;
    return { path: m[1]!, process: p, resume: () => q.command('cont'), reset: () => q.command('system_reset'), close: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
