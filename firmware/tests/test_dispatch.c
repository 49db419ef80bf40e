/*
 * The dispatcher (PROTOCOL.md §3.1, §4, §5, §6) against a MOCK memory-operations table that
 * records every call and returns injected errors, so each check is seen in isolation from the pool.
 * Requests go through cvm_dispatch_parse() then cvm_dispatch_execute(), without the link layer
 * (test_link.c covers it), so any seq is executed.
 */
#include "cvm_cbor.h"
#include "cvm_dispatch.h"
#include "cvm_test.h"
#include "fake_port.h"

/* ---- the mock table ---- */

typedef struct {
    char op;          /* 'a'cquire 'r'elease 'L'oad_global 'S'tore_global 'c'reate 'l'oad_array
                         's'tore_array 'R'eset 'T'elemetry 'x' context */
    uint32_t a, b, c;
    int32_t v;
} mock_call;

static mock_call calls[64];
static unsigned ncalls;
static cvm_err inject = CVM_ERR_OK; /* what every fallible mock member returns */
static int32_t mock_value = -5;     /* what the loads return */
static cvm_pool_telemetry mock_telemetry;

static void record(char op, uint32_t a, uint32_t b, uint32_t c, int32_t v)
{
    if (ncalls < 64u) {
        calls[ncalls++] = (mock_call){op, a, b, c, v};
    }
}

static cvm_err m_load_global(uint32_t vm, uint32_t g, int32_t *value)
{
    record('L', vm, g, 0, 0);
    if (inject == CVM_ERR_OK) {
        *value = mock_value;
    }
    return inject;
}
static cvm_err m_store_global(uint32_t vm, uint32_t g, int32_t value)
{
    record('S', vm, g, 0, value);
    return inject;
}
static cvm_err m_create_array(uint32_t vm, uint32_t a, uint32_t size)
{
    record('c', vm, a, size, 0);
    return inject;
}
static cvm_err m_load_array(uint32_t vm, uint32_t a, uint32_t i, int32_t *value)
{
    record('l', vm, a, i, 0);
    if (inject == CVM_ERR_OK) {
        *value = mock_value;
    }
    return inject;
}
static cvm_err m_store_array(uint32_t vm, uint32_t a, uint32_t i, int32_t value)
{
    record('s', vm, a, i, value);
    return inject;
}
static VMMemoryContext *m_context(uint32_t vm)
{
    record('x', vm, 0, 0, 0);
    return NULL;
}
static cvm_err m_acquire(uint32_t vm)
{
    record('a', vm, 0, 0, 0);
    return inject;
}
static cvm_err m_release(uint32_t vm)
{
    record('r', vm, 0, 0, 0);
    return inject;
}
static void m_reset(void)
{
    record('R', 0, 0, 0, 0);
}
static void m_telemetry(cvm_pool_telemetry *out)
{
    record('T', 0, 0, 0, 0);
    *out = mock_telemetry;
}

static const cvm_memory_ops mock_ops = {
    .load_global = m_load_global,
    .store_global = m_store_global,
    .create_array = m_create_array,
    .load_array = m_load_array,
    .store_array = m_store_array,
    .context = m_context,
    .acquire = m_acquire,
    .release = m_release,
    .reset = m_reset,
    .telemetry = m_telemetry,
};

/* ---- helpers ---- */

static bool contains(const uint8_t *hay, size_t n, const uint8_t *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++) {
        if (memcmp(hay + i, needle, k) == 0) {
            return true;
        }
    }
    return false;
}

static cvm_dispatch D;
static cvm_line_counters link_counters;
static cvm_link_counters session_counters;
static uint8_t out[CVM_MAX_MESSAGE_BYTES];
static size_t out_len;

static void setup(void)
{
    cvm_identity id = {.firmware_id = "fw",
                       .boot_nonce = 0x12345678u,
                       .reset_cause = CVM_RESET_POWER_ON,
                       .unique_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
                       .unique_id_len = 12};
    fake_port_reset();
    memset(&link_counters, 0, sizeof link_counters);
    memset(&session_counters, 0, sizeof session_counters);
    cvm_dispatch_init(&D, &mock_ops, &link_counters, &session_counters, &id);
    ncalls = 0;
    inject = CVM_ERR_OK;
}

