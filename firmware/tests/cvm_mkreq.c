/*
 * cvm-mkreq: writes request lines for the tools around the core (not part of the firmware).
 *
 *   cvm-mkreq seeds DIR          writes the fuzzer's hand-chosen seed files into DIR (created if
 *                                missing): every op with valid and invalid arguments, batches,
 *                                echo, malformed CBOR under a good CRC, bad CRC, bad base64,
 *                                noise, CRLF, overlong lines, whole sessions, and the link layer
 *                                (PROTOCOL.md §3.3): requests before any hello, duplicates, gaps,
 *                                a hello mid-session, the replay cache's eviction and wrap-around,
 *                                seqs wrapping from 0xFFFFFFFF to 0, and the hold (requests past
 *                                a gap held and drained, copies, its reach and length bound, a gap
 *                                of two, its slots cycling and across the seq wrap, a hello or a
 *                                reset_pool with requests held).
 *   cvm-mkreq store-global N     writes to stdout a session for callgrind: `hello` (seq 0),
 *                                `acquire 0` (seq 1), then N `store_global(0, i % 64, i)` lines
 *                                (seq i + 2).
 *
 * Requests are encoded with the core's own CBOR writer and framed with its CRC-16 and base64
 * modules, so a seed is exactly what a conforming host would send. Deliberately broken messages
 * (indefinite lengths, floats, tags, ...) are the only CBOR written by hand, as hex, because the
 * core's writer cannot produce them. Exit status: 0, or 2 with a message on stderr.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_crc16.h"
#include "cvm_protocol.h"

/* One seed file: at most 4096 bytes (the fuzzer's -max_len, FUZZ_MAX_LEN, cuts longer ones). */
#define SEED_CAP 4096u

typedef struct {
    uint8_t data[SEED_CAP];
    size_t len;
} seed;

static void fail(const char *what, const char *detail)
{
    fprintf(stderr, "cvm-mkreq: %s%s%s\n", what, detail != NULL ? ": " : "", detail != NULL ? detail : "");
    exit(2);
}

static void put_bytes(seed *s, const void *data, size_t len)
{
    if (len > SEED_CAP - s->len) {
        fail("a seed exceeds 4096 bytes (a bug in this tool)", NULL);
    }
    memcpy(s->data + s->len, data, len);
    s->len += len;
}

static void put_text(seed *s, const char *text)
{
    put_bytes(s, text, strlen(text));
}

/* n copies of the byte c. */
static void put_fill(seed *s, uint8_t c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_bytes(s, &c, 1u);
    }
}

/*
 * The frame line '~' base64(msg ‖ CRC-16/XMODEM big-endian) followed by eol. crc_xor flips CRC
 * bits to make a bad-CRC frame (0 for a good one).
 */
static void put_frame_eol(seed *s, const uint8_t *msg, size_t len, uint16_t crc_xor, const char *eol)
{
    uint8_t frame[2u * CVM_MAX_FRAME_BYTES];
    char text[CVM_BASE64_ENCODED_LEN(sizeof frame) + 1u];
    if (len > sizeof frame - CVM_CRC_BYTES) {
        fail("message too long for a frame (a bug in this tool)", NULL);
    }
    memcpy(frame, msg, len);
    uint16_t crc = (uint16_t)(cvm_crc16(msg, len) ^ crc_xor);
    frame[len] = (uint8_t)(crc >> 8);
    frame[len + 1u] = (uint8_t)crc;
    text[0] = '~';
    size_t k = cvm_base64_encode(frame, len + CVM_CRC_BYTES, text + 1);
    put_bytes(s, text, 1u + k);
    put_text(s, eol);
}

static void put_frame(seed *s, const uint8_t *msg, size_t len)
{
    put_frame_eol(s, msg, len, 0u, "\n");
}

/* Parses hex digits (spaces allowed) into out; dies on anything else. Returns the byte count. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex != '\0'; hex++) {
        char c = *hex;
        int v;
        if (c == ' ') {
            continue;
        } else if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else {
            fail("bad hex in a built-in message", hex);
        }
        if (hi < 0) {
            hi = v;
        } else {
            if (n == cap) {
                fail("built-in message too long", NULL);
            }
            out[n++] = (uint8_t)(hi * 16 + v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        fail("odd hex digit count in a built-in message", NULL);
    }
    return n;
}

/* A frame around CBOR written by hand (hex): for messages the core's writer cannot make. */
static void put_raw(seed *s, const char *hex)
{
    uint8_t msg[2u * CVM_MAX_FRAME_BYTES];
    put_frame(s, msg, unhex(hex, msg, sizeof msg));
}

/* Ends a message built with w: dies if the writer overflowed (a bug in this tool). */
static size_t done(const cvm_cbor_writer *w)
{
    size_t n = cvm_cbor_writer_len(w);
    if (n == 0u) {
        fail("CBOR writer overflow (a bug in this tool)", NULL);
    }
    return n;
}

