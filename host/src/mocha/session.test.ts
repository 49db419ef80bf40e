import { expect } from 'chai';
import { addLinkCounters } from './session.js';

describe('addLinkCounters (run.json link counters over every instance of a target)', () => {
  it('sums counts, keeps the latest state and the largest maximum', () => {
    const first = { transmissions: 100, retransmits: 7, timeoutWaitMs: 12.5, rtoMs: 40, srttMs: 20, cwnd: 8, maxAttemptsUsed: 3, seed: 9 };
    const second = { transmissions: 30, retransmits: 2, timeoutWaitMs: 1.25, rtoMs: 15, srttMs: 5, cwnd: 32, maxAttemptsUsed: 2, seed: 9 };
    expect(addLinkCounters(addLinkCounters(undefined, first), second)).to.deep.equal({
      transmissions: 130, retransmits: 9, timeoutWaitMs: 13.75, rtoMs: 15, srttMs: 5, cwnd: 32, maxAttemptsUsed: 3, seed: 9,
    });
  });

  it('leaves the sum alone when an instance has no counters (no emulator), and starts from the first one', () => {
    expect(addLinkCounters(undefined, undefined)).to.equal(undefined);
    expect(addLinkCounters({ retransmits: 1 }, undefined)).to.deep.equal({ retransmits: 1 });
    expect(addLinkCounters(undefined, { retransmits: 4 })).to.deep.equal({ retransmits: 4 });
  });
});