/* Parses then executes msg[0..n) into out[0..cap); 0 when parse refused it (no reply). */
static size_t handle(const uint8_t *msg, size_t n, uint8_t *dst, size_t cap)
{
    cvm_dispatch_request r;
    if (!cvm_dispatch_parse(&D, msg, n, &r)) {
        return 0;
    }
    return cvm_dispatch_execute(&D, &r, dst, cap);
}

/* Sends the request given in hex; returns the response length (0 = no reply). */
static size_t req(const char *hex)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    size_t n = cvm_test_unhex(hex, msg, sizeof msg);
    ncalls = 0;
    out_len = handle(msg, n, out, sizeof out);
    return out_len;
}

/* What parse makes of the request in hex: its seq and whether it is a hello (§3.3 rule 2). */
static bool parse_hex(const char *hex, cvm_dispatch_request *r)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    static uint8_t keep[CVM_MAX_MESSAGE_BYTES]; /* r points into it */
    size_t n = cvm_test_unhex(hex, msg, sizeof msg);
    memcpy(keep, msg, n);
    return cvm_dispatch_parse(&D, keep, n, r);
}

static bool resp_is(const char *hex, const char *file, int line)
{
    uint8_t want[CVM_MAX_MESSAGE_BYTES];
    size_t n = cvm_test_unhex(hex, want, sizeof want);
    return cvm_test_check_mem(out, out_len, want, n, file, line, hex);
}
#define EXPECT(request, response)                                                                  \
    do {                                                                                           \
        req(request);                                                                              \
        resp_is(response, __FILE__, __LINE__);                                                     \
    } while (0)
#define NO_REPLY(request) CHECK_EQ(req(request), 0)

/* True when out holds [seq, 0, map] whose map has exactly the keys 1..count, ascending. */
static bool map_keys_are_1_to(unsigned count)
{
    cvm_cbor_reader r;
    uint64_t n;
    uint64_t k;
    cvm_cbor_reader_init(&r, out, out_len);
    if (cvm_cbor_enter_array(&r, &n) != CVM_CBOR_OK || n != 3u || cvm_cbor_skip(&r) != 0 ||
        cvm_cbor_read_uint(&r, &k) != CVM_CBOR_OK || k != 0u || r.cur >= r.end ||
        *r.cur != 0xA0u + count) {
        return false;
    }
    r.cur++;
    for (unsigned key = 1; key <= count; key++) {
        if (cvm_cbor_read_uint(&r, &k) != CVM_CBOR_OK || k != key || cvm_cbor_skip(&r) != 0) {
            return false;
        }
    }
    return cvm_cbor_at_end(&r);
}

/* ---- tests ---- */

static void test_malformed(void)
{
    setup();
    /* Step 1: not well-formed, or too deep. */
    NO_REPLY("");
    NO_REPLY("82 01");
    NO_REPLY("82 01 00 00");
    NO_REPLY("9f 01 00 ff");
    NO_REPLY("83 01 0a 5f 41 00 ff");
    NO_REPLY("ff");
    NO_REPLY("83 01 01 1c");
    NO_REPLY("83 01 01 f8 10");
    NO_REPLY("83 01 09 81 81 81 00"); /* batch entry's element nested at depth 5 */
    NO_REPLY("83 01 09 81 83 04 00 c1 00");
    /* Step 2: no array, or no uint seq first. */
    NO_REPLY("01");
    NO_REPLY("a1 01 02");
    NO_REPLY("80");
    NO_REPLY("82 20 00");            /* seq -1 */
    NO_REPLY("82 1b 0000000100000000 00"); /* seq 2^32 */
    NO_REPLY("82 61 31 00");
    NO_REPLY("82 f9 3c00 00");
    NO_REPLY("82 c1 01 00");
    CHECK_EQ(D.rx_malformed, 18);
    CHECK_EQ(D.ops, 0);
    CHECK_EQ(D.op_errors, 0);
    CHECK_EQ(ncalls, 0);
    /* seq's largest value and a non-shortest seq are fine (the answer is shortest). */
    req("82 1a ffffffff 00"); /* hello */
    CHECK(out_len > 0u && out[0] == 0x83 && out[1] == 0x1a && out[5] == 0xff);
    EXPECT("83 1b 0000000000000007 0a 40", "83 07 00 40");
}

