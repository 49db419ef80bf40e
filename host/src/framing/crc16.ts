/**
 * CRC-16/XMODEM (poly 0x1021, init 0, no reflection, no final XOR) over a byte range.
 * C counterpart: cvm_crc16() in firmware/core/cvm_crc16.c. Check value of "123456789" is 0x31C3.
 */
const TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let b = 0; b < 8; b++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

/** Returns the CRC of bytes[start, end) as an integer 0..0xFFFF. */
export function crc16xmodem(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ TABLE[((crc >> 8) ^ bytes[i]!) & 0xff]!;
  return crc;
}
