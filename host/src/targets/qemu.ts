/**
 * The "qemu" target: the real ARM ELF on Debian's qemu-system-arm (-M netduinoplus2, an STM32F405
 * with the F407's core and USART layout). USART2 is QEMU's second -serial, put on a pty that the
 * serial transport opens, the same code path as a board. QEMU discards output while nobody holds
 * the pty, so it starts halted (-S) and is resumed over QMP only once the pty is open: the boot
 * banner is never lost.
 *
 * The QMP socket lives in a temp folder (`hil-qemu-<pid>-XXXXXX`) only until the guest is resumed:
 * nothing needs it after that, and QEMU keeps its listening socket open. Should this process be
 * killed before that, the folder goes with the interruption hooks, or (SIGKILL) with the next
 * run's tempDir() (process/interrupt.ts). An abstract socket would need no folder at all, but
 * Node 20 connects to one with the padded address length (QEMU's tight=off), an undocumented
 * detail a later Node could change.
 */
import { connect } from 'node:net';
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
  close(): Promise<void>;
}

/** Sends QMP commands in order over the unix socket and resolves when each has returned. */
async function qmp(socketPath: string, commands: string[], timeoutMs = 5000): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const sock = connect(socketPath);
    let buf = '';
    let greeted = false;
    let pending = [...commands];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`QMP on ${socketPath}: no answer within ${timeoutMs} ms (waiting for ${pending[0] ?? 'greeting'})`));
    }, timeoutMs);
    const sendNext = () => {
      const c = pending[0];
      if (c === undefined) {
        clearTimeout(timer);
        sock.end();
        resolve();
        return;
      }
      sock.write(JSON.stringify({ execute: c }) + '\n');
    };
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { QMP?: unknown; return?: unknown; error?: { desc: string } };
        if (msg.QMP && !greeted) {
          greeted = true;
          sendNext();
        } else if (msg.error) {
          clearTimeout(timer);
          sock.destroy();
          reject(new Error(`QMP ${pending[0]}: ${msg.error.desc}`));
        } else if ('return' in msg) {
          pending = pending.slice(1);
          sendNext();
        }
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`QMP on ${socketPath}: ${e.message}`));
    });
  });
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
  const cleanup = async () => {
    await p.stop();
    dir.remove();
  };
  const resume = async () => {
    await qmp(sock, ['qmp_capabilities', 'cont']);
    dir.remove();
  };
  try {
    const m = await p.waitFor(/char device redirected to (\/dev\/pts\/\d+) \(label serial1\)/, 10_000, 'the USART2 pty path');
    return { path: m[1]!, process: p, resume, close: cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
