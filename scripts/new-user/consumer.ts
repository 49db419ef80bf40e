// A TypeScript consumer, type-checked with strict and exactOptionalPropertyTypes against the
// package's .d.ts (never its sources). The @ts-expect-error lines prove the types are real (not any).
import { PoolClient, type ClientOptions, type Hello } from 'componentvm-hil';
import { TwinTransport } from 'componentvm-hil/twin';
import { target } from 'componentvm-hil/mocha';

export async function firstGlobal(options: ClientOptions): Promise<number> {
  const client = await PoolClient.connect(new TwinTransport(), options);
  try {
    const hello: Hello = await client.hello();
    await client.acquire(0);
    // @ts-expect-error a global's value is a number
    await client.storeGlobal(0, 0, 'forty-two');
    return (await client.loadGlobal(0, 0)) + hello.maxGlobals;
  } finally {
    await client.close();
  }
}

export function fixtureClient(): PoolClient {
  return target().client;
}

// @ts-expect-error the twin's entry is not the library's: it has no PoolClient
export { PoolClient as NotThere } from 'componentvm-hil/twin';
