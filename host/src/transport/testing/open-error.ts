import { expect } from 'chai';
import { TransportError } from '../transport.js';

/** The TransportError a transport's open() rejects with; fails the test when open() succeeds (after closing it). */
export async function openError(t: { open(): Promise<void>; close(): Promise<void> }): Promise<TransportError> {
  try {
    await t.open();
  } catch (e) {
    expect(e).to.be.instanceOf(TransportError);
    return e as TransportError;
  }
  await t.close();
  throw new Error('open() succeeded');
}
