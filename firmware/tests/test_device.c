/*
 * The device end to end: request lines in, exact response lines out through the (fake) port.
 * Every test but the banner's runs in a session opened by boot() (hello, seq 0), so its requests
 * number 1, 2, 3, ... (PROTOCOL.md §3.3; test_link.c covers the link layer's other rules).
 */
#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_crc16.h"
#include "cvm_device.h"
#include "cvm_pool.h"
#include "cvm_test.h"
#include "cvm_test_frame.h"
#include "fake_port.h"

static void feed(const char *text)
{
    cvm_device_feed((const uint8_t *)text, strlen(text));
}

/* The seq of stats_field()'s next request. */
static uint32_t stats_seq;

/* A fresh device with a session open: hello [0, 0] sent and its answer dropped. */
static void boot(void)
{
    fake_port_reset();
    cvm_device_init();
    feed("~ggAAVTo=\n"); /* [0, 0] */
    CHECK(fake_port_out_len > 0u);
    fake_port_clear();
    stats_seq = 1;
}


/* Checks that the port received exactly `want` since the last clear, then clears. */
static void expect_out(const char *want, const char *file, int line)
{
    cvm_test_check_str((const char *)fake_port_out, fake_port_out_len, want, file, line, "output");
    fake_port_clear();
}
#define EXPECT_OUT(want) expect_out((want), __FILE__, __LINE__)

/* Decodes the single frame line in the capture into its CBOR message (checks its CRC). */
static size_t last_message(uint8_t *msg, size_t cap)
{
    if (fake_port_out_len < 6u || fake_port_out[0] != '~' ||
        fake_port_out[fake_port_out_len - 1u] != '\n') {
        return 0;
    }
    uint8_t f[400];
    int n = cvm_base64_decode((const char *)fake_port_out + 1, fake_port_out_len - 2u, f, sizeof f);
    if (n < 3 || (size_t)n - 2u > cap) {
        return 0;
    }
    size_t m = (size_t)n - 2u;
    if (cvm_crc16(f, m) != (uint16_t)((f[m] << 8) | f[m + 1u])) {
        return 0;
    }
    memcpy(msg, f, m);
    return m;
}

/* Asks for stats with seq stats_seq (then + 1) and returns the uint at `key` (1..13). */
static uint32_t stats_field(unsigned key)
{
    uint8_t msg[400];
    char hex[32];
    snprintf(hex, sizeof hex, "82 1a %08x 08", (unsigned)stats_seq++);
    fake_port_clear();
    feed(cvm_test_frame(hex));
    size_t n = last_message(msg, sizeof msg);
    fake_port_clear();
    cvm_cbor_reader r;
    uint64_t count;
    uint64_t v;
    cvm_cbor_reader_init(&r, msg, n);
    if (cvm_cbor_enter_array(&r, &count) != 0 || cvm_cbor_skip(&r) != 0 || cvm_cbor_skip(&r) != 0 ||
        r.cur >= r.end || (*r.cur & 0xE0u) != 0xA0u) {
        return 0xDEADBEEFu;
    }
    r.cur++; /* map head (19 pairs) */
    for (unsigned k = 1; k <= key && k <= 13u; k++) {
        (void)cvm_cbor_skip(&r);
        (void)cvm_cbor_read_uint(&r, &v);
        if (k == key) {
            return (uint32_t)v;
        }
    }
    return 0xDEADBEEFu;
}

/* Boots with the port named `name`; the firmware id must begin with `prefix`. */
static void check_port_id(const char *name, const char *prefix)
{
    fake_port_reset();
    fake_port_name = name;
    cvm_device_init();
    CHECK(strncmp(cvm_device_firmware_id(), prefix, strlen(prefix)) == 0);
}

