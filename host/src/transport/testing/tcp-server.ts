import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';

/** Test helper: a TCP server on 127.0.0.1 (a free port) that hands each connection to `onSocket`. */
export async function listen(onSocket: (s: Socket) => void = () => {}): Promise<{ server: Server; port: number; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    onSocket(s);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as { port: number }).port, sockets };
}

/** Ends every connection and closes the server. */
export async function stop(server: Server, sockets: Socket[]): Promise<void> {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
}
