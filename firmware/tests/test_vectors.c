/*
 * The shared vectors (protocol/vectors/frames.json and exchanges.json, PROTOCOL.md §7) against the C core, from the table
 * protocol/gen/vectors-c.ts generates out of them at build time (vectors_table.h, in the build
 * folder): the same cases protocol/vectors/vectors.test.ts runs against the host and the twin.
 *
 * frames.json: each line through the core's line assembler (base64, CRC, §2.1 classes), in one
 * call and byte by byte: the class, the one counter it moves, and for a frame its CBOR message.
 * exchanges.json: each case on a freshly initialised device (cvm_device_init, the fake port),
 * fed step by step; after each step the lines written must be exactly the step's expected lines:
 * fixed bytes, a hello response checked by its structure, or the same bytes as an earlier line.
 *
 * The exchanges assume the default limits, so the Makefile builds this test for CONFIG=default
 * only.
 */
#include <stdarg.h>

#include "cvm_cbor.h"
#include "cvm_device.h"
#include "cvm_line.h"
#include "cvm_protocol.h"
#include "cvm_test.h"
#include "fake_port.h"

/* The table's types (vectors_table.h holds data only). */
typedef struct {
    const char *name;
    const uint8_t *line;    /* the line's bytes, usually with its '\n' */
    size_t line_len;
    const char *cls;        /* frame, log, empty, bad_frame, bad_crc, overlong */
    const uint8_t *message; /* a frame's CBOR message, NULL otherwise */
    size_t message_len;
} vec_frame;

typedef struct {
    uint64_t key;
    uint64_t value;
} vec_pair;

typedef enum { VEC_LINE, VEC_HELLO, VEC_SAME_AS } vec_kind;

typedef struct {
    vec_kind kind;
    const char *meaning;    /* the message the line carries, as JSON (for failure reports) */
    const uint8_t *line;    /* VEC_LINE: exactly these bytes */
    size_t line_len;
    uint64_t hello_seq;     /* VEC_HELLO: [hello_seq, 0, map] holding the fixed pairs */
    const vec_pair *fixed;
    size_t fixed_len;
    size_t same_as;         /* VEC_SAME_AS: the exchange's line of this index (0-based) */
} vec_expect;

typedef struct {
    const char *meaning;
    const uint8_t *send;
    size_t send_len;
    const vec_expect *expect;
    size_t expect_len;
} vec_step;

typedef struct {
    const char *name;
    const vec_step *steps;
    size_t steps_len;
} vec_exchange;