static void test_banner_and_id(void)
{
    fake_port_reset();
    cvm_device_init();
    CHECK_EQ(fake_port_out_len, 0); /* init writes nothing */
    char want_fw[80];
    snprintf(want_fw, sizeof want_fw, "cvm-fw/0.1.0+test.vms%u.g%u.a%u.e%u",
             (unsigned)MAX_CONCURRENT_VMS, (unsigned)VM_MAX_GLOBALS, (unsigned)VM_MAX_ARRAYS,
             (unsigned)VM_ARRAY_ELEMENTS);
    CHECK_STR(cvm_device_firmware_id(), strlen(cvm_device_firmware_id()), want_fw);

    cvm_device_banner();
    char want[300];
    snprintf(want, sizeof want,
             "CVM-BOOT proto=%u fw=%s nonce=12345678 vms=%u globals=%u arrays=%u elements=%u\n",
             (unsigned)CVM_PROTOCOL_VERSION, want_fw, (unsigned)MAX_CONCURRENT_VMS, (unsigned)VM_MAX_GLOBALS,
             (unsigned)VM_MAX_ARRAYS, (unsigned)VM_ARRAY_ELEMENTS);
    CHECK_EQ(fake_port_writes, 1);
    EXPECT_OUT(want);

    /* The nonce in 8 lowercase hex digits, leading zeros kept. */
    fake_port_reset();
    fake_port_nonce = 0x00ABCDEFu;
    cvm_device_init();
    cvm_device_banner();
    CHECK(strstr((const char *)fake_port_out, " nonce=00abcdef ") != NULL);

    /* The port name is sanitised and cut to 24 characters. */
    check_port_id("my port/x_y.Z-9", "cvm-fw/0.1.0+my-port-x-y-Z-9.vms");
    check_port_id("abcdefghijklmnopqrstuvwxyz0123", "cvm-fw/0.1.0+abcdefghijklmnopqrstuvwx.vms");
    check_port_id("", "cvm-fw/0.1.0+.vms");
    /* Every edge of the kept classes, and the character just outside each: 0-9, A-Z, a-z and '-'
     * are kept, '/' ':' '@' '[' '`' '{' (their neighbours) and ',' '.' (beside '-') are not. */
    check_port_id("/09:@AZ[`az{,-.", "cvm-fw/0.1.0+-09--AZ--az----.vms");
    /* Exactly 24 characters: all kept. */
    check_port_id("abcdefghijklmnopqrstuvwx", "cvm-fw/0.1.0+abcdefghijklmnopqrstuvwx.vms");
}

static void test_exchanges(void)
{
    boot();
    /* Literal lines, computed outside this code base. */
    feed("~gwEBAELl\n"); /* [1, 1, 0]: acquire 0 */
    EXPECT_OUT("~ggEAZgs=\n");
    feed("~hQIEAAM6f////y8Z\n"); /* [2, 4, 0, 3, INT32_MIN]: store_global */
    EXPECT_OUT("~ggIAM1g=\n");
    feed("~hAMDAANZOQ==\n"); /* [3, 3, 0, 3]: load_global */
    EXPECT_OUT("~gwMAOn/////jwQ==\n");
    feed("~hAQDAAR48w==\r\n"); /* [4, 3, 0, 4] with CR LF: global 4, never stored, reads 0 */
    EXPECT_OUT(cvm_test_frame("83 04 00 00"));

    /* Errors from the pool, in their check order. */
    feed(cvm_test_frame("83 05 01 00"));
    EXPECT_OUT(cvm_test_frame("82 05 05")); /* already_acquired */
    feed(cvm_test_frame("84 06 03 01 00"));
    EXPECT_OUT(cvm_test_frame("82 06 04")); /* not_acquired */
    feed(cvm_test_frame("84 07 03 18 63 00"));
    EXPECT_OUT(cvm_test_frame("82 07 03")); /* out_of_range (vm) */
    feed(cvm_test_frame("84 08 03 00 20"));
    EXPECT_OUT(cvm_test_frame("82 08 03")); /* negative global */
    feed(cvm_test_frame("85 09 05 00 00 00"));
    EXPECT_OUT(cvm_test_frame("82 09 08")); /* bad_size 0 */
    feed(cvm_test_frame("85 0a 05 00 00 20"));
    EXPECT_OUT(cvm_test_frame("82 0a 08")); /* bad_size negative */
    feed(cvm_test_frame("85 0b 05 00 00 02"));
    EXPECT_OUT(cvm_test_frame("82 0b 00"));
    feed(cvm_test_frame("85 0c 05 00 00 02"));
    EXPECT_OUT(cvm_test_frame("82 0c 07")); /* array_exists */
    feed(cvm_test_frame("86 0d 07 00 00 01 18 2a"));
    EXPECT_OUT(cvm_test_frame("82 0d 00"));
    feed(cvm_test_frame("85 0e 06 00 00 01"));
    EXPECT_OUT(cvm_test_frame("83 0e 00 18 2a"));
    feed(cvm_test_frame("85 0f 06 00 00 02"));
    EXPECT_OUT(cvm_test_frame("82 0f 09")); /* past_size */
    feed(cvm_test_frame("85 10 06 00 01 00"));
    EXPECT_OUT(cvm_test_frame("82 10 06")); /* array_inactive */
    feed(cvm_test_frame("85 11 06 00 01 20"));
    EXPECT_OUT(cvm_test_frame("82 11 03")); /* negative index: out_of_range before array_inactive */
    feed(cvm_test_frame("83 12 0a 43 7e0a0d"));
    EXPECT_OUT(cvm_test_frame("83 12 00 43 7e0a0d")); /* echo, bytes that look like framing */
    feed(cvm_test_frame("82 13 0d"));
    EXPECT_OUT(cvm_test_frame("82 13 01"));
    CHECK_EQ(fake_port_writes, 0);
}

