/*
 * Clock tree: 8 MHz HSE crystal (X2 on the Discovery board) -> PLL (M=8, N=336, P=2, Q=7)
 * -> SYSCLK 168 MHz, AHB 168 MHz, APB1 42 MHz (USART2), APB2 84 MHz, 48 MHz USB/SDIO domain.
 *
 * Every wait on the hardware is a bounded loop: a missing crystal, a PLL that never locks, or an
 * RCC that is not emulated at all (QEMU reads every RCC register as 0 and ignores writes) must
 * leave a running firmware on the 16 MHz HSI, never a hang. Loop counts are only timeouts, never
 * timing: QEMU runs loops 10-20x faster than silicon, which just makes it fall back sooner.
 *
 * The frequency the rest of the port uses is decoded from what the RCC reports as selected
 * (CFGR.SWS, HPRE, PPRE1, PLLCFGR), never from what was asked for.
 */
#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "stm32f407_regs.h"

#define HSI_HZ 16000000u
#define HSE_HZ 8000000u /* the Discovery board's crystal */

#define PLL_M 8u   /* 8 MHz / 8 = 1 MHz VCO input (RM0090 recommends 2 MHz for jitter; 1 MHz is in range) */
#define PLL_N 336u /* 1 MHz * 336 = 336 MHz VCO */
#define PLL_P 2u   /* 336 / 2 = 168 MHz SYSCLK */
#define PLL_Q 7u   /* 336 / 7 = 48 MHz for USB OTG FS, SDIO, RNG */
#define FLASH_WAIT_STATES 5u /* 168 MHz at 2.7-3.6 V (RM0090 table 10) */

/* Bounds on the waits, in loop iterations of a volatile register read (>= 4 cycles each, on the
 * 16 MHz HSI that runs all of them): HSE up to ~25 ms (crystals start in ~2 ms, ST's own limit
 * is 100 ms at their 5-cycle loop), PLL lock ~6 ms (typ. 100 us), clock switch ~6 ms. */
#define HSE_READY_SPINS 100000u
#define PLL_READY_SPINS 25000u
#define SWITCH_SPINS 25000u

/* Waits until (reg & mask) == want; true if it happened within spins reads. */
static bool f407_wait_bits(volatile uint32_t *reg, uint32_t mask, uint32_t want, uint32_t spins)
{
    for (uint32_t i = 0u; i < spins; ++i) {
        if ((*reg & mask) == want) {
            return true;
        }
    }
    return false;
}

static uint32_t f407_sws(void)
{
    return (RCC_CFGR >> RCC_CFGR_SWS_POS) & RCC_CFGR_SW_MASK;
}

/* Back to the HSI from wherever the attempt stopped; every step tolerates an RCC that ignores it. */
static void f407_clock_back_to_hsi(void)
{
    RCC_CR |= RCC_CR_HSION;
    (void)f407_wait_bits(&RCC_CR, RCC_CR_HSIRDY, RCC_CR_HSIRDY, SWITCH_SPINS);
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_HSI;
    (void)f407_wait_bits(&RCC_CFGR, RCC_CFGR_SW_MASK << RCC_CFGR_SWS_POS, RCC_CFGR_SW_HSI << RCC_CFGR_SWS_POS,
                         SWITCH_SPINS);
    if (f407_sws() == RCC_CFGR_SW_HSI) {
        /* Only once nothing runs from them may the PLL and the HSE be stopped. */
        RCC_CR &= ~RCC_CR_PLLON;
        RCC_CR &= ~(RCC_CR_HSEON | RCC_CR_HSEBYP);
    }
}

