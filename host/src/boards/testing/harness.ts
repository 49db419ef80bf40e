/**
 * Test support for board strategies: the sim standing in for a flashed board, and a stand-in
 * flash tool.
 *
 * The "board": the sim (firmware/port/host, --pty) behind a pty made by socat with wait-slave, so
 * that, like a board reset once its port is open, the banner arrives after the host opened the
 * port (serialport flushes a port's queues when it opens it, so a banner written before is lost):
 *
 *     socat pty,raw,echo=0,wait-slave,pty-interval=0.01,link=DIR/ttyBOARD  SIM_PTY,raw,echo=0
 *
 * socat opens the sim's pty only once the host has opened DIR/ttyBOARD, then relays what the sim
 * wrote (its banner, held in its pty) and everything after. One host open per harness: socat ends
 * when the host closes the port. Both processes are ManagedProcesses.
 *
 * The flasher: a shell script that appends its arguments to DIR/flash-calls (one line per call)
 * and exits with the code on line N of DIR/flash-plan for call N (0 when there is no such line).
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManagedProcess } from '../../process/managed.js';
import { startSim } from '../../targets/sim.js';

export interface SimBoard {
  /** The port the host opens, as a board's. */
  path: string;
  close(): Promise<void>;
}

export async function startSimBoard(dir: string): Promise<SimBoard> {
  const sim = await startSim('default');
  const path = join(dir, `ttyBOARD-${sim.process.pid}`);
  let socat: ManagedProcess | undefined;
  try {
    socat = new ManagedProcess('socat (sim board)', 'socat', [
      `pty,raw,echo=0,wait-slave,pty-interval=0.01,link=${path}`,
      `${sim.path},raw,echo=0`,
    ]);
    for (let i = 0; i < 250 && !existsSync(path); i++) {
      if (!socat.running) throw new Error(`socat exited: ${socat.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    if (!existsSync(path)) throw new Error(`socat did not create ${path} within 5 s: ${socat.output}`);
  } catch (e) {
    await socat?.stop();
    await sim.close();
    throw e;
  }
  const s = socat;
  return {
    path,
    close: async () => {
      await s.stop();
      await sim.close();
    },
  };
}

export interface StandInFlasher {
  dir: string;
  /** The script's path (a descriptor's flash.command). */
  command: string;
  /** A dummy image (a descriptor's flash.image; not under firmware/build, so nothing is built). */
  image: string;
  /** Sets the exit codes of the next calls, in order. */
  plan(codes: number[]): void;
  /** The argument lists of the calls so far. */
  calls(): string[];
  remove(): void;
}

export function makeStandInFlasher(): StandInFlasher {
  const dir = mkdtempSync(join(tmpdir(), 'hil-flash-'));
  const command = join(dir, 'fake-openocd');
  const image = join(dir, 'cvm-fw.elf');
  writeFileSync(image, 'not really an ELF\n');
  writeFileSync(
    command,
    [
      '#!/bin/sh',
      `dir='${dir}'`,
      'echo "$*" >> "$dir/flash-calls"',
      'n=$(wc -l < "$dir/flash-calls")',
      'code=$(sed -n "${n}p" "$dir/flash-plan" 2>/dev/null)',
      'code=${code:-0}',
      'echo "stand-in flasher: call $n, programming $*"',
      'if [ "$code" != 0 ]; then echo "Error: init mode failed (unable to connect to the target)" >&2; fi',
      'exit "$code"',
      '',
    ].join('\n'),
  );
  chmodSync(command, 0o755);
  return {
    dir,
    command,
    image,
    plan: (codes) => writeFileSync(join(dir, 'flash-plan'), codes.map((c) => `${c}\n`).join('')),
    calls: () => (existsSync(join(dir, 'flash-calls')) ? readFileSync(join(dir, 'flash-calls'), 'utf8').split('\n').filter(Boolean) : []),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A descriptor (as JSON) for the sim board flashed with the stand-in, named after its file. */
export function simBoardDescriptor(name: string, board: { path: string }, flasher: StandInFlasher): Record<string, unknown> {
  return {
    name,
    kind: 'serial',
    firmware: { config: 'default', port: 'sim' },
    port: { path: board.path },
    flash: { tool: 'openocd', command: flasher.command, args: ['-f', 'board/stm32f4discovery.cfg', '-c', 'program {image} verify reset exit'], image: flasher.image, timeoutMs: 10_000 },
    reset: { tool: 'none' },
    bannerTimeoutMs: 5000,
  };
}
