/*
 * libFuzzer harness for the device: arbitrary bytes -> cvm_device_feed(), under ASan + UBSan.
 *
 * Each input runs on a freshly initialised device (cvm_device_init() per run, so runs are
 * independent and a crash reproduces from its artifact alone). The input is fed twice: once in
 * one call, once split into chunks whose sizes come from a PRNG seeded by the input's hash (1 byte
 * up to the whole rest), so the line assembler is exercised across every kind of chunk boundary.
 *
 * This file is also the port (cvm_port.h): cvm_port_write() checks every line at the moment it is
 * written, and any violation is a finding (__builtin_trap, after one line on stderr saying why):
 *   - one whole line per call: ends in '\n', holds no other '\n' and no '\r', at most
 *     CVM_MAX_LINE_BYTES before the '\n' (PROTOCOL.md §2);
 *   - a log line never starts with '~' (cvm_device.h: the host must never mistake it for a frame);
 *   - a frame line is canonical base64 (it re-encodes to the same text) of 3..CVM_MAX_FRAME_BYTES
 *     bytes, its CRC-16 matches, its CBOR is one well-formed item that is an array [seq, 0] /
 *     [seq, 0, result] / [seq, 1..14] / [seq, 12, next] / [seq, 14, next] with seq a uint <=
 *     0xFFFFFFFF (§3, §4);
 *   - responses answer, in order, exactly the requests that pass §3.1 steps 1 and 2, each with its
 *     seq (§3.2), each answer followed by the responses of the held requests it lets run (§3.3
 *     rule 4's drain). The expected seqs (and message lengths) come from the core's own line
 *     assembler and CBOR checker run over the input beforehand: this checks the device's glue and
 *     dispatcher, not those modules;
 *   - the link layer's rules (§3.3), against a model of them kept here from the responses alone:
 *     a duplicate of a seq the model still caches is answered with exactly the line first written
 *     for that seq (a replay equals the original bytes); before any hello, [seq, 13]; a request
 *     1..CVM_HOLD_DEPTH ahead of next whose message is at most CVM_HOLD_MESSAGE_BYTES,
 *     [seq, 14, next], and the model holds its seq; any other gap or an evicted seq,
 *     [seq, 12, next]; after each executed response, while the model holds next, the next line is
 *     next's response (a drained one), and nothing else; executed requests never answer 12, 13 or
 *     14; a hello empties the model's hold. The model caches CVM_REPLAY_DEPTH responses in
 *     CVM_REPLAY_BYTES, evicting FIFO as §3.3 says, so it also checks that the device evicts
 *     neither too early nor too late; and a drained response is cached like any other (its
 *     duplicates replay it);
 *   - feeding in one call and in chunks writes the same bytes (compared by hash).
 * The harness also logs the input (up to its first NUL) with cvm_device_log() to check that log
 * lines are sanitised, and writes the banner.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_config.h"
#include "cvm_crc16.h"
#include "cvm_device.h"
#include "cvm_line.h"
#include "cvm_port.h"
#include "cvm_protocol.h"
#include "cvm_test_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Requests whose seq is checked; an input of at most 4096 bytes holds at most 1 request every
 * 10 bytes ("~" + 8 base64 characters + '\n' is the shortest request line). */
#define FUZZ_MAX_EXPECTED 1024u

/* Longest text handed to cvm_device_log(): past CVM_MAX_LINE_BYTES, to reach the cut. */
#define FUZZ_LOG_TEXT_MAX (CVM_MAX_LINE_BYTES + 64u)

/* The model's cache entry: a response line as first written, and its CBOR message's length. */
typedef struct {
    uint32_t seq;
    size_t msg_len;
    size_t line_len;
    uint8_t line[CVM_MAX_LINE_BYTES + 1u];
} fuzz_cached;

static struct {
    uint32_t expected_seq[FUZZ_MAX_EXPECTED];
    bool expected_hello[FUZZ_MAX_EXPECTED];  /* exactly [seq, 0] */
    size_t expected_len[FUZZ_MAX_EXPECTED];  /* the request message's bytes (CBOR, no CRC) */
    size_t expected;         /* requests that must be answered */
    size_t answered;         /* requests answered so far in this pass */
    bool feeding;            /* only frames may be written while feeding */
    uint64_t hash;           /* FNV-1a of everything written in this pass */
    /* The model of §3.3. */
    bool open;
    uint32_t next;
    size_t first;            /* oldest entry in cache[] */
    size_t count;
    size_t used;             /* message bytes of the entries */
    fuzz_cached cache[CVM_REPLAY_DEPTH];
    uint32_t held[CVM_HOLD_DEPTH];  /* the seqs the model holds: held[0..held_count) */
    size_t held_count;
    bool draining;           /* the model holds next: the next line must be its response */
} fz;

