/*
 * Strict base64 (RFC 4648 §4): standard alphabet, '=' padding required, length a multiple of 4,
 * and the unused bits of the last symbol zero, so every byte string has exactly one accepted text
 * (PROTOCOL.md §2). No whitespace, no URL-safe alphabet. No allocation; caller owns the buffers.
 */
#ifndef CVM_BASE64_H
#define CVM_BASE64_H

#include <stddef.h>
#include <stdint.h>

/** Characters cvm_base64_encode() writes for n bytes: 4 * ceil(n / 3). */
#define CVM_BASE64_ENCODED_LEN(n) ((((n) + 2u) / 3u) * 4u)

/**
 * Encodes src[0..len) into dst, which must hold CVM_BASE64_ENCODED_LEN(len) bytes (no NUL is
 * written). src and dst must not overlap. @return the number of characters written.
 */
size_t cvm_base64_encode(const uint8_t *src, size_t len, char *dst);

/**
 * Decodes the canonical base64 text src[0..len) into dst[0..cap).
 * @return the decoded length (0 for empty text), or -1 when the text is not canonical base64
 *         (bad length, a character outside the alphabet, misplaced '=', non-zero unused bits) or
 *         when the decoded bytes would not fit cap (dst then holds garbage). Never writes past cap.
 */
int cvm_base64_decode(const char *src, size_t len, uint8_t *dst, size_t cap);

#endif /* CVM_BASE64_H */