/* [seq, op, args...] with integer arguments, framed with eol and crc_xor. */
static void put_req_x(seed *s, uint64_t seq, uint64_t op, size_t argc, const int64_t *args,
                      uint16_t crc_xor, const char *eol)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    cvm_cbor_writer w;
    cvm_cbor_writer_init(&w, msg, sizeof msg);
    (void)cvm_cbor_put_array(&w, 2u + argc);
    (void)cvm_cbor_put_uint(&w, seq);
    (void)cvm_cbor_put_uint(&w, op);
    for (size_t i = 0; i < argc; i++) {
        (void)cvm_cbor_put_int(&w, args[i]);
    }
    put_frame_eol(s, msg, done(&w), crc_xor, eol);
}

static void put_req(seed *s, uint64_t seq, uint64_t op, size_t argc, const int64_t *args)
{
    put_req_x(s, seq, op, argc, args, 0u, "\n");
}

/* REQ(s, seq, op, args...): a request with one or more integer arguments; REQ0 without any. */
#define ARGS(...) (const int64_t[]){__VA_ARGS__}
#define NARGS(...) (sizeof(ARGS(__VA_ARGS__)) / sizeof(int64_t))
#define REQ(s, seq, op, ...) put_req((s), (seq), (op), NARGS(__VA_ARGS__), ARGS(__VA_ARGS__))
#define REQ0(s, seq, op) put_req((s), (seq), (op), 0u, NULL)

/* hello with this seq: opens a session whose next requests are seq + 1, seq + 2, ... (§3.3). */
#define HELLO(s, seq) REQ0((s), (seq), CVM_OP_HELLO)

/* One batch entry: its op code and integer arguments; argc is SIZE_MAX for "not an array". */
typedef struct {
    int64_t code;
    size_t argc;
    int64_t args[4];
} batch_op;

/* [seq, 9, [entries...]]: each entry [code, args...], or the bare integer code when argc is
 * SIZE_MAX (an entry that is not an array). */
static void put_batch(seed *s, uint32_t seq, size_t n, const batch_op *ops)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    cvm_cbor_writer w;
    cvm_cbor_writer_init(&w, msg, sizeof msg);
    (void)cvm_cbor_put_array(&w, 3u);
    (void)cvm_cbor_put_uint(&w, seq);
    (void)cvm_cbor_put_uint(&w, CVM_OP_BATCH);
    (void)cvm_cbor_put_array(&w, n);
    for (size_t i = 0; i < n; i++) {
        if (ops[i].argc == SIZE_MAX) {
            (void)cvm_cbor_put_int(&w, ops[i].code);
            continue;
        }
        (void)cvm_cbor_put_array(&w, 1u + ops[i].argc);
        (void)cvm_cbor_put_int(&w, ops[i].code);
        for (size_t k = 0; k < ops[i].argc; k++) {
            (void)cvm_cbor_put_int(&w, ops[i].args[k]);
        }
    }
    put_frame(s, msg, done(&w));
}

/* [seq, 10, bstr of len bytes 0, 1, 2, ...]. */
static void put_echo(seed *s, uint32_t seq, size_t len)
{
    uint8_t payload[CVM_MAX_FRAME_BYTES];
    uint8_t msg[2u * CVM_MAX_FRAME_BYTES];
    cvm_cbor_writer w;
    if (len > sizeof payload) {
        fail("echo payload too long (a bug in this tool)", NULL);
    }
    for (size_t i = 0; i < len; i++) {
        payload[i] = (uint8_t)i;
    }
    cvm_cbor_writer_init(&w, msg, sizeof msg);
    (void)cvm_cbor_put_array(&w, 3u);
    (void)cvm_cbor_put_uint(&w, seq);
    (void)cvm_cbor_put_uint(&w, CVM_OP_ECHO);
    (void)cvm_cbor_put_bstr(&w, payload, len);
    put_frame(s, msg, done(&w));
}

/* [seq, 10, bstr] whose message is exactly len bytes (seq < 24, 7 <= len <= 382). */
static void put_echo_of_len(seed *s, uint32_t seq, size_t len)
{
    for (size_t p = 0; p < len; p++) {
        size_t head = p < 24u ? 1u : p < 256u ? 2u : 3u;
        if (3u + head + p == len) {
            put_echo(s, seq, p);
            return;
        }
    }
    fail("no echo payload makes that message length (a bug in this tool)", NULL);
}

/* ---- seeds ---- */

static const char *seed_dir;
static unsigned seed_count;

static void save(const char *name, const seed *s)
{
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/%02u-%s", seed_dir, seed_count, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        fail("seed path too long", seed_dir);
    }
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fail(strerror(errno), path);
    }
    if (fwrite(s->data, 1, s->len, f) != s->len || fclose(f) != 0) {
        fail("writing a seed failed", path);
    }
    seed_count++;
}

