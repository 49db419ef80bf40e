/**
 * Test helper: a small RFC 2217 server on 127.0.0.1 standing in for ser2net's telnet(rfc2217)
 * accepter, for the transport's unit tests: it negotiates as ser2net 4.3 does (the same opening
 * bytes), answers COM-PORT commands (or not: `answerControl`), records what it was sent, and
 * echoes data back (escaped) so both IAC directions can be checked.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { Telnet, TelnetDecoder, TelnetOption, escapeIac, negotiation, subnegotiation } from '../telnet.js';

export interface FakeRfc2217 {
  port: number;
  /** COM-PORT commands received: [code, value bytes]. */
  commands: Array<[number, number[]]>;
  /** Negotiations received: "WILL 44" etc. */
  negotiations: string[];
  /** Data received (unescaped). */
  data: Buffer[];
  sockets: Socket[];
  /** Calls `listener` with every data chunk received from now on. */
  onData(listener: (chunk: Buffer) => void): void;
  stop(): Promise<void>;
}

/** ser2net 4.3's opening: WILL SGA, DO SGA, WILL ECHO, DONT ECHO, DO BINARY, WILL BINARY, DO COM-PORT. */
export const SER2NET_OPENING = Buffer.from([255, 251, 3, 255, 253, 3, 255, 251, 1, 255, 254, 1, 255, 253, 0, 255, 251, 0, 255, 253, 44]);

export async function fakeRfc2217(options: { answerControl?: boolean; refuseComPort?: boolean; refuseBinary?: boolean; notice?: string; echo?: boolean } = {}): Promise<FakeRfc2217> {
  const commands: Array<[number, number[]]> = [];
  const negotiations: string[] = [];
  const data: Buffer[] = [];
  const sockets: Socket[] = [];
  const listeners: Array<(chunk: Buffer) => void> = [];
  const names: Record<number, string> = { 251: 'WILL', 252: 'WONT', 253: 'DO', 254: 'DONT' };
  const server: Server = createServer((s) => {
    sockets.push(s);
    const opening = options.refuseComPort ? Buffer.from([255, 251, 3, 255, 253, 3, 255, 253, 0, 255, 251, 0]) : Buffer.from(SER2NET_OPENING);
    if (options.refuseBinary) opening[16] = Telnet.WONT; // IAC WONT BINARY instead of WILL
    s.write(opening);
    if (options.notice) {
      s.end(options.notice);
      return;
    }
    const dec = new TelnetDecoder({
      data: (d) => {
        data.push(Buffer.from(d));
        for (const l of listeners) l(Buffer.from(d));
        if (options.echo !== false) s.write(escapeIac(d));
      },
      negotiate: (v, o) => {
        negotiations.push(`${names[v]} ${o}`);
        if (options.refuseComPort && v === Telnet.WILL && o === TelnetOption.COM_PORT) s.write(negotiation(Telnet.DONT, o));
      },
      subnegotiation: (o, p) => {
        if (o !== TelnetOption.COM_PORT) return;
        const [code, ...value] = [...p];
        commands.push([code!, value]);
        const isLine = code === 5 && value[0]! >= 8;
        if (isLine && options.answerControl === false) return;
        s.write(subnegotiation(44, Buffer.from([code! + 100, ...value])));
      },
    });
    s.on('data', (c: Buffer) => dec.push(c));
    s.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    commands,
    negotiations,
    data,
    sockets,
    onData: (l) => listeners.push(l),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