static void test_link_rules(void)
{
    boot();
    /* Nothing in §2.1 rows 1..5 is answered. */
    feed("\n\r\nnoise line\n");
    feed("~!!!!\n");                      /* bad base64 */
    feed("~AAA=\n");                      /* 2 bytes */
    feed("~gwEBAELm\n");                  /* CRC off by one */
    char big[700];
    memset(big, 'A', sizeof big);
    big[0] = '~';
    big[sizeof big - 1u] = '\0';
    feed(big);
    feed("\n");                           /* ends the overlong line */
    feed(cvm_test_frame("ff"));                    /* malformed CBOR: no reply */
    feed(cvm_test_frame("82 20 00"));              /* seq -1: no reply */
    CHECK_EQ(fake_port_out_len, 0);
    CHECK_EQ(stats_field(CVM_STATS_RX_FRAMES), 4); /* boot's hello, two malformed, this stats */
    CHECK_EQ(stats_field(CVM_STATS_RX_BAD_FRAME), 2);
    CHECK_EQ(stats_field(CVM_STATS_RX_BAD_CRC), 1);
    CHECK_EQ(stats_field(CVM_STATS_RX_OVERLONG), 1);
    CHECK_EQ(stats_field(CVM_STATS_RX_MALFORMED), 2);
    CHECK_EQ(stats_field(CVM_STATS_RX_NOISE), 1);
    CHECK_EQ(stats_field(CVM_STATS_RX_OVERRUN), 0);
    fake_port_overruns = 5;
    CHECK_EQ(stats_field(CVM_STATS_RX_OVERRUN), 5);
    /* Malformed frames are not ops; each stats is counted after it answers. */
    CHECK_EQ(stats_field(CVM_STATS_OPS), 9); /* boot's hello and the eight stats above */
    CHECK_EQ(stats_field(CVM_STATS_OP_ERRORS), 0);
}

static void test_splits_and_pipelining(void)
{
    /* Three requests in one call, then the same bytes one at a time: the same output. */
    char req[300];
    snprintf(req, sizeof req, "%s", cvm_test_frame("83 01 01 01"));
    strcat(req, "junk\n");
    strcat(req, cvm_test_frame("85 02 04 01 00 05"));
    strcat(req, cvm_test_frame("84 03 03 01 00"));
    boot();
    feed(req);
    char whole[300];
    snprintf(whole, sizeof whole, "%.*s", (int)fake_port_out_len, (const char *)fake_port_out);
    CHECK_EQ(fake_port_writes, 3);
    boot();
    for (size_t i = 0; req[i] != '\0'; i++) {
        cvm_device_feed((const uint8_t *)&req[i], 1);
    }
    CHECK_EQ(fake_port_writes, 3);
    char want[300];
    snprintf(want, sizeof want, "%s", cvm_test_frame("82 01 00"));
    strcat(want, cvm_test_frame("82 02 00"));
    strcat(want, cvm_test_frame("83 03 00 05"));
    CHECK_STR(whole, strlen(whole), want);
    EXPECT_OUT(want);
    cvm_device_feed(NULL, 0);
    CHECK_EQ(fake_port_out_len, 0);
}

