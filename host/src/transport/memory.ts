/**
 * An in-memory duplex link: two Transport ends, each delivering what the other writes. The twin
 * holds one end and the client the other, so the client runs exactly the code it runs over a
 * serial port.
 *
 * Bytes written on one end arrive as `data` on the other in write order, always asynchronously
 * (never inside write()), like a real link. Everything written on one end before the other end
 * drains is delivered as one chunk on a later turn of the event loop (setImmediate, so timers
 * and I/O still run between deliveries and a chatty pair cannot starve them).
 */
import { EventEmitter } from 'node:events';
import { TransportError, type Transport, type TransportEvents } from './transport.js';

/** One end of a memory link. Create pairs with createMemoryLink(). */
export class MemoryTransport extends EventEmitter<TransportEvents> implements Transport {
  private peer!: MemoryTransport;
  private opened = false;
  private ended = false; // closed for good: by close(), by the peer, or by sever()
  private inbox: Buffer[] = []; // bytes written by the peer, not yet delivered
  private scheduled = false;
  private closeAfterDrain: TransportError | undefined; // set when the peer closed

  /** @internal use createMemoryLink() */
  constructor(readonly name: string) {
    super();
  }

  /** @internal */
  static pair(nameA: string, nameB: string): [MemoryTransport, MemoryTransport] {
    const a = new MemoryTransport(nameA);
    const b = new MemoryTransport(nameB);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }

  get isOpen(): boolean {
    return this.opened && !this.ended;
  }

  /** Opens this end. Bytes the peer wrote before are delivered now. Rejects once the link has ended. */
  async open(): Promise<void> {
    if (this.ended) throw new TransportError(this.name, 'memory link has ended; create a new one', 'open');
    if (this.opened) return;
    this.opened = true;
    this.schedule();
  }

  /**
   * Hands bytes to the peer. They are copied here, so the caller may reuse its buffer at once.
   * Rejects with a TransportError when this end is not open.
   */
  write(data: Buffer): Promise<void> {
    if (!this.isOpen) {
      return Promise.reject(new TransportError(this.name, this.ended ? 'write after the link closed' : 'write before open()', 'closed'));
    }
    if (data.length > 0) this.peer.receive(Buffer.from(data));
    return Promise.resolve();
  }

  /** Closes this end; the peer receives what was already written, then a `close` with a 'disconnected' error. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.end(undefined);
    this.peer.peerGone(new TransportError(this.peer.name, `peer ${this.name} closed the link`, 'disconnected'));
  }

  /**
   * Test hook: cuts the link as an unplugged cable would. Both ends emit `close` with a
   * 'disconnected' TransportError; bytes in flight are lost.
   */
  sever(reason = 'link severed'): void {
    for (const end of [this, this.peer]) {
      if (!end.ended) end.end(new TransportError(end.name, reason, 'disconnected'));
    }
  }

  private receive(data: Buffer): void {
    if (this.ended) return;
    this.inbox.push(data);
    this.schedule();
  }

  private peerGone(error: TransportError): void {
    if (this.ended) return;
    this.closeAfterDrain = error;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || !this.opened) return;
    if (this.inbox.length === 0 && this.closeAfterDrain === undefined) return;
    this.scheduled = true;
    setImmediate(this.deliver);
  }

  private readonly deliver = (): void => {
    this.scheduled = false;
    if (this.ended) return;
    const parts = this.inbox;
    if (parts.length > 0) {
      this.inbox = [];
      this.emit('data', parts.length === 1 ? parts[0]! : Buffer.concat(parts));
    }
    if (this.closeAfterDrain !== undefined && !this.ended && this.inbox.length === 0) {
      this.end(this.closeAfterDrain);
    } else {
      this.schedule(); // a data listener wrote back to itself through the peer, or more arrived
    }
  };

  private end(error: TransportError | undefined): void {
    this.ended = true;
    this.inbox = [];
    const wasOpen = this.opened;
    this.opened = false;
    if (wasOpen || error) this.emit('close', error);
  }
}

/**
 * Creates a connected pair of in-memory transports named nameA and nameB (the names appear in
 * error messages, e.g. "twin"). Each end must be open()ed before it writes; bytes sent to an end
 * that is not open yet wait for it.
 */
export function createMemoryLink(nameA = 'host', nameB = 'device'): [MemoryTransport, MemoryTransport] {
  return MemoryTransport.pair(nameA, nameB);
}