#include "vectors_table.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A check with a message made at run time (the case's name, what differs). */
static bool check_msg(bool ok, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool check_msg(bool ok, int line, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return cvm_test_check(ok, __FILE__, line, what);
}
#define CHECK_MSG(ok, ...) check_msg((ok), __LINE__, __VA_ARGS__)

/* ---- frames.json ------------------------------------------------------------------------- */

/* The §7 class name of a line event. */
static const char *class_name(cvm_line_event e)
{
    switch (e) {
    case CVM_LINE_FRAME: return "frame";
    case CVM_LINE_EMPTY: return "empty";
    case CVM_LINE_OVERLONG: return "overlong";
    case CVM_LINE_NOISE: return "log";
    case CVM_LINE_BAD_FRAME: return "bad_frame";
    case CVM_LINE_BAD_CRC: return "bad_crc";
    case CVM_LINE_NONE: break;
    }
    return "none";
}

/* The counter a line of this class moves (none for an empty line). */
static uint32_t counter_of(const cvm_line_counters *c, cvm_line_event e)
{
    switch (e) {
    case CVM_LINE_FRAME: return c->rx_frames;
    case CVM_LINE_OVERLONG: return c->rx_overlong;
    case CVM_LINE_NOISE: return c->rx_noise;
    case CVM_LINE_BAD_FRAME: return c->rx_bad_frame;
    case CVM_LINE_BAD_CRC: return c->rx_bad_crc;
    case CVM_LINE_EMPTY:
    case CVM_LINE_NONE: break;
    }
    return 0;
}

static uint32_t counters_sum(const cvm_line_counters *c)
{
    return c->rx_frames + c->rx_bad_frame + c->rx_bad_crc + c->rx_overlong + c->rx_noise;
}

static cvm_line L;

/*
 * Feeds one vector line (a '\n' appended when it has none, as a receiver splits lines) in one
 * call, or byte by byte, and checks that it completes exactly one line, at its last byte, of the
 * vector's class, moving only that class's counter; for a frame, that the message is the one the
 * vector gives.
 */
static void run_frame(const vec_frame *v, bool bytewise)
{
    const char *how = bytewise ? "byte by byte" : "in one call";
    static const uint8_t nl = '\n';
    bool has_nl = v->line_len > 0u && v->line[v->line_len - 1u] == '\n';
    size_t total = v->line_len + (has_nl ? 0u : 1u);
    cvm_line_event got = CVM_LINE_NONE;
    unsigned events = 0;
    size_t ended_at = 0;

    cvm_line_init(&L);
    for (size_t i = 0; i < total;) {
        const uint8_t *p = i < v->line_len ? v->line + i : &nl;
        size_t n = i < v->line_len ? (bytewise ? 1u : v->line_len - i) : 1u;
        cvm_line_event e;
        size_t used = cvm_line_feed(&L, p, n, &e);
        if (used < 1u || used > n) {
            CHECK_MSG(false, "frames.json \"%s\" (%s): cvm_line_feed consumed %zu of %zu", v->name, how, used, n);
            return;
        }
        i += used;
        if (e != CVM_LINE_NONE) {
            got = e;
            events++;
            ended_at = i;
        }
    }
    CHECK_MSG(events == 1u && ended_at == total,
              "frames.json \"%s\" (%s): %u lines completed, the last after byte %zu of %zu; want one, at the end",
              v->name, how, events, ended_at, total);
    CHECK_MSG(strcmp(class_name(got), v->cls) == 0, "frames.json \"%s\" (%s): class %s, want %s", v->name, how,
              class_name(got), v->cls);
    uint32_t own = counter_of(&L.counters, got);
    uint32_t want_own = got == CVM_LINE_EMPTY ? 0u : 1u;
    CHECK_MSG(own == want_own && counters_sum(&L.counters) == want_own,
              "frames.json \"%s\" (%s): counters frames=%u bad_frame=%u bad_crc=%u overlong=%u noise=%u; want only "
              "the %s counter at %u",
              v->name, how, L.counters.rx_frames, L.counters.rx_bad_frame, L.counters.rx_bad_crc,
              L.counters.rx_overlong, L.counters.rx_noise, v->cls, want_own);
    if (v->message != NULL) {
        size_t len = 0;
        const uint8_t *m = got == CVM_LINE_FRAME ? cvm_line_message(&L, &len) : NULL;
        bool same = m != NULL && len == v->message_len && memcmp(m, v->message, len) == 0;
        if (!CHECK_MSG(same, "frames.json \"%s\" (%s): message differs", v->name, how)) {
            printf("  got  ");
            cvm_test_hex(m, m != NULL ? len : 0u);
            printf("\n  want ");
            cvm_test_hex(v->message, v->message_len);
            printf("\n");
        }
    }
}

static void test_frames(void)
{
    for (size_t i = 0; i < COUNT(vec_frames); i++) {
        run_frame(&vec_frames[i], false);
        run_frame(&vec_frames[i], true);
    }
}

/* ---- the hello response, by its structure (PROTOCOL.md §7) ------------------------------- */

/* Reads the head of a map or text string (the reader has no call for them): major and argument. */
static bool read_head(cvm_cbor_reader *r, int major, uint64_t *arg)
{
    if (cvm_cbor_peek_major(r) != major) {
        return false;
    }
    uint8_t info = (uint8_t)(*r->cur & 0x1fu);
    size_t extra = info < 24u ? 0u : info == 24u ? 1u : info == 25u ? 2u : info == 26u ? 4u : info == 27u ? 8u : 99u;
    if (extra == 99u || (size_t)(r->end - r->cur) < 1u + extra) {
        return false;
    }
    uint64_t v = info < 24u ? info : 0u;
    for (size_t i = 1; i <= extra; i++) {
        v = (v << 8) | r->cur[i];
    }
    r->cur += 1u + extra;
    *arg = v;
    return true;
}

/* Reads a text string (no copy); false if the next item is not one or runs past the end. */
static bool read_tstr(cvm_cbor_reader *r, const uint8_t **text, size_t *len)
{
    uint64_t n;
    if (!read_head(r, CVM_CBOR_TSTR, &n) || n > (uint64_t)(r->end - r->cur)) {
        return false;
    }
    *text = r->cur;
    *len = (size_t)n;
    r->cur += n;
    return true;
}

/* One parsed hello value: a uint, or the text or bytes of keys 2, 11 and 12. */
typedef struct {
    uint64_t uint;
    const uint8_t *data;
    size_t len;
} hello_value;

static bool is_text_key(uint64_t k)
{
    return k == CVM_HELLO_FIRMWARE_ID || k == CVM_HELLO_RESET_CAUSE;
}

/*
 * Why the message is not the hello response `e` describes, or NULL: [seq, 0, map] in core
 * deterministic encoding (re-encoding the parsed values gives the same bytes), the map holding
 * exactly the keys 1..CVM_HELLO_KEY_COUNT in ascending order, the fixed keys with their values,
 * the firmware id 1..64 printable ASCII without spaces, nonce and uptime uint32, a reset cause of
 * §5, a unique id of 0 or 12 bytes.
 */
static const char *hello_mismatch(const uint8_t *msg, size_t len, const vec_expect *e)
{
    static char why[160];
    cvm_cbor_reader r;
    uint64_t n;
    uint64_t seq;
    uint64_t status;
    hello_value v[CVM_HELLO_KEY_COUNT + 1u];

    cvm_cbor_reader_init(&r, msg, len);
    if (cvm_cbor_enter_array(&r, &n) != CVM_CBOR_OK || n != 3u || cvm_cbor_read_uint(&r, &seq) != CVM_CBOR_OK ||
        cvm_cbor_read_uint(&r, &status) != CVM_CBOR_OK || seq != e->hello_seq || status != 0u ||
        !read_head(&r, CVM_CBOR_MAP, &n)) {
        snprintf(why, sizeof why, "not [%llu, 0, map]", (unsigned long long)e->hello_seq);
        return why;
    }
    if (n != CVM_HELLO_KEY_COUNT) {
        snprintf(why, sizeof why, "%llu keys, want %u", (unsigned long long)n, CVM_HELLO_KEY_COUNT);
        return why;
    }
    for (uint64_t k = 1; k <= CVM_HELLO_KEY_COUNT; k++) {
        uint64_t key;
        bool ok;
        if (cvm_cbor_read_uint(&r, &key) != CVM_CBOR_OK || key != k) {
            snprintf(why, sizeof why, "key %llu missing or out of order", (unsigned long long)k);
            return why;
        }
        if (is_text_key(k)) {
            ok = read_tstr(&r, &v[k].data, &v[k].len);
        } else if (k == CVM_HELLO_UNIQUE_ID) {
            ok = cvm_cbor_read_bstr(&r, &v[k].data, &v[k].len) == CVM_CBOR_OK;
        } else {
            ok = cvm_cbor_read_uint(&r, &v[k].uint) == CVM_CBOR_OK;
        }
        if (!ok) {
            snprintf(why, sizeof why, "key %llu is not a %s", (unsigned long long)k,
                     is_text_key(k) ? "text string" : k == CVM_HELLO_UNIQUE_ID ? "byte string" : "uint");
            return why;
        }
    }
    if (!cvm_cbor_at_end(&r)) {
        return "bytes after the message";
    }

    /* Core deterministic encoding: the parsed values, written back, are the very bytes. */
    uint8_t again[CVM_MAX_MESSAGE_BYTES];
    cvm_cbor_writer w;
    cvm_cbor_writer_init(&w, again, sizeof again);
    cvm_cbor_put_array(&w, 3u);
    cvm_cbor_put_uint(&w, seq);
    cvm_cbor_put_uint(&w, 0u);
    cvm_cbor_put_map(&w, CVM_HELLO_KEY_COUNT);
    for (uint64_t k = 1; k <= CVM_HELLO_KEY_COUNT; k++) {
        cvm_cbor_put_uint(&w, k);
        if (is_text_key(k)) {
            cvm_cbor_put_tstr(&w, (const char *)v[k].data, v[k].len);
        } else if (k == CVM_HELLO_UNIQUE_ID) {
            cvm_cbor_put_bstr(&w, v[k].data, v[k].len);
        } else {
            cvm_cbor_put_uint(&w, v[k].uint);
        }
    }
    if (cvm_cbor_writer_len(&w) != len || memcmp(again, msg, len) != 0) {
        return "not in core deterministic encoding";
    }

    for (size_t i = 0; i < e->fixed_len; i++) {
        uint64_t k = e->fixed[i].key;
        if (k < 1u || k > CVM_HELLO_KEY_COUNT || is_text_key(k) || k == CVM_HELLO_UNIQUE_ID ||
            v[k].uint != e->fixed[i].value) {
            snprintf(why, sizeof why, "key %llu is %llu, want %llu", (unsigned long long)k,
                     k >= 1u && k <= CVM_HELLO_KEY_COUNT ? (unsigned long long)v[k].uint : 0ull,
                     (unsigned long long)e->fixed[i].value);
            return why;
        }
    }
    const hello_value *fw = &v[CVM_HELLO_FIRMWARE_ID];
    bool fw_ok = fw->len >= 1u && fw->len <= 64u;
    for (size_t i = 0; fw_ok && i < fw->len; i++) {
        fw_ok = fw->data[i] >= 0x21u && fw->data[i] <= 0x7eu;
    }
    if (!fw_ok) {
        return "firmware id: want 1..64 printable ASCII characters, no spaces";
    }
    if (v[CVM_HELLO_BOOT_NONCE].uint > 0xffffffffu || v[CVM_HELLO_UPTIME_MS].uint > 0xffffffffu) {
        return "nonce or uptime is not a uint32";
    }
    static const char *const causes[] = CVM_RESET_CAUSE_NAMES;
    const hello_value *cause = &v[CVM_HELLO_RESET_CAUSE];
    bool cause_ok = false;
    for (size_t i = 0; i < COUNT(causes); i++) {
        cause_ok = cause_ok || (strlen(causes[i]) == cause->len && memcmp(causes[i], cause->data, cause->len) == 0);
    }
    if (!cause_ok) {
        return "reset cause is not one of §5";
    }
    if (v[CVM_HELLO_UNIQUE_ID].len != 0u && v[CVM_HELLO_UNIQUE_ID].len != 12u) {
        return "unique id is not 0 or 12 bytes";
    }
    return NULL;
}

/* ---- exchanges.json ---------------------------------------------------------------------- */

#define MAX_LINES 1024u

/* Every line the device wrote in the current exchange (copied: the capture is cleared per step). */
static uint8_t out_bytes[FAKE_PORT_CAPTURE];
static size_t out_len;
static size_t line_start[MAX_LINES + 1u];
static size_t lines;

/* Why line i of the exchange is not what e expects, or NULL. */
static const char *line_mismatch(size_t i, const vec_expect *e)
{
    const uint8_t *g = out_bytes + line_start[i];
    size_t glen = line_start[i + 1u] - line_start[i];
    switch (e->kind) {
    case VEC_LINE:
        return glen == e->line_len && memcmp(g, e->line, glen) == 0 ? NULL : "other bytes";
    case VEC_SAME_AS: {
        static char why[80];
        if (e->same_as >= i) {
            snprintf(why, sizeof why, "same_as %zu names no earlier line", e->same_as);
            return why;
        }
        size_t k = e->same_as;
        size_t klen = line_start[k + 1u] - line_start[k];
        snprintf(why, sizeof why, "not the line of response %zu", k + 1u);
        return glen == klen && memcmp(g, out_bytes + line_start[k], glen) == 0 ? NULL : why;
    }
    case VEC_HELLO: {
        /* The core's own line code decodes it: a frame line, '\n'-terminated, good CRC. */
        cvm_line_event ev = CVM_LINE_NONE;
        cvm_line_init(&L);
        size_t used = glen > 0u && g[0] == '~' ? cvm_line_feed(&L, g, glen, &ev) : 0u;
        if (used != glen || ev != CVM_LINE_FRAME) {
            return "not a frame line";
        }
        size_t mlen;
        const uint8_t *m = cvm_line_message(&L, &mlen);
        return hello_mismatch(m, mlen, e);
    }
    }
    return "unknown expectation";
}

static void run_exchange(const vec_exchange *x)
{
    fake_port_reset();
    cvm_device_init();
    out_len = 0;
    lines = 0;
    line_start[0] = 0;
    for (size_t s = 0; s < x->steps_len; s++) {
        const vec_step *st = &x->steps[s];
        fake_port_clear();
        cvm_device_feed(st->send, st->send_len);

        /* Split what this step wrote into lines; each must be one whole line in one write. */
        size_t first = lines;
        if (out_len + fake_port_out_len > sizeof out_bytes || fake_port_out_len == FAKE_PORT_CAPTURE) {
            CHECK_MSG(false, "exchanges.json \"%s\" step %zu: more output than the test keeps", x->name, s + 1u);
            return;
        }
        memcpy(out_bytes + out_len, fake_port_out, fake_port_out_len);
        for (size_t i = 0; i < fake_port_out_len; i++) {
            if (fake_port_out[i] != '\n') {
                continue;
            }
            if (lines == MAX_LINES) {
                CHECK_MSG(false, "exchanges.json \"%s\": more than %u lines", x->name, MAX_LINES);
                return;
            }
            line_start[++lines] = out_len + i + 1u;
        }
        bool whole = line_start[lines] == out_len + fake_port_out_len;
        out_len += fake_port_out_len;
        size_t got = lines - first;
        CHECK_MSG(whole && fake_port_writes == got,
                  "exchanges.json \"%s\" step %zu (%s): %u writes for %zu lines%s", x->name, s + 1u, st->meaning,
                  fake_port_writes, got, whole ? "" : ", the last one without its '\\n'");
        if (!CHECK_MSG(got == st->expect_len, "exchanges.json \"%s\" step %zu (%s): %zu lines written, want %zu",
                       x->name, s + 1u, st->meaning, got, st->expect_len)) {
            for (size_t i = first; i < lines; i++) {
                printf("  got: %.*s", (int)(line_start[i + 1u] - line_start[i]), (const char *)out_bytes + line_start[i]);
            }
            return; /* every later line would be misattributed */
        }
        for (size_t j = 0; j < st->expect_len; j++) {
            const vec_expect *e = &st->expect[j];
            size_t i = first + j;
            const char *why = line_mismatch(i, e);
            if (!CHECK_MSG(why == NULL, "exchanges.json \"%s\": response %zu differs (%s)", x->name, i + 1u,
                           why != NULL ? why : "")) {
                printf("  request:  %s\n  expected: %s", st->meaning, e->meaning);
                if (e->kind == VEC_LINE) {
                    printf(" %.*s", (int)e->line_len, (const char *)e->line);
                } else {
                    printf("\n");
                }
                printf("  got:      %.*s", (int)(line_start[i + 1u] - line_start[i]),
                       (const char *)out_bytes + line_start[i]);
            }
        }
    }
}

static void test_exchanges(void)
{
    for (size_t i = 0; i < COUNT(vec_exchanges); i++) {
        run_exchange(&vec_exchanges[i]);
    }
}

int main(void)
{
    test_frames();
    test_exchanges();
    printf("test_vectors: %zu frames.json cases (each in one call and byte by byte), %zu exchanges.json cases\n",
           COUNT(vec_frames), COUNT(vec_exchanges));
    return cvm_test_end();
}
