/*
 * Line framing (PROTOCOL.md §2, §2.1): assembles received bytes into lines and classifies each
 * complete line, in this order: overlong (more than CVM_MAX_LINE_BYTES before '\n', discarded
 * through the next '\n' and counted once), empty after removing one trailing '\r' (ignored), no
 * leading '~' (noise), base64 not canonical or decoded length outside 3..CVM_MAX_FRAME_BYTES (bad
 * frame), CRC-16/XMODEM mismatch (bad CRC), otherwise a frame whose CBOR message the caller gets.
 *
 * The assembler is a caller-owned struct; no allocation, no I/O, not reentrant per instance.
 */
#ifndef CVM_LINE_H
#define CVM_LINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm_protocol.h"

/** The link counters of §2.1 (stats keys 7, 8, 9, 10, 12). uint32, wrapping. */
typedef struct {
    uint32_t rx_frames;     /**< CRC-good frames. */
    uint32_t rx_bad_frame;  /**< Frame lines with bad base64 or a bad decoded length. */
    uint32_t rx_bad_crc;    /**< Frames whose CRC did not match. */
    uint32_t rx_overlong;   /**< Lines longer than CVM_MAX_LINE_BYTES (counted when detected). */
    uint32_t rx_noise;      /**< Non-empty lines without the frame marker. */
} cvm_line_counters;

/** What the byte(s) just fed completed. */
typedef enum {
    CVM_LINE_NONE = 0,   /**< No line completed yet. */
    CVM_LINE_FRAME,      /**< A CRC-good frame: read it with cvm_line_message(). */
    CVM_LINE_EMPTY,      /**< An empty line, ignored. */
    CVM_LINE_OVERLONG,   /**< The '\n' ending an overlong (discarded) line. */
    CVM_LINE_NOISE,
    CVM_LINE_BAD_FRAME,
    CVM_LINE_BAD_CRC,
} cvm_line_event;

typedef struct {
    uint8_t line[CVM_MAX_LINE_BYTES];    /**< The line so far, without its '\n'. */
    size_t len;
    bool discarding;                     /**< Inside an overlong line, waiting for its '\n'. */
    uint8_t frame[CVM_MAX_FRAME_BYTES];  /**< The last decoded frame: message ‖ CRC. */
    size_t message_len;
    cvm_line_counters counters;
} cvm_line;

/** Empties the assembler and zeroes its counters. */
void cvm_line_init(cvm_line *l);

/**
 * Feeds bytes up to and including the first '\n' in data[0..len) (or all of them when there is
 * none) and stores in *event what they completed (CVM_LINE_NONE when no line ended). Updates the
 * counters. @return the number of bytes consumed (>= 1 when len >= 1): the caller feeds the rest
 * again after handling *event.
 */
size_t cvm_line_feed(cvm_line *l, const uint8_t *data, size_t len, cvm_line_event *event);

/** Feeds one byte: cvm_line_feed() of a single byte. @return what it completed. */
cvm_line_event cvm_line_push(cvm_line *l, uint8_t byte);

/**
 * The CBOR message of the frame just reported by CVM_LINE_FRAME (CRC stripped); *len gets its
 * length (1..CVM_MAX_MESSAGE_BYTES). The bytes belong to the assembler and stay valid until the
 * next feed.
 */
const uint8_t *cvm_line_message(const cvm_line *l, size_t *len);

#endif /* CVM_LINE_H */
