/*
 * The boot nonce (PROTOCOL.md §5): a uint32 that differs between consecutive boots with high
 * probability, so a host that sees a new one knows every context it held is gone. It is not a
 * secret and not a cryptographic random number; it only has to change. Inputs, all mixed into
 * one hash:
 *
 *  1. A boot record in .noinit (not zeroed by the startup code, so it survives every reset that
 *     keeps power: pin, software, watchdog, fault). It holds a boot counter and the previous nonce,
 *     guarded by a magic and a check word. On a warm boot the counter has moved on by one and the
 *     previous nonce is an input, so two consecutive warm-boot nonces collide with probability
 *     about 2^-32, and an exact repeat of the previous one is ruled out explicitly.
 *  2. Uninitialised SRAM: the gap between .noinit and the stack, which nothing ever writes. After
 *     power-on each SRAM cell settles to 0 or 1 partly by manufacturing skew and partly by thermal
 *     noise, so a cold boot (where the boot record is garbage) still hashes thousands of noisy
 *     bits. Up to NONCE_SRAM_BYTES are hashed.
 *  3. The unique id when readable: two boards with the same history still differ.
 *  4. The raw RCC_CSR reset flags as captured at boot (before they are cleared).
 *  5. Timing: loop iterations counted across one SysTick tick. On silicon this is nearly constant
 *     (one clock drives both), but under QEMU, where SRAM starts zeroed and the id is unreadable,
 *     the loop runs at host speed while SysTick follows host wall time, so the count varies from
 *     launch to launch; that is QEMU's only source and it is good enough for "did it restart".
 * Uptime jitter is useless at boot (every boot reaches this point after the same code) and is not
 * used beyond (5).
 */
#include <stdint.h>

#include "board.h"
#include "cvm_port.h"
#include "stm32f407_regs.h"

#define BOOT_RECORD_MAGIC 0x43564D42u /* "CVMB" */
#define NONCE_SRAM_BYTES 16384u       /* ~20 us to hash at 168 MHz */
#define TICK_EDGE_SPINS 2000000u      /* bound on each wait for a SysTick edge (a few ms) */

/* Linker-script symbols: the untouched SRAM gap. */
extern uint32_t _sgap[], _egap[];

typedef struct {
    uint32_t magic;
    uint32_t boots;      /* boots since the record was last found invalid (cold boot = 0) */
    uint32_t last_nonce; /* the nonce of the previous boot */
    uint32_t check;      /* magic ^ boots ^ last_nonce ^ CHECK_SALT: catches a garbage record */
} f407_boot_record;
#define CHECK_SALT 0x9E3779B9u

__attribute__((section(".noinit"))) static f407_boot_record boot_record;

static uint32_t nonce;

/* One round of a multiply-xorshift hash (the MurmurHash3 32-bit mixing steps). */
static uint32_t f407_mix(uint32_t h, uint32_t k)
{
    k *= 0xCC9E2D51u;
    k = (k << 15) | (k >> 17);
    k *= 0x1B873593u;
    h ^= k;
    h = (h << 13) | (h >> 19);
    return h * 5u + 0xE6546B64u;
}

static uint32_t f407_finalise(uint32_t h)
{
    h ^= h >> 16;
    h *= 0x85EBCA6Bu;
    h ^= h >> 13;
    h *= 0xC2B2AE35u;
    h ^= h >> 16;
    return h;
}

/* Iterations of an empty loop between two SysTick edges (bounded). */
static uint32_t f407_tick_loop_count(void)
{
    uint32_t spins = 0u;
    const uint32_t start = f407_systick_ms();
    while (f407_systick_ms() == start && spins < TICK_EDGE_SPINS) {
        ++spins;
    }
    const uint32_t edge = f407_systick_ms();
    uint32_t count = 0u;
    while (f407_systick_ms() == edge && count < TICK_EDGE_SPINS) {
        ++count;
    }
    return count ^ (SYST_CVR << 8);
}

void f407_nonce_init(uint32_t reset_flags)
{
    const f407_boot_record prev = boot_record;
    const uint32_t warm = prev.magic == BOOT_RECORD_MAGIC &&
                          prev.check == (prev.magic ^ prev.boots ^ prev.last_nonce ^ CHECK_SALT);
    const uint32_t boots = warm ? prev.boots + 1u : 0u;

    uint32_t h = f407_mix(0x4356u, boots);
    h = f407_mix(h, warm ? prev.last_nonce : 0u);

    const uint32_t *word = _sgap;
    const uint32_t *end = _egap;
    if ((uintptr_t)end - (uintptr_t)word > NONCE_SRAM_BYTES) {
        end = word + NONCE_SRAM_BYTES / 4u;
    }
    for (; word < end; ++word) {
        h = f407_mix(h, *word);
    }

    uint8_t uid[12];
    if (cvm_port_unique_id(uid) == sizeof uid) {
        for (uint32_t i = 0u; i < sizeof uid; i += 4u) {
            h = f407_mix(h, (uint32_t)uid[i] | ((uint32_t)uid[i + 1u] << 8) | ((uint32_t)uid[i + 2u] << 16) |
                                ((uint32_t)uid[i + 3u] << 24));
        }
    }

    h = f407_mix(h, reset_flags);
    h = f407_mix(h, f407_tick_loop_count());
    h = f407_finalise(h);
    if (warm && h == prev.last_nonce) {
        h ^= 1u; /* guarantee a change on a warm boot */
    }
    nonce = h;

    boot_record.magic = BOOT_RECORD_MAGIC;
    boot_record.boots = boots;
    boot_record.last_nonce = h;
    boot_record.check = BOOT_RECORD_MAGIC ^ boots ^ h ^ CHECK_SALT;
}

uint32_t cvm_port_boot_nonce(void)
{
    return nonce;
}
