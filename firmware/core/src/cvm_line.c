#include "cvm_line.h"

#include <string.h>

#include "cvm_base64.h"
#include "cvm_crc16.h"

void cvm_line_init(cvm_line *l)
{
    memset(l, 0, sizeof *l);
}

/* Classifies the complete line l->line[0..l->len) (§2.1 rows 2..6) and empties it. */
static cvm_line_event cvm_line_classify(cvm_line *l)
{
    size_t n = l->len;
    l->len = 0;
    if (n > 0u && l->line[n - 1u] == '\r') {
        n--;
    }
    if (n == 0u) {
        return CVM_LINE_EMPTY;
    }
    if (l->line[0] != CVM_FRAME_MARKER) {
        l->counters.rx_noise++;
        return CVM_LINE_NOISE;
    }
    int got = cvm_base64_decode((const char *)&l->line[1], n - 1u, l->frame, sizeof l->frame);
    if (got < 3) {
        l->counters.rx_bad_frame++;
        return CVM_LINE_BAD_FRAME;
    }
    size_t m = (size_t)got - CVM_CRC_BYTES;
    uint16_t crc = (uint16_t)(((uint16_t)l->frame[m] << 8) | l->frame[m + 1u]);
    if (cvm_crc16(l->frame, m) != crc) {
        l->counters.rx_bad_crc++;
        return CVM_LINE_BAD_CRC;
    }
    l->message_len = m;
    l->counters.rx_frames++;
    return CVM_LINE_FRAME;
}

size_t cvm_line_feed(cvm_line *l, const uint8_t *data, size_t len, cvm_line_event *event)
{
    size_t i = 0;
    if (!l->discarding) {
        /* Copy while there is room, up to the '\n'. */
        size_t fill = l->len;
        size_t room = CVM_MAX_LINE_BYTES - fill;
        size_t stop = len < room ? len : room;
        uint8_t *dst = &l->line[fill];
        for (; i < stop; i++) {
            uint8_t b = data[i];
            if (b == '\n') {
                l->len = fill + i;
                *event = cvm_line_classify(l);
                return i + 1u;
            }
            dst[i] = b;
        }
        l->len = fill + i;
        if (i == len) {
            *event = CVM_LINE_NONE;
            return len;
        }
        /* The line is full and more bytes came. */
        if (data[i] == '\n') {
            *event = cvm_line_classify(l);
            return i + 1u;
        }
        l->discarding = true;
        l->counters.rx_overlong++;
    }
    /* Discard through the next '\n'. */
    for (; i < len; i++) {
        if (data[i] == '\n') {
            l->discarding = false;
            l->len = 0;
            *event = CVM_LINE_OVERLONG;
            return i + 1u;
        }
    }
    *event = CVM_LINE_NONE;
    return len;
}

cvm_line_event cvm_line_push(cvm_line *l, uint8_t byte)
{
    cvm_line_event e;
    (void)cvm_line_feed(l, &byte, 1u, &e);
    return e;
}

const uint8_t *cvm_line_message(const cvm_line *l, size_t *len)
{
    *len = l->message_len;
    return l->frame;
}
