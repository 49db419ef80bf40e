#include "cvm_device.h"

#include <string.h>

#include "cvm_base64.h"
#include "cvm_config.h"
#include "cvm_crc16.h"
#include "cvm_dispatch.h"
#include "cvm_line.h"
#include "cvm_link.h"
#include "cvm_pool.h"
#include "cvm_port.h"
#include "cvm_protocol.h"

/* Longest port name kept in the firmware id. */
#define CVM_DEVICE_PORT_NAME_MAX 24u

/* One output line: a frame ('~' + base64 of the largest frame + '\n', 514 bytes) or a log line
 * (at most CVM_MAX_LINE_BYTES before its '\n'). */
#define CVM_DEVICE_OUT_MAX (CVM_MAX_LINE_BYTES + 1u)
_Static_assert(1u + CVM_BASE64_ENCODED_LEN(CVM_MAX_FRAME_BYTES) + 1u <= CVM_DEVICE_OUT_MAX,
               "a frame line must fit the output buffer");

static cvm_line cvm_device_rx;
static cvm_dispatch cvm_device_dispatcher;
static cvm_link cvm_device_link;
static uint8_t cvm_device_response[CVM_MAX_FRAME_BYTES];
static uint8_t cvm_device_out[CVM_DEVICE_OUT_MAX];
static char cvm_device_fw_id[CVM_FIRMWARE_ID_MAX + 1u];

/* Appends text to buf[*n] within cap, as far as it fits. */
static void cvm_device_put_text(char *buf, size_t cap, size_t *n, const char *text)
{
    while (*text != '\0' && *n < cap) {
        buf[(*n)++] = *text++;
    }
}

/* Appends the decimal form of v. */
static void cvm_device_put_dec(char *buf, size_t cap, size_t *n, uint32_t v)
{
    char digits[10];
    size_t k = 0;
    do {
        digits[k++] = (char)('0' + (char)(v % 10u));
        v /= 10u;
    } while (v != 0u);
    while (k > 0u && *n < cap) {
        buf[(*n)++] = digits[--k];
    }
}

/* Appends v as 8 lowercase hex digits. */
static void cvm_device_put_hex32(char *buf, size_t cap, size_t *n, uint32_t v)
{
    static const char hex[16] = {'0', '1', '2', '3', '4', '5', '6', '7',
                                 '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    for (int shift = 28; shift >= 0 && *n < cap; shift -= 4) {
        buf[(*n)++] = hex[(v >> (unsigned)shift) & 0x0Fu];
    }
}

static void cvm_device_build_firmware_id(void)
{
    const size_t cap = CVM_FIRMWARE_ID_MAX;
    char *id = cvm_device_fw_id;
    size_t n = 0;
    cvm_device_put_text(id, cap, &n, "cvm-fw/" CVM_FIRMWARE_VERSION "+");
    const char *port = cvm_port_name();
    for (size_t i = 0; port != NULL && port[i] != '\0' && i < CVM_DEVICE_PORT_NAME_MAX; i++) {
        char c = port[i];
        bool keep = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    c == '-';
        id[n++] = keep ? c : '-';
    }
    cvm_device_put_text(id, cap, &n, ".vms");
    cvm_device_put_dec(id, cap, &n, MAX_CONCURRENT_VMS);
    cvm_device_put_text(id, cap, &n, ".g");
    cvm_device_put_dec(id, cap, &n, VM_MAX_GLOBALS);
    cvm_device_put_text(id, cap, &n, ".a");
    cvm_device_put_dec(id, cap, &n, VM_MAX_ARRAYS);
    cvm_device_put_text(id, cap, &n, ".e");
    cvm_device_put_dec(id, cap, &n, VM_ARRAY_ELEMENTS);
    id[n] = '\0';
}
/* "cvm-fw/0.1.0+" 13 + port 24 + ".vms16.g255.a255.e65535" 23 = 60 */
_Static_assert(13u + CVM_DEVICE_PORT_NAME_MAX + 23u <= CVM_FIRMWARE_ID_MAX, "firmware id may be cut");

void cvm_device_init(void)
{
    cvm_identity identity;

    cvm_pool_init();
    cvm_line_init(&cvm_device_rx);
    cvm_link_init(&cvm_device_link);
    cvm_device_build_firmware_id();
    memset(&identity, 0, sizeof identity);
    identity.firmware_id = cvm_device_fw_id;
    identity.boot_nonce = cvm_port_boot_nonce();
    identity.reset_cause = cvm_port_reset_cause();
    identity.unique_id_len = cvm_port_unique_id(identity.unique_id) == CVM_UNIQUE_ID_BYTES
                                 ? CVM_UNIQUE_ID_BYTES
                                 : 0u;
    cvm_dispatch_init(&cvm_device_dispatcher, &cvm_pool_memory_ops, &cvm_device_rx.counters,
                      &cvm_device_link.counters, &identity);
}

const char *cvm_device_firmware_id(void)
{
    return cvm_device_fw_id;
}

