/**
 * Strict, canonical base64 (RFC 4648 §4: standard alphabet, '=' padding required, zero unused
 * bits). Node's own decoder skips invalid characters silently, so it can only be trusted after
 * this check. C counterpart: cvm_base64_decode().
 */
const CANONICAL = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Encodes bytes as padded standard base64. */
export function base64Encode(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Decodes canonical base64; returns null for anything else (bad character, length, padding or pad bits). */
export function base64DecodeStrict(text: string): Buffer | null {
  if (!CANONICAL.test(text)) return null;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  if (pad) {
    // Unused low bits of the last data character must be zero: 4 bits with '==', 2 with '='.
    const last = ALPHABET.indexOf(text[text.length - pad - 1]!);
    if ((last & (pad === 2 ? 0x0f : 0x03)) !== 0) return null;
  }
  return Buffer.from(text, 'base64');
}
