/*
 * The link layer (PROTOCOL.md §3.3): first cvm_link.h on its own (the rule table, the replay
 * cache's eviction by depth and by bytes, entries wrapping around the ring's end, seqs wrapping
 * from 0xFFFFFFFF to 0, the counters), then through the device with the real pool (a duplicate is
 * answered byte for byte and executes nothing; gaps; no_session; a hello mid-session).
 *
 * Written against CVM_REPLAY_DEPTH and CVM_REPLAY_BYTES, so it holds for any build: the Makefile
 * also runs it with a tiny cache (test_link_tiny).
 */
#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_crc16.h"
#include "cvm_device.h"
#include "cvm_link.h"
#include "cvm_test.h"
#include "cvm_test_frame.h"
#include "fake_port.h"

static cvm_link L;
static uint8_t out[CVM_MAX_MESSAGE_BYTES];
static size_t out_len;

/* The test's response of seq: len bytes of a pattern that depends on seq. */
static void pattern(uint32_t seq, size_t len, uint8_t *msg)
{
    for (size_t i = 0; i < len; i++) {
        msg[i] = (uint8_t)(seq * 7u + i * 13u + 1u);
    }
}

/* cvm_link_receive() of a request that is not a hello. */
static cvm_link_action recv_req(uint32_t seq)
{
    return cvm_link_receive(&L, seq, false, out, sizeof out, &out_len);
}

/* Executes-and-caches seq (which must be next) with a len-byte pattern response. */
static void run(uint32_t seq, size_t len)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    CHECK_EQ(recv_req(seq), CVM_LINK_EXECUTE);
    pattern(seq, len, msg);
    cvm_link_cache(&L, msg, len);
}

/* True when a duplicate of seq is replayed with its len-byte pattern, byte for byte. */
static bool replays(uint32_t seq, size_t len)
{
    uint8_t want[CVM_MAX_MESSAGE_BYTES];
    pattern(seq, len, want);
    return recv_req(seq) == CVM_LINK_REPLAY && out_len == len && memcmp(out, want, len) == 0;
}

/* True when seq is refused [seq, 12, next]. */
static bool refused_oos(uint32_t seq, uint32_t next)
{
    uint8_t want[16];
    size_t n = cvm_test_gap_reply(seq, next, want);
    return recv_req(seq) == CVM_LINK_OUT_OF_SEQUENCE && out_len == n && memcmp(out, want, n) == 0;
}

