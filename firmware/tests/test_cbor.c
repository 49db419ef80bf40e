/* The CBOR codec: well-formedness per PROTOCOL.md §3.1 step 1, the reader, the writer. */
#include "cvm_cbor.h"
#include "cvm_protocol.h"
#include "cvm_test.h"

static int check_hex(const char *hex, unsigned depth)
{
    uint8_t buf[512];
    size_t n = cvm_test_unhex(hex, buf, sizeof buf);
    return cvm_cbor_check(buf, n, depth);
}

#define WELL_FORMED(hex) CHECK_EQ(check_hex(hex, CVM_MAX_CBOR_DEPTH), CVM_CBOR_OK)
#define MALFORMED(hex) CHECK(check_hex(hex, CVM_MAX_CBOR_DEPTH) != CVM_CBOR_OK)

static void test_check(void)
{
    /* Well-formed items of every major type. */
    WELL_FORMED("00");
    WELL_FORMED("17");
    WELL_FORMED("1818");
    WELL_FORMED("1b ffffffffffffffff");
    WELL_FORMED("3b ffffffffffffffff");
    WELL_FORMED("1800");            /* non-shortest forms are well-formed */
    WELL_FORMED("40");
    WELL_FORMED("43 010203");
    WELL_FORMED("60");
    WELL_FORMED("62 6869");
    WELL_FORMED("62 ffff");         /* UTF-8 validity is not well-formedness */
    WELL_FORMED("80");
    WELL_FORMED("83 01 02 03");
    WELL_FORMED("a0");
    WELL_FORMED("a2 01 02 03 04");
    WELL_FORMED("c1 00");
    WELL_FORMED("f4");
    WELL_FORMED("f5");
    WELL_FORMED("f6");
    WELL_FORMED("f7");
    WELL_FORMED("e0");              /* simple value 0 */
    WELL_FORMED("f8 20");           /* two-byte simple value 32 */
    WELL_FORMED("f8 ff");
    WELL_FORMED("f9 3c00");         /* half float 1.0 */
    WELL_FORMED("fa 3f800000");
    WELL_FORMED("fb 3ff0000000000000");

    /* Depth: the top-level item is at depth 1. */
    WELL_FORMED("81 81 81 80");     /* an empty array at depth 4 */
    WELL_FORMED("81 81 81 00");
    WELL_FORMED("81 81 81 a0");
    WELL_FORMED("81 81 c1 00");     /* tag at depth 3, its content at 4 */
    CHECK_EQ(check_hex("81 81 81 81 00", 4), CVM_CBOR_ERR_DEPTH);
    CHECK_EQ(check_hex("81 81 81 81 80", 4), CVM_CBOR_ERR_DEPTH);
    CHECK_EQ(check_hex("81 81 81 c1 00", 4), CVM_CBOR_ERR_DEPTH); /* a tag counts as a level */
    CHECK_EQ(check_hex("c1 c1 c1 c1 00", 4), CVM_CBOR_ERR_DEPTH);
    CHECK_EQ(check_hex("c1 c1 c1 00", 4), CVM_CBOR_OK);
    CHECK_EQ(check_hex("81 81 a1 01 81 00", 4), CVM_CBOR_ERR_DEPTH); /* map value nested */
    CHECK_EQ(check_hex("81 81 a1 01 02", 4), CVM_CBOR_OK);
    CHECK_EQ(check_hex("82 81 81 81 00 00", 4), CVM_CBOR_ERR_DEPTH);
    CHECK_EQ(check_hex("00", 0), CVM_CBOR_ERR_DEPTH);
    CHECK_EQ(check_hex("00", CVM_CBOR_CHECK_DEPTH_MAX + 1u), CVM_CBOR_ERR_DEPTH);
    CHECK_EQ(check_hex("81 81 81 81 81 81 81 81 81 81 81 81 81 81 81 00", 16), CVM_CBOR_OK);

    /* Not exactly one item. */
    MALFORMED("");
    MALFORMED("00 00");
    MALFORMED("83 01 02 03 04");
    /* Reserved additional information. */
    MALFORMED("1c");
    MALFORMED("1d");
    MALFORMED("1e");
    MALFORMED("3c");
    MALFORMED("5c");
    MALFORMED("7d");
    MALFORMED("9e");
    MALFORMED("bc");
    MALFORMED("dc 00");
    MALFORMED("fc");
    MALFORMED("fd");
    MALFORMED("fe");
    /* Indefinite lengths and breaks. */
    MALFORMED("1f");
    MALFORMED("3f");
    MALFORMED("5f 41 00 ff");
    MALFORMED("7f 61 61 ff");
    MALFORMED("9f ff");
    MALFORMED("9f 01 ff");
    MALFORMED("bf ff");
    MALFORMED("df 00");
    MALFORMED("ff");                /* stray break */
    MALFORMED("82 01 ff");
    /* Two-byte simple values below 32. */
    MALFORMED("f8 00");
    MALFORMED("f8 14");
    MALFORMED("f8 1f");
    /* Past the end. */
    MALFORMED("18");
    MALFORMED("19 00");
    MALFORMED("1a 000000");
    MALFORMED("1b 00000000000000");
    MALFORMED("41");
    MALFORMED("42 00");
    MALFORMED("62 61");
    MALFORMED("5a ffffffff 00");
    MALFORMED("5b ffffffffffffffff 00");
    MALFORMED("81");
    MALFORMED("82 00");
    MALFORMED("9b ffffffffffffffff 00");
    MALFORMED("9a ffffffff 00");
    MALFORMED("a1 00");
    MALFORMED("bb 8000000000000000 00 00");
    MALFORMED("c1");
    MALFORMED("f9 00");
    MALFORMED("fa 000000");
    MALFORMED("fb 00000000000000");
    MALFORMED("f8");
}