static void fuzz_fail(const char *why, const uint8_t *line, size_t len);

/* The model caches the response line of seq next (§3.3: FIFO eviction by depth and bytes). */
static void fuzz_model_cache(const uint8_t *line, size_t line_len, size_t msg_len)
{
    while (fz.count > 0u && (fz.count == CVM_REPLAY_DEPTH || fz.used + msg_len > CVM_REPLAY_BYTES)) {
        fz.used -= fz.cache[fz.first].msg_len;
        fz.first = (fz.first + 1u) % CVM_REPLAY_DEPTH;
        fz.count--;
    }
    fuzz_cached *c = &fz.cache[(fz.first + fz.count) % CVM_REPLAY_DEPTH];
    c->seq = fz.next;
    c->msg_len = msg_len;
    c->line_len = line_len;
    memcpy(c->line, line, line_len);
    fz.count++;
    fz.used += msg_len;
    fz.next++;
}

/* The model holds seq (§3.3 rule 5; a copy of a held seq is still one). */
static void fuzz_model_hold(uint32_t seq, const uint8_t *line, size_t len)
{
    for (size_t i = 0; i < fz.held_count; i++) {
        if (fz.held[i] == seq) {
            return;
        }
    }
    if (fz.held_count == CVM_HOLD_DEPTH) {
        fuzz_fail("the model holds more than hold_depth seqs (a bug in the model)", line, len);
    }
    fz.held[fz.held_count++] = seq;
}

/* After an executed response: whether the model holds next, which it then lets go (the drain). */
static bool fuzz_model_take_next(void)
{
    for (size_t i = 0; i < fz.held_count; i++) {
        if (fz.held[i] == fz.next) {
            fz.held[i] = fz.held[--fz.held_count];
            return true;
        }
    }
    return false;
}

/* Checks the response line (message msg[0..m), status, element count) of request k against the
 * model of §3.3, and updates the model. */
static void fuzz_check_link(const uint8_t *data, size_t len, const uint8_t *msg, size_t m,
                            uint64_t count, uint64_t status, size_t k)
{
    uint32_t seq = fz.expected_seq[k];
    uint32_t d = fz.next - seq;
    if (fz.open && d >= 1u && d <= fz.count) {
        const fuzz_cached *c = &fz.cache[(fz.first + fz.count - d) % CVM_REPLAY_DEPTH];
        if (c->line_len != len || memcmp(c->line, data, len) != 0) {
            fuzz_fail("a duplicate's answer is not the line first written for its seq", data, len);
        }
        return;
    }
    if (fz.expected_hello[k]) {
        fz.open = true;
        fz.next = seq;
        fz.first = 0;
        fz.count = 0;
        fz.used = 0;
        fz.held_count = 0;
    } else if (!fz.open) {
        if (count != 2u || status != CVM_ERR_NO_SESSION) {
            fuzz_fail("a request before any hello is not answered [seq, no_session]", data, len);
        }
        return;
    } else if (d != 0u) {
        uint8_t want[16];
        uint32_t ahead = seq - fz.next;
        if (ahead <= CVM_HOLD_DEPTH && fz.expected_len[k] <= CVM_HOLD_MESSAGE_BYTES) {
            if (cvm_test_held_reply(seq, fz.next, want) != m || memcmp(want, msg, m) != 0) {
                fuzz_fail("a request the hold takes is not answered [seq, held, next]", data, len);
            }
            fuzz_model_hold(seq, data, len);
        } else if (cvm_test_gap_reply(seq, fz.next, want) != m || memcmp(want, msg, m) != 0) {
            fuzz_fail("a gap the hold cannot take or an evicted seq is not answered "
                      "[seq, out_of_sequence, next]",
                      data, len);
        }
        return;
    }
    if (status == CVM_ERR_OUT_OF_SEQUENCE || status == CVM_ERR_NO_SESSION ||
        status == CVM_ERR_HELD) {
        fuzz_fail("an executed request answered out_of_sequence, no_session or held", data, len);
    }
    fuzz_model_cache(data, len, m);
    fz.draining = fuzz_model_take_next();
}

/* Checks a drained response (message msg[0..m)): the model held next, so this is its response,
 * executed and cached like any other (§3.3 rule 4), and the drain goes on while next is held. */
static void fuzz_check_drained(const uint8_t *data, size_t len, size_t m, uint64_t seq,
                               uint64_t status)
{
    if (seq != fz.next) {
        fuzz_fail("a drained response is not the response of next", data, len);
    }
    if (status == CVM_ERR_OUT_OF_SEQUENCE || status == CVM_ERR_NO_SESSION ||
        status == CVM_ERR_HELD) {
        fuzz_fail("a drained request answered out_of_sequence, no_session or held", data, len);
    }
    fuzz_model_cache(data, len, m);
    fz.draining = fuzz_model_take_next();
}