static void test_parse(void)
{
    setup();
    cvm_dispatch_request r;
    /* A hello is exactly [seq, 0], the 0 in any encoding; parse executes nothing. */
    CHECK(parse_hex("82 05 00", &r) && r.seq == 5u && r.is_hello);
    CHECK(parse_hex("82 1a ffffffff 18 00", &r) && r.seq == 0xFFFFFFFFu && r.is_hello);
    CHECK(parse_hex("83 05 00 00", &r) && r.seq == 5u && !r.is_hello); /* hello with an arg */
    CHECK(parse_hex("81 06", &r) && r.seq == 6u && !r.is_hello);       /* no op */
    CHECK(parse_hex("82 07 20", &r) && !r.is_hello);                   /* op -1 */
    CHECK(parse_hex("82 07 f9 0000", &r) && !r.is_hello);              /* op 0.0 */
    CHECK(parse_hex("82 07 08", &r) && !r.is_hello);                   /* stats */
    CHECK(!parse_hex("82 20 00", &r));
    CHECK_EQ(D.rx_malformed, 1);
    CHECK_EQ(D.ops, 0);
    CHECK_EQ(ncalls, 0);
}

static void test_op_and_args(void)
{
    setup();
    /* Step 3. */
    EXPECT("81 05", "82 05 02");              /* no op */
    EXPECT("82 05 20", "82 05 02");           /* negative op */
    EXPECT("82 05 61 30", "82 05 02");        /* text op */
    EXPECT("82 05 f9 0000", "82 05 02");      /* float op */
    EXPECT("82 05 0c", "82 05 01");           /* 12: no such op */
    EXPECT("82 05 1b ffffffffffffffff", "82 05 01");
    EXPECT("85 05 18 63 01 02 03", "82 05 01"); /* unknown_op before the argument count */
    EXPECT("82 05 18 01", "82 05 02");        /* acquire (2-byte op code) without its vm */
    CHECK_EQ(ncalls, 0);
    req("82 05 18 00");                       /* hello, in a 2-byte op code */
    CHECK(out_len > 3u && out[2] == 0x00);
    CHECK_EQ(D.ops, 9);
    CHECK_EQ(D.op_errors, 8);

    /* Step 4: exactly the op's number of arguments. */
    setup();
    const char *wrong_count[] = {
        "83 01 00 00",          "82 01 01",          "84 01 01 00 00",    "82 01 02",
        "83 01 03 00",          "85 01 03 00 00 00", "84 01 04 00 00",    "86 01 04 00 00 00 00",
        "84 01 05 00 00",       "84 01 06 00 00",    "85 01 07 00 00 00", "87 01 07 00 00 00 00 00",
        "83 01 08 00",          "82 01 09",          "84 01 09 80 80",    "82 01 0a",
        "84 01 0a 40 40",       "83 01 0b 00",
    };
    for (size_t i = 0; i < sizeof wrong_count / sizeof wrong_count[0]; i++) {
        req(wrong_count[i]);
        resp_is("82 01 02", __FILE__, __LINE__);
    }
    CHECK_EQ(ncalls, 0);

    /* Ids must be integers: floats, text, bytes, arrays, maps, tags, simple values are not. */
    const char *not_int[] = {"f9 3c00", "fa 3f800000", "fb 3ff0000000000000", "61 30", "41 00",
                             "80",      "a0",          "c1 00",               "f4",    "f5",
                             "f6",      "f7",          "f8 20"};
    for (size_t i = 0; i < sizeof not_int / sizeof not_int[0]; i++) {
        char r[64];
        snprintf(r, sizeof r, "83 02 01 %s", not_int[i]);
        req(r);
        resp_is("82 02 02", __FILE__, __LINE__);
        snprintf(r, sizeof r, "85 02 04 00 00 %s", not_int[i]); /* as a value */
        req(r);
        resp_is("82 02 02", __FILE__, __LINE__);
        snprintf(r, sizeof r, "85 02 05 00 %s 01", not_int[i]);
        req(r);
        resp_is("82 02 02", __FILE__, __LINE__);
    }
    CHECK_EQ(ncalls, 0);
    /* bad_arg comes before the pool's checks: a bad value with an out-of-range vm. */
    EXPECT("85 02 04 18 63 00 1a 80000000", "82 02 02");
    EXPECT("85 02 04 18 63 00 3a 80000000", "82 02 02");
    EXPECT("86 02 07 00 00 f9 3c00 01", "82 02 02");
    CHECK_EQ(ncalls, 0);
    /* echo wants a byte string; batch wants an array. */
    EXPECT("83 02 0a 60", "82 02 02");
    EXPECT("83 02 0a 00", "82 02 02");
    EXPECT("83 02 09 a0", "82 02 02");
    EXPECT("83 02 09 40", "82 02 02");
}

