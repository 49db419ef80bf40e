/**
 * What a serial-over-network server says in plain text before it drops a client, recognised so
 * the user reads why instead of "the server closed the connection". The texts are Debian's
 * ser2net 4.3's (3.x sent the same ones, with "\n\r"): to a client refused because another holds
 * the connection, "Port already in use"; refused because the device is open through another of
 * its connections (the raw and the telnet accepter of one port), "Port's device already in use";
 * to a client dropped for a newcomer (kickolduser: true; 3.x sent it, 4.x only logs it),
 * "kicked off, new user is coming".
 */

export type ServerNotice = 'port-in-use' | 'device-in-use' | 'kicked';

const NOTICES: Array<[ServerNotice, string]> = [
  ['port-in-use', 'Port already in use'],
  ['device-in-use', "Port's device already in use"],
  ['kicked', 'kicked off, new user is coming'],
];

/** Bytes of a connection's start kept to recognise a notice. */
export const NOTICE_HEAD_BYTES = 128;

/** The notice `head` (the first bytes a connection delivered, telnet removed) begins with, if any. */
export function serverNotice(head: Buffer): ServerNotice | undefined {
  const text = head.toString('latin1').replace(/^[\r\n]+/, '');
  return NOTICES.find(([, t]) => text.startsWith(t))?.[0];
}

/** A notice in `text` anywhere (a kick arrives after the session's own traffic). */
export function noticeIn(text: string): ServerNotice | undefined {
  return NOTICES.find(([, t]) => text.includes(t))?.[0];
}

/**
 * The sentence for a link `where` (host:port) that the server ended: a notice's meaning and fix,
 * or, with none, what a bare close from ser2net can mean.
 */
export function describeServerEnd(where: string, notice: ServerNotice | undefined): string {
  switch (notice) {
    case 'port-in-use':
      return `board busy: ${where} is in use by another client (ser2net said "Port already in use"); wait for that run to end, or find who holds it with ser2net's admin port or ss -tn on the bench host`;
    case 'device-in-use':
      return `board busy: the serial device behind ${where} is open through another of ser2net's connections (ser2net said "Port's device already in use": its raw and its rfc2217 accepter share the device); wait for that client to end`;
    case 'kicked':
      return `kicked off by another client: ser2net at ${where} gave the board to a new connection (kickolduser: true); set kickolduser: false on the bench host so a second client is refused instead`;
    default:
      return `the server closed the connection (ser2net at ${where} also does this, silently, when another client connects to a connection with kickolduser: true: another client may have taken the board; set kickolduser: false so a second client is refused instead)`;
  }
}