static void test_reader(void)
{
    uint8_t buf[64];
    cvm_cbor_reader r;
    bool neg;
    uint64_t arg;
    int32_t v;

    /* Integers in every head size, shortest or not. */
    size_t n = cvm_test_unhex("00 17 1818 190100 1a00010000 1b0000000100000000 1805 1a00000005"
                              "20 37 38ff 3b ffffffffffffffff",
                              buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    const uint64_t want[] = {0, 23, 24, 256, 65536, 0x100000000ull, 5, 5};
    for (size_t i = 0; i < 8u; i++) {
        CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_OK);
        CHECK(!neg);
        CHECK(arg == want[i]);
    }
    CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_OK);
    CHECK(neg && arg == 0u); /* -1 */
    CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_OK);
    CHECK(neg && arg == 23u); /* -24 */
    CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_OK);
    CHECK(neg && arg == 255u); /* -256 */
    CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_OK);
    CHECK(neg && arg == UINT64_MAX); /* -2^64 */
    CHECK(cvm_cbor_at_end(&r));
    CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_ERR_END);

    /* int32 bounds, and refusals leave the reader where it was. */
    n = cvm_test_unhex("1a7fffffff 3a7fffffff 1a80000000 3a80000000 f93c00 6130 1b0000000000000001",
                       buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    CHECK_EQ(cvm_cbor_read_int32(&r, &v), CVM_CBOR_OK);
    CHECK_EQ(v, INT32_MAX);
    CHECK_EQ(cvm_cbor_read_int32(&r, &v), CVM_CBOR_OK);
    CHECK_EQ(v, INT32_MIN);
    const uint8_t *before = r.cur;
    CHECK_EQ(cvm_cbor_read_int32(&r, &v), CVM_CBOR_ERR_TYPE); /* 2^31 */
    CHECK(r.cur == before);
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_OK);
    CHECK_EQ(cvm_cbor_read_int32(&r, &v), CVM_CBOR_ERR_TYPE); /* -2^31 - 1 */
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_OK);
    CHECK_EQ(cvm_cbor_read_int32(&r, &v), CVM_CBOR_ERR_TYPE); /* float 1.0 is no integer */
    CHECK_EQ(cvm_cbor_read_uint(&r, &arg), CVM_CBOR_ERR_TYPE);
    CHECK_EQ(cvm_cbor_peek_major(&r), CVM_CBOR_SIMPLE);
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_OK);
    CHECK_EQ(cvm_cbor_read_int(&r, &neg, &arg), CVM_CBOR_ERR_TYPE); /* text "0" */
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_OK);
    CHECK_EQ(cvm_cbor_read_int32(&r, &v), CVM_CBOR_OK); /* 1 in 9 bytes */
    CHECK_EQ(v, 1);

    /* Negative values are not uint. */
    n = cvm_test_unhex("20", buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    CHECK_EQ(cvm_cbor_read_uint(&r, &arg), CVM_CBOR_ERR_TYPE);

    /* Arrays, byte strings, skipping nested items. */
    n = cvm_test_unhex("83 43 010203 82 a1 01 c1 81 00 40 05", buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    CHECK_EQ(cvm_cbor_read_bstr(&r, &before, &(size_t){0}), CVM_CBOR_ERR_TYPE);
    uint64_t count;
    CHECK_EQ(cvm_cbor_enter_array(&r, &count), CVM_CBOR_OK);
    CHECK(count == 3u);
    const uint8_t *data;
    size_t len;
    CHECK_EQ(cvm_cbor_read_bstr(&r, &data, &len), CVM_CBOR_OK);
    CHECK_EQ(len, 3);
    CHECK_EQ(data[2], 3);
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_OK); /* [{1: 1([0])}, h''] */
    CHECK_EQ(cvm_cbor_read_uint(&r, &arg), CVM_CBOR_OK);
    CHECK(arg == 5u);
    CHECK(cvm_cbor_at_end(&r));

    /* The reader stays in bounds on unchecked input. */
    n = cvm_test_unhex("5a 0000ffff 00", buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    CHECK_EQ(cvm_cbor_read_bstr(&r, &data, &len), CVM_CBOR_ERR_END);
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_ERR_END);
    n = cvm_test_unhex("9b ffffffffffffffff", buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    CHECK_EQ(cvm_cbor_skip(&r), CVM_CBOR_ERR_END);
    n = cvm_test_unhex("1c", buf, sizeof buf);
    cvm_cbor_reader_init(&r, buf, n);
    CHECK_EQ(cvm_cbor_read_uint(&r, &arg), CVM_CBOR_ERR_MALFORMED);
    cvm_cbor_reader_init(&r, buf, 0);
    CHECK_EQ(cvm_cbor_peek_major(&r), CVM_CBOR_ERR_END);
}

static void test_writer(void)
{
    uint8_t buf[64];
    uint8_t want[64];
    cvm_cbor_writer w;

    cvm_cbor_writer_init(&w, buf, sizeof buf);
    cvm_cbor_put_uint(&w, 0);
    cvm_cbor_put_uint(&w, 23);
    cvm_cbor_put_uint(&w, 24);
    cvm_cbor_put_uint(&w, 255);
    cvm_cbor_put_uint(&w, 256);
    cvm_cbor_put_uint(&w, 65535);
    cvm_cbor_put_uint(&w, 65536);
    cvm_cbor_put_uint(&w, 0xFFFFFFFFu);
    cvm_cbor_put_uint(&w, 0x100000000ull);
    size_t n = cvm_test_unhex("00 17 1818 18ff 190100 19ffff 1a00010000 1affffffff 1b0000000100000000",
                              want, sizeof want);
    CHECK_MEM(buf, cvm_cbor_writer_len(&w), want, n);

    cvm_cbor_writer_init(&w, buf, sizeof buf);
    cvm_cbor_put_int(&w, -1);
    cvm_cbor_put_int(&w, -24);
    cvm_cbor_put_int(&w, -25);
    cvm_cbor_put_int(&w, INT32_MIN);
    cvm_cbor_put_int(&w, INT32_MAX);
    cvm_cbor_put_int(&w, INT64_MIN);
    n = cvm_test_unhex("20 37 3818 3a7fffffff 1a7fffffff 3b7fffffffffffffff", want, sizeof want);
    CHECK_MEM(buf, cvm_cbor_writer_len(&w), want, n);

    cvm_cbor_writer_init(&w, buf, sizeof buf);
    cvm_cbor_put_array(&w, 3);
    cvm_cbor_put_map(&w, 24);
    cvm_cbor_put_bstr(&w, (const uint8_t *)"\x01\x02", 2);
    cvm_cbor_put_bstr(&w, NULL, 0);
    cvm_cbor_put_tstr(&w, "power_on", 8);
    n = cvm_test_unhex("83 b818 420102 40 68 706f7765725f6f6e", want, sizeof want);
    CHECK_MEM(buf, cvm_cbor_writer_len(&w), want, n);
    CHECK_EQ(cvm_cbor_check(buf, 2u, 4), CVM_CBOR_ERR_MALFORMED);

    /* Overflow is sticky and writes nothing past cap. */
    uint8_t small[4] = {0, 0, 0, 0xAA};
    cvm_cbor_writer_init(&w, small, 3);
    CHECK_EQ(cvm_cbor_put_uint(&w, 1), CVM_CBOR_OK);
    CHECK_EQ(cvm_cbor_put_uint(&w, 0x10000u), CVM_CBOR_ERR_OVERFLOW);
    CHECK_EQ(cvm_cbor_put_uint(&w, 1), CVM_CBOR_ERR_OVERFLOW);
    CHECK_EQ(cvm_cbor_writer_len(&w), 0);
    CHECK_EQ(small[3], 0xAA);
    cvm_cbor_writer_init(&w, small, 3);
    CHECK_EQ(cvm_cbor_put_bstr(&w, (const uint8_t *)"abc", 3), CVM_CBOR_ERR_OVERFLOW);
    CHECK_EQ(small[3], 0xAA);
    CHECK_EQ(cvm_cbor_writer_len(&w), 0);
}

int main(void)
{
    test_check();
    test_reader();
    test_writer();
    return cvm_test_end();
}