static void test_pool_ops(void)
{
    setup();
    /* Arguments reach the table as given; negative or > uint32 ids become CVM_POOL_ID_INVALID. */
    EXPECT("83 01 01 02", "82 01 00");
    CHECK(ncalls == 1u && calls[0].op == 'a' && calls[0].a == 2u);
    EXPECT("83 01 01 20", "82 01 00");
    CHECK(ncalls == 1u && calls[0].a == CVM_POOL_ID_INVALID);
    EXPECT("83 01 01 1b 0000000100000000", "82 01 00");
    CHECK(ncalls == 1u && calls[0].a == CVM_POOL_ID_INVALID);
    EXPECT("83 01 01 1a ffffffff", "82 01 00");
    CHECK(ncalls == 1u && calls[0].a == 0xFFFFFFFFu);
    EXPECT("83 01 02 1b 0000000000000003", "82 01 00");
    CHECK(ncalls == 1u && calls[0].op == 'r' && calls[0].a == 3u);
    EXPECT("84 01 03 01 18 20", "83 01 00 24");  /* load_global -> -5 */
    CHECK(ncalls == 1u && calls[0].op == 'L' && calls[0].a == 1u && calls[0].b == 32u);
    EXPECT("85 01 04 00 3b ffffffffffffffff 3a 7fffffff", "82 01 00");
    CHECK(ncalls == 1u && calls[0].op == 'S' && calls[0].b == CVM_POOL_ID_INVALID &&
          calls[0].v == INT32_MIN);
    EXPECT("85 01 04 00 01 1b 000000007fffffff", "82 01 00"); /* int32 max, 9-byte form */
    CHECK(ncalls == 1u && calls[0].v == INT32_MAX);
    EXPECT("85 01 05 00 01 20", "82 01 00");      /* negative size */
    CHECK(ncalls == 1u && calls[0].op == 'c' && calls[0].c == CVM_POOL_ID_INVALID);
    EXPECT("85 01 05 00 01 19 ffff", "82 01 00");
    CHECK(ncalls == 1u && calls[0].c == 65535u);
    EXPECT("85 01 06 00 01 02", "83 01 00 24");
    CHECK(ncalls == 1u && calls[0].op == 'l' && calls[0].b == 1u && calls[0].c == 2u);
    EXPECT("86 01 07 03 02 01 0a", "82 01 00");
    CHECK(ncalls == 1u && calls[0].op == 's' && calls[0].a == 3u && calls[0].v == 10);
    mock_value = INT32_MIN;
    EXPECT("85 01 06 00 00 00", "83 01 00 3a 7fffffff");
    mock_value = -5;
    CHECK_EQ(D.ops, 13);
    CHECK_EQ(D.op_errors, 0);

    /* Errors from the table are answered [seq, code] and counted. */
    for (cvm_err e = CVM_ERR_OUT_OF_RANGE; e <= CVM_ERR_PAST_SIZE; e++) {
        inject = e;
        char want[16];
        snprintf(want, sizeof want, "82 01 %02x", (unsigned)e);
        req("84 01 03 00 00");
        resp_is(want, __FILE__, __LINE__);
    }
    inject = CVM_ERR_NOT_ACQUIRED;
    EXPECT("86 01 07 00 00 00 00", "82 01 04");
    EXPECT("83 01 01 00", "82 01 04");
    inject = CVM_ERR_OK;
}

/* The hello tails below write hold_depth as a one-byte uint, hold_message_bytes and replay_depth
 * as two bytes, replay_bytes as three. */
_Static_assert(CVM_HOLD_DEPTH < 24u && CVM_HOLD_MESSAGE_BYTES >= 24u &&
                   CVM_HOLD_MESSAGE_BYTES < 256u && CVM_REPLAY_DEPTH >= 24u &&
                   CVM_REPLAY_DEPTH < 256u && CVM_REPLAY_BYTES >= 256u,
               "test_dispatch.c's hello tails assume the default encodings of these sizes");