static void test_hello_and_reset(void)
{
    boot();
    fake_port_uptime = 4321;
    feed(cvm_test_frame("82 01 00"));
    uint8_t msg[400];
    size_t n = last_message(msg, sizeof msg);
    const char *fw = cvm_device_firmware_id();
    CHECK(n > 40u);
    /* The firmware id as key 2's text, the uptime as key 10. */
    uint8_t key2[80];
    size_t fl = strlen(fw);
    size_t kl = 0;
    key2[kl++] = 0x02;
    if (fl < 24u) {
        key2[kl++] = (uint8_t)(0x60u + fl);
    } else {
        key2[kl++] = 0x78;
        key2[kl++] = (uint8_t)fl;
    }
    memcpy(key2 + kl, fw, fl);
    kl += fl;
    bool found = false;
    for (size_t i = 0; i + kl <= n; i++) {
        found = found || memcmp(msg + i, key2, kl) == 0;
    }
    CHECK(found);
    const uint8_t tail[] = {0x0a, 0x19, 0x10, 0xe1, 0x0b, 0x68, 'p',  'o',  'w',  'e',
                            'r',  '_',  'o',  'n',  0x0c, 0x4c, 1,    2,    3,    4,
                            5,    6,    7,    8,    9,    10,   11,   12,   0x0d, 0x18,
                            CVM_REPLAY_DEPTH, 0x0e, 0x19, (uint8_t)(CVM_REPLAY_BYTES >> 8),
                            (uint8_t)CVM_REPLAY_BYTES, 0x0f, CVM_HOLD_DEPTH, 0x10, 0x18,
                            CVM_HOLD_MESSAGE_BYTES};
    CHECK(n > sizeof tail);
    CHECK_MEM(msg + n - sizeof tail, sizeof tail, tail, sizeof tail);
    fake_port_clear();

    /* No unique id: an empty byte string. */
    fake_port_reset();
    fake_port_uid_len = 0;
    cvm_device_init();
    feed(cvm_test_frame("82 01 00"));
    n = last_message(msg, sizeof msg);
    CHECK(n > 14u && msg[n - 14u] == 0x0c && msg[n - 13u] == 0x40); /* then keys 13..16 */

    /* reset_pool: pool counters cleared, link counters kept, ops = 1 after. */
    boot();
    feed(cvm_test_frame("83 01 01 00"));
    feed(cvm_test_frame("83 02 01 00"));  /* already acquired: an error */
    feed(cvm_test_frame("82 03 0b"));
    fake_port_clear();
    feed(cvm_test_frame("82 04 08"));
    n = last_message(msg, sizeof msg);
    /* [4, 0, {1: 0, 2: 0, 3: 0, 4: 0, 5: 1, 6: 0, 7: 5 (boot's hello too), ...}] */
    const uint8_t head[] = {0x83, 0x04, 0x00, 0xb3, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04,
                            0x00, 0x05, 0x01, 0x06, 0x00, 0x07, 0x05};
    CHECK(n > sizeof head);
    CHECK_MEM(msg, sizeof head, head, sizeof head);
    fake_port_clear();

    /* The real pool behind the device: stats per context after some use. */
    boot();
    feed(cvm_test_frame("83 01 01 00"));
    feed(cvm_test_frame("85 02 04 00 02 07"));
    feed(cvm_test_frame("85 03 05 00 00 03"));
    feed(cvm_test_frame("83 04 02 00"));
    feed(cvm_test_frame("83 05 01 00"));
    fake_port_clear();
    feed(cvm_test_frame("82 06 08"));
    n = last_message(msg, sizeof msg);
    /* context 0: [1, 0, 0, 0, 0, hw 3, 1, 3] after release and re-acquire */
    const uint8_t ctx0[] = {0x0e, (uint8_t)(0x80u + MAX_CONCURRENT_VMS), 0x88, 0x01, 0x00, 0x00,
                            0x00, 0x00, 0x03, 0x01, 0x03};
    bool got = false;
    for (size_t i = 0; i + sizeof ctx0 <= n; i++) {
        got = got || memcmp(msg + i, ctx0, sizeof ctx0) == 0;
    }
    CHECK(got);
    /* 1: acquired 1, 2: hw 1, 3: acquires 2, 4: releases 1, 5: ops 6 (with the hello), 6: 0 */
    const uint8_t pool[] = {0x01, 0x01, 0x02, 0x01, 0x03, 0x02, 0x04, 0x01, 0x05, 0x06, 0x06, 0x00};
    CHECK(n > 4u + sizeof pool);
    CHECK_MEM(msg + 4, sizeof pool, pool, sizeof pool);
    fake_port_clear();
}

/* Held requests (§3.3 rule 5) and the drain (rule 4) through the device's output: several
 * requests in one call, then byte by byte, write the same lines, one write each, in order. */