static void fuzz_fail(const char *why, const uint8_t *line, size_t len)
{
    fprintf(stderr, "fuzz_device: %s: %.*s\n", why, (int)(len < 600u ? len : 600u), (const char *)line);
    __builtin_trap();
}

static uint64_t fuzz_fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001B3ull;
    }
    return h;
}

/* Checks one frame line data[0..len) (marker and '\n' included) as a response. */
static void fuzz_check_frame(const uint8_t *data, size_t len)
{
    uint8_t frame[CVM_MAX_FRAME_BYTES];
    char again[CVM_BASE64_ENCODED_LEN(CVM_MAX_FRAME_BYTES)];
    const char *text = (const char *)data + 1;
    size_t text_len = len - 2u;

    int got = cvm_base64_decode(text, text_len, frame, sizeof frame);
    if (got < 3) {
        fuzz_fail("frame line is not base64 of 3..max_frame_bytes bytes", data, len);
    }
    size_t n = (size_t)got;
    if (cvm_base64_encode(frame, n, again) != text_len || memcmp(again, text, text_len) != 0) {
        fuzz_fail("frame line's base64 is not canonical", data, len);
    }
    size_t m = n - CVM_CRC_BYTES;
    if (cvm_crc16(frame, m) != (uint16_t)(((unsigned)frame[m] << 8) | frame[m + 1u])) {
        fuzz_fail("frame CRC mismatch", data, len);
    }
    if (cvm_cbor_check(frame, m, CVM_CBOR_CHECK_DEPTH_MAX) != CVM_CBOR_OK) {
        fuzz_fail("response is not one well-formed CBOR item", data, len);
    }
    cvm_cbor_reader r;
    uint64_t count;
    uint64_t seq;
    uint64_t status;
    cvm_cbor_reader_init(&r, frame, m);
    if (cvm_cbor_enter_array(&r, &count) != CVM_CBOR_OK || count < 1u ||
        cvm_cbor_read_uint(&r, &seq) != CVM_CBOR_OK || seq > 0xFFFFFFFFu) {
        fuzz_fail("response is not an array starting with a uint32 seq", data, len);
    }
    if (count < 2u || count > 3u || cvm_cbor_read_uint(&r, &status) != CVM_CBOR_OK ||
        status > CVM_ERR_HELD ||
        (count == 3u && status != CVM_ERR_OK && status != CVM_ERR_OUT_OF_SEQUENCE &&
         status != CVM_ERR_HELD) ||
        (count == 2u && (status == CVM_ERR_OUT_OF_SEQUENCE || status == CVM_ERR_HELD))) {
        fuzz_fail("response is not [seq, 0], [seq, 0, result], [seq, 1..13], [seq, 12, next] or "
                  "[seq, 14, next]",
                  data, len);
    }
    if (fz.expected > FUZZ_MAX_EXPECTED) {
        return; /* too many requests to model: only each line's form is checked */
    }
    if (fz.draining) {
        fuzz_check_drained(data, len, m, seq, status);
        return;
    }
    if (fz.answered >= fz.expected) {
        fuzz_fail("more responses than requests that passed §3.1 step 2 and drained ones", data,
                  len);
    }
    if (seq != fz.expected_seq[fz.answered]) {
        fuzz_fail("response seq is not the next request's", data, len);
    }
    fuzz_check_link(data, len, frame, m, count, status, fz.answered);
    fz.answered++;
}

/* ---- cvm_port.h ---- */

void cvm_port_write(const uint8_t *data, size_t len)
{
    if (len == 0u || data[len - 1u] != '\n') {
        fuzz_fail("write is not a line ending in '\\n'", data, len);
    }
    if (len - 1u > CVM_MAX_LINE_BYTES) {
        fuzz_fail("line longer than max_line_bytes", data, len);
    }
    if (memchr(data, '\n', len - 1u) != NULL || memchr(data, '\r', len) != NULL) {
        fuzz_fail("write holds more than one line, or a '\\r'", data, len);
    }
    fz.hash = fuzz_fnv(fz.hash, data, len);
    if (data[0] == CVM_FRAME_MARKER) {
        if (!fz.feeding) {
            fuzz_fail("a log line starts with the frame marker", data, len);
        }
        fuzz_check_frame(data, len);
    } else if (fz.feeding) {
        fuzz_fail("a line that is not a frame written while feeding", data, len);
    }
}

