// The library and the twin from plain node (no tsx, no TypeScript): the package's compiled entries.
import { PoolClient, crc16xmodem } from 'componentvm-hil';
import { TwinTransport } from 'componentvm-hil/twin';
import { isNativeAccelerationEnabled } from 'cbor-x';

const client = await PoolClient.connect(new TwinTransport());
try {
  const hello = await client.hello();
  await client.acquire(2);
  await client.storeGlobal(2, 1, 42);
  const value = await client.loadGlobal(2, 1);
  await client.release(2);
  console.log(JSON.stringify({ value, maxGlobals: hello.maxGlobals, crc: crc16xmodem(Buffer.from('123456789')), cborNative: isNativeAccelerationEnabled }));
} finally {
  await client.close();
}
