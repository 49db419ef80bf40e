/*
 * CRC-16/XMODEM (PROTOCOL.md §2): polynomial 0x1021, initial value 0x0000, no reflection, no
 * final XOR; the check value of "123456789" is 0x31C3. It covers a frame's CBOR bytes only.
 *
 * Implementation choice (measured, see firmware/README.md): a 16-entry nibble table, 32 bytes of
 * flash, two lookups a byte. Build with -DCVM_CRC16_BITWISE=1 for the table-less loop.
 */
#ifndef CVM_CRC16_H
#define CVM_CRC16_H

#include <stddef.h>
#include <stdint.h>

/** Initial value of a CRC-16/XMODEM computation. */
#define CVM_CRC16_INIT 0x0000u

/**
 * Continues a CRC-16/XMODEM over data[0..len) from crc (CVM_CRC16_INIT to start) and returns it.
 * data may be NULL when len is 0. Calls can be chained over consecutive pieces.
 */
uint16_t cvm_crc16_update(uint16_t crc, const uint8_t *data, size_t len);

/** CRC-16/XMODEM of data[0..len). */
uint16_t cvm_crc16(const uint8_t *data, size_t len);

#endif /* CVM_CRC16_H */
