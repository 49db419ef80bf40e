/*
 * A tiny assertion helper for the core's unit tests (no framework). Each failing check prints one
 * line "file:line: what"; cvm_test_end() prints the final "N passed, N failed" line the project's
 * CI parses and returns the exit status (non-zero when anything failed).
 */
#ifndef CVM_TEST_H
#define CVM_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned cvm_test_passed;
static unsigned cvm_test_failed;

static inline bool cvm_test_check(bool ok, const char *file, int line, const char *what)
{
    if (ok) {
        cvm_test_passed++;
    } else {
        cvm_test_failed++;
        printf("%s:%d: %s\n", file, line, what);
    }
    return ok;
}

static inline bool cvm_test_check_eq(long long got, long long want, const char *file, int line,
                                     const char *what)
{
    if (got == want) {
        cvm_test_passed++;
        return true;
    }
    cvm_test_failed++;
    printf("%s:%d: %s (got %lld, want %lld)\n", file, line, what, got, want);
    return false;
}

static inline void cvm_test_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        printf("%02x", p[i]);
    }
}

static inline bool cvm_test_check_mem(const void *got, size_t got_len, const void *want,
                                      size_t want_len, const char *file, int line,
                                      const char *what)
{
    if (got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0)) {
        cvm_test_passed++;
        return true;
    }
    cvm_test_failed++;
    printf("%s:%d: %s (got ", file, line, what);
    cvm_test_hex(got, got_len);
    printf(", want ");
    cvm_test_hex(want, want_len);
    printf(")\n");
    return false;
}

static inline bool cvm_test_check_str(const char *got, size_t got_len, const char *want,
                                      const char *file, int line, const char *what)
{
    size_t want_len = strlen(want);
    if (got_len == want_len && memcmp(got, want, want_len) == 0) {
        cvm_test_passed++;
        return true;
    }
    cvm_test_failed++;
    printf("%s:%d: %s (got \"%.*s\", want \"%s\")\n", file, line, what, (int)got_len, got, want);
    return false;
}

#define CHECK(cond) cvm_test_check((cond), __FILE__, __LINE__, #cond)
#define CHECK_EQ(got, want)                                                                         \
    cvm_test_check_eq((long long)(got), (long long)(want), __FILE__, __LINE__, #got " == " #want)
#define CHECK_MEM(got, got_len, want, want_len)                                                     \
    cvm_test_check_mem((got), (got_len), (want), (want_len), __FILE__, __LINE__, #got)
#define CHECK_STR(got, got_len, want)                                                               \
    cvm_test_check_str((got), (got_len), (want), __FILE__, __LINE__, #got)

/** Parses hex digits (spaces ignored) into out; returns the byte count. Test data only. */
static inline size_t cvm_test_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (; *hex != '\0'; hex++) {
        char c = *hex;
        int v;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            continue;
        }
        if (hi < 0) {
            hi = v;
        } else if (n < cap) {
            out[n++] = (uint8_t)(hi * 16 + v);
            hi = -1;
        }
    }
    return n;
}

static inline int cvm_test_end(void)
{
    printf("%u passed, %u failed\n", cvm_test_passed, cvm_test_failed);
    return cvm_test_failed == 0 ? 0 : 1;
}

#endif /* CVM_TEST_H */
