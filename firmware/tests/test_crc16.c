/* CRC-16/XMODEM: the catalogue check value and agreement with a bit-by-bit reference. */
#include "cvm_crc16.h"
#include "cvm_test.h"

/* Reference: the textbook shift register, one bit at a time. */
static uint16_t reference_crc(const uint8_t *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        for (int bit = 7; bit >= 0; bit--) {
            unsigned in = (p[i] >> bit) & 1u;
            unsigned top = (crc >> 15) & 1u;
            crc = (uint16_t)(crc << 1);
            if (in ^ top) {
                crc ^= 0x1021u;
            }
        }
    }
    return crc;
}

int main(void)
{
    const uint8_t check[] = "123456789";
    CHECK_EQ(cvm_crc16(check, 9), 0x31C3);
    CHECK_EQ(cvm_crc16(NULL, 0), 0x0000);
    CHECK_EQ(cvm_crc16((const uint8_t *)"A", 1), 0x58E5);

    /* Chaining over pieces equals one pass. */
    uint16_t c = cvm_crc16_update(CVM_CRC16_INIT, check, 4);
    c = cvm_crc16_update(c, check + 4, 5);
    CHECK_EQ(c, 0x31C3);

    /* Agreement with the reference over pseudo-random buffers of every length up to 400. */
    uint8_t buf[400];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof buf; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    unsigned mismatches = 0;
    for (size_t n = 0; n <= sizeof buf; n++) {
        if (cvm_crc16(buf, n) != reference_crc(buf, n)) {
            mismatches++;
        }
    }
    CHECK_EQ(mismatches, 0);

    /* Every single byte value. */
    mismatches = 0;
    for (unsigned b = 0; b < 256u; b++) {
        uint8_t one = (uint8_t)b;
        if (cvm_crc16(&one, 1) != reference_crc(&one, 1)) {
            mismatches++;
        }
    }
    CHECK_EQ(mismatches, 0);
    return cvm_test_end();
}
