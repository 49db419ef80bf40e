/**
 * `hil flash`: build the firmware if needed, flash it with the board's tool (retried once), reset,
 * wait for the banner, say hello and check the board runs the build just flashed; then release
 * the board. All of it is the strategy (host/src/targets/strategy.ts bringUp); this adds the summary.
 */
import { displayPath } from '../boards/descriptor.js';
import type { Target } from '../targets/descriptor.js';
import { bringUp } from '../targets/strategy.js';

export interface FlashSummary {
  board: string;
  image: string;
  tool: string;
  attempts: number;
  firmwareId: string;
  nonce: string;
  banner: string;
}

export interface FlashOptions {
  /** Build the image when it is a firmware/build product (default true). */
  build?: boolean;
  /** Progress, one line a step. */
  onStep?: (line: string) => void;
}

/** Flashes and verifies a board (loaded by the caller: boards/loadBoard, with the config's artefacts). */
export async function flashAndVerify(board: Target, options: FlashOptions = {}): Promise<FlashSummary> {
  const ready = await bringUp(board, { flash: true, build: options.build, onStep: options.onStep });
  try {
    return {
      board: board.name,
      image: displayPath(ready.flash!.image),
      tool: ready.flash!.tool,
      attempts: ready.flash!.attempts.length,
      firmwareId: ready.verified!.firmwareId,
      nonce: ready.hello.bootNonce.toString(16).padStart(8, '0'),
      banner: ready.banner ?? '',
    };
  } finally {
    await ready.close();
  }
}

export function formatFlashSummary(s: FlashSummary): string {
  const tries = s.attempts === 1 ? 'first attempt' : `attempt ${s.attempts}`;
  return `${s.board}: flashed ${s.image} with ${s.tool} (${tries}); it booted (nonce ${s.nonce}) and runs ${s.firmwareId}, the build just flashed`;
}
