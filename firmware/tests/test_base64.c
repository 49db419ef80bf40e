/* Strict canonical base64 (RFC 4648 §4): test vectors, and every non-canonical form refused. */
#include "cvm_base64.h"
#include "cvm_test.h"

static void roundtrip(const char *plain, const char *b64)
{
    char enc[64];
    uint8_t dec[64];
    size_t n = strlen(plain);
    size_t k = cvm_base64_encode((const uint8_t *)plain, n, enc);
    CHECK_STR(enc, k, b64);
    CHECK_EQ(k, CVM_BASE64_ENCODED_LEN(n));
    int got = cvm_base64_decode(b64, strlen(b64), dec, sizeof dec);
    CHECK_EQ(got, (long long)n);
    if (got >= 0) {
        CHECK_MEM(dec, (size_t)got, plain, n);
    }
}

static int decode(const char *b64)
{
    uint8_t dec[64];
    return cvm_base64_decode(b64, strlen(b64), dec, sizeof dec);
}

int main(void)
{
    /* RFC 4648 §10. */
    roundtrip("", "");
    roundtrip("f", "Zg==");
    roundtrip("fo", "Zm8=");
    roundtrip("foo", "Zm9v");
    roundtrip("foob", "Zm9vYg==");
    roundtrip("fooba", "Zm9vYmE=");
    roundtrip("foobar", "Zm9vYmFy");

    /* Both ends of the alphabet. */
    {
        const uint8_t hi[3] = {0xFB, 0xFF, 0xBF};
        char enc[4];
        cvm_base64_encode(hi, 3, enc);
        CHECK_STR(enc, 4, "+/+/");
        uint8_t dec[3];
        CHECK_EQ(cvm_base64_decode("+/+/", 4, dec, 3), 3);
        CHECK_MEM(dec, 3, hi, 3);
    }

    /* Refused: length, padding, alphabet, unused bits. */
    CHECK_EQ(decode("Zg"), -1);        /* missing padding */
    CHECK_EQ(decode("Zg="), -1);       /* length not a multiple of 4 */
    CHECK_EQ(decode("Zm9vY"), -1);
    CHECK_EQ(decode("Zh=="), -1);      /* unused bits set (h = 33 = 100001) */
    CHECK_EQ(decode("Zm9="), -1);      /* unused bits set (9 = 61 = 111101) */
    CHECK_EQ(decode("Z==="), -1);
    CHECK_EQ(decode("===="), -1);
    CHECK_EQ(decode("Zg==Zg=="), -1);  /* padding before the end */
    CHECK_EQ(decode("Zm=v"), -1);
    CHECK_EQ(decode("Z=9v"), -1);
    CHECK_EQ(decode("Zm-v"), -1);      /* URL-safe alphabet */
    CHECK_EQ(decode("Zm_v"), -1);
    CHECK_EQ(decode("Zm9 "), -1);      /* whitespace */
    CHECK_EQ(decode("Zm9v\n"), -1);
    CHECK_EQ(decode(" Zm9"), -1);
    CHECK_EQ(decode("Zm9\x80"), -1);   /* non-ASCII */
    CHECK_EQ(decode("Zm\0v"), -1);

    /* Capacity: never written past. */
    {
        uint8_t dec[4] = {0xAA, 0xAA, 0xAA, 0xAA};
        CHECK_EQ(cvm_base64_decode("Zm9vYg==", 8, dec, 3), -1);
        CHECK_EQ(cvm_base64_decode("Zm9vYg==", 8, dec, 4), 4);
        CHECK_EQ(cvm_base64_decode("Zm9v", 4, dec, 2), -1);
    }

    /* Every 1- and 2-byte string round-trips, and each non-canonical sibling (unused bits
     * non-zero) of its encoding is refused. */
    {
        unsigned bad = 0;
        const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (unsigned v = 0; v < 65536u; v++) {
            uint8_t in[2] = {(uint8_t)(v >> 8), (uint8_t)v};
            size_t n = v < 256u ? 1u : 2u;
            const uint8_t *src = n == 1u ? &in[1] : in;
            char enc[4];
            uint8_t dec[2];
            cvm_base64_encode(src, n, enc);
            if (cvm_base64_decode(enc, 4, dec, 2) != (int)n || memcmp(dec, src, n) != 0) {
                bad++;
            }
            /* The last data character carries the unused bits: try every other value with the
             * same used bits. */
            size_t last = n == 1u ? 1u : 2u;
            unsigned mask = n == 1u ? 0x0Fu : 0x03u;
            unsigned sym = (unsigned)(strchr(alpha, enc[last]) - alpha);
            for (unsigned u = 1; u <= mask; u++) {
                char alt[4];
                memcpy(alt, enc, 4);
                alt[last] = alpha[(sym & ~mask) | u];
                if (cvm_base64_decode(alt, 4, dec, 2) != -1) {
                    bad++;
                }
            }
        }
        CHECK_EQ(bad, 0);
    }

    /* A 384-byte frame encodes to 512 characters and back. */
    {
        uint8_t frame[384];
        char enc[512];
        uint8_t dec[384];
        for (size_t i = 0; i < sizeof frame; i++) {
            frame[i] = (uint8_t)(i * 7u + 3u);
        }
        CHECK_EQ(cvm_base64_encode(frame, sizeof frame, enc), 512);
        CHECK_EQ(cvm_base64_decode(enc, 512, dec, sizeof dec), 384);
        CHECK_MEM(dec, sizeof dec, frame, sizeof frame);
    }
    return cvm_test_end();
}