/* Every op with valid arguments, in an order that makes each one succeed. */
static void seed_session(seed *s)
{
    REQ0(s, 1, CVM_OP_HELLO);
    REQ(s, 2, CVM_OP_ACQUIRE, 0);
    REQ(s, 3, CVM_OP_STORE_GLOBAL, 0, 5, -7);
    REQ(s, 4, CVM_OP_LOAD_GLOBAL, 0, 5);
    REQ(s, 5, CVM_OP_CREATE_ARRAY, 0, 2, 8);
    REQ(s, 6, CVM_OP_STORE_ARRAY, 0, 2, 7, INT32_MIN);
    REQ(s, 7, CVM_OP_LOAD_ARRAY, 0, 2, 7);
    REQ0(s, 8, CVM_OP_STATS);
    REQ(s, 9, CVM_OP_RELEASE, 0);
    REQ0(s, 10, CVM_OP_RESET_POOL);
    REQ0(s, 11, CVM_OP_STATS);
}

static void make_seeds(void)
{
    seed s;
#define BEGIN() (s.len = 0u)

    /* One op a seed, valid. */
    BEGIN(); REQ0(&s, 0, CVM_OP_HELLO); save("hello", &s);
    BEGIN(); HELLO(&s, 4294967294u); REQ0(&s, 4294967295u, CVM_OP_STATS); save("stats-max-seq", &s);
    BEGIN(); HELLO(&s, 6); REQ0(&s, 7, CVM_OP_RESET_POOL); save("reset-pool", &s);
    BEGIN(); HELLO(&s, 0); REQ(&s, 1, CVM_OP_ACQUIRE, 3); REQ(&s, 2, CVM_OP_ACQUIRE, 3); REQ(&s, 3, CVM_OP_RELEASE, 3);
    REQ(&s, 4, CVM_OP_RELEASE, 3); save("acquire-release-twice", &s);
    BEGIN(); seed_session(&s); save("session", &s);

    /* Globals and arrays: every check of §4, in order. */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1, CVM_OP_STORE_GLOBAL, 0, 0, 1);                 /* not_acquired */
    REQ(&s, 2, CVM_OP_ACQUIRE, 0);
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 63, INT32_MAX);
    REQ(&s, 4, CVM_OP_STORE_GLOBAL, 0, 64, 1);                /* out_of_range (global) */
    REQ(&s, 5, CVM_OP_STORE_GLOBAL, 4, 0, 1);                 /* out_of_range (vm) */
    REQ(&s, 6, CVM_OP_STORE_GLOBAL, -1, 0, 1);                /* negative vm */
    REQ(&s, 7, CVM_OP_LOAD_GLOBAL, 0, 63);
    REQ(&s, 8, CVM_OP_LOAD_GLOBAL, 0, 62);                    /* never stored: 0 */
    REQ(&s, 9, CVM_OP_LOAD_GLOBAL, 0, -5);
    REQ(&s, 10, CVM_OP_LOAD_GLOBAL, 0, 4294967296);           /* past uint32 */
    save("globals", &s);

    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1, CVM_OP_ACQUIRE, 1);
    REQ(&s, 2, CVM_OP_CREATE_ARRAY, 1, 0, 0);                 /* bad_size */
    REQ(&s, 3, CVM_OP_CREATE_ARRAY, 1, 0, 65);                /* bad_size */
    REQ(&s, 4, CVM_OP_CREATE_ARRAY, 1, 0, -1);                /* negative size: bad_size */
    REQ(&s, 5, CVM_OP_CREATE_ARRAY, 1, 16, 4);                /* out_of_range (array) */
    REQ(&s, 6, CVM_OP_CREATE_ARRAY, 1, 15, 64);
    REQ(&s, 7, CVM_OP_CREATE_ARRAY, 1, 15, 64);               /* array_exists */
    REQ(&s, 8, CVM_OP_CREATE_ARRAY, 1, 3, 4);
    REQ(&s, 9, CVM_OP_STORE_ARRAY, 1, 3, 3, 42);
    REQ(&s, 10, CVM_OP_STORE_ARRAY, 1, 3, 4, 42);             /* past_size */
    REQ(&s, 11, CVM_OP_STORE_ARRAY, 1, 3, 64, 42);            /* out_of_range (index) */
    REQ(&s, 12, CVM_OP_STORE_ARRAY, 1, 4, 0, 42);             /* array_inactive */
    REQ(&s, 13, CVM_OP_LOAD_ARRAY, 1, 3, 3);
    REQ(&s, 14, CVM_OP_LOAD_ARRAY, 1, 15, 63);
    REQ(&s, 15, CVM_OP_LOAD_ARRAY, 2, 3, 3);                  /* not_acquired */
    REQ0(&s, 16, CVM_OP_STATS);
    save("arrays", &s);

    /* Argument counts and types (§3.1 steps 3 and 4). */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1, CVM_OP_ACQUIRE, 0, 0);                         /* too many */
    REQ0(&s, 2, CVM_OP_ACQUIRE);                              /* too few */
    REQ(&s, 3, CVM_OP_HELLO, 1);
    REQ(&s, 4, CVM_OP_STATS, 1);
    REQ(&s, 5, CVM_OP_RESET_POOL, 0);
    REQ(&s, 6, CVM_OP_STORE_GLOBAL, 0, 0, 2147483648);        /* value past int32 */
    REQ(&s, 7, CVM_OP_STORE_GLOBAL, 0, 0, -2147483649);
    REQ(&s, 8, CVM_OP_STORE_ARRAY, 0, 0, 0, INT64_MIN);
    REQ0(&s, 9, 12);                                          /* unknown_op */
    REQ0(&s, 10, 4294967296);
    REQ0(&s, 11, UINT64_MAX);
    save("bad-args", &s);

    BEGIN();
    HELLO(&s, 0);
    put_raw(&s, "81 01");                                     /* [1]: no op: bad_arg */
    put_raw(&s, "82 02 20");                                  /* op -1 */
    put_raw(&s, "83 03 01 f9 3c00");                          /* vm 1.0 (half float) */
    put_raw(&s, "83 04 01 fb 3ff0000000000000");              /* vm 1.0 (double) */
    put_raw(&s, "83 05 01 61 30");                            /* vm "0" */
    put_raw(&s, "83 06 01 c1 00");                            /* vm tagged */
    put_raw(&s, "83 07 01 f5");                               /* vm true */
    put_raw(&s, "83 08 01 f6");                               /* vm null */
    put_raw(&s, "83 09 01 80");                               /* vm [] */
    put_raw(&s, "83 0a 01 a0");                               /* vm {} */
    put_raw(&s, "85 0b 04 00 00 fa 3f800000");                /* value float */
    put_raw(&s, "83 0c 0a 40");                               /* echo of an empty bstr */
    put_raw(&s, "83 0d 0a 60");                               /* echo of a tstr: bad_arg */
    put_raw(&s, "83 0e 0a 00");
    put_raw(&s, "83 0f 09 00");                               /* batch of an int: bad_arg */
    put_raw(&s, "83 10 09 a0");
    save("arg-types", &s);

    /* Integers in every width, shortest or not (all accepted). */
    BEGIN();
    HELLO(&s, 0);
    put_raw(&s, "83 18 01 18 01 18 00");
    put_raw(&s, "84 19 0002 19 0003 19 0000 19 0005");
    put_raw(&s, "85 1a 00000003 1a 00000004 1a 00000000 1a 00000005 1a 7fffffff");
    put_raw(&s, "84 1b 0000000000000004 1b 0000000000000003 1b 0000000000000000 1b 0000000000000005");
    put_raw(&s, "85 1b ffffffffffffffff 04 00 00 00");             /* seq past uint32: malformed */
    put_raw(&s, "85 05 04 00 00 3a 7fffffff");                      /* INT32_MIN */
    put_raw(&s, "85 06 04 00 00 3a 80000000");                      /* INT32_MIN - 1 */
    put_raw(&s, "85 07 04 3b ffffffffffffffff 00 00");              /* vm -2^64 */
    save("int-widths", &s);

    /* batch (§4.2). */
    BEGIN();
    HELLO(&s, 0);
    {
        const batch_op ops[] = {
            {CVM_OP_ACQUIRE, 1, {2}},          {CVM_OP_STORE_GLOBAL, 3, {2, 1, -1}},
            {CVM_OP_LOAD_GLOBAL, 2, {2, 1}},   {CVM_OP_CREATE_ARRAY, 3, {2, 0, 3}},
            {CVM_OP_STORE_ARRAY, 4, {2, 0, 2, 9}}, {CVM_OP_LOAD_ARRAY, 3, {2, 0, 2}},
            {CVM_OP_LOAD_ARRAY, 3, {2, 0, 3}}, {CVM_OP_RELEASE, 1, {2}},
            {CVM_OP_RESET_POOL, 0, {0}},       {CVM_OP_LOAD_GLOBAL, 2, {2, 1}},
        };
        put_batch(&s, 1, sizeof ops / sizeof ops[0], ops);
        REQ0(&s, 2, CVM_OP_STATS);
    }
    save("batch", &s);

    BEGIN();
    HELLO(&s, 1);
    {
        const batch_op ops[] = {
            {CVM_OP_HELLO, 0, {0}},  {CVM_OP_STATS, 0, {0}}, {CVM_OP_BATCH, 1, {0}},
            {CVM_OP_ECHO, 1, {0}},   {12, 0, {0}},           {-1, 0, {0}},
            {4, SIZE_MAX, {0}},      {CVM_OP_ACQUIRE, 0, {0}}, {CVM_OP_ACQUIRE, 2, {0, 0}},
            {CVM_OP_STORE_GLOBAL, 3, {0, 0, 2147483648}},
        };
        put_batch(&s, 2, sizeof ops / sizeof ops[0], ops);
    }
    put_raw(&s, "83 03 09 81 80");                            /* an empty entry: bad_arg */
    put_raw(&s, "83 04 09 80");                               /* an empty batch */
    save("batch-bad-entries", &s);

    BEGIN();
    HELLO(&s, 0);
    {
        batch_op ops[CVM_MAX_BATCH_OPS + 1u];
        ops[0] = (batch_op){CVM_OP_ACQUIRE, 1, {0}};
        for (size_t i = 1; i < CVM_MAX_BATCH_OPS + 1u; i++) {
            ops[i] = (batch_op){CVM_OP_LOAD_GLOBAL, 2, {0, (int64_t)(i % 64u)}};
        }
        put_batch(&s, 1, CVM_MAX_BATCH_OPS, ops);             /* full: the largest results */
        put_batch(&s, 2, CVM_MAX_BATCH_OPS + 1u, ops);        /* too_large */
    }
    save("batch-full-and-too-large", &s);

    /* echo: small, the largest that fits a frame, one byte past it (bad_frame). */
    BEGIN(); HELLO(&s, 0); put_echo(&s, 1, 0); put_echo(&s, 2, 16); save("echo-small", &s);
    BEGIN(); HELLO(&s, 2); put_echo(&s, 3, 376); save("echo-largest", &s);
    BEGIN(); HELLO(&s, 3); put_echo(&s, 4, 377); save("echo-too-large", &s);
    BEGIN(); HELLO(&s, 4); put_raw(&s, "83 05 0a 43 7e0a0d"); save("echo-framing-bytes", &s);

    /* Malformed CBOR under a good CRC (§3.1 steps 1 and 2): no reply. */
    BEGIN();
    HELLO(&s, 0);
    put_raw(&s, "9f 01 00 ff");                               /* indefinite array */
    put_raw(&s, "83 01 0a 5f 41 00 ff");                      /* indefinite bstr */
    put_raw(&s, "82 01 1c");                                  /* reserved additional info */
    put_raw(&s, "84 01 04 00");                               /* truncated (one short) */
    put_raw(&s, "82 01 00 00");                               /* trailing byte */
    put_raw(&s, "82 01 f8 10");                               /* two-byte simple < 32 */
    put_raw(&s, "83 01 09 81 81 81 00");                      /* depth 5: [1, 9, [[[0]]]] */
    put_raw(&s, "83 01 09 81 81 00");                         /* depth 4: answered */
    put_raw(&s, "82 01 5a ffffffff");                         /* length past the end */
    put_raw(&s, "9b ffffffffffffffff 00");                    /* huge array count */
    put_raw(&s, "bb 7fffffffffffffff 00 00");                 /* huge map count */
    put_raw(&s, "a1 00 00");                                  /* a map, not an array */
    put_raw(&s, "80 00 00");                                  /* [] then bytes */
    put_raw(&s, "81 20");                                     /* seq negative */
    put_raw(&s, "82 f9 3c00 00");                             /* seq a float */
    put_raw(&s, "82 c0 00 00");                               /* seq tagged */
    put_raw(&s, "ff 00 00");                                  /* a lone break */
    put_raw(&s, "00 00 00");                                  /* three uints */
    save("malformed-cbor", &s);

    /* Damaged lines (§2.1 rows 1..5): the hellos are lost, so the stats gets no_session. */
    BEGIN();
    put_req_x(&s, 1, CVM_OP_HELLO, 0, NULL, 0x0001u, "\n");  /* bad CRC */
    put_req_x(&s, 2, CVM_OP_HELLO, 0, NULL, 0x8000u, "\n");
    REQ0(&s, 3, CVM_OP_STATS);
    save("bad-crc", &s);

    BEGIN();
    put_text(&s, "~\n~A\n~AA\n~AA=\n~AA==\n~AAA=\n~AAAA\n");     /* too short, bad length */
    put_text(&s, "~gwEBAELl\r\r\n");                              /* two CRs */
    put_text(&s, "~gwEB AELl\n~gwEB\tAELl\n~gw-_AELl\n");         /* space, tab, URL-safe */
    put_text(&s, "~ggEAZgs\n~ggEAZgt=\n~ggEAZgs==\n~=ggEAZgs\n"); /* padding, pad bits */
    put_text(&s, "~~gwEBAELl\n~gwEBAELl~\n");
    save("bad-base64", &s);

    BEGIN();
    put_text(&s, "hello\nCVM-BOOT proto=1 fw=x nonce=00000000 vms=4\n\n\r\n\r\r\n");
    put_fill(&s, 0x00, 5);
    put_text(&s, "\n\xff\xfe\x80~\n");
    HELLO(&s, 0);
    REQ0(&s, 1, CVM_OP_STATS);
    save("noise-and-empty", &s);

    BEGIN();
    put_req_x(&s, 0, CVM_OP_HELLO, 0, NULL, 0u, "\r\n");
    put_req_x(&s, 1, CVM_OP_ACQUIRE, 1, ARGS(0), 0u, "\r\n");
    put_req_x(&s, 2, CVM_OP_STORE_GLOBAL, 3, ARGS(0, 1, 2), 0u, "\r\n");
    put_req_x(&s, 3, CVM_OP_LOAD_GLOBAL, 2, ARGS(0, 1), 0u, "\r\n");
    save("crlf", &s);

    /* Overlong lines: exactly max_line_bytes, one past it, far past it; each followed by a good
     * request, which must still be answered. */
    BEGIN();
    HELLO(&s, 0);
    put_text(&s, "~");
    put_fill(&s, 'A', CVM_MAX_LINE_BYTES - 1u);
    put_text(&s, "\n");
    REQ0(&s, 1, CVM_OP_STATS);
    save("line-exactly-max", &s);

    BEGIN();
    HELLO(&s, 1);
    put_text(&s, "~");
    put_fill(&s, 'A', CVM_MAX_LINE_BYTES);
    put_text(&s, "\n");
    REQ0(&s, 2, CVM_OP_STATS);
    save("line-one-past-max", &s);

    BEGIN();
    HELLO(&s, 2);
    put_fill(&s, 'x', 3u * CVM_MAX_LINE_BYTES);
    put_text(&s, "\n");
    REQ0(&s, 3, CVM_OP_STATS);
    put_fill(&s, '~', CVM_MAX_LINE_BYTES + 1u);
    put_text(&s, "\r\n");
    REQ0(&s, 4, CVM_OP_STATS);
    save("overlong", &s);

    BEGIN();
    HELLO(&s, 4);
    put_text(&s, "~");
    put_fill(&s, 'A', 516u);                                 /* 387 bytes: past max_frame_bytes */
    put_text(&s, "\n");
    REQ0(&s, 5, CVM_OP_STATS);
    save("frame-too-long", &s);

    /* A request with no '\n' yet, and one split across a NUL. */
    BEGIN(); REQ0(&s, 1, CVM_OP_HELLO); s.len--; save("no-newline", &s);
    BEGIN(); REQ0(&s, 1, CVM_OP_HELLO); s.data[4] = 0; REQ0(&s, 2, CVM_OP_HELLO); save("nul-inside", &s);

    /* Pipelined: many requests back to back, as the host's in-flight window allows. */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1, CVM_OP_ACQUIRE, 0);
    for (uint32_t i = 0; i < 60u; i++) {
        REQ(&s, 2u + i, CVM_OP_STORE_GLOBAL, 0, (int64_t)(i % 64u), (int64_t)i * 1000003);
    }
    REQ0(&s, 62, CVM_OP_STATS);
    save("pipelined-stores", &s);

    BEGIN();
    HELLO(&s, 0);
    for (uint32_t vm = 0; vm < 5u; vm++) {
        REQ(&s, 3u * vm + 1u, CVM_OP_ACQUIRE, vm);
        REQ(&s, 3u * vm + 2u, CVM_OP_CREATE_ARRAY, vm, 0, 64);
        REQ(&s, 3u * vm + 3u, CVM_OP_STORE_GLOBAL, vm, 63, -1);
    }
    REQ0(&s, 16, CVM_OP_STATS);
    REQ0(&s, 17, CVM_OP_RESET_POOL);
    REQ0(&s, 18, CVM_OP_STATS);
    save("every-context", &s);

    /* The link layer (§3.3). Requests before any hello: no_session, nothing executed. */
    BEGIN();
    REQ(&s, 5, CVM_OP_ACQUIRE, 0);
    REQ0(&s, 6, CVM_OP_STATS);
    put_raw(&s, "83 07 00 00");                               /* [7, 0, 0]: not a hello */
    HELLO(&s, 8);
    REQ(&s, 9, CVM_OP_LOAD_GLOBAL, 0, 0);                     /* not_acquired: never executed */
    save("link-no-session", &s);

    /* Duplicates answered from the cache, a gap, an old seq, the hello's duplicate. */
    BEGIN();
    HELLO(&s, 10);
    REQ(&s, 11, CVM_OP_ACQUIRE, 0);
    REQ(&s, 12, CVM_OP_STORE_GLOBAL, 0, 1, 77);
    REQ(&s, 12, CVM_OP_STORE_GLOBAL, 0, 1, 78);               /* duplicate: replays 12 */
    REQ(&s, 11, CVM_OP_ACQUIRE, 0);                           /* duplicate: not already_acquired */
    REQ(&s, 20, CVM_OP_LOAD_GLOBAL, 0, 1);                    /* gap: [20, 12, 13] */
    REQ(&s, 13, CVM_OP_LOAD_GLOBAL, 0, 1);
    HELLO(&s, 10);                                            /* duplicate hello: opens nothing */
    REQ(&s, 9, CVM_OP_RELEASE, 0);                            /* before the session */
    REQ0(&s, 14, CVM_OP_STATS);
    REQ0(&s, 14, CVM_OP_STATS);                               /* a stats replayed, not re-run */
    save("link-duplicates-and-gaps", &s);

    /* A hello mid-session: the pool is kept, the cache is emptied. */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1, CVM_OP_ACQUIRE, 2);
    REQ(&s, 2, CVM_OP_STORE_GLOBAL, 2, 0, 5);
    HELLO(&s, 1000);
    REQ(&s, 2, CVM_OP_STORE_GLOBAL, 2, 0, 5);                 /* not cached now: out_of_sequence */
    REQ(&s, 1001, CVM_OP_LOAD_GLOBAL, 2, 0);                  /* 5: the pool survived */
    HELLO(&s, 1000);                                          /* a duplicate of the new hello */
    HELLO(&s, 1002);                                          /* a hello at next: a new session */
    REQ(&s, 1003, CVM_OP_ACQUIRE, 2);                         /* already_acquired */
    save("link-hello-mid-session", &s);

    /* seq wraps from 0xFFFFFFFF to 0; duplicates across the wrap. */
    BEGIN();
    HELLO(&s, 4294967294u);
    REQ(&s, 4294967295u, CVM_OP_ACQUIRE, 1);
    REQ(&s, 0, CVM_OP_STORE_GLOBAL, 1, 2, 3);
    REQ(&s, 1, CVM_OP_LOAD_GLOBAL, 1, 2);
    REQ(&s, 4294967295u, CVM_OP_ACQUIRE, 1);                  /* duplicate from before the wrap */
    REQ(&s, 0, CVM_OP_STORE_GLOBAL, 1, 2, 3);
    REQ(&s, 3, CVM_OP_LOAD_GLOBAL, 1, 2);                     /* gap: [3, 12, 2] */
    save("link-seq-wrap", &s);

    /* Evicted by depth: CVM_DEFAULT_REPLAY_DEPTH + 4 small responses, then duplicates of the
     * oldest (evicted: out_of_sequence) and the newest (replayed). */
    BEGIN();
    HELLO(&s, 0);
    for (uint32_t i = 1; i <= CVM_DEFAULT_REPLAY_DEPTH + 4u; i++) {
        REQ0(&s, i, CVM_OP_RESET_POOL);
    }
    REQ0(&s, 1, CVM_OP_RESET_POOL);
    REQ0(&s, 4, CVM_OP_RESET_POOL);
    REQ0(&s, 5, CVM_OP_RESET_POOL);
    REQ0(&s, CVM_DEFAULT_REPLAY_DEPTH + 4u, CVM_OP_RESET_POOL);
    save("link-evict-by-depth", &s);

    /* Evicted by bytes, the ring wrapping: 40 stats responses (about 80 bytes each here) fill
     * CVM_DEFAULT_REPLAY_BYTES and wrap around it before CVM_DEFAULT_REPLAY_DEPTH entries are
     * cached; then duplicates from the newest back past the oldest cached one (entries that may
     * straddle the ring's end, then evicted ones), and one long evicted. */
    BEGIN();
    HELLO(&s, 0);
    for (uint32_t i = 1; i <= 40u; i++) {
        REQ0(&s, i, CVM_OP_STATS);
    }
    for (uint32_t i = 40; i >= 10u; i--) {
        REQ0(&s, i, CVM_OP_STATS);
    }
    REQ0(&s, 2, CVM_OP_STATS);
    save("link-evict-by-bytes-and-wrap", &s);

    /* The hold (§3.3 rule 5) and its drain (rule 4): 2..4 past the gap at 1 are held (3 twice,
     * with another value: the copy replaces it), 1 fills the gap and they run in seq order; their
     * duplicates are replayed. */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 4, CVM_OP_LOAD_GLOBAL, 0, 1);                     /* [4, 14, 1] */
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 1, 5);
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 1, 6);                 /* a copy: held again */
    REQ(&s, 2, CVM_OP_CREATE_ARRAY, 0, 0, 4);
    REQ(&s, 1, CVM_OP_ACQUIRE, 0);                            /* 1, then 2, 3 (6), 4 */
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 1, 7);                 /* a duplicate now */
    REQ(&s, 4, CVM_OP_LOAD_GLOBAL, 0, 1);
    REQ0(&s, 5, CVM_OP_STATS);
    save("link-hold-and-drain", &s);

    /* The hold's reach (hold_depth ahead held, one more refused) and length bound (an echo of
     * hold_message_bytes held, one byte longer refused, a batch refused), then the gap filled one
     * request at a time up to the farthest held one. */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1u + CVM_DEFAULT_HOLD_DEPTH, CVM_OP_LOAD_GLOBAL, 0, 0);
    REQ(&s, 2u + CVM_DEFAULT_HOLD_DEPTH, CVM_OP_LOAD_GLOBAL, 0, 0); /* too far: [seq, 12, 1] */
    put_echo_of_len(&s, 2, CVM_DEFAULT_HOLD_MESSAGE_BYTES);
    put_echo_of_len(&s, 3, CVM_DEFAULT_HOLD_MESSAGE_BYTES + 1u);  /* too long: [3, 12, 1] */
    put_batch(&s, 4, 4,
              (const batch_op[]){{CVM_OP_ACQUIRE, 1, {1}},
                                 {CVM_OP_STORE_GLOBAL, 3, {1, 2, 300000}},
                                 {CVM_OP_LOAD_GLOBAL, 2, {1, 2}},
                                 {CVM_OP_RELEASE, 1, {1}}});
    REQ(&s, 1, CVM_OP_ACQUIRE, 0);                            /* 1, then 2 (the echo) */
    for (uint32_t i = 3; i <= CVM_DEFAULT_HOLD_DEPTH; i++) {
        REQ(&s, i, CVM_OP_STORE_GLOBAL, 0, 0, (int64_t)i);
    }
    REQ0(&s, 1u + CVM_DEFAULT_HOLD_DEPTH + 1u, CVM_OP_STATS);
    save("link-hold-reach-and-length", &s);

    /* A gap of two: 1 and 3 missing; 1 drains up to 3, 3 drains the rest. */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 2, CVM_OP_ACQUIRE, 0);
    REQ(&s, 4, CVM_OP_LOAD_GLOBAL, 0, 1);
    REQ(&s, 5, CVM_OP_RELEASE, 0);
    REQ(&s, 1, CVM_OP_ACQUIRE, 1);                            /* 1, 2 */
    REQ(&s, 4, CVM_OP_LOAD_GLOBAL, 0, 1);                     /* still held: [4, 14, 3] */
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 1, 2);                 /* 3, 4, 5 */
    save("link-hold-gap-of-two", &s);

    /* The whole window held across the seq wrap (next 0xFFFFFFF9, held 0xFFFFFFFA..8), then
     * drained by next; duplicates from both sides of the wrap. */
    BEGIN();
    HELLO(&s, 0xFFFFFFF8u);
    for (uint32_t k = CVM_DEFAULT_HOLD_DEPTH; k >= 1u; k--) {
        REQ(&s, (uint32_t)(0xFFFFFFF9u + k), CVM_OP_STORE_GLOBAL, 0, k % 64u, (int64_t)k);
    }
    REQ(&s, 0xFFFFFFF9u, CVM_OP_ACQUIRE, 0);                  /* 17 lines */
    REQ(&s, 0xFFFFFFFFu, CVM_OP_STORE_GLOBAL, 0, 6, 6);
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 10, 10);
    REQ(&s, 9, CVM_OP_LOAD_GLOBAL, 0, 6);
    save("link-hold-seq-wrap", &s);

    /* The hold's slots cycling: one request held and drained at a time, over two rounds of the
     * slots and more, so every slot is reused. */
    BEGIN();
    HELLO(&s, 0);
    for (uint32_t i = 0; i < 2u * CVM_DEFAULT_HOLD_DEPTH + 3u; i++) {
        REQ0(&s, 2u * i + 2u, CVM_OP_RESET_POOL);             /* held */
        REQ0(&s, 2u * i + 1u, CVM_OP_RESET_POOL);             /* fills: drains it */
    }
    save("link-hold-ring", &s);

    /* A hello with requests held empties the hold (at next, and far from it); a reset_pool keeps
     * it (the acquire held before it runs after it). */
    BEGIN();
    HELLO(&s, 0);
    REQ(&s, 1, CVM_OP_ACQUIRE, 0);
    REQ(&s, 3, CVM_OP_STORE_GLOBAL, 0, 1, 99);                /* held */
    REQ(&s, 4, CVM_OP_ACQUIRE, 1);                            /* held */
    HELLO(&s, 2);                                             /* at next: a new session */
    REQ(&s, 3, CVM_OP_LOAD_GLOBAL, 0, 1);                     /* runs now: 0, not 99 */
    REQ(&s, 6, CVM_OP_ACQUIRE, 2);                            /* held */
    HELLO(&s, 500);                                           /* far from next */
    REQ(&s, 6, CVM_OP_ACQUIRE, 2);                            /* the old session's: 12 */
    REQ(&s, 502, CVM_OP_ACQUIRE, 0);                          /* held */
    REQ0(&s, 501, CVM_OP_RESET_POOL);                         /* 501, then 502 on a fresh pool */
    REQ0(&s, 503, CVM_OP_STATS);
    save("link-hold-hello-and-reset", &s);
