/**
 * The twin as a Transport: a TwinDevice at the far end of an in-memory link (createMemoryLink), so
 * a client runs exactly the code it runs over a serial port and cannot tell the twin from a board.
 *
 * Open and close model a cable to a board that stays powered: the first open() powers the device
 * on, and its banner is the first line the client receives; a later open() (after close() or the
 * device's disconnect()) plugs a new cable into the same running device, which prints nothing.
 * Lines the device writes while no link is open are lost, as on a UART with nobody listening.
 */
import { EventEmitter } from 'node:events';
import { createMemoryLink, type MemoryTransport } from '../transport/memory.js';
import { TransportError, type Transport, type TransportEvents } from '../transport/transport.js';
import { attachDevice, type DeviceAttachment } from './attach.js';
import { TwinDevice, type TwinDeviceOptions } from './device.js';

export interface TwinTransportOptions extends TwinDeviceOptions {
  /** A device to attach instead of creating one from the other options. One transport per device. */
  device?: TwinDevice;
}

export class TwinTransport extends EventEmitter<TransportEvents> implements Transport {
  readonly name = 'twin';
  /** The device behind the link, for fault controls (hang, reboot, disconnect, ...) and inspection. */
  readonly device: TwinDevice;
  private host: MemoryTransport | undefined; // the client's end
  private side: MemoryTransport | undefined; // the device's end
  private booted = false;
  private readonly attachment: DeviceAttachment;

  /** Throws RangeError for device options the firmware would not accept (see TwinDevice). */
  constructor(options: TwinTransportOptions = {}) {
    super();
    this.device = options.device ?? new TwinDevice(options);
    this.attachment = attachDevice(
      this.device,
      (bytes) => {
        const side = this.side;
        // A write on an open memory end only queues and resolves; nothing can reject here.
        if (side?.isOpen) void side.write(bytes);
      },
      () => this.host?.sever('device disconnected (the cable was pulled)'),
    );
  }

  get isOpen(): boolean {
    return this.host?.isOpen ?? false;
  }

  /** Connects a new link to the device; the first time, the device boots and writes its banner. */
  async open(): Promise<void> {
    if (this.host) return;
    const [host, side] = createMemoryLink(this.name, `${this.name}-device`);
    host.on('data', (chunk) => this.emit('data', chunk));
    host.on('close', (error) => {
      if (this.host !== host) return;
      this.host = this.side = undefined;
      this.emit('close', error);
    });
    side.on('data', (chunk) => this.attachment.feed(chunk));
    side.on('close', () => {
      if (this.side === side) this.side = undefined;
    });
    this.host = host;
    this.side = side;
    await side.open();
    await host.open();
    if (!this.booted) {
      this.booted = true;
      this.device.boot();
    }
  }

  /** Hands bytes to the device's end. Rejects with a TransportError (kind 'closed') when not open. */
  write(data: Buffer): Promise<void> {
    if (!this.host) return Promise.reject(new TransportError(this.name, 'write while the link is not open', 'closed'));
    return this.host.write(data);
  }

  /** Closes the link (the device keeps running); `close` is emitted without an error. Safe to call twice. */
  async close(): Promise<void> {
    await this.host?.close();
  }
}