void cvm_device_banner(void)
{
    char line[CVM_MAX_LINE_BYTES];
    const size_t cap = sizeof line;
    size_t n = 0;
    cvm_device_put_text(line, cap, &n, CVM_BANNER_PREFIX " proto=");
    cvm_device_put_dec(line, cap, &n, CVM_PROTOCOL_VERSION);
    cvm_device_put_text(line, cap, &n, " fw=");
    cvm_device_put_text(line, cap, &n, cvm_device_fw_id);
    cvm_device_put_text(line, cap, &n, " nonce=");
    cvm_device_put_hex32(line, cap, &n, cvm_device_dispatcher.identity.boot_nonce);
    cvm_device_put_text(line, cap, &n, " vms=");
    cvm_device_put_dec(line, cap, &n, MAX_CONCURRENT_VMS);
    cvm_device_put_text(line, cap, &n, " globals=");
    cvm_device_put_dec(line, cap, &n, VM_MAX_GLOBALS);
    cvm_device_put_text(line, cap, &n, " arrays=");
    cvm_device_put_dec(line, cap, &n, VM_MAX_ARRAYS);
    cvm_device_put_text(line, cap, &n, " elements=");
    cvm_device_put_dec(line, cap, &n, VM_ARRAY_ELEMENTS);
    line[n < cap ? n : cap - 1u] = '\0';
    cvm_device_log(line);
}

void cvm_device_log(const char *text)
{
    const size_t max = CVM_MAX_LINE_BYTES - 1u;
    size_t n = 0;
    while (text[n] != '\0' && n < max) {
        char c = text[n];
        if (c == '\r' || c == '\n') {
            c = ' ';
        }
        cvm_device_out[n] = (uint8_t)c;
        n++;
    }
    if (text[n] != '\0') {
        memcpy(&cvm_device_out[n - 3u], "...", 3u);
    }
    if (n > 0u && cvm_device_out[0] == CVM_FRAME_MARKER) {
        cvm_device_out[0] = '?';
    }
    cvm_device_out[n] = '\n';
    cvm_port_write(cvm_device_out, n + 1u);
}

/*
 * Writes the response message cvm_device_response[0..n) as one frame line: "~" base64(message ‖
 * CRC-16 big-endian) "\n". Nothing when n is 0. The same message always makes the same line, so a
 * replay is byte for byte the original.
 */
static void cvm_device_write_response(size_t n)
{
    if (n == 0u) {
        return;
    }
    uint16_t crc = cvm_crc16(cvm_device_response, n);
    cvm_device_response[n] = (uint8_t)(crc >> 8);
    cvm_device_response[n + 1u] = (uint8_t)crc;
    cvm_device_out[0] = CVM_FRAME_MARKER;
    size_t k = cvm_base64_encode(cvm_device_response, n + CVM_CRC_BYTES,
                                 (char *)&cvm_device_out[1]);
    cvm_device_out[1u + k] = '\n';
    cvm_port_write(cvm_device_out, k + 2u);
}

/* Executes a request the link layer let through, caches its response (next += 1), writes it. */
static void cvm_device_execute(const cvm_dispatch_request *req)
{
    size_t n = cvm_dispatch_execute(&cvm_device_dispatcher, req, cvm_device_response,
                                    CVM_MAX_MESSAGE_BYTES);
    cvm_link_cache(&cvm_device_link, cvm_device_response, n);
    cvm_device_write_response(n);
}

/*
 * Answers the frame the line assembler just completed, if it is a request: §3.1 steps 1 and 2,
 * then the link layer's rules (§3.3), which either answer it themselves (a replay, no_session,
 * held, out_of_sequence) or have it executed and cache the response. After an executed request,
 * rule 4's drain: each held request whose turn has come is parsed again from its hold slot (the
 * bytes it was held with; they stay put while it runs) and executed, cached and answered in turn.
 */
static void cvm_device_answer(void)
{
    size_t len;
    cvm_dispatch_request req;
    const uint8_t *msg = cvm_line_message(&cvm_device_rx, &len);
    if (!cvm_dispatch_parse(&cvm_device_dispatcher, msg, len, &req)) {
        return;
    }
    size_t n;
    cvm_link_action action = cvm_link_receive(&cvm_device_link, req.seq, req.is_hello, msg, len,
                                              cvm_device_response, CVM_MAX_MESSAGE_BYTES, &n);
    if (action != CVM_LINK_EXECUTE && action != CVM_LINK_NEW_SESSION) {
        cvm_device_write_response(n);
        return;
    }
    cvm_device_execute(&req);
    while ((msg = cvm_link_take_held(&cvm_device_link, &len)) != NULL) {
        /* It passed steps 1 and 2 when it was held, so it passes again. Were it refused, next
         * would not move and the next take would find next's slot empty: the drain ends. */
        if (cvm_dispatch_parse(&cvm_device_dispatcher, msg, len, &req)) {
            cvm_device_execute(&req);
        }
    }
}

void cvm_device_feed(const uint8_t *data, size_t len)
{
    while (len > 0u) {
        cvm_line_event event;
        size_t used = cvm_line_feed(&cvm_device_rx, data, len, &event);
        data += used;
        len -= used;
        if (event == CVM_LINE_FRAME) {
            cvm_device_answer();
        }
    }
}