static void test_rules(void)
{
    cvm_link_init(&L);
    CHECK(!L.open);
    /* Rule 3: nothing but a hello before the first hello. */
    CHECK_EQ(recv_req(5), CVM_LINK_NO_SESSION);
    CHECK_MEM(out, out_len, "\x82\x05\x0d", 3);
    CHECK_EQ(recv_req(0xFFFFFFFFu), CVM_LINK_NO_SESSION);
    CHECK_MEM(out, out_len, "\x82\x1a\xff\xff\xff\xff\x0d", 7);
    CHECK_EQ(L.counters.no_session, 2);
    /* Rule 2: a hello opens the session at its seq; the caller executes and caches it. */
    CHECK_EQ(cvm_link_receive(&L, 5, true, out, sizeof out, &out_len), CVM_LINK_NEW_SESSION);
    CHECK_EQ(out_len, 0);
    CHECK(L.open && L.next == 5u && L.count == 0u);
    CHECK_EQ(L.counters.sessions, 1);
    uint8_t hello[40];
    pattern(5, sizeof hello, hello);
    cvm_link_cache(&L, hello, sizeof hello);
    CHECK_EQ(L.next, 6);
    /* Rule 1 before rule 2: a duplicate hello is replayed and opens nothing. */
    CHECK_EQ(cvm_link_receive(&L, 5, true, out, sizeof out, &out_len), CVM_LINK_REPLAY);
    CHECK_MEM(out, out_len, hello, sizeof hello);
    CHECK_EQ(L.counters.sessions, 1);
    CHECK_EQ(L.counters.replayed, 1);
    /* Rule 4, then rule 5 for a gap and for a seq older than the session. */
    run(6, 7);
    CHECK(refused_oos(8, 7));
    CHECK(refused_oos(4, 7));
    CHECK(refused_oos(7u + 0x80000000u, 7));
    CHECK_EQ(L.counters.out_of_sequence, 3);
    CHECK(replays(6, 7));
    CHECK(replays(5, sizeof hello));
    /* A hello whose seq is cached is a duplicate: it gets that seq's response. */
    CHECK_EQ(cvm_link_receive(&L, 6, true, out, sizeof out, &out_len), CVM_LINK_REPLAY);
    CHECK_EQ(out_len, 7);
    CHECK_EQ(L.counters.replayed, 4);
    /* A hello mid-session: new session, empty cache, whatever next was. */
    CHECK_EQ(cvm_link_receive(&L, 1000, true, out, sizeof out, &out_len), CVM_LINK_NEW_SESSION);
    CHECK(L.next == 1000u && L.count == 0u && L.used == 0u);
    cvm_link_cache(&L, hello, 3);
    CHECK(refused_oos(6, 1001));   /* the old session's responses are gone */
    CHECK(refused_oos(5, 1001));
    /* A hello at next (not cached yet) opens another session too. */
    CHECK_EQ(cvm_link_receive(&L, 1001, true, out, sizeof out, &out_len), CVM_LINK_NEW_SESSION);
    CHECK_EQ(L.counters.sessions, 3);
    cvm_link_cache(&L, hello, 3);
    CHECK_EQ(recv_req(1000), CVM_LINK_OUT_OF_SEQUENCE);
    /* Answers that do not fit cap are 0 bytes long, the rules applied all the same. */
    uint8_t tiny[2];
    CHECK_EQ(cvm_link_receive(&L, 1001, false, tiny, sizeof tiny, &out_len), CVM_LINK_REPLAY);
    CHECK_EQ(out_len, 0);
    CHECK_EQ(cvm_link_receive(&L, 9, false, tiny, sizeof tiny, &out_len),
             CVM_LINK_OUT_OF_SEQUENCE);
    CHECK_EQ(out_len, 0);
    CHECK_EQ(cvm_link_cached(&L, 1001, tiny, sizeof tiny), 0);
    CHECK_EQ(cvm_link_cached(&L, 1001, out, sizeof out), 3);
    CHECK_EQ(cvm_link_cached(&L, 1002, out, sizeof out), 0); /* next: not cached */
    /* init is a reboot: no session, counters 0. */
    cvm_link_init(&L);
    CHECK(!L.open && L.count == 0u && L.counters.replayed == 0u && L.counters.sessions == 0u);
    CHECK_EQ(recv_req(1001), CVM_LINK_NO_SESSION);
}

static void test_evict_by_depth(void)
{
    cvm_link_init(&L);
    CHECK_EQ(cvm_link_receive(&L, 100, true, out, sizeof out, &out_len), CVM_LINK_NEW_SESSION);
    /* One-byte responses: the depth binds long before the bytes. */
    cvm_link_cache(&L, (const uint8_t *)"h", 1);
    uint32_t last = 100u + CVM_REPLAY_DEPTH + 3u;
    for (uint32_t seq = 101; seq <= last; seq++) {
        run(seq, 1);
        CHECK(L.count <= CVM_REPLAY_DEPTH);
    }
    CHECK_EQ(L.count, CVM_REPLAY_DEPTH);
    CHECK_EQ(L.used, CVM_REPLAY_DEPTH);
    uint32_t oldest = last + 1u - CVM_REPLAY_DEPTH;
    for (uint32_t seq = oldest; seq <= last; seq++) {
        CHECK(replays(seq, 1));
    }
    /* The evicted ones, the hello included, are out_of_sequence. */
    for (uint32_t seq = 100; seq < oldest; seq++) {
        CHECK(refused_oos(seq, last + 1u));
    }
    CHECK_EQ(L.counters.replayed, CVM_REPLAY_DEPTH);
    CHECK_EQ(L.counters.out_of_sequence, oldest - 100u);
}

