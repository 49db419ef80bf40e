/*
 * The 96-bit unique device id (RM0090 §39.1, 0x1FFF7A10). Silicon always has it; QEMU's STM32F405
 * raises a BusFault on that address. One ELF serves both: the id is read through
 * f407_probe_read32(), whose one load is allowed to fault (fault.c resumes it as "unreadable").
 * The result is captured once at boot, so the fault path runs at most three times per boot.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "cvm_port.h"
#include "stm32f407_regs.h"

#define UID_BYTES 12u

static uint8_t uid[UID_BYTES];
static bool uid_valid;

bool f407_unique_id_capture(void)
{
    uint8_t bytes[UID_BYTES];
    for (uint32_t word = 0u; word < UID_BYTES / 4u; ++word) {
        uint32_t value;
        if (!f407_probe_read32(F407_UID_ADDR + 4u * word, &value)) {
            uid_valid = false;
            return false;
        }
        /* Little-endian, as the words sit in memory: byte 0 is the lowest address. */
        for (uint32_t b = 0u; b < 4u; ++b) {
            bytes[4u * word + b] = (uint8_t)(value >> (8u * b));
        }
    }
    for (uint32_t i = 0u; i < UID_BYTES; ++i) {
        uid[i] = bytes[i];
    }
    uid_valid = true;
    return true;
}

size_t cvm_port_unique_id(uint8_t out[12])
{
    if (!uid_valid) {
        return 0u;
    }
    for (uint32_t i = 0u; i < UID_BYTES; ++i) {
        out[i] = uid[i];
    }
    return UID_BYTES;
}