f407_clock_outcome f407_clock_init(void)
{
    /* 1. Crystal oscillator. */
    RCC_CR = (RCC_CR & ~RCC_CR_HSEBYP) | RCC_CR_HSEON;
    if (!f407_wait_bits(&RCC_CR, RCC_CR_HSERDY, RCC_CR_HSERDY, HSE_READY_SPINS)) {
        f407_clock_back_to_hsi();
        return F407_CLOCK_HSE_TIMEOUT;
    }

    /* 2. PLL, configured only while it is off. */
    RCC_CR &= ~RCC_CR_PLLON;
    (void)f407_wait_bits(&RCC_CR, RCC_CR_PLLRDY, 0u, PLL_READY_SPINS);
    RCC_PLLCFGR = (PLL_M << RCC_PLLCFGR_M_POS) | (PLL_N << RCC_PLLCFGR_N_POS) |
                  (((PLL_P / 2u) - 1u) << RCC_PLLCFGR_P_POS) | RCC_PLLCFGR_SRC_HSE | (PLL_Q << RCC_PLLCFGR_Q_POS);
    RCC_CR |= RCC_CR_PLLON;
    if (!f407_wait_bits(&RCC_CR, RCC_CR_PLLRDY, RCC_CR_PLLRDY, PLL_READY_SPINS)) {
        f407_clock_back_to_hsi();
        return F407_CLOCK_PLL_TIMEOUT;
    }

    /* 3. Bus prescalers before the switch, so no bus ever runs above its limit
     *    (APB1 <= 42 MHz, APB2 <= 84 MHz). */
    RCC_CFGR = (RCC_CFGR & ~((RCC_CFGR_HPRE_MASK << RCC_CFGR_HPRE_POS) | (RCC_CFGR_PPRE_MASK << RCC_CFGR_PPRE1_POS) |
                             (RCC_CFGR_PPRE_MASK << RCC_CFGR_PPRE2_POS))) |
               (RCC_CFGR_PPRE_DIV4 << RCC_CFGR_PPRE1_POS) | (RCC_CFGR_PPRE_DIV2 << RCC_CFGR_PPRE2_POS);

    /* 4. Flash wait states before the core speeds up; reset the caches while they are off. */
    FLASH_ACR = FLASH_ACR_ICRST | FLASH_ACR_DCRST;
    FLASH_ACR = FLASH_WAIT_STATES | FLASH_ACR_PRFTEN | FLASH_ACR_ICEN | FLASH_ACR_DCEN;
    if ((FLASH_ACR & FLASH_ACR_LATENCY_MASK) != FLASH_WAIT_STATES) {
        f407_clock_back_to_hsi();
        return F407_CLOCK_FLASH_REFUSED;
    }

    /* 5. Switch and confirm. */
    RCC_CFGR = (RCC_CFGR & ~RCC_CFGR_SW_MASK) | RCC_CFGR_SW_PLL;
    if (!f407_wait_bits(&RCC_CFGR, RCC_CFGR_SW_MASK << RCC_CFGR_SWS_POS, RCC_CFGR_SW_PLL << RCC_CFGR_SWS_POS,
                        SWITCH_SPINS)) {
        f407_clock_back_to_hsi();
        return F407_CLOCK_SWITCH_TIMEOUT;
    }
    return F407_CLOCK_PLL_168MHZ;
}

/* SYSCLK from SWS; an SWS of 3 ("not applicable") or a PLL setting out of its legal ranges
 * decodes as the HSI, the clock every reset starts from. */
static uint32_t f407_clock_sysclk_hz(void)
{
    switch (f407_sws()) {
    case RCC_CFGR_SW_HSE:
        return HSE_HZ;
    case RCC_CFGR_SW_PLL: {
        const uint32_t cfg = RCC_PLLCFGR;
        const uint32_t m = (cfg >> RCC_PLLCFGR_M_POS) & RCC_PLLCFGR_M_MASK;
        const uint32_t n = (cfg >> RCC_PLLCFGR_N_POS) & RCC_PLLCFGR_N_MASK;
        const uint32_t p = 2u * (((cfg >> RCC_PLLCFGR_P_POS) & RCC_PLLCFGR_P_MASK) + 1u);
        const uint32_t source = (cfg & RCC_PLLCFGR_SRC_HSE) != 0u ? HSE_HZ : HSI_HZ;
        if (m < 2u || n < 50u || n > 432u) {
            return HSI_HZ;
        }
        /* m >= 2 and n <= 432 keep (16 MHz / m) * n below 2^32: no 64-bit division needed. */
        return (source / m) * n / p;
    }
    default:
        return HSI_HZ;
    }
}

uint32_t f407_clock_hclk_hz(void)
{
    const uint32_t hpre = (RCC_CFGR >> RCC_CFGR_HPRE_POS) & RCC_CFGR_HPRE_MASK;
    /* HPRE 1000..1111 -> /2, /4, /8, /16, /64, /128, /256, /512 (there is no /32). */
    static const uint8_t shift[8] = {1u, 2u, 3u, 4u, 6u, 7u, 8u, 9u};
    const uint32_t sysclk = f407_clock_sysclk_hz();
    return (hpre & 0x8u) != 0u ? sysclk >> shift[hpre & 0x7u] : sysclk;
}

uint32_t f407_clock_pclk1_hz(void)
{
    const uint32_t ppre1 = (RCC_CFGR >> RCC_CFGR_PPRE1_POS) & RCC_CFGR_PPRE_MASK;
    /* PPRE 100..111 -> /2, /4, /8, /16. */
    const uint32_t hclk = f407_clock_hclk_hz();
    return (ppre1 & 0x4u) != 0u ? hclk >> ((ppre1 & 0x3u) + 1u) : hclk;
}

bool f407_clock_rcc_credible(void)
{
    static const uint32_t ready[4] = {RCC_CR_HSIRDY, RCC_CR_HSERDY, RCC_CR_PLLRDY, 0u};
    const uint32_t want = ready[f407_sws()];
    return want != 0u && (RCC_CR & want) != 0u;
}

bool f407_clock_is_fallback(void)
{
    return f407_sws() != RCC_CFGR_SW_PLL;
}

const char *f407_clock_outcome_name(f407_clock_outcome outcome)
{
    switch (outcome) {
    case F407_CLOCK_PLL_168MHZ:
        return "pll";
    case F407_CLOCK_HSE_TIMEOUT:
        return "hsi (hse not ready)";
    case F407_CLOCK_PLL_TIMEOUT:
        return "hsi (pll not locked)";
    case F407_CLOCK_FLASH_REFUSED:
        return "hsi (flash wait states not set)";
    case F407_CLOCK_SWITCH_TIMEOUT:
        return "hsi (switch to pll not confirmed)";
    default:
        return "unknown";
    }
}
