/*
 * The link layer (PROTOCOL.md §3.3): first cvm_link.h on its own (the rule table, the replay
 * cache's eviction by depth and by bytes, entries wrapping around the ring's end, seqs wrapping
 * from 0xFFFFFFFF to 0, the hold's bounds, copies, drain order, a hello emptying it, its slots
 * across the wrap, the counters), then through the device with the real pool (a duplicate is
 * answered byte for byte and executes nothing; gaps; held requests running once the gap fills,
 * answered as they would have been in order; no_session; a hello mid-session; reset_pool keeping
 * the hold).
 *
 * Written against CVM_REPLAY_DEPTH, CVM_REPLAY_BYTES, CVM_HOLD_DEPTH and CVM_HOLD_MESSAGE_BYTES,
 * so it holds for any build: the Makefile also runs it with a tiny cache and hold
 * (test_link_tiny: 3 slots, which do not divide 2^32, of 7 bytes, the protocol's least).
 */
#include <stdarg.h>

#include "cvm_base64.h"
#include "cvm_cbor.h"
#include "cvm_crc16.h"
#include "cvm_device.h"
#include "cvm_link.h"
#include "cvm_test.h"
#include "cvm_test_frame.h"
#include "fake_port.h"

_Static_assert(CVM_HOLD_DEPTH >= 3u, "the hold tests below need at least 3 slots");

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

/* The test's request message of seq: len bytes of another pattern (the link never parses it). */
static void req_pattern(uint32_t seq, size_t len, uint8_t *msg)
{
    for (size_t i = 0; i < len; i++) {
        msg[i] = (uint8_t)(seq * 11u + i * 5u + 3u);
    }
}

/* cvm_link_receive() of a request that is not a hello, its message len bytes long. */
static cvm_link_action recv_len(uint32_t seq, size_t len)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES + 1u];
    req_pattern(seq, len, msg);
    return cvm_link_receive(&L, seq, false, len > 0u ? msg : NULL, len, out, sizeof out,
                            &out_len);
}