static void test_hello(void)
{
    setup();
    fake_port_uptime = 1000;
#if MAX_CONCURRENT_VMS == 4 && VM_MAX_GLOBALS == 64 && VM_MAX_ARRAYS == 16 && VM_ARRAY_ELEMENTS == 64
    EXPECT("82 01 00",
           "83 01 00 b0 01 03 02 62 6677 03 04 04 18 40 05 10 06 18 40 07 19 0208 08 18 20"
           " 09 1a 12345678 0a 19 03e8 0b 68 706f7765725f6f6e 0c 4c 0102030405060708090a0b0c"
           " 0d 18 20 0e 19 0800 0f 10 10 18 20");
#elif MAX_CONCURRENT_VMS == 2 && VM_MAX_GLOBALS == 16 && VM_MAX_ARRAYS == 4 && VM_ARRAY_ELEMENTS == 16
    EXPECT("82 01 00",
           "83 01 00 b0 01 03 02 62 6677 03 02 04 10 05 04 06 10 07 19 0208 08 18 20"
           " 09 1a 12345678 0a 19 03e8 0b 68 706f7765725f6f6e 0c 4c 0102030405060708090a0b0c"
           " 0d 18 20 0e 19 0800 0f 10 10 18 20");
#endif
    CHECK_EQ(cvm_cbor_check(out, out_len, 4), CVM_CBOR_OK);
    CHECK_EQ(ncalls, 0);
    CHECK_EQ(CVM_HELLO_KEY_COUNT, 16);
    CHECK(map_keys_are_1_to(CVM_HELLO_KEY_COUNT)); /* keys 1..16, ascending */
    /* No unique id, an unknown reset cause, uptime wrapping past 2^32 is just a uint32. */
    cvm_identity id = {.firmware_id = "", .boot_nonce = 0, .reset_cause = (cvm_reset_cause)99,
                       .unique_id_len = 0};
    cvm_dispatch_init(&D, &mock_ops, NULL, NULL, &id);
    fake_port_uptime = 0xFFFFFFFFu;
    req("82 00 00");
    /* ... 02 60 ... 09 00 0a 1a ffffffff 0b 67 "unknown" 0c 40 0d 18 20 0e 19 0800 0f 10 10 18 20 */
    const uint8_t tail[] = {0x09, 0x00, 0x0a, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x0b, 0x67,
                            'u',  'n',  'k',  'n',  'o',  'w',  'n',  0x0c, 0x40,
                            0x0d, 0x18, CVM_REPLAY_DEPTH, 0x0e, 0x19,
                            (uint8_t)(CVM_REPLAY_BYTES >> 8), (uint8_t)CVM_REPLAY_BYTES,
                            0x0f, CVM_HOLD_DEPTH, 0x10, 0x18, CVM_HOLD_MESSAGE_BYTES};
    CHECK(out_len > sizeof tail);
    CHECK_MEM(out + out_len - sizeof tail, sizeof tail, tail, sizeof tail);
    CHECK(out[6] == 0x02 && out[7] == 0x60);
    /* A firmware id longer than CVM_FIRMWARE_ID_MAX is cut there (hello must fit its message). */
    char long_id[CVM_FIRMWARE_ID_MAX + 8u];
    memset(long_id, 'x', sizeof long_id - 1u);
    long_id[sizeof long_id - 1u] = '\0';
    id.firmware_id = long_id;
    cvm_dispatch_init(&D, &mock_ops, NULL, NULL, &id);
    req("82 00 00");
    CHECK(out[6] == 0x02 && out[7] == 0x78 && out[8] == CVM_FIRMWARE_ID_MAX && out[9] == 'x');
    CHECK(out[9u + CVM_FIRMWARE_ID_MAX] == 0x03);
    id.firmware_id = "";
    /* A unique id length past CVM_UNIQUE_ID_BYTES is taken as CVM_UNIQUE_ID_BYTES: hello's key 12 is 12 bytes. */
    id.unique_id_len = CVM_UNIQUE_ID_BYTES + 5u;
    cvm_dispatch_init(&D, &mock_ops, NULL, NULL, &id);
    req("82 00 00");
    CHECK_EQ(D.identity.unique_id_len, CVM_UNIQUE_ID_BYTES);
    const uint8_t uid_head[] = {0x0c, 0x4c};
    bool uid_found = false;
    for (size_t i = 0; i + 2u <= out_len; i++) {
        uid_found = uid_found || memcmp(out + i, uid_head, sizeof uid_head) == 0;
    }
    CHECK(uid_found);
    id.unique_id_len = 0;
    /* Each reset cause by its name. */
    const char *names[] = CVM_RESET_CAUSE_NAMES;
    for (unsigned c = 0; c < CVM_RESET_CAUSE_COUNT; c++) {
        id.reset_cause = (cvm_reset_cause)c;
        cvm_dispatch_init(&D, &mock_ops, NULL, NULL, &id);
        req("82 00 00");
        size_t n = strlen(names[c]);
        /* ... 0b <text head> <name> 0c 40 0d 18 20 0e 19 0800 0f 10 10 18 20 */
        CHECK(out_len > n + 14u && memcmp(out + out_len - 14u - n, names[c], n) == 0);
    }
    /* The first value past the names is "unknown" too (the bound is exclusive). */
    id.reset_cause = (cvm_reset_cause)CVM_RESET_CAUSE_COUNT;
    cvm_dispatch_init(&D, &mock_ops, NULL, NULL, &id);
    req("82 00 00");
    CHECK(out_len > 21u && memcmp(out + out_len - 21u, "unknown", 7) == 0);
}

