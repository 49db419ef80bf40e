/**
 * Wiring a TwinDevice to a link, shared by TwinTransport and serveTwinOnPty: received bytes go to
 * device.feed(), and the device's output goes to the link. The lines the device writes while it
 * handles one received chunk (a pipelined burst of requests) leave as one write, which halves the
 * per-request cost of the link; anything written outside feed() (banner, log, garbage) leaves at
 * once. Order is kept either way: the device writes from one place, synchronously.
 */
import type { TwinDevice } from './device.js';

export interface DeviceAttachment {
  /** Hands bytes received from the link to the device. */
  feed(chunk: Buffer): void;
  /** Stops forwarding the device's output and disconnect requests. */
  detach(): void;
}

/**
 * Forwards the device's output to write() (which must not throw; it owns any error handling) and
 * its disconnect() requests to onDisconnect.
 */
export function attachDevice(device: TwinDevice, write: (bytes: Buffer) => void, onDisconnect: () => void): DeviceAttachment {
  let feeding = false;
  let held: Buffer[] = [];
  const onOutput = (line: Buffer): void => {
    if (feeding) held.push(line);
    else write(line);
  };
  device.on('output', onOutput);
  device.on('disconnect', onDisconnect);
  return {
    feed(chunk) {
      feeding = true;
      try {
        device.feed(chunk);
      } finally {
        feeding = false;
        const lines = held;
        held = [];
        if (lines.length) write(lines.length === 1 ? lines[0]! : Buffer.concat(lines));
      }
    },
    detach() {
      device.off('output', onOutput);
      device.off('disconnect', onDisconnect);
    },
  };
}
