#include "cvm_crc16.h"

#ifndef CVM_CRC16_BITWISE
#define CVM_CRC16_BITWISE 0
#endif

#if CVM_CRC16_BITWISE

uint16_t cvm_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    uint32_t c = crc;
    for (size_t i = 0; i < len; i++) {
        c ^= (uint32_t)data[i] << 8;
        for (unsigned bit = 0; bit < 8u; bit++) {
            c = (c & 0x8000u) ? (c << 1) ^ 0x1021u : c << 1;
        }
    }
    return (uint16_t)c;
}

#else

/* cvm_crc16_nibble[n] = CRC of the 4-bit value n shifted through the register's top nibble. */
static const uint16_t cvm_crc16_nibble[16] = {
    0x0000u, 0x1021u, 0x2042u, 0x3063u, 0x4084u, 0x50A5u, 0x60C6u, 0x70E7u,
    0x8108u, 0x9129u, 0xA14Au, 0xB16Bu, 0xC18Cu, 0xD1ADu, 0xE1CEu, 0xF1EFu,
};

uint16_t cvm_crc16_update(uint16_t crc, const uint8_t *data, size_t len)
{
    uint32_t c = crc;
    for (size_t i = 0; i < len; i++) {
        c ^= (uint32_t)data[i] << 8;
        c = ((c << 4) & 0xFFFFu) ^ cvm_crc16_nibble[(c >> 12) & 0x0Fu];
        c = ((c << 4) & 0xFFFFu) ^ cvm_crc16_nibble[(c >> 12) & 0x0Fu];
    }
    return (uint16_t)c;
}

#endif

uint16_t cvm_crc16(const uint8_t *data, size_t len)
{
    return cvm_crc16_update(CVM_CRC16_INIT, data, len);
}