/* Appends the shortest CBOR uint head of v as hex. */
static void hex_uint(char *s, uint32_t v)
{
    char *e = s + strlen(s);
    if (v < 24u) {
        sprintf(e, " %02x", v);
    } else if (v < 256u) {
        sprintf(e, " 18%02x", v);
    } else if (v < 65536u) {
        sprintf(e, " 19%04x", v);
    } else {
        sprintf(e, " 1a%08x", v);
    }
}

static void test_stats(void)
{
    setup();
    memset(&mock_telemetry, 0, sizeof mock_telemetry);
    mock_telemetry.contexts_acquired = 1;
    mock_telemetry.contexts_hw = 2;
    mock_telemetry.acquires = 0xFFFFFFFFu;
    mock_telemetry.releases = 300;
    for (unsigned vm = 0; vm < MAX_CONCURRENT_VMS; vm++) {
        mock_telemetry.contexts[vm] = (cvm_context_telemetry){
            vm == 0u ? 1u : 0u, 5u + vm, 1, 24, 116, 6, 2, 1000};
    }
    link_counters = (cvm_line_counters){.rx_frames = 7, .rx_bad_frame = 8, .rx_bad_crc = 9,
                                        .rx_overlong = 10, .rx_noise = 12};
    fake_port_overruns = 70000;
    session_counters = (cvm_link_counters){.replayed = 15, .out_of_sequence = 16,
                                           .no_session = 0x10000u, .sessions = 1,
                                           .held = 0xFFFFFFFFu};
    NO_REPLY("ff");                  /* rx_malformed = 1 */
    EXPECT("82 01 0c", "82 01 01");  /* ops 1, op_errors 1 */
    EXPECT("82 02 0a", "82 02 02");  /* ops 2, op_errors 2 */
    EXPECT("83 03 0a 40", "83 03 00 40"); /* ops 3 */

    char want[1024] = "83 18 20 00 b3";
    const uint32_t values[13] = {1, 2, 0xFFFFFFFFu, 300, 3, 2, 7, 8, 9, 10, 1, 12, 70000};
    for (uint32_t k = 0; k < 13u; k++) {
        hex_uint(want, k + 1u);
        hex_uint(want, values[k]);
    }
    strcat(want, " 0e");
    hex_uint(want, 0x80u | MAX_CONCURRENT_VMS); /* array head: major 4 */
    for (unsigned vm = 0; vm < MAX_CONCURRENT_VMS; vm++) {
        strcat(want, " 88");
        const uint32_t f[8] = {vm == 0u ? 1u : 0u, 5u + vm, 1, 24, 116, 6, 2, 1000};
        for (unsigned i = 0; i < 8u; i++) {
            hex_uint(want, f[i]);
        }
    }
    /* Keys 15..19 after the contexts (key 14): ascending key order. */
    const uint32_t link_values[5] = {15, 16, 0x10000u, 1, 0xFFFFFFFFu};
    for (uint32_t k = 0; k < 5u; k++) {
        hex_uint(want, 15u + k);
        hex_uint(want, link_values[k]);
    }
    /* hex_uint wrote 0x80|n as a uint head; fix it to the one-byte array head. */
    char *p = strstr(want, " 0e 18");
    CHECK(p != NULL);
    if (p != NULL) {
        memmove(p + 3, p + 6, strlen(p + 6) + 1u);
        char head[4];
        snprintf(head, sizeof head, " %02x", 0x80u | MAX_CONCURRENT_VMS);
        memcpy(p + 3, head, 3);
    }
    req("82 18 20 08");
    resp_is(want, __FILE__, __LINE__);
    CHECK_EQ(CVM_STATS_KEY_COUNT, 19);
    CHECK(map_keys_are_1_to(CVM_STATS_KEY_COUNT)); /* keys 1..19, ascending */
    CHECK(ncalls == 1u && calls[0].op == 'T');
    CHECK_EQ(out_len <= CVM_STATS_RESPONSE_MAX, 1);
    /* stats counts itself after answering: the next one sees ops = 4. */
    req("82 00 08");
    CHECK(out_len > 40u);
    const uint8_t ops4[] = {0x05, 0x04, 0x06, 0x02};
    CHECK(out_len > 30u && contains(out, out_len, ops4, sizeof ops4));
    CHECK_EQ(D.ops, 5);
    /* Without link counters the link fields read 0. */
    cvm_identity id = {.firmware_id = "fw"};
    cvm_dispatch_init(&D, &mock_ops, NULL, NULL, &id);
    req("82 00 08");
    const uint8_t zeros[] = {0x05, 0x00, 0x06, 0x00, 0x07, 0x00, 0x08, 0x00, 0x09, 0x00,
                             0x0a, 0x00, 0x0b, 0x00, 0x0c, 0x00, 0x0d, 0x1a, 0x00, 0x01, 0x11, 0x70};
    CHECK(contains(out, out_len, zeros, sizeof zeros));
    const uint8_t link_zeros[] = {0x0f, 0x00, 0x10, 0x00, 0x11, 0x00, 0x12, 0x00, 0x13, 0x00};
    CHECK(out_len > sizeof link_zeros &&
          memcmp(out + out_len - sizeof link_zeros, link_zeros, sizeof link_zeros) == 0);
}