#undef BEGIN
}

/* ---- main ---- */

static unsigned long parse_count(const char *text)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || n > 100000000ul) {
        fail("N must be a number 0..100000000", text);
    }
    return n;
}

static void usage(void)
{
    fprintf(stderr, "usage: cvm-mkreq seeds DIR\n"
                    "       cvm-mkreq store-global N\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        usage();
    }
    if (strcmp(argv[1], "seeds") == 0) {
        seed_dir = argv[2];
        if (mkdir(seed_dir, 0777) != 0 && errno != EEXIST) {
            fail(strerror(errno), seed_dir);
        }
        make_seeds();
        return 0;
    }
    if (strcmp(argv[1], "store-global") == 0) {
        unsigned long n = parse_count(argv[2]);
        seed s;
        s.len = 0;
        HELLO(&s, 0);
        REQ(&s, 1, CVM_OP_ACQUIRE, 0);
        for (unsigned long i = 0; i < n; i++) {
            REQ(&s, (uint64_t)i + 2u, CVM_OP_STORE_GLOBAL, 0, (int64_t)(i % 64u), (int64_t)(int32_t)(uint32_t)i);
            /* Flush often: N lines need not fit one seed buffer. */
            if (s.len > SEED_CAP / 2u) {
                if (fwrite(s.data, 1, s.len, stdout) != s.len) {
                    fail("writing to stdout failed", NULL);
                }
                s.len = 0;
            }
        }
        if (fwrite(s.data, 1, s.len, stdout) != s.len || fflush(stdout) != 0) {
            fail("writing to stdout failed", NULL);
        }
        return 0;
    }
    usage();
    return 2;
}
