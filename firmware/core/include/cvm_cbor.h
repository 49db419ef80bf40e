/*
 * A small CBOR (RFC 8949) codec for the protocol's messages.
 *
 * Decoding is two steps: cvm_cbor_check() proves that a request is one well-formed item under the
 * rules of PROTOCOL.md §3.1 step 1; a cvm_cbor_reader then walks it item by item. The reader is
 * bounds-checked on its own (it never reads past its end, whatever the bytes), but only a checked
 * buffer guarantees that the walk makes sense.
 *
 * Encoding writes core deterministic encoding (RFC 8949 §4.2.1): shortest heads, definite lengths;
 * the caller emits map keys in ascending order.
 *
 * No allocation, no I/O; the caller owns every buffer. Errors are negative cvm_cbor_status values.
 */
#ifndef CVM_CBOR_H
#define CVM_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Results of the codec: 0 on success, negative on failure. */
typedef enum {
    CVM_CBOR_OK = 0,
    CVM_CBOR_ERR_END = -1,        /**< The item would run past the end of the buffer. */
    CVM_CBOR_ERR_MALFORMED = -2,  /**< Not well-formed (or outside the definite-only subset). */
    CVM_CBOR_ERR_TYPE = -3,       /**< Well-formed, but not the type asked for. Nothing consumed. */
    CVM_CBOR_ERR_DEPTH = -4,      /**< Nested deeper than allowed. */
    CVM_CBOR_ERR_OVERFLOW = -5,   /**< The writer's buffer is full. */
} cvm_cbor_status;

/** CBOR major types (the top 3 bits of the initial byte). */
typedef enum {
    CVM_CBOR_UINT = 0,
    CVM_CBOR_NINT = 1,
    CVM_CBOR_BSTR = 2,
    CVM_CBOR_TSTR = 3,
    CVM_CBOR_ARRAY = 4,
    CVM_CBOR_MAP = 5,
    CVM_CBOR_TAG = 6,
    CVM_CBOR_SIMPLE = 7,  /**< Floats and simple values (false, true, null, ...). */
} cvm_cbor_major;

/** Deepest max_depth cvm_cbor_check() accepts. */
#define CVM_CBOR_CHECK_DEPTH_MAX 16u

/**
 * Checks that buf[0..len) is exactly one well-formed CBOR item with no bytes after it, using only
 * definite lengths, nested at most max_depth levels (the top-level item is at depth 1; an item
 * inside an array or map, or under a tag, is one deeper). Malformed: additional information
 * 28..30, any indefinite length or break (31), a two-byte simple value below 32, a length or
 * argument past the end, an empty buffer, trailing bytes. Text strings are not checked for UTF-8
 * (that is validity, not well-formedness). Runs in O(len) time and constant stack.
 *
 * @return CVM_CBOR_OK, CVM_CBOR_ERR_MALFORMED, or CVM_CBOR_ERR_DEPTH (also when max_depth is 0 or
 *         above CVM_CBOR_CHECK_DEPTH_MAX).
 */
int cvm_cbor_check(const uint8_t *buf, size_t len, unsigned max_depth);

/** A cursor over a CBOR buffer the caller owns (it must outlive the reader). */
typedef struct {
    const uint8_t *cur;
    const uint8_t *end;
} cvm_cbor_reader;

/** Starts a reader at buf[0]; len may be 0. */
void cvm_cbor_reader_init(cvm_cbor_reader *r, const uint8_t *buf, size_t len);

/** True when every byte has been consumed. */
bool cvm_cbor_at_end(const cvm_cbor_reader *r);

/** The major type of the next item without consuming it, or CVM_CBOR_ERR_END. */
int cvm_cbor_peek_major(const cvm_cbor_reader *r);

/**
 * Reads an integer (major type 0 or 1) in any encoding, shortest or not. The value is
 * `*arg` when *negative is false, and `-1 - *arg` when it is true.
 *
 * @return CVM_CBOR_OK; CVM_CBOR_ERR_TYPE (nothing consumed) for any other type, including floats;
 *         CVM_CBOR_ERR_END / CVM_CBOR_ERR_MALFORMED for a truncated or reserved head.
 */
int cvm_cbor_read_int(cvm_cbor_reader *r, bool *negative, uint64_t *arg);

/** Reads an unsigned integer (major type 0) into *value; CVM_CBOR_ERR_TYPE for anything else. */
int cvm_cbor_read_uint(cvm_cbor_reader *r, uint64_t *value);

/**
 * Reads an integer that fits int32_t into *value.
 * @return CVM_CBOR_OK; CVM_CBOR_ERR_TYPE (nothing consumed) if the item is not an integer or the
 *         integer is outside int32.
 */
int cvm_cbor_read_int32(cvm_cbor_reader *r, int32_t *value);

/**
 * Enters a definite-length array: reads its head and stores its element count in *count; the
 * elements follow. @return CVM_CBOR_OK or CVM_CBOR_ERR_TYPE (nothing consumed), _END, _MALFORMED.
 */
int cvm_cbor_enter_array(cvm_cbor_reader *r, uint64_t *count);

/**
 * Reads a definite-length byte string: *data points into the reader's buffer (no copy), *len is
 * its length. @return CVM_CBOR_OK or CVM_CBOR_ERR_TYPE (nothing consumed), _END, _MALFORMED.
 */
int cvm_cbor_read_bstr(cvm_cbor_reader *r, const uint8_t **data, size_t *len);

/**
 * Skips one whole item, nested content included, in constant stack.
 * @return CVM_CBOR_OK, CVM_CBOR_ERR_END or CVM_CBOR_ERR_MALFORMED (reader then unspecified).
 */
int cvm_cbor_skip(cvm_cbor_reader *r);

/**
 * A writer into a caller-owned buffer. Overflow is sticky: once a write does not fit, nothing more
 * is written and cvm_cbor_writer_len() reports it.
 */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
    bool overflow;
} cvm_cbor_writer;

void cvm_cbor_writer_init(cvm_cbor_writer *w, uint8_t *buf, size_t cap);

/** Bytes written so far, or 0 after an overflow. */
size_t cvm_cbor_writer_len(const cvm_cbor_writer *w);

/** Each put returns CVM_CBOR_OK or CVM_CBOR_ERR_OVERFLOW (and then writes nothing). */
int cvm_cbor_put_uint(cvm_cbor_writer *w, uint64_t value);
int cvm_cbor_put_int(cvm_cbor_writer *w, int64_t value);
int cvm_cbor_put_array(cvm_cbor_writer *w, uint64_t count);
int cvm_cbor_put_map(cvm_cbor_writer *w, uint64_t pairs);
/** data may be NULL when len is 0. data must not overlap the writer's buffer. */
int cvm_cbor_put_bstr(cvm_cbor_writer *w, const uint8_t *data, size_t len);
int cvm_cbor_put_tstr(cvm_cbor_writer *w, const char *text, size_t len);

#endif /* CVM_CBOR_H */