static void test_evict_by_bytes(void)
{
    cvm_link_init(&L);
    CHECK_EQ(cvm_link_receive(&L, 0, true, out, sizeof out, &out_len), CVM_LINK_NEW_SESSION);
    uint8_t hello[CVM_MAX_MESSAGE_BYTES];
    pattern(0, sizeof hello, hello);
    cvm_link_cache(&L, hello, sizeof hello);
    /* The largest responses: CVM_REPLAY_BYTES / 382 of them fit (at least one). */
    const uint32_t fit = CVM_REPLAY_BYTES / CVM_MAX_MESSAGE_BYTES;
    const uint32_t kept = fit < CVM_REPLAY_DEPTH ? fit : CVM_REPLAY_DEPTH;
    for (uint32_t seq = 1; seq <= fit + 2u; seq++) {
        run(seq, CVM_MAX_MESSAGE_BYTES);
        CHECK(L.used <= CVM_REPLAY_BYTES);
    }
    CHECK_EQ(L.count, kept);
    for (uint32_t seq = fit + 3u - kept; seq <= fit + 2u; seq++) {
        CHECK(replays(seq, CVM_MAX_MESSAGE_BYTES));
    }
    CHECK(refused_oos(fit + 2u - kept, fit + 3u));
    CHECK(refused_oos(0, fit + 3u));
    /* A small response after them drops only as many as it needs. */
    size_t free_bytes = CVM_REPLAY_BYTES - L.used;
    run(fit + 3u, free_bytes + 1u <= CVM_MAX_MESSAGE_BYTES ? free_bytes + 1u : 1u);
    CHECK(L.count >= 1u && L.used <= CVM_REPLAY_BYTES);
    /* A response larger than the ring (never from the dispatcher): cache emptied, next moves. */
    static uint8_t huge[CVM_REPLAY_BYTES + 1u];
    CHECK_EQ(recv_req(fit + 4u), CVM_LINK_EXECUTE);
    cvm_link_cache(&L, huge, sizeof huge);
    CHECK(L.count == 0u && L.used == 0u && L.next == fit + 5u);
    CHECK(refused_oos(fit + 4u, fit + 5u));
    run(fit + 5u, 9);
    CHECK(replays(fit + 5u, 9));
}

/* Response length of seq in the wrap test: 0..CVM_MAX_MESSAGE_BYTES, varied. */
static size_t wrap_len(uint32_t seq)
{
    return (size_t)((seq * 2654435761u) >> 8) % (CVM_MAX_MESSAGE_BYTES + 1u);
}

static void test_ring_wrap(void)
{
    cvm_link_init(&L);
    /* Starts near the top of the seq space, so the seqs wrap from 0xFFFFFFFF to 0 as well. */
    uint32_t first = 0xFFFFFFFFu - 40u;
    CHECK_EQ(cvm_link_receive(&L, first, true, out, sizeof out, &out_len), CVM_LINK_NEW_SESSION);
    uint8_t hello[CVM_MAX_MESSAGE_BYTES];
    pattern(first, wrap_len(first), hello);
    cvm_link_cache(&L, hello, wrap_len(first));
    unsigned straddled = 0;
    unsigned failed = 0;
    uint32_t seq = first + 1u;
    for (unsigned i = 0; i < 20u * CVM_REPLAY_BYTES / 100u + 3u * CVM_REPLAY_DEPTH; i++, seq++) {
        size_t len = wrap_len(seq);
        run(seq, len);
        const cvm_link_entry *e = &L.index[(L.first + L.count - 1u) % CVM_REPLAY_DEPTH];
        straddled += (size_t)e->offset + e->len > CVM_REPLAY_BYTES ? 1u : 0u;
        if (L.count == 0u || L.count > CVM_REPLAY_DEPTH || L.used > CVM_REPLAY_BYTES ||
            L.next - 1u != seq) { /* the newest entry is seq's (entries are next - count .. next - 1) */
            failed++;
        }
        /* Every cached seq replays its own bytes; the one before the oldest is refused. */
        for (uint32_t d = 1; d <= L.count; d++) {
            failed += replays(seq + 1u - d, wrap_len(seq + 1u - d)) ? 0u : 1u;
        }
        failed += refused_oos(seq - L.count, seq + 1u) ? 0u : 1u;
        /* Nothing was evicted that fits: once entries have gone, the newest evicted one
         * would break the depth or the bytes if it were back. */
        uint32_t executed = seq - first + 1u;
        uint32_t evicted = seq - L.count;
        if (L.count < executed && L.count < CVM_REPLAY_DEPTH &&
            L.used + wrap_len(evicted) <= CVM_REPLAY_BYTES) {
            failed++;
        }
    }
    CHECK_EQ(failed, 0);
    CHECK(straddled > 0u);         /* some entries ran past the ring's end */
    CHECK(seq < first);            /* and the seqs wrapped */
}