static void test_echo(void)
{
    setup();
    EXPECT("83 01 0a 40", "83 01 00 40");
    EXPECT("83 01 0a 43 000102", "83 01 00 43 000102");
    EXPECT("83 01 0a 59 0002 abcd", "83 01 00 42 abcd"); /* non-shortest length: shortest back */
    /* The largest echo: a 382-byte request answers with 382 bytes. */
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    size_t head = 3u + 3u; /* 83 01 0a 59 LL LL */
    size_t n = CVM_MAX_MESSAGE_BYTES - head;
    msg[0] = 0x83;
    msg[1] = 0x01;
    msg[2] = 0x0a;
    msg[3] = 0x59;
    msg[4] = (uint8_t)(n >> 8);
    msg[5] = (uint8_t)n;
    for (size_t i = 0; i < n; i++) {
        msg[head + i] = (uint8_t)i;
    }
    out_len = handle(msg, CVM_MAX_MESSAGE_BYTES, out, sizeof out);
    CHECK_EQ(out_len, CVM_MAX_MESSAGE_BYTES);
    CHECK(out_len == CVM_MAX_MESSAGE_BYTES && out[2] == 0x00 &&
          memcmp(out + head, msg + head, n) == 0);
    CHECK_EQ(D.ops, 4);
    CHECK_EQ(D.op_errors, 0);
    CHECK_EQ(ncalls, 0);
}

