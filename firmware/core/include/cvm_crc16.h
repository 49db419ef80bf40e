/*
 * CRC-16/XMODEM (PROTOCOL.md §2): polynomial 0x1021, initial value 0x0000, no reflection, no
 * final XOR; the check value of "123456789" is 0x31C3. It covers a frame's CBOR bytes only.
 *
 * Implementation choice, measured with `make callgrind` (x86 instructions spent in the CRC per
 * store_global request, request and response together) and arm-none-eabi-size (Cortex-M4, -Os):
 *   CVM_CRC16_IMPL=0  bit by bit, no table     ~1195 instructions   52 bytes of flash
 *   CVM_CRC16_IMPL=1  16-entry nibble table     ~282 instructions   96 bytes
 *   CVM_CRC16_IMPL=2  256-entry byte table      ~177 instructions  560 bytes (the default)
 * The byte table costs 464 bytes more of the board's 1 MB of flash (which holds the const table;
 * no RAM) and saves a hundred instructions a request, so it is the default; -DCVM_CRC16_IMPL=0 or
 * 1 selects a smaller one.
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
