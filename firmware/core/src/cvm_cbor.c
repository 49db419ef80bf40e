#include "cvm_cbor.h"

#include <string.h>

/*
 * Decodes the head at p (p < end): major type, additional information and argument.
 * Returns the head's size (1..9) or a negative cvm_cbor_status. Additional information 28..31 is
 * reported as malformed: 28..30 are reserved, and 31 (indefinite length, break) is outside the
 * definite-only subset the protocol accepts.
 */
/* The argument of a head whose additional information is 24..31 (the slow path). */
static int cvm_cbor_head_long(const uint8_t *p, const uint8_t *end, uint8_t ai, uint64_t *arg)
{
    if (ai > 27u) {
        return CVM_CBOR_ERR_MALFORMED;
    }
    size_t n = (size_t)1u << (ai - 24u);
    if ((size_t)(end - p) - 1u < n) {
        return CVM_CBOR_ERR_END;
    }
    uint64_t v = 0;
    for (size_t i = 1; i <= n; i++) {
        v = (v << 8) | p[i];
    }
    *arg = v;
    return (int)(n + 1u);
}

static inline int cvm_cbor_head(const uint8_t *p, const uint8_t *end, uint8_t *major, uint8_t *ai,
                                uint64_t *arg)
{
    uint8_t ib = p[0];
    *major = (uint8_t)(ib >> 5);
    *ai = (uint8_t)(ib & 0x1Fu);
    if (*ai < 24u) {
        *arg = *ai;
        return 1;
    }
    return cvm_cbor_head_long(p, end, *ai, arg);
}

int cvm_cbor_check(const uint8_t *buf, size_t len, unsigned max_depth)
{
    /* remaining[d]: items still expected in the open container at level d (0 = outermost). */
    uint64_t remaining[CVM_CBOR_CHECK_DEPTH_MAX];
    unsigned open = 0;
    const uint8_t *p = buf;
    const uint8_t *end = buf + len;

    if (max_depth == 0u || max_depth > CVM_CBOR_CHECK_DEPTH_MAX) {
        return CVM_CBOR_ERR_DEPTH;
    }
    for (;;) {
        /* One item at depth open + 1. */
        if (p == end) {
            return CVM_CBOR_ERR_MALFORMED;
        }
        if (open + 1u > max_depth) {
            return CVM_CBOR_ERR_DEPTH;
        }
        uint8_t major;
        uint8_t ai;
        uint64_t arg;
        int h = cvm_cbor_head(p, end, &major, &ai, &arg);
        if (h < 0) {
            return CVM_CBOR_ERR_MALFORMED;
        }
        p += h;
        uint64_t avail = (uint64_t)(end - p);
        uint64_t children = 0;
        switch (major) {
        case CVM_CBOR_BSTR:
        case CVM_CBOR_TSTR:
            if (arg > avail) {
                return CVM_CBOR_ERR_MALFORMED;
            }
            p += arg;
            break;
        case CVM_CBOR_ARRAY:
            /* Every item takes at least one byte: a larger count cannot be satisfied. */
            if (arg > avail) {
                return CVM_CBOR_ERR_MALFORMED;
            }
            children = arg;
            break;
        case CVM_CBOR_MAP:
            if (arg > avail / 2u) {
                return CVM_CBOR_ERR_MALFORMED;
            }
            children = arg * 2u;
            break;
        case CVM_CBOR_TAG:
            children = 1;
            break;
        case CVM_CBOR_SIMPLE:
            if (ai == 24u && arg < 32u) {
                return CVM_CBOR_ERR_MALFORMED;
            }
            break;
        default: /* integers: the head is the whole item */
            break;
        }
        if (children > 0u) {
            remaining[open++] = children;
            continue;
        }
        /* The item is complete: close every container it completes. */
        while (open > 0u) {
            if (--remaining[open - 1u] > 0u) {
                break;
            }
            open--;
        }
        if (open == 0u) {
            return p == end ? CVM_CBOR_OK : CVM_CBOR_ERR_MALFORMED;
        }
    }
}

void cvm_cbor_reader_init(cvm_cbor_reader *r, const uint8_t *buf, size_t len)
{
    r->cur = buf;
    r->end = buf + len;
}

