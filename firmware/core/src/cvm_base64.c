#include "cvm_base64.h"

static const char cvm_base64_alphabet[64] = {
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P',
    'Q', 'R', 'S', 'T', 'U', 'V', 'W', 'X', 'Y', 'Z', 'a', 'b', 'c', 'd', 'e', 'f',
    'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v',
    'w', 'x', 'y', 'z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', '+', '/',
};

/* Symbol value of each byte; 0xFF for bytes outside the alphabet ('=' included). 256 bytes of
 * flash buy a branch-free lookup per character. */
#define X 0xFFu
static const uint8_t cvm_base64_value[256] = {
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  62, X,  X,  X,  63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X,  X,  X,  X,  X,  X,
    X,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X,  X,  X,  X,  X,
    X,  26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
    X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,  X,
};
#undef X

size_t cvm_base64_encode(const uint8_t *src, size_t len, char *dst)
{
    size_t o = 0;
    size_t i = 0;
    for (; len - i >= 3u; i += 3u) {
        uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1u] << 8) | src[i + 2u];
        dst[o++] = cvm_base64_alphabet[v >> 18];
        dst[o++] = cvm_base64_alphabet[(v >> 12) & 63u];
        dst[o++] = cvm_base64_alphabet[(v >> 6) & 63u];
        dst[o++] = cvm_base64_alphabet[v & 63u];
    }
    if (len - i == 1u) {
        uint32_t v = (uint32_t)src[i] << 16;
        dst[o++] = cvm_base64_alphabet[v >> 18];
        dst[o++] = cvm_base64_alphabet[(v >> 12) & 63u];
        dst[o++] = '=';
        dst[o++] = '=';
    } else if (len - i == 2u) {
        uint32_t v = ((uint32_t)src[i] << 16) | ((uint32_t)src[i + 1u] << 8);
        dst[o++] = cvm_base64_alphabet[v >> 18];
        dst[o++] = cvm_base64_alphabet[(v >> 12) & 63u];
        dst[o++] = cvm_base64_alphabet[(v >> 6) & 63u];
        dst[o++] = '=';
    }
    return o;
}

int cvm_base64_decode(const char *src, size_t len, uint8_t *dst, size_t cap)
{
    if (len % 4u != 0u) {
        return -1;
    }
    if (len == 0u) {
        return 0;
    }
    const uint8_t *s = (const uint8_t *)src;
    /* Padding: only in the last quad, "xx==" or "xxx=". */
    size_t pad = 0;
    if (s[len - 1u] == '=') {
        pad = s[len - 2u] == '=' ? 2u : 1u;
    }
    size_t out_len = len / 4u * 3u - pad;
    if (out_len > cap || out_len > 0x7FFFFFFFu) {
        return -1;
    }
    size_t full = (pad > 0u) ? len - 4u : len;
    size_t o = 0;
    size_t i = 0;
    for (; i < full; i += 4u) {
        uint32_t a = cvm_base64_value[s[i]];
        uint32_t b = cvm_base64_value[s[i + 1u]];
        uint32_t c = cvm_base64_value[s[i + 2u]];
        uint32_t d = cvm_base64_value[s[i + 3u]];
        if ((a | b | c | d) & 0x80u) {
            return -1;
        }
        uint32_t v = (a << 18) | (b << 12) | (c << 6) | d;
        dst[o++] = (uint8_t)(v >> 16);
        dst[o++] = (uint8_t)(v >> 8);
        dst[o++] = (uint8_t)v;
    }
    if (pad > 0u) {
        uint32_t a = cvm_base64_value[s[i]];
        uint32_t b = cvm_base64_value[s[i + 1u]];
        if ((a | b) & 0x80u) {
            return -1;
        }
        if (pad == 2u) {
            if ((b & 0x0Fu) != 0u) {
                return -1;
            }
            dst[o++] = (uint8_t)((a << 2) | (b >> 4));
        } else {
            uint32_t c = cvm_base64_value[s[i + 2u]];
            if ((c & 0x80u) || (c & 0x03u) != 0u) {
                return -1;
            }
            uint32_t v = (a << 18) | (b << 12) | (c << 6);
            dst[o++] = (uint8_t)(v >> 16);
            dst[o++] = (uint8_t)(v >> 8);
        }
    }
    return (int)o;
}
