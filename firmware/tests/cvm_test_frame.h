/*
 * Test helper: a request frame line built from CBOR given in hex, as a host writes it. Test data
 * only; shared by the device and link tests.
 */
#ifndef CVM_TEST_FRAME_H
#define CVM_TEST_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cvm_base64.h"
#include "cvm_crc16.h"
#include "cvm_test.h"

/**
 * The frame line "~" base64(cbor ‖ CRC-16 big-endian) "\n" (NUL-terminated) for the CBOR in hex
 * (at most 398 bytes). Returns a static buffer, valid until the next call.
 */
static inline const char *cvm_test_frame(const char *hex)
{
    static char line[600];
    uint8_t f[400];
    size_t n = cvm_test_unhex(hex, f, sizeof f - 2u);
    uint16_t crc = cvm_crc16(f, n);
    f[n] = (uint8_t)(crc >> 8);
    f[n + 1u] = (uint8_t)crc;
    line[0] = '~';
    size_t k = cvm_base64_encode(f, n + 2u, line + 1);
    line[1u + k] = '\n';
    line[2u + k] = '\0';
    return line;
}

#endif /* CVM_TEST_FRAME_H */