bool cvm_cbor_at_end(const cvm_cbor_reader *r)
{
    return r->cur >= r->end;
}

int cvm_cbor_peek_major(const cvm_cbor_reader *r)
{
    if (r->cur >= r->end) {
        return CVM_CBOR_ERR_END;
    }
    return r->cur[0] >> 5;
}

/* Reads a head of the wanted major type; on any failure nothing is consumed. */
static int cvm_cbor_read_head(cvm_cbor_reader *r, uint8_t want, uint64_t *arg)
{
    if (r->cur >= r->end) {
        return CVM_CBOR_ERR_END;
    }
    if ((r->cur[0] >> 5) != want) {
        return CVM_CBOR_ERR_TYPE;
    }
    uint8_t major;
    uint8_t ai;
    int h = cvm_cbor_head(r->cur, r->end, &major, &ai, arg);
    if (h < 0) {
        return h;
    }
    r->cur += h;
    return CVM_CBOR_OK;
}

int cvm_cbor_read_int(cvm_cbor_reader *r, bool *negative, uint64_t *arg)
{
    if (r->cur >= r->end) {
        return CVM_CBOR_ERR_END;
    }
    uint8_t major = (uint8_t)(r->cur[0] >> 5);
    if (major > CVM_CBOR_NINT) {
        return CVM_CBOR_ERR_TYPE;
    }
    int e = cvm_cbor_read_head(r, major, arg);
    if (e == CVM_CBOR_OK) {
        *negative = major == CVM_CBOR_NINT;
    }
    return e;
}

int cvm_cbor_read_uint(cvm_cbor_reader *r, uint64_t *value)
{
    return cvm_cbor_read_head(r, CVM_CBOR_UINT, value);
}

int cvm_cbor_read_int32(cvm_cbor_reader *r, int32_t *value)
{
    const uint8_t *start = r->cur;
    bool negative;
    uint64_t arg;
    int e = cvm_cbor_read_int(r, &negative, &arg);
    if (e != CVM_CBOR_OK) {
        return e;
    }
    /* int32: 0..0x7FFFFFFF, or -1 - arg with arg 0..0x7FFFFFFF. */
    if (arg > 0x7FFFFFFFu) {
        r->cur = start;
        return CVM_CBOR_ERR_TYPE;
    }
    *value = negative ? (int32_t)(-1 - (int64_t)arg) : (int32_t)arg;
    return CVM_CBOR_OK;
}

int cvm_cbor_enter_array(cvm_cbor_reader *r, uint64_t *count)
{
    return cvm_cbor_read_head(r, CVM_CBOR_ARRAY, count);
}

int cvm_cbor_read_bstr(cvm_cbor_reader *r, const uint8_t **data, size_t *len)
{
    const uint8_t *start = r->cur;
    uint64_t n;
    int e = cvm_cbor_read_head(r, CVM_CBOR_BSTR, &n);
    if (e != CVM_CBOR_OK) {
        return e;
    }
    if (n > (uint64_t)(r->end - r->cur)) {
        r->cur = start;
        return CVM_CBOR_ERR_END;
    }
    *data = r->cur;
    *len = (size_t)n;
    r->cur += n;
    return CVM_CBOR_OK;
}

int cvm_cbor_skip(cvm_cbor_reader *r)
{
    /* Items still to skip. Each takes at least one byte, so pending stays <= bytes left + 1. */
    uint64_t pending = 1;
    while (pending > 0u) {
        if (r->cur >= r->end) {
            return CVM_CBOR_ERR_END;
        }
        uint8_t major;
        uint8_t ai;
        uint64_t arg;
        int h = cvm_cbor_head(r->cur, r->end, &major, &ai, &arg);
        if (h < 0) {
            return h;
        }
        r->cur += h;
        pending--;
        uint64_t avail = (uint64_t)(r->end - r->cur);
        switch (major) {
        case CVM_CBOR_BSTR:
        case CVM_CBOR_TSTR:
            if (arg > avail) {
                return CVM_CBOR_ERR_END;
            }
            r->cur += arg;
            break;
        case CVM_CBOR_ARRAY:
            if (arg > avail) {
                return CVM_CBOR_ERR_END;
            }
            pending += arg;
            break;
        case CVM_CBOR_MAP:
            if (arg > avail / 2u) {
                return CVM_CBOR_ERR_END;
            }
            pending += arg * 2u;
            break;
        case CVM_CBOR_TAG:
            pending++;
            break;
        default:
            break;
        }
    }
    return CVM_CBOR_OK;
}