/* The same with a 5-byte message: short enough for any hold. */
static cvm_link_action recv_req(uint32_t seq)
{
    return recv_len(seq, 5);
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

/* True when seq, its message len bytes, is held and answered [seq, 14, next]. */
static bool held_len(uint32_t seq, size_t len, uint32_t next)
{
    uint8_t want[16];
    size_t n = cvm_test_held_reply(seq, next, want);
    return recv_len(seq, len) == CVM_LINK_HELD && out_len == n && memcmp(out, want, n) == 0;
}

static bool held(uint32_t seq, uint32_t next)
{
    return held_len(seq, 5, next);
}

/* True when the drain gives seq's message of len bytes (cvm_link_take_held). */
static bool takes(uint32_t seq, size_t len)
{
    uint8_t want[CVM_MAX_MESSAGE_BYTES];
    size_t n = 0;
    req_pattern(seq, len, want);
    const uint8_t *m = cvm_link_take_held(&L, &n);
    return m != NULL && n == len && memcmp(m, want, len) == 0;
}

/* True when the drain gives nothing (next is not held). */
static bool takes_none(void)
{
    size_t n = 99;
    return cvm_link_take_held(&L, &n) == NULL && n == 0u;
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
    CHECK_EQ(cvm_link_receive(&L, 5, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    CHECK_EQ(out_len, 0);
    CHECK(L.open && L.next == 5u && L.count == 0u);
    CHECK_EQ(L.counters.sessions, 1);
    uint8_t hello[40];
    pattern(5, sizeof hello, hello);
    cvm_link_cache(&L, hello, sizeof hello);
    CHECK_EQ(L.next, 6);
    /* Rule 1 before rule 2: a duplicate hello is replayed and opens nothing. */
    CHECK_EQ(cvm_link_receive(&L, 5, true, NULL, 0, out, sizeof out, &out_len), CVM_LINK_REPLAY);
    CHECK_MEM(out, out_len, hello, sizeof hello);
    CHECK_EQ(L.counters.sessions, 1);
    CHECK_EQ(L.counters.replayed, 1);
    /* Rule 4, then rule 5 for a gap the hold takes, rule 6 for one too far ahead for it and for
     * seqs older than the session. */
    run(6, 7);
    CHECK(held(8, 7));
    CHECK(refused_oos(8u + CVM_HOLD_DEPTH, 7));
    CHECK(refused_oos(4, 7));
    CHECK(refused_oos(7u + 0x80000000u, 7));
    CHECK_EQ(L.counters.out_of_sequence, 3);
    CHECK_EQ(L.counters.held, 1);
    CHECK(replays(6, 7));
    CHECK(replays(5, sizeof hello));
    CHECK(held(8, 7));             /* a copy of a held request: held again, counted again */
    CHECK_EQ(L.counters.held, 2);
    /* A hello whose seq is cached is a duplicate: it gets that seq's response. */
    CHECK_EQ(cvm_link_receive(&L, 6, true, NULL, 0, out, sizeof out, &out_len), CVM_LINK_REPLAY);
    CHECK_EQ(out_len, 7);
    CHECK_EQ(L.counters.replayed, 4);
    /* A hello mid-session: new session, empty cache and hold, whatever next was. */
    CHECK_EQ(cvm_link_receive(&L, 1000, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    CHECK(L.next == 1000u && L.count == 0u && L.used == 0u);
    for (size_t i = 0; i < CVM_HOLD_DEPTH; i++) {
        CHECK_EQ(L.hold[i].len, 0);
    }
    cvm_link_cache(&L, hello, 3);
    CHECK(refused_oos(6, 1001));   /* the old session's responses are gone */
    CHECK(refused_oos(5, 1001));
    /* A hello at next (not cached yet) opens another session too. */
    CHECK_EQ(cvm_link_receive(&L, 1001, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    CHECK_EQ(L.counters.sessions, 3);
    cvm_link_cache(&L, hello, 3);
    CHECK_EQ(recv_req(1000), CVM_LINK_OUT_OF_SEQUENCE);
    /* Answers that do not fit cap are 0 bytes long, the rules applied all the same. */
    uint8_t tiny[2];
    const uint8_t msg[5] = {1, 2, 3, 4, 5};
    CHECK_EQ(cvm_link_receive(&L, 1001, false, msg, sizeof msg, tiny, sizeof tiny, &out_len),
             CVM_LINK_REPLAY);
    CHECK_EQ(out_len, 0);
    CHECK_EQ(cvm_link_receive(&L, 9, false, msg, sizeof msg, tiny, sizeof tiny, &out_len),
             CVM_LINK_OUT_OF_SEQUENCE);
    CHECK_EQ(out_len, 0);
    CHECK_EQ(cvm_link_receive(&L, 1003, false, msg, sizeof msg, tiny, sizeof tiny, &out_len),
             CVM_LINK_HELD);
    CHECK_EQ(out_len, 0);
    CHECK_EQ(L.hold[(L.hold_next + 1u) % CVM_HOLD_DEPTH].len, sizeof msg); /* held all the same */
    CHECK_EQ(cvm_link_cached(&L, 1001, tiny, sizeof tiny), 0);
    CHECK_EQ(cvm_link_cached(&L, 1001, out, sizeof out), 3);
    CHECK_EQ(cvm_link_cached(&L, 1002, out, sizeof out), 0); /* next: not cached */
    /* init is a reboot: no session, an empty hold, counters 0. */
    cvm_link_init(&L);
    CHECK(!L.open && L.count == 0u && L.counters.replayed == 0u && L.counters.sessions == 0u &&
          L.counters.held == 0u);
    for (size_t i = 0; i < CVM_HOLD_DEPTH; i++) {
        CHECK_EQ(L.hold[i].len, 0);
    }
    CHECK(takes_none());
    CHECK_EQ(recv_req(1001), CVM_LINK_NO_SESSION);
    CHECK_EQ(recv_req(1002), CVM_LINK_NO_SESSION); /* rule 3 before rule 5 */
    CHECK_EQ(L.counters.held, 0);
}

static void test_evict_by_depth(void)
{
    cvm_link_init(&L);
    CHECK_EQ(cvm_link_receive(&L, 100, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
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
    CHECK_EQ(cvm_link_receive(&L, 0, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
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
    CHECK_EQ(cvm_link_receive(&L, first, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
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
    CHECK_EQ(cvm_link_receive(&L, 0xFFFFFFFEu, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    cvm_link_cache(&L, (const uint8_t *)"abc", 3);
    run(0xFFFFFFFFu, 4);
    CHECK_EQ(L.next, 0);
    run(0, 5);
    CHECK_EQ(L.next, 1);
    CHECK(replays(0xFFFFFFFFu, 4));
    CHECK(replays(0, 5));
    CHECK(held(2, 1));
    CHECK(refused_oos(2u + CVM_HOLD_DEPTH, 1));
    CHECK(refused_oos(0xFFFFFFFDu, 1));
    CHECK_EQ(recv_req(1), CVM_LINK_EXECUTE);
}

/* Takes seq from the hold (its message len bytes) and caches its rlen-byte pattern response. */
static void drain(uint32_t seq, size_t len, size_t rlen)
{
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    CHECK(takes(seq, len));
    pattern(seq, rlen, msg);
    cvm_link_cache(&L, msg, rlen);
}

static void test_hold(void)
{
    cvm_link_init(&L);
    CHECK(takes_none()); /* no session */
    CHECK_EQ(cvm_link_receive(&L, 100, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    cvm_link_cache(&L, (const uint8_t *)"h", 1);
    CHECK(takes_none()); /* nothing held */
    /* Rule 5's reach: 1 and CVM_HOLD_DEPTH ahead of next (101) are held, one more is refused. */
    CHECK(held(102, 101));
    CHECK(held(101u + CVM_HOLD_DEPTH, 101));
    CHECK(refused_oos(102u + CVM_HOLD_DEPTH, 101));
    /* Its length bound: CVM_HOLD_MESSAGE_BYTES is held, one byte more (or none) is refused and
     * leaves the copy already held alone; the longest then replaces the 5-byte copy. */
    CHECK_EQ(recv_len(102, CVM_HOLD_MESSAGE_BYTES + 1u), CVM_LINK_OUT_OF_SEQUENCE);
    uint8_t want[16];
    CHECK_MEM(out, out_len, want, cvm_test_gap_reply(102, 101, want));
    CHECK_EQ(recv_len(102, 0), CVM_LINK_OUT_OF_SEQUENCE);
    CHECK(held_len(102, CVM_HOLD_MESSAGE_BYTES, 101));
    CHECK_EQ(L.counters.held, 3);
    CHECK_EQ(L.counters.out_of_sequence, 3);
    CHECK_EQ(L.counters.replayed, 0);
    /* Before next (101) has run, its slot holds 101 + CVM_HOLD_DEPTH (the same slot, as §3.3
     * counts them), which is why the drain starts only after next's response is cached. */
    CHECK_EQ(L.hold[L.hold_next].len, 5);
    /* The drain: once 101 has run, 102's last copy is taken, once. */
    run(101, 3);
    CHECK(takes(102, CVM_HOLD_MESSAGE_BYTES));
    CHECK(takes_none()); /* its slot is empty once taken, before it is cached too */
    pattern(102, 4, want);
    cvm_link_cache(&L, want, 4);
    CHECK_EQ(L.next, 103);
    /* A drained request is an executed one: its copy is a duplicate, answered from the cache. */
    CHECK(replays(102, 4));
    CHECK(replays(101, 3));
    /* 101 + CVM_HOLD_DEPTH waits for every seq before it, then drains. */
    for (uint32_t seq = 103; seq < 101u + CVM_HOLD_DEPTH; seq++) {
        CHECK(takes_none());
        run(seq, 2);
    }
    drain(101u + CVM_HOLD_DEPTH, 5, 6);
    CHECK(takes_none());
    CHECK(replays(101u + CVM_HOLD_DEPTH, 6));
    /* A gap of two: next and next + 2 missing. Filling the first drains up to the second only. */
    uint32_t n = 102u + CVM_HOLD_DEPTH;
    CHECK_EQ(L.next, n);
    CHECK(held(n + 1u, n));
    CHECK(held(n + 3u, n));
    run(n, 1);
    drain(n + 1u, 5, 1);
    CHECK(takes_none());
    CHECK(held(n + 3u, n + 2u)); /* still held: a copy is answered held, naming the new next */
    run(n + 2u, 1);
    drain(n + 3u, 5, 1);
    CHECK(takes_none());
    CHECK_EQ(L.counters.held, 6);
    /* A hello empties the hold: what was held before it never runs after it, even at the seqs
     * it was held for. */
    n += 4u;
    CHECK(held(n + 1u, n));
    CHECK(held(n + 2u, n));
    CHECK_EQ(cvm_link_receive(&L, n, true, NULL, 0, out, sizeof out, &out_len),
             CVM_LINK_NEW_SESSION);
    cvm_link_cache(&L, (const uint8_t *)"h", 1);
    CHECK(takes_none());
    run(n + 1u, 1);
    CHECK(takes_none());
    run(n + 2u, 1);
    CHECK(takes_none());
    CHECK_EQ(L.counters.sessions, 2);
    /* The slots of one session are a ring from its hello's: every seq of the window is held at
     * once, in as many slots, and each drains with its own bytes. */
    n += 3u;
    for (uint32_t k = 1; k <= CVM_HOLD_DEPTH; k++) {
        CHECK(held_len(n + k, 1u + k % CVM_HOLD_MESSAGE_BYTES, n));
    }
    run(n, 1);
    for (uint32_t k = 1; k <= CVM_HOLD_DEPTH; k++) {
        drain(n + k, 1u + k % CVM_HOLD_MESSAGE_BYTES, 2);
    }
    CHECK(takes_none());
}

/* The hold across the seq wrap at 2^32: every alignment of next with the wrap, the whole window
 * held at once (with a CVM_HOLD_DEPTH that does not divide 2^32, seq mod CVM_HOLD_DEPTH would put
 * 0xFFFFFFFF and 0 in one slot), then drained in order with each request's own bytes. */
static void test_hold_wrap(void)
{
    unsigned failed = 0;
    for (uint32_t back = 0; back <= CVM_HOLD_DEPTH + 1u; back++) {
        uint32_t hello_seq = 0xFFFFFFFFu - back; /* next = hello_seq + 1 */
        cvm_link_init(&L);
        CHECK_EQ(cvm_link_receive(&L, hello_seq, true, NULL, 0, out, sizeof out, &out_len),
                 CVM_LINK_NEW_SESSION);
        cvm_link_cache(&L, (const uint8_t *)"h", 1);
        uint32_t next = hello_seq + 1u;
        for (uint32_t k = 1; k <= CVM_HOLD_DEPTH; k++) {
            failed += held_len(next + k, 1u + (next + k) % CVM_HOLD_MESSAGE_BYTES, next) ? 0u : 1u;
        }
        failed += refused_oos(next + CVM_HOLD_DEPTH + 1u, next) ? 0u : 1u;
        failed += recv_req(next) == CVM_LINK_EXECUTE ? 0u : 1u;
        cvm_link_cache(&L, (const uint8_t *)"x", 1);
        for (uint32_t k = 1; k <= CVM_HOLD_DEPTH; k++) {
            failed += takes(next + k, 1u + (next + k) % CVM_HOLD_MESSAGE_BYTES) ? 0u : 1u;
            cvm_link_cache(&L, (const uint8_t *)"y", 1);
        }
        failed += takes_none() ? 0u : 1u;
        failed += L.next == next + CVM_HOLD_DEPTH + 1u ? 0u : 1u;
        failed += recv_req(next + CVM_HOLD_DEPTH) == CVM_LINK_REPLAY && out_len == 1u &&
                          out[0] == 'y'
                      ? 0u
                      : 1u;
    }
    CHECK_EQ(failed, 0);
}

/* ---- through the device, with the real pool ---- */

static void feed(const char *text)
{
    cvm_device_feed((const uint8_t *)text, strlen(text));
}


/* cvm_port_write() calls the last ask() saw: one per line. */
static unsigned ask_writes;

/* Sends the request (hex CBOR) and returns its answer lines (static, until the next call). */
static const char *ask(const char *hex)
{
    static char got[4000];
    fake_port_clear();
    feed(cvm_test_frame(hex));
    size_t n = fake_port_out_len < sizeof got - 1u ? fake_port_out_len : sizeof got - 1u;
    memcpy(got, fake_port_out, n);
    got[n] = '\0';
    ask_writes = fake_port_writes;
    fake_port_clear();
    return got;
}

/* The frame lines of the responses given in hex (a NULL-terminated list), one after the other
 * (static, until the next call). */
static const char *frames(const char *first, ...)
{
    static char buf[4000];
    va_list ap;
    buf[0] = '\0';
    va_start(ap, first);
    for (const char *r = first; r != NULL; r = va_arg(ap, const char *)) {
        strncat(buf, cvm_test_frame(r), sizeof buf - strlen(buf) - 1u);
    }
    va_end(ap);
    return buf;
}

/* Checks the answer to request is exactly the lines want, one cvm_port_write() each. */
static void expect_lines(const char *request, const char *want, unsigned lines, const char *file,
                         int line)
{
    char w[4000];
    snprintf(w, sizeof w, "%s", want);
    const char *got = ask(request);
    cvm_test_check_str(got, strlen(got), w, file, line, request);
    cvm_test_check_eq(ask_writes, lines, file, line, "one write per line");
}
/* EXPECT_LINES(request, k, response 1, ..., response k): the request's answer, then k - 1 drained. */
#define EXPECT_LINES(request, k, ...)                                                              \
    expect_lines((request), frames(__VA_ARGS__, (const char *)NULL), (k), __FILE__, __LINE__)

/* Checks the answer to request is exactly the frame of response (the request is sent once). */
static void expect(const char *request, const char *response, const char *file, int line)
{
    const char *got = ask(request);
    char want[600];
    snprintf(want, sizeof want, "%s", cvm_test_frame(response));
    cvm_test_check_str(got, strlen(got), want, file, line, request);
}
#define EXPECT(request, response) expect((request), (response), __FILE__, __LINE__)

/* The uint at key (1..13 or 15..19) of a stats answer line (the first line of `line`). */
static uint32_t stats_key(const char *line, unsigned key)
{
    uint8_t f[400];
    const char *nl = strchr(line, '\n'); /* the first line only: drained ones may follow */
    size_t len = nl != NULL ? (size_t)(nl - line) + 1u : strlen(line);
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
        cvm_cbor_skip(&r) != 0 || r.cur >= r.end || *r.cur != 0xA0u + CVM_STATS_KEY_COUNT) {
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
    /* Gaps too far ahead for the hold and old seqs: [seq, 12, next], nothing executed. */
    char far[32];
    char far_reply[32];
    char h[16];
    snprintf(far, sizeof far, "83 %s 02 00", hex_uint(6u + CVM_HOLD_DEPTH + 1u, h));
    snprintf(far_reply, sizeof far_reply, "83 %s 0c 06", hex_uint(6u + CVM_HOLD_DEPTH + 1u, h));
    EXPECT(far, far_reply);
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

/* The request [seq, 10, bstr] of exactly len bytes (seq < 24) and its echo response, as hex
 * (static, until the next call). False when no payload makes len bytes. */
static bool echo_of_len(uint32_t seq, size_t len, const char **req_hex, const char **resp_hex)
{
    static char req[2u * CVM_MAX_MESSAGE_BYTES + 1u];
    static char resp[2u * CVM_MAX_MESSAGE_BYTES + 1u];
    uint8_t msg[CVM_MAX_MESSAGE_BYTES];
    uint8_t payload[CVM_MAX_MESSAGE_BYTES];
    for (size_t p = 0; p < len && p < sizeof payload; p++) {
        payload[p] = (uint8_t)(p * 3u + 1u);
    }
    for (size_t p = 0; p < len; p++) {
        cvm_cbor_writer w;
        cvm_cbor_writer_init(&w, msg, sizeof msg);
        (void)cvm_cbor_put_array(&w, 3u);
        (void)cvm_cbor_put_uint(&w, seq);
        (void)cvm_cbor_put_uint(&w, CVM_OP_ECHO);
        (void)cvm_cbor_put_bstr(&w, payload, p);
        if (cvm_cbor_writer_len(&w) != len) {
            continue;
        }
        for (size_t i = 0; i < len; i++) {
            snprintf(req + 2u * i, 3, "%02x", msg[i]);
        }
        msg[2] = 0x00; /* [seq, 0, bstr]: the same bytes but the status */
        for (size_t i = 0; i < len; i++) {
            snprintf(resp + 2u * i, 3, "%02x", msg[i]);
        }
        *req_hex = req;
        *resp_hex = resp;
        return seq < 24u;
    }
    return false;
}

static void test_device_hold(void)
{
    char st[600];
    char r[800];
    char w[800];
    char h[16];
    boot();
    (void)ask("82 00 00");
    EXPECT("83 01 01 00", "82 01 00");                    /* acquire 0 */
    /* 3 and 4, past the gap at 2: held, answered [seq, 14, 2], nothing executed. */
    EXPECT("85 03 04 00 01 05", "83 03 0e 02");           /* store_global(0, 1, 5) */
    EXPECT("84 04 03 00 01", "83 04 0e 02");              /* load_global(0, 1) */
    EXPECT("84 04 03 00 01", "83 04 0e 02");              /* a copy: held again */
    /* 2 fills the gap: it runs, then 3 and 4 in seq order, each answered in its own line. */
    EXPECT_LINES("85 02 04 00 01 04", 3, "82 02 00", "82 03 00", "83 04 00 05");
    /* Their duplicates: answered from the cache, byte for byte; nothing runs again. */
    EXPECT("85 03 04 00 01 06", "82 03 00");
    EXPECT("84 04 03 00 01", "83 04 00 05");
    EXPECT("85 02 04 00 01 04", "82 02 00");
    snprintf(st, sizeof st, "%s", ask("82 05 08"));
    CHECK_EQ(stats_key(st, CVM_STATS_HELD), 3);
    CHECK_EQ(stats_key(st, CVM_STATS_REPLAYED), 3);
    CHECK_EQ(stats_key(st, CVM_STATS_OUT_OF_SEQUENCE), 0);
    CHECK_EQ(stats_key(st, CVM_STATS_OPS), 5);            /* hello, acquire, 2, 3, 4 */
    /* The reach (next 6): 6 + CVM_HOLD_DEPTH is held, one further is refused. */
    snprintf(r, sizeof r, "83 %s 02 00", hex_uint(6u + CVM_HOLD_DEPTH, h));
    snprintf(w, sizeof w, "83 %s 0e 06", hex_uint(6u + CVM_HOLD_DEPTH, h));
    EXPECT(r, w);
    snprintf(r, sizeof r, "83 %s 02 00", hex_uint(7u + CVM_HOLD_DEPTH, h));
    snprintf(w, sizeof w, "83 %s 0c 06", hex_uint(7u + CVM_HOLD_DEPTH, h));
    EXPECT(r, w);
    /* The length bound: a message of CVM_HOLD_MESSAGE_BYTES is held, one byte longer refused. */
    const char *req_hex;
    const char *resp_hex;
    CHECK(echo_of_len(8, CVM_HOLD_MESSAGE_BYTES + 1u, &req_hex, &resp_hex));
    EXPECT(req_hex, "83 08 0c 06");
    CHECK(echo_of_len(7, CVM_HOLD_MESSAGE_BYTES, &req_hex, &resp_hex));
    EXPECT(req_hex, "83 07 0e 06");
    snprintf(w, sizeof w, "%s", resp_hex);
    /* 6 runs, then 7 (echoed back whole); 8 was refused, so the drain stops there. */
    EXPECT_LINES("84 06 03 00 01", 2, "83 06 00 05", w);
    snprintf(st, sizeof st, "%s", ask("82 08 08"));
    CHECK_EQ(stats_key(st, CVM_STATS_HELD), 5);
    CHECK_EQ(stats_key(st, CVM_STATS_OUT_OF_SEQUENCE), 2);
    CHECK_EQ(stats_key(st, CVM_STATS_OPS), 8);
}

/* Held requests answer exactly what they would have answered had they come in order. */
static void test_device_hold_as_in_order(void)
{
    static const char *const reqs[4] = {
        "85 02 05 00 01 03",    /* create_array(0, 1, 3) */
        "86 03 07 00 01 02 26", /* store_array(0, 1, 2, -7) */
        "85 04 06 00 01 02",    /* load_array(0, 1, 2): -7 */
        "85 05 06 00 01 03",    /* load_array(0, 1, 3): past_size */
    };
    char in_order[4000] = "";
    char st_in_order[600];
    boot();
    (void)ask("82 00 00");
    (void)ask("83 01 01 00");
    for (unsigned i = 0; i < 4u; i++) {
        strncat(in_order, ask(reqs[i]), sizeof in_order - strlen(in_order) - 1u);
    }
    snprintf(st_in_order, sizeof st_in_order, "%s", ask("82 06 08"));
    CHECK_STR(in_order, strlen(in_order),
              frames("82 02 00", "82 03 00", "83 04 00 26", "82 05 09", (const char *)NULL));

    boot();
    (void)ask("82 00 00");
    (void)ask("83 01 01 00");
    EXPECT(reqs[3], "83 05 0e 02"); /* held newest first */
    EXPECT(reqs[2], "83 04 0e 02");
    EXPECT(reqs[1], "83 03 0e 02");
    const char *got = ask(reqs[0]);
    CHECK_STR(got, strlen(got), in_order);
    CHECK_EQ(ask_writes, 4);
    const char *st = ask("82 06 08");
    for (unsigned key = CVM_STATS_CONTEXTS_ACQUIRED; key <= CVM_STATS_RX_OVERRUN; key++) {
        CHECK_EQ(stats_key(st, key), stats_key(st_in_order, key));
    }
    CHECK_EQ(stats_key(st, CVM_STATS_HELD), 3);
    CHECK_EQ(stats_key(st_in_order, CVM_STATS_HELD), 0);
}

static void test_device_hold_kept_and_emptied(void)
{
    /* reset_pool keeps the hold: the acquire held before it runs after it (on the fresh pool). */
    boot();
    (void)ask("82 00 00");
    EXPECT("83 01 01 00", "82 01 00");
    EXPECT("83 03 01 00", "83 03 0e 02");
    EXPECT_LINES("82 02 0b", 2, "82 02 00", "82 03 00");
    CHECK_EQ(stats_key(ask("82 04 08"), CVM_STATS_HELD), 1);

    /* A hello empties it: a store held before the hello never runs, even at its own seq. */
    boot();
    (void)ask("82 00 00");
    EXPECT("83 01 01 00", "82 01 00");
    EXPECT("85 02 04 00 01 04", "82 02 00");
    EXPECT("85 04 04 00 01 18 63", "83 04 0e 03");        /* store_global(0, 1, 99): held */
    EXPECT("85 05 04 00 01 18 64", "83 05 0e 03");
    const char *hello = ask("82 03 00");                   /* a hello at next: a new session */
    CHECK(strlen(hello) > 40u);
    CHECK_EQ(ask_writes, 1);                               /* the hello's line only */
    EXPECT("84 04 03 00 01", "83 04 00 04");               /* 4 runs now: the global is still 4 */
    EXPECT("84 05 03 00 01", "83 05 00 04");
    /* A hello mid-session, far from next, with requests held: the same. */
    EXPECT("85 07 04 00 01 07", "83 07 0e 06");
    (void)ask("82 18 64 00");                              /* hello 100 */
    CHECK_EQ(ask_writes, 1);
    EXPECT("85 07 04 00 01 07", "83 07 0c 18 65");         /* the old session's seq: refused */
    EXPECT("84 18 65 03 00 01", "83 18 65 00 04");
    const char *st = ask("82 18 66 08");
    CHECK_EQ(stats_key(st, CVM_STATS_HELD), 3);
    CHECK_EQ(stats_key(st, CVM_STATS_SESSIONS), 3);
}

static void test_device_hold_wrap_and_gaps(void)
{
    /* Across the seq wrap: 0 and 1 held while next is 0xFFFFFFFF. */
    boot();
    (void)ask("82 1a fffffffe 00");
    EXPECT("85 00 04 00 01 03", "83 00 0e 1a ffffffff");
    EXPECT("84 01 03 00 01", "83 01 0e 1a ffffffff");
    EXPECT_LINES("83 1a ffffffff 01 00", 3, "82 1a ffffffff 00", "82 00 00", "83 01 00 03");
    EXPECT("84 01 03 00 01", "83 01 00 03");               /* a duplicate now */
    /* A gap of two (1 and 3 missing): 1 drains up to 3, 3 drains the rest. */
    boot();
    (void)ask("82 00 00");
    EXPECT("83 02 01 00", "83 02 0e 01");                  /* acquire 0 */
    EXPECT("84 04 03 00 01", "83 04 0e 01");               /* load_global(0, 1) */
    EXPECT_LINES("83 01 01 01", 2, "82 01 00", "82 02 00");
    EXPECT("84 04 03 00 01", "83 04 0e 03");               /* still held; the new next named */
    EXPECT_LINES("85 03 04 00 01 02", 2, "82 03 00", "83 04 00 02");
}

int main(void)
{
    test_rules();
    test_evict_by_depth();
    test_evict_by_bytes();
    test_ring_wrap();
    test_seq_wrap();
    test_hold();
    test_hold_wrap();
    test_device_no_session();
    test_device_duplicates();
    test_device_hello_mid_session();
    test_device_eviction_and_wrap();
    test_device_hold();
    test_device_hold_as_in_order();
    test_device_hold_kept_and_emptied();
    test_device_hold_wrap_and_gaps();
    return cvm_test_end();
}
