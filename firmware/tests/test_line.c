/* Line framing (PROTOCOL.md §2.1): each row of the table, in its order, and byte-level splits. */
#include "cvm_base64.h"
#include "cvm_crc16.h"
#include "cvm_line.h"
#include "cvm_test.h"

static cvm_line L;

/* Feeds text in one call; returns the last event (and how many lines ended). */
static cvm_line_event feed(const char *text, size_t n, unsigned *lines)
{
    cvm_line_event last = CVM_LINE_NONE;
    const uint8_t *p = (const uint8_t *)text;
    *lines = 0;
    while (n > 0u) {
        cvm_line_event e;
        size_t used = cvm_line_feed(&L, p, n, &e);
        p += used;
        n -= used;
        if (e != CVM_LINE_NONE) {
            last = e;
            (*lines)++;
        }
    }
    return last;
}

static cvm_line_event feed_str(const char *text)
{
    unsigned lines;
    return feed(text, strlen(text), &lines);
}

/* "~" + base64(msg ‖ crc) into out (no '\n'); a wrong CRC when bad_crc. */
static size_t frame_text(const uint8_t *msg, size_t n, int bad_crc, char *out)
{
    uint8_t f[400];
    memcpy(f, msg, n);
    uint16_t crc = (uint16_t)(cvm_crc16(msg, n) ^ (bad_crc ? 1u : 0u));
    f[n] = (uint8_t)(crc >> 8);
    f[n + 1u] = (uint8_t)crc;
    out[0] = '~';
    return 1u + cvm_base64_encode(f, n + 2u, out + 1);
}

static void test_classes(void)
{
    char line[1200];
    size_t len;
    const uint8_t msg[] = {0x82, 0x01, 0x00}; /* [1, 0] */
    cvm_line_init(&L);

    /* A good frame, with and without '\r'. */
    len = frame_text(msg, sizeof msg, 0, line);
    memcpy(line + len, "\n", 2);
    CHECK_EQ(feed_str(line), CVM_LINE_FRAME);
    size_t mlen = 0;
    const uint8_t *m = cvm_line_message(&L, &mlen);
    CHECK_MEM(m, mlen, msg, sizeof msg);
    memcpy(line + len, "\r\n", 3);
    CHECK_EQ(feed_str(line), CVM_LINE_FRAME);
    CHECK_EQ(L.counters.rx_frames, 2);
    /* Only one '\r' is removed: two make bad base64. */
    memcpy(line + len, "\r\r\n", 4);
    CHECK_EQ(feed_str(line), CVM_LINE_BAD_FRAME);
    CHECK_EQ(L.counters.rx_bad_frame, 1);

    /* Empty lines are ignored and counted nowhere. */
    CHECK_EQ(feed_str("\n"), CVM_LINE_EMPTY);
    CHECK_EQ(feed_str("\r\n"), CVM_LINE_EMPTY);
    /* Noise: anything else without the marker, including a lone "\r\r". */
    CHECK_EQ(feed_str("hello\n"), CVM_LINE_NOISE);
    CHECK_EQ(feed_str("\r\r\n"), CVM_LINE_NOISE);
    CHECK_EQ(feed_str(" ~gQA=\n"), CVM_LINE_NOISE);
    CHECK_EQ(L.counters.rx_noise, 3);

    /* Bad frames: marker only, bad base64, decoded length < 3 or > 384. */
    CHECK_EQ(feed_str("~\n"), CVM_LINE_BAD_FRAME);
    CHECK_EQ(feed_str("~gQA\n"), CVM_LINE_BAD_FRAME);    /* no padding */
    CHECK_EQ(feed_str("~AAA=\n"), CVM_LINE_BAD_FRAME);   /* 2 bytes */
    CHECK_EQ(feed_str("~AAAA AAAA\n"), CVM_LINE_BAD_FRAME);
    CHECK_EQ(feed_str("~~AAAA\n"), CVM_LINE_BAD_FRAME);
    {
        uint8_t big[383];
        memset(big, 0x40, sizeof big); /* 383-byte message + CRC = 385 > 384 */
        len = frame_text(big, sizeof big, 0, line);
        line[len] = '\n';
        unsigned lines;
        CHECK_EQ(feed(line, len + 1u, &lines), CVM_LINE_BAD_FRAME);
        CHECK_EQ(lines, 1);
        /* 382 bytes + CRC = 384: the largest frame is fine. */
        len = frame_text(big, 382u, 0, line);
        CHECK_EQ(len, 513);
        line[len] = '\n';
        CHECK_EQ(feed(line, len + 1u, &lines), CVM_LINE_FRAME);
        cvm_line_message(&L, &mlen);
        CHECK_EQ(mlen, 382);
    }
    CHECK_EQ(L.counters.rx_bad_frame, 7);

    /* The smallest frame: a 1-byte message (3 bytes decoded). */
    {
        const uint8_t one[] = {0x00};
        len = frame_text(one, 1, 0, line);
        line[len] = '\n';
        unsigned lines;
        CHECK_EQ(feed(line, len + 1u, &lines), CVM_LINE_FRAME);
    }

    /* CRC mismatch. */
    len = frame_text(msg, sizeof msg, 1, line);
    memcpy(line + len, "\n", 2);
    CHECK_EQ(feed_str(line), CVM_LINE_BAD_CRC);
    CHECK_EQ(L.counters.rx_bad_crc, 1);
    CHECK_EQ(L.counters.rx_frames, 4);
    CHECK_EQ(L.counters.rx_overlong, 0);
}