void cvm_cbor_writer_init(cvm_cbor_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = false;
}

size_t cvm_cbor_writer_len(const cvm_cbor_writer *w)
{
    return w->overflow ? 0u : w->len;
}

/* Writes the shortest head of major type `major` with argument v. */
static int cvm_cbor_put_head(cvm_cbor_writer *w, uint8_t major, uint64_t v)
{
    uint8_t head[9];
    size_t n;
    uint8_t mt = (uint8_t)(major << 5);
    if (v < 24u) {
        head[0] = (uint8_t)(mt | v);
        n = 1;
    } else if (v <= 0xFFu) {
        head[0] = (uint8_t)(mt | 24u);
        head[1] = (uint8_t)v;
        n = 2;
    } else if (v <= 0xFFFFu) {
        head[0] = (uint8_t)(mt | 25u);
        head[1] = (uint8_t)(v >> 8);
        head[2] = (uint8_t)v;
        n = 3;
    } else if (v <= 0xFFFFFFFFu) {
        head[0] = (uint8_t)(mt | 26u);
        head[1] = (uint8_t)(v >> 24);
        head[2] = (uint8_t)(v >> 16);
        head[3] = (uint8_t)(v >> 8);
        head[4] = (uint8_t)v;
        n = 5;
    } else {
        head[0] = (uint8_t)(mt | 27u);
        for (size_t i = 0; i < 8u; i++) {
            head[1u + i] = (uint8_t)(v >> (56u - 8u * i));
        }
        n = 9;
    }
    if (w->overflow || w->cap - w->len < n) {
        w->overflow = true;
        return CVM_CBOR_ERR_OVERFLOW;
    }
    memcpy(w->buf + w->len, head, n);
    w->len += n;
    return CVM_CBOR_OK;
}

int cvm_cbor_put_uint(cvm_cbor_writer *w, uint64_t value)
{
    return cvm_cbor_put_head(w, CVM_CBOR_UINT, value);
}

int cvm_cbor_put_int(cvm_cbor_writer *w, int64_t value)
{
    if (value >= 0) {
        return cvm_cbor_put_head(w, CVM_CBOR_UINT, (uint64_t)value);
    }
    /* -1 - value without overflow: ~value is -1 - value in two's complement. */
    return cvm_cbor_put_head(w, CVM_CBOR_NINT, (uint64_t)~value);
}

int cvm_cbor_put_array(cvm_cbor_writer *w, uint64_t count)
{
    return cvm_cbor_put_head(w, CVM_CBOR_ARRAY, count);
}

int cvm_cbor_put_map(cvm_cbor_writer *w, uint64_t pairs)
{
    return cvm_cbor_put_head(w, CVM_CBOR_MAP, pairs);
}

static int cvm_cbor_put_string(cvm_cbor_writer *w, uint8_t major, const void *data, size_t len)
{
    size_t mark = w->len;
    int e = cvm_cbor_put_head(w, major, len);
    if (e != CVM_CBOR_OK) {
        return e;
    }
    if (w->cap - w->len < len) {
        w->len = mark;
        w->overflow = true;
        return CVM_CBOR_ERR_OVERFLOW;
    }
    if (len > 0u) {
        memcpy(w->buf + w->len, data, len);
    }
    w->len += len;
    return CVM_CBOR_OK;
}

int cvm_cbor_put_bstr(cvm_cbor_writer *w, const uint8_t *data, size_t len)
{
    return cvm_cbor_put_string(w, CVM_CBOR_BSTR, data, len);
}

int cvm_cbor_put_tstr(cvm_cbor_writer *w, const char *text, size_t len)
{
    return cvm_cbor_put_string(w, CVM_CBOR_TSTR, text, len);
}