static void test_seq_wrap(void)
{
    cvm_link_init(&L);
    CHECK_EQ(cvm_link_receive(&L, 0xFFFFFFFEu, true, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    cvm_link_cache(&L, (const uint8_t *)"abc", 3);
    run(0xFFFFFFFFu, 4);
    CHECK_EQ(L.next, 0);
    run(0, 5);
    CHECK_EQ(L.next, 1);
    CHECK(replays(0xFFFFFFFFu, 4));
    CHECK(replays(0, 5));
    CHECK(refused_oos(2, 1));
    CHECK(refused_oos(0xFFFFFFFDu, 1));
    CHECK_EQ(recv_req(1), CVM_LINK_EXECUTE);
}

/* ---- through the device, with the real pool ---- */

static void feed(const char *text)
{
    cvm_device_feed((const uint8_t *)text, strlen(text));
}


/* Sends the request (hex CBOR) and returns its answer line (static, until the next call). */
static const char *ask(const char *hex)
{
    static char got[600];
    fake_port_clear();
    feed(cvm_test_frame(hex));
    size_t n = fake_port_out_len < sizeof got - 1u ? fake_port_out_len : sizeof got - 1u;
    memcpy(got, fake_port_out, n);
    got[n] = '\0';
    fake_port_clear();
    return got;
}

/* Checks the answer to request is exactly the frame of response (the request is sent once). */
static void expect(const char *request, const char *response, const char *file, int line)
{
    const char *got = ask(request);
    char want[600];
    snprintf(want, sizeof want, "%s", cvm_test_frame(response));
    cvm_test_check_str(got, strlen(got), want, file, line, request);
}
#define EXPECT(request, response) expect((request), (response), __FILE__, __LINE__)

/* The uint at key (1..13 or 15..18) of a stats answer line. */
static uint32_t stats_key(const char *line, unsigned key)
{
    uint8_t f[400];
    size_t len = strlen(line);
    if (len < 3u || line[0] != '~') {
        return 0xDEADBEEFu;
    }
    int n = cvm_base64_decode(line + 1, len - 2u, f, sizeof f);
    cvm_cbor_reader r;
    uint64_t count;
    uint64_t k;
    uint64_t v;
    if (n < 3) {
        return 0xDEADBEEFu;
    }
    cvm_cbor_reader_init(&r, f, (size_t)n - 2u);
    if (cvm_cbor_enter_array(&r, &count) != 0 || count != 3u || cvm_cbor_skip(&r) != 0 ||
        cvm_cbor_skip(&r) != 0 || r.cur >= r.end || *r.cur != 0xB2u) {
        return 0xDEADBEEFu;
    }
    r.cur++;
    for (unsigned i = 0; i < CVM_STATS_KEY_COUNT; i++) {
        if (cvm_cbor_read_uint(&r, &k) != 0) {
            return 0xDEADBEEFu;
        }
        if (k == key && cvm_cbor_read_uint(&r, &v) == 0) {
            return (uint32_t)v;
        }
        (void)cvm_cbor_skip(&r);
    }
    return 0xDEADBEEFu;
}

static void boot(void)
{
    fake_port_reset();
    cvm_device_init();
    fake_port_clear();
}

static void test_device_no_session(void)
{
    boot();
    EXPECT("83 01 01 00", "82 01 0d");          /* acquire before any hello: refused */
    EXPECT("82 02 08", "82 02 0d");             /* stats too */
    EXPECT("83 03 00 00", "82 03 0d");          /* [3, 0, 0] is not a hello */
    feed(cvm_test_frame("ff"));                          /* malformed: no answer at all */
    feed(cvm_test_frame("82 20 00"));
    CHECK_EQ(fake_port_out_len, 0);
    const char *h = ask("82 04 00");            /* the hello opens the session */
    CHECK(strlen(h) > 40u);
    EXPECT("84 05 03 00 00", "82 05 04");       /* not_acquired: the acquire never ran */
    const char *st = ask("82 06 08");
    CHECK_EQ(stats_key(st, CVM_STATS_NO_SESSION), 3);
    CHECK_EQ(stats_key(st, CVM_STATS_SESSIONS), 1);
    CHECK_EQ(stats_key(st, CVM_STATS_OPS), 2);  /* hello and load_global: nothing refused */
    CHECK_EQ(stats_key(st, CVM_STATS_OP_ERRORS), 1);
    CHECK_EQ(stats_key(st, CVM_STATS_CONTEXTS_ACQUIRED), 0);
    CHECK_EQ(stats_key(st, CVM_STATS_RX_MALFORMED), 2);
}

static void test_device_duplicates(void)
{
    char first[600];
    boot();
    (void)ask("82 00 00");
    EXPECT("83 01 01 00", "82 01 00");
    snprintf(first, sizeof first, "%s", ask("85 02 04 00 01 18 4d")); /* store 77 */
    CHECK_STR(first, strlen(first), cvm_test_frame("82 02 00"));
    /* The same seq again, even with other arguments: the cached line, nothing executed. */
    const char *again = ask("85 02 04 00 01 18 4e");
    CHECK_STR(again, strlen(again), first);
    EXPECT("83 01 01 00", "82 01 00");          /* not already_acquired: replayed */
    EXPECT("84 03 03 00 01", "83 03 00 18 4d"); /* still 77 */
    /* A stats replayed carries the counters of its first execution. */
    char st[600];
    snprintf(st, sizeof st, "%s", ask("82 04 08"));
    CHECK_EQ(stats_key(st, CVM_STATS_OPS), 4);
    CHECK_EQ(stats_key(st, CVM_STATS_REPLAYED), 2);
    const char *st2 = ask("82 04 08");
    CHECK_STR(st2, strlen(st2), st);
    const char *st5 = ask("82 05 08");
    CHECK_EQ(stats_key(st5, CVM_STATS_OPS), 5);  /* duplicates are no ops */
    CHECK_EQ(stats_key(st5, CVM_STATS_REPLAYED), 3);
    CHECK_EQ(stats_key(st5, CVM_STATS_RX_FRAMES), 9);
    /* Gaps and old seqs: [seq, 12, next], nothing executed. */
    EXPECT("83 09 02 00", "83 09 0c 06");
    EXPECT("83 1a ffffffff 02 00", "83 1a ffffffff 0c 06"); /* older than the cache */
    EXPECT("83 06 02 00", "82 06 00");          /* the release at next runs */
    EXPECT("83 07 02 00", "82 07 04");          /* not_acquired now */
    const char *st8 = ask("82 08 08");
    CHECK_EQ(stats_key(st8, CVM_STATS_OUT_OF_SEQUENCE), 2);
    CHECK_EQ(stats_key(st8, CVM_STATS_NO_SESSION), 0);
    CHECK_EQ(stats_key(st8, CVM_STATS_SESSIONS), 1);
    /* reset_pool keeps the link counters and the session. */
    EXPECT("82 09 0b", "82 09 00");
    const char *st10 = ask("82 0a 08");
    CHECK_EQ(stats_key(st10, CVM_STATS_OPS), 1);
    CHECK_EQ(stats_key(st10, CVM_STATS_REPLAYED), 3);
    CHECK_EQ(stats_key(st10, CVM_STATS_OUT_OF_SEQUENCE), 2);
    CHECK_EQ(stats_key(st10, CVM_STATS_SESSIONS), 1);
    EXPECT("82 09 0b", "82 09 00");             /* still a duplicate after the reset */
}

static void test_device_hello_mid_session(void)
{
    char hello[600];
    boot();
    fake_port_uptime = 1000;
    snprintf(hello, sizeof hello, "%s", ask("82 00 00"));
    EXPECT("83 01 01 01", "82 01 00");
    EXPECT("85 02 04 01 00 05", "82 02 00");
    /* The session's hello again, at another uptime: answered from the cache, byte for byte. */
    fake_port_uptime = 2000;
    const char *h = ask("82 00 00");
    CHECK_STR(h, strlen(h), hello);
    /* A hello mid-session: a new session; the pool is untouched, the cache emptied. */
    const char *h2 = ask("82 19 03e8 00");
    CHECK(strlen(h2) > 40u && strcmp(h2, hello) != 0);
    EXPECT("85 02 04 01 00 05", "83 02 0c 19 03e9"); /* the old session's seq: refused */
    EXPECT("84 19 03e9 03 01 00", "83 19 03e9 00 05"); /* the global survived */
    EXPECT("83 19 03ea 01 01", "82 19 03ea 05");     /* so did the acquire */
    const char *st = ask("82 19 03eb 08");
    CHECK_EQ(stats_key(st, CVM_STATS_SESSIONS), 2);
    CHECK_EQ(stats_key(st, CVM_STATS_REPLAYED), 1);
    CHECK_EQ(stats_key(st, CVM_STATS_OUT_OF_SEQUENCE), 1);
    CHECK_EQ(stats_key(st, CVM_STATS_CONTEXTS_ACQUIRED), 1);
    /* A hello with an old, uncached seq is still a hello: it opens a session there. */
    const char *h3 = ask("82 00 00");
    CHECK(strlen(h3) > 40u);
    EXPECT("84 01 03 01 00", "83 01 00 05");
    CHECK_EQ(stats_key(ask("82 02 08"), CVM_STATS_SESSIONS), 3);
}

/* The shortest CBOR uint of v, as hex (RFC 8949 §4.2.1). */
static const char *hex_uint(uint32_t v, char buf[16])
{
    if (v < 24u) {
        snprintf(buf, 16, "%02x", (unsigned)v);
    } else if (v < 256u) {
        snprintf(buf, 16, "18%02x", (unsigned)v);
    } else if (v < 65536u) {
        snprintf(buf, 16, "19%04x", (unsigned)v);
    } else {
        snprintf(buf, 16, "1a%08x", (unsigned)v);
    }
    return buf;
}

static void test_device_eviction_and_wrap(void)
{
    char req[64];
    char resp[64];
    char a[16];
    char b[16];
    boot();
    /* The session starts just below the wrap, so its seqs pass 0xFFFFFFFF -> 0. */
    (void)ask("82 1a fffffffe 00");
    EXPECT("83 1a ffffffff 01 00", "82 1a ffffffff 00");
    for (uint32_t seq = 0; seq < CVM_REPLAY_DEPTH; seq++) {
        snprintf(req, sizeof req, "85 %s 04 00 00 %s", hex_uint(seq, a), hex_uint(seq, b));
        snprintf(resp, sizeof resp, "82 %s 00", hex_uint(seq, a));
        EXPECT(req, resp);
    }
    /* The cache holds the last CVM_REPLAY_DEPTH (the store_globals); the acquire was evicted. */
    snprintf(resp, sizeof resp, "83 1a ffffffff 0c %s", hex_uint(CVM_REPLAY_DEPTH, a));
    EXPECT("83 1a ffffffff 01 00", resp);
    EXPECT("85 00 04 00 00 18 63", "82 00 00");    /* seq 0, still cached: not run again */
    snprintf(req, sizeof req, "84 %s 03 00 00", hex_uint(CVM_REPLAY_DEPTH, a));
    snprintf(resp, sizeof resp, "83 %s 00 %s", hex_uint(CVM_REPLAY_DEPTH, a),
             hex_uint(CVM_REPLAY_DEPTH - 1u, b));
    EXPECT(req, resp);                              /* the last store won */
}

int main(void)
{
    test_rules();
    test_evict_by_depth();
    test_evict_by_bytes();
    test_ring_wrap();
    test_seq_wrap();
    test_device_no_session();
    test_device_duplicates();
    test_device_hello_mid_session();
    test_device_eviction_and_wrap();
    return cvm_test_end();
}