static void test_hold_pipelined(void)
{
    char req[400];
    snprintf(req, sizeof req, "%s", cvm_test_frame("84 04 03 01 00"));  /* load_global(1, 0) */
    strcat(req, cvm_test_frame("85 03 04 01 00 18 2a"));                /* store_global(1, 0, 42) */
    strcat(req, cvm_test_frame("83 02 01 01"));                         /* acquire 1 */
    strcat(req, cvm_test_frame("82 03 0b"));                            /* 3 again: reset_pool */
    strcat(req, cvm_test_frame("84 01 03 01 00"));                      /* fills the gap */
    char want[600];
    snprintf(want, sizeof want, "%s", cvm_test_frame("83 04 0e 01"));
    strcat(want, cvm_test_frame("83 03 0e 01"));
    strcat(want, cvm_test_frame("83 02 0e 01"));
    strcat(want, cvm_test_frame("83 03 0e 01"));  /* a copy held again (it replaces 3) */
    strcat(want, cvm_test_frame("82 01 04"));     /* 1 runs: not_acquired */
    strcat(want, cvm_test_frame("82 02 00"));     /* then 2, 3 (its last copy), 4 */
    strcat(want, cvm_test_frame("82 03 00"));
    strcat(want, cvm_test_frame("82 04 04"));     /* the reset_pool ran, not the store */
    boot();
    feed(req);
    CHECK_EQ(fake_port_writes, 8);
    EXPECT_OUT(want);
    boot();
    for (size_t i = 0; req[i] != '\0'; i++) {
        cvm_device_feed((const uint8_t *)&req[i], 1);
    }
    CHECK_EQ(fake_port_writes, 8);
    EXPECT_OUT(want);
    stats_seq = 5;
    CHECK_EQ(stats_field(CVM_STATS_OPS), 2);      /* the reset_pool (it restarts ops), 4 */
}

static void test_log(void)
{
    boot();
    cvm_device_log("hello world");
    EXPECT_OUT("hello world\n");
    cvm_device_log("");
    EXPECT_OUT("\n");
    cvm_device_log("~looks like a frame");
    EXPECT_OUT("?looks like a frame\n");
    /* A line of the marker alone is one character, and still never taken for a frame. */
    cvm_device_log("~");
    EXPECT_OUT("?\n");
    cvm_device_log("two\nlines\r");
    EXPECT_OUT("two lines \n");
    char big[1000];
    memset(big, 'x', sizeof big);
    big[sizeof big - 1u] = '\0';
    cvm_device_log(big);
    CHECK_EQ(fake_port_out_len, CVM_MAX_LINE_BYTES);
    CHECK(memcmp(fake_port_out + CVM_MAX_LINE_BYTES - 4u, "...\n", 4) == 0);
    CHECK_EQ(fake_port_writes, 1);
    fake_port_clear();
    /* Exactly CVM_MAX_LINE_BYTES - 1 characters: kept whole. */
    big[CVM_MAX_LINE_BYTES - 1u] = '\0';
    cvm_device_log(big);
    CHECK_EQ(fake_port_out_len, CVM_MAX_LINE_BYTES);
    CHECK_EQ(fake_port_out[CVM_MAX_LINE_BYTES - 2u], 'x');
    fake_port_clear();
}

static void test_large_frames(void)
{
    /* The largest echo: a 382-byte request in a 514-byte line, the same size back. */
    boot();
    char hex[1200] = "83 01 0a 59 0178";
    for (int i = 0; i < 376; i++) {
        char b[4];
        snprintf(b, sizeof b, " %02x", (unsigned)(i & 0xFF));
        strcat(hex, b);
    }
    const char *line = cvm_test_frame(hex);
    CHECK_EQ(strlen(line), 514);
    feed(line);
    CHECK_EQ(fake_port_out_len, 514);
    uint8_t msg[400];
    CHECK_EQ(last_message(msg, sizeof msg), 382);
    fake_port_clear();
    /* A full batch of the largest results fits. */
    feed(cvm_test_frame("83 02 01 00"));
    feed(cvm_test_frame("85 03 05 00 00 01"));
    feed(cvm_test_frame("86 04 07 00 00 00 3a 7fffffff"));
    fake_port_clear();
    char req[800] = "83 05 09 98 20";
    for (int i = 0; i < 32; i++) {
        strcat(req, " 84 06 00 00 00");
    }
    feed(cvm_test_frame(req));
    size_t n = last_message(msg, sizeof msg);
    CHECK_EQ(n, 3u + 2u + 32u * 7u);
    CHECK(n > 12u && memcmp(msg + 5, "\x82\x00\x3a\x7f\xff\xff\xff", 7) == 0);
}

int main(void)
{
    test_banner_and_id();
    test_exchanges();
    test_link_rules();
    test_splits_and_pipelining();
    test_hello_and_reset();
    test_hold_pipelined();
    test_log();
    test_large_frames();
    return cvm_test_end();
}
