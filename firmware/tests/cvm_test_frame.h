/*
 * Test helpers: a request frame line built from CBOR given in hex, as a host writes it, and the
 * link layer's replies (gap, held) a test expects. Test data only; shared by the device, link and
 * fuzz tests.
 */
#ifndef CVM_TEST_FRAME_H
#define CVM_TEST_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_crc16.h"
#include "cvm_protocol.h"
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

/* [seq, code, next] into want (at least 16 bytes), written independently of cvm_link.c. */
static inline size_t cvm_test_link_reply(uint32_t seq, cvm_err code, uint32_t next,
                                         uint8_t want[16])
{
    cvm_cbor_writer w;
    cvm_cbor_writer_init(&w, want, 16u);
    (void)cvm_cbor_put_array(&w, 3u);
    (void)cvm_cbor_put_uint(&w, seq);
    (void)cvm_cbor_put_uint(&w, (uint64_t)code);
    (void)cvm_cbor_put_uint(&w, next);
    return cvm_cbor_writer_len(&w);
}

/**
 * Writes the response message [seq, out_of_sequence, next] (PROTOCOL.md §3.3 rule 6) into want
 * (at least 16 bytes) as a test expects it, written independently of cvm_link.c; returns its length.
 */
static inline size_t cvm_test_gap_reply(uint32_t seq, uint32_t next, uint8_t want[16])
{
    return cvm_test_link_reply(seq, CVM_ERR_OUT_OF_SEQUENCE, next, want);
}

/** The same for [seq, held, next] (§3.3 rule 5). */
static inline size_t cvm_test_held_reply(uint32_t seq, uint32_t next, uint8_t want[16])
{
    return cvm_test_link_reply(seq, CVM_ERR_HELD, next, want);
}

#endif /* CVM_TEST_FRAME_H */