static void test_batch(void)
{
    setup();
    EXPECT("83 01 09 80", "83 01 00 80");
    CHECK_EQ(D.ops, 0); /* an empty batch counts as its (no) entries */
    /* Every kind of entry. */
    EXPECT("83 01 09 8f"
           " 82 01 00"            /* acquire 0 -> [0] */
           " 83 03 00 01"         /* load_global -> [0, -5] */
           " 81 00"               /* hello -> not_in_batch */
           " 81 08"               /* stats */
           " 82 09 80"            /* batch */
           " 82 0a 40"            /* echo */
           " 81 0c"               /* unknown */
           " 80"                  /* empty */
           " 05"                  /* not an array */
           " 81 20"               /* first element not uint */
           " 83 04 00 00"         /* store_global with a missing value */
           " 84 04 00 00 1a 80000000" /* value outside int32 */
           " 84 04 00 00 f9 3c00" /* float value */
           " 81 0b"               /* reset_pool -> [0] */
           " 82 0b 00",           /* reset_pool with an argument */
           "83 01 00 8f 81 00 82 00 24 81 0b 81 0b 81 0b 81 0b 81 01 81 02 81 02 81 02 81 02 81 02"
           " 81 02 81 00 81 02");
    CHECK_EQ(ncalls, 3);
    CHECK(calls[0].op == 'a' && calls[1].op == 'L' && calls[2].op == 'R');
    /* Counted per entry, the reset (14th) restarting the count: 1 + its follower (an error). */
    CHECK_EQ(D.ops, 2);
    CHECK_EQ(D.op_errors, 1);

    /* Errors from the table land in their slot; later entries still run. */
    setup();
    inject = CVM_ERR_NOT_ACQUIRED;
    EXPECT("83 01 09 83 84 04 00 00 01 82 02 05 85 07 00 00 00 00",
           "83 01 00 83 81 04 81 04 81 04");
    CHECK_EQ(ncalls, 3);
    CHECK_EQ(D.ops, 3);
    CHECK_EQ(D.op_errors, 3);
    inject = CVM_ERR_OK;

    /* 32 entries fit; 33 are too_large, one erroring op, nothing run. */
    setup();
    char r[1200] = "83 01 09 98 20";
    for (int i = 0; i < 32; i++) {
        strcat(r, " 84 07 00 00 3a7fffffff"); /* store_array ... INT32_MIN */
    }
    req(r);
    CHECK(out_len == 3u + 2u + 32u * 2u && out[3] == 0x98 && out[4] == 0x20);
    CHECK_EQ(ncalls, 0); /* wrong count: 3 args for store_array */
    strcpy(r, "83 01 09 98 20");
    for (int i = 0; i < 32; i++) {
        strcat(r, " 84 06 00 00 00"); /* load_array -> [0, INT32_MIN] (the largest result) */
    }
    mock_value = INT32_MIN;
    req(r);
    CHECK_EQ(out_len, 3u + 2u + 32u * 7u);
    CHECK_EQ(ncalls, 32);
    mock_value = -5;
    CHECK_EQ(D.ops, 64);
    strcpy(r, "83 01 09 98 21");
    for (int i = 0; i < 33; i++) {
        strcat(r, " 81 0b");
    }
    req(r);
    resp_is("82 01 0a", __FILE__, __LINE__);
    CHECK_EQ(ncalls, 0);
    CHECK_EQ(D.ops, 65);
    CHECK_EQ(D.op_errors, 33);
    /* A batch of a bad type is one erroring op. */
    EXPECT("83 01 09 01", "82 01 02");
    CHECK_EQ(D.ops, 66);
    CHECK_EQ(D.op_errors, 34);
}

static void test_reset_counting(void)
{
    setup();
    EXPECT("82 01 0c", "82 01 01");
    EXPECT("83 02 01 00", "82 02 00");
    CHECK_EQ(D.ops, 2);
    CHECK_EQ(D.op_errors, 1);
    D.rx_malformed = 3;
    EXPECT("82 03 0b", "82 03 00");
    CHECK(ncalls == 1u && calls[0].op == 'R');
    CHECK_EQ(D.ops, 1);
    CHECK_EQ(D.op_errors, 0);
    CHECK_EQ(D.rx_malformed, 3); /* line counters are kept */
    /* Counters wrap. */
    D.ops = 0xFFFFFFFFu;
    D.op_errors = 0xFFFFFFFFu;
    EXPECT("82 04 0c", "82 04 01");
    CHECK_EQ(D.ops, 0);
    CHECK_EQ(D.op_errors, 0);
}

static void test_small_out(void)
{
    /* A too-small output buffer: no reply, but the op ran and counted. */
    setup();
    uint8_t msg[] = {0x83, 0x01, 0x0a, 0x44, 1, 2, 3, 4};
    uint8_t tiny[4];
    CHECK_EQ(handle(msg, sizeof msg, tiny, sizeof tiny), 0);
    CHECK_EQ(D.ops, 1);
}

int main(void)
{
    test_malformed();
    test_parse();
    test_op_and_args();
    test_pool_ops();
    test_hello();
    test_stats();
    test_echo();
    test_batch();
    test_reset_counting();
    test_small_out();
    return cvm_test_end();
}