uint32_t cvm_port_uptime_ms(void)
{
    return 1234u; /* constant: both passes must write the same bytes */
}

cvm_reset_cause cvm_port_reset_cause(void)
{
    return CVM_RESET_SOFTWARE;
}

size_t cvm_port_unique_id(uint8_t out[12])
{
    memset(out, 0xA5, 12u);
    return 12u;
}

uint32_t cvm_port_boot_nonce(void)
{
    return 0x00C0FFEEu;
}

uint32_t cvm_port_rx_overruns(void)
{
    return 0u;
}

const char *cvm_port_name(void)
{
    return "fuzz";
}

/* ---- the harness ---- */

/* The seqs the device must answer, in order: every line the core's assembler reports as a frame
 * whose message passes §3.1 steps 1 and 2. */
static void fuzz_expect(const uint8_t *data, size_t size)
{
    static cvm_line l;
    cvm_line_init(&l);
    fz.expected = 0;
    while (size > 0u) {
        cvm_line_event event;
        size_t used = cvm_line_feed(&l, data, size, &event);
        data += used;
        size -= used;
        if (event != CVM_LINE_FRAME) {
            continue;
        }
        size_t len;
        const uint8_t *msg = cvm_line_message(&l, &len);
        cvm_cbor_reader r;
        uint64_t count;
        uint64_t seq;
        if (cvm_cbor_check(msg, len, CVM_MAX_CBOR_DEPTH) != CVM_CBOR_OK) {
            continue;
        }
        cvm_cbor_reader_init(&r, msg, len);
        if (cvm_cbor_enter_array(&r, &count) != CVM_CBOR_OK || count == 0u ||
            cvm_cbor_read_uint(&r, &seq) != CVM_CBOR_OK || seq > 0xFFFFFFFFu) {
            continue;
        }
        if (fz.expected < FUZZ_MAX_EXPECTED) {
            uint64_t op;
            fz.expected_seq[fz.expected] = (uint32_t)seq;
            fz.expected_len[fz.expected] = len;
            fz.expected_hello[fz.expected] = count == 2u &&
                                             cvm_cbor_read_uint(&r, &op) == CVM_CBOR_OK &&
                                             op == CVM_OP_HELLO;
        }
        fz.expected++;
    }
}

/* Boots the device, writes the banner and one log line made of the input, then feeds the input
 * in chunks of the sizes `split` picks (NULL: one call). Returns the hash of everything written. */
static uint64_t fuzz_pass(const uint8_t *data, size_t size, uint64_t *split)
{
    char text[FUZZ_LOG_TEXT_MAX + 1u];
    size_t t = 0;

    fz.answered = 0;
    fz.hash = 0xCBF29CE484222325ull;
    fz.open = false;
    fz.next = 0;
    fz.first = 0;
    fz.count = 0;
    fz.used = 0;
    fz.held_count = 0;
    fz.draining = false;
    fz.feeding = false;
    cvm_device_init();
    cvm_device_banner();
    while (t < size && t < FUZZ_LOG_TEXT_MAX && data[t] != 0u) {
        text[t] = (char)data[t];
        t++;
    }
    text[t] = '\0';
    cvm_device_log(text);

    fz.feeding = true;
    cvm_device_feed(NULL, 0u);
    size_t pos = 0;
    while (pos < size) {
        size_t rest = size - pos;
        size_t n = rest;
        if (split != NULL) {
            /* xorshift64: 1 byte, 2..16, 17..640 or all the rest, each a quarter of the time. */
            *split ^= *split << 13;
            *split ^= *split >> 7;
            *split ^= *split << 17;
            uint64_t r = *split;
            switch (r & 3u) {
            case 0: n = 1u; break;
            case 1: n = 2u + (size_t)((r >> 2) % 15u); break;
            case 2: n = 17u + (size_t)((r >> 2) % 624u); break;
            default: break;
            }
            if (n > rest) {
                n = rest;
            }
        }
        cvm_device_feed(data + pos, n);
        pos += n;
    }
    fz.feeding = false;
    if (fz.expected <= FUZZ_MAX_EXPECTED && (fz.answered != fz.expected || fz.draining)) {
        fuzz_fail("fewer responses than requests that passed §3.1 step 2 and drained ones", data,
                  size);
    }
    return fz.hash;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_expect(data, size);
    uint64_t whole = fuzz_pass(data, size, NULL);
    uint64_t split = fuzz_fnv(0xCBF29CE484222325ull, data, size) | 1u; /* xorshift: never 0 */
    uint64_t chunked = fuzz_pass(data, size, &split);
    if (whole != chunked) {
        fuzz_fail("feeding in chunks wrote other bytes than feeding at once", data, size);
    }
    return 0;
}