static void test_overlong(void)
{
    char line[2000];
    unsigned lines;
    cvm_line_init(&L);

    /* Exactly CVM_MAX_LINE_BYTES before '\n' is a line (here: noise). */
    memset(line, 'x', CVM_MAX_LINE_BYTES);
    line[CVM_MAX_LINE_BYTES] = '\n';
    CHECK_EQ(feed(line, CVM_MAX_LINE_BYTES + 1u, &lines), CVM_LINE_NOISE);
    CHECK_EQ(lines, 1);
    CHECK_EQ(L.counters.rx_overlong, 0);

    /* 520 bytes whose last is '\r' is still a line: the '\r' counts toward the limit. */
    line[CVM_MAX_LINE_BYTES - 1u] = '\r';
    CHECK_EQ(feed(line, CVM_MAX_LINE_BYTES + 1u, &lines), CVM_LINE_NOISE);
    CHECK_EQ(L.counters.rx_overlong, 0);

    /* One more byte: overlong, discarded through the next '\n', counted once. */
    memset(line, '~', 1500);
    line[1500] = '\n';
    CHECK_EQ(feed(line, 1501, &lines), CVM_LINE_OVERLONG);
    CHECK_EQ(lines, 1);
    CHECK_EQ(L.counters.rx_overlong, 1);
    CHECK_EQ(L.counters.rx_noise, 2);
    CHECK_EQ(L.counters.rx_bad_frame, 0);

    /* Counted when detected, even before its '\n'; the rest is discarded across calls. */
    memset(line, 'y', CVM_MAX_LINE_BYTES + 1u);
    CHECK_EQ(feed(line, CVM_MAX_LINE_BYTES + 1u, &lines), CVM_LINE_NONE);
    CHECK_EQ(L.counters.rx_overlong, 2);
    CHECK_EQ(feed("~AAAA\nnoise\n", 12, &lines), CVM_LINE_NOISE);
    CHECK_EQ(lines, 2);
    CHECK_EQ(L.counters.rx_overlong, 2);
    CHECK_EQ(L.counters.rx_bad_frame, 0); /* "~AAAA" was part of the overlong line */
    CHECK_EQ(L.counters.rx_noise, 3);

    /* The line after an overlong one is whole again. */
    CHECK_EQ(feed_str("\n"), CVM_LINE_EMPTY);
}

static void test_bytewise(void)
{
    char line[600];
    const uint8_t msg[] = {0x83, 0x1a, 0xff, 0xff, 0xff, 0xff, 0x0a, 0x41, 0x7e};
    cvm_line_init(&L);
    size_t len = frame_text(msg, sizeof msg, 0, line);
    line[len++] = '\r';
    line[len++] = '\n';
    unsigned frames = 0;
    unsigned others = 0;
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < len; i++) {
            cvm_line_event e = cvm_line_push(&L, (uint8_t)line[i]);
            if (e == CVM_LINE_FRAME) {
                frames++;
                size_t mlen;
                const uint8_t *m = cvm_line_message(&L, &mlen);
                CHECK_MEM(m, mlen, msg, sizeof msg);
            } else if (e != CVM_LINE_NONE) {
                others++;
            }
        }
    }
    CHECK_EQ(frames, 3);
    CHECK_EQ(others, 0);

    /* Several lines in one call, with a line split across calls. */
    unsigned lines;
    CHECK_EQ(feed("a\nb\n~", 5, &lines), CVM_LINE_NOISE);
    CHECK_EQ(lines, 2);
    CHECK_EQ(feed(line + 1, len - 1u, &lines), CVM_LINE_FRAME);
    CHECK_EQ(lines, 1);
    /* Any byte value, NUL included, is just part of a line. */
    CHECK_EQ(feed("\0\n", 2, &lines), CVM_LINE_NOISE);
    CHECK_EQ(feed("~\0AA=\n", 6, &lines), CVM_LINE_BAD_FRAME);
}

int main(void)
{
    test_classes();
    test_overlong();
    test_bytewise();
    return cvm_test_end();
}
