/*
 * libFuzzer harness: arbitrary bytes -> cvm_device_feed() on a freshly initialised device, under
 * ASan + UBSan. The port here checks every line the device writes, at the moment it is written:
 * one whole line per cvm_port_write() call, a frame line ('~' + canonical base64 + '\n', at most
 * 514 bytes), a good CRC, and a well-formed CBOR response [seq, status, ...]. Any violation
 * aborts, which libFuzzer reports as a finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_crc16.h"
#include "cvm_device.h"
#include "cvm_port.h"

static void fuzz_fail(const char *why)
{
    fprintf(stderr, "fuzz_device: %s\n", why);
    abort();
}

void cvm_port_write(const uint8_t *data, size_t len)
{
    uint8_t frame[CVM_MAX_FRAME_BYTES];
    if (len < 2u || len > 1u + 512u + 1u) {
        fuzz_fail("line length out of bounds");
    }
    if (data[0] != CVM_FRAME_MARKER) {
        fuzz_fail("a line that is not a frame while feeding");
    }
    if (data[len - 1u] != '\n' || memchr(data, '\n', len - 1u) != NULL ||
        memchr(data, '\r', len) != NULL) {
        fuzz_fail("not exactly one line per write");
    }
    int n = cvm_base64_decode((const char *)data + 1, len - 2u, frame, sizeof frame);
    if (n < 3) {
        fuzz_fail("response frame is not canonical base64 of 3..384 bytes");
    }
    size_t m = (size_t)n - 2u;
    if (cvm_crc16(frame, m) != (uint16_t)((frame[m] << 8) | frame[m + 1u])) {
        fuzz_fail("response CRC mismatch");
    }
    if (m > CVM_MAX_MESSAGE_BYTES || cvm_cbor_check(frame, m, CVM_CBOR_CHECK_DEPTH_MAX) != 0) {
        fuzz_fail("response is not one well-formed CBOR item");
    }
    cvm_cbor_reader r;
    uint64_t count;
    uint64_t seq;
    uint64_t status;
    cvm_cbor_reader_init(&r, frame, m);
    if (cvm_cbor_enter_array(&r, &count) != 0 || count < 2u || count > 3u ||
        cvm_cbor_read_uint(&r, &seq) != 0 || seq > 0xFFFFFFFFu ||
        cvm_cbor_read_uint(&r, &status) != 0 || status > CVM_ERR_NOT_IN_BATCH ||
        (count == 3u && status != 0u)) {
        fuzz_fail("response is not [seq, 0, result] / [seq, code]");
    }
}

uint32_t cvm_port_uptime_ms(void)
{
    return 1234u;
}

cvm_reset_cause cvm_port_reset_cause(void)
{
    return CVM_RESET_SOFTWARE;
}

size_t cvm_port_unique_id(uint8_t out[12])
{
    memset(out, 0xA5, 12);
    return 12;
}

uint32_t cvm_port_boot_nonce(void)
{
    return 0xC0FFEEu;
}

uint32_t cvm_port_rx_overruns(void)
{
    return 0;
}

const char *cvm_port_name(void)
{
    return "fuzz";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cvm_device_init();
    if (size == 0u) {
        return 0;
    }
    /* The first byte picks how the rest is split across feed calls (1..64 bytes, or all). */
    size_t chunk = data[0] < 192u ? 1u + data[0] % 64u : size;
    data++;
    size--;
    while (size > 0u) {
        size_t n = size < chunk ? size : chunk;
        cvm_device_feed(data, n);
        data += n;
        size -= n;
    }
    return 0;
}
