// A new user's first HIL test, in their own project: the package's fixture hands each test a
// connected client of the target `hil test` was given (--target / --board).
import { expect } from 'chai';
import { target } from 'componentvm-hil/mocha';

describe('my project: the pool keeps what I store', () => {
  it('stores and loads a global in the debug context', async () => {
    const { client } = target();
    await client.acquire(3);
    await client.storeGlobal(3, 5, -123456);
    expect(await client.loadGlobal(3, 5)).to.equal(-123456);
    await client.release(3);
  });

  it('reads the limits of the build it talks to', () => {
    const { hello } = target();
    expect(hello.maxGlobals).to.be.greaterThan(0);
  });
});
