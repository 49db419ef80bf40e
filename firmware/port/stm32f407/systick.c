/*
 * 1 kHz SysTick: the port's only time base (cvm_port_uptime_ms) and the green heartbeat.
 * On silicon it runs from the core clock (CLKSOURCE = processor clock) with a reload computed from
 * the HCLK the RCC reports, so it stays 1 ms whether the clock came up on the PLL or fell back to
 * the HSI. When the RCC is not credible (QEMU), it uses the architectural SYST_CALIB instead.
 * The tick also wakes the main loop's wfi once a millisecond, which is harmless (it finds the
 * ring empty and sleeps again).
 */
#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "cvm_port.h"
#include "stm32f407_regs.h"

#define SYSTICK_HZ 1000u
#define SYSTICK_MAX_RELOAD 0x00FFFFFFu /* the reload register is 24 bits */
#define HEARTBEAT_HALF_PERIOD_MS 500u /* 1 Hz blink: on 500 ms, off 500 ms */

static volatile uint32_t uptime_ms;

f407_systick_source f407_systick_init(uint32_t hclk_hz, bool hclk_known)
{
    uint32_t clksource = SYST_CSR_CLKSOURCE_CPU;
    uint32_t reload = hclk_hz / SYSTICK_HZ;
    f407_systick_source source = F407_SYSTICK_FROM_HCLK;

    /* ARMv7-M defines TENMS as the reload for 10 ms on the reference clock. When the RCC cannot
     * tell the core clock (QEMU: RCC reads 0 while its SysTick runs from a fixed 168 MHz core
     * clock, 21 MHz reference, TENMS = 209999), that definition is the only honest time base.
     * On silicon the RCC is credible and this branch is not taken (ST's TENMS is a 1 ms value
     * valid only at 168 MHz, so it is not used there). */
    const uint32_t calib = SYST_CALIB;
    const uint32_t tenms = calib & SYST_CALIB_TENMS_MASK;
    if (!hclk_known && (calib & SYST_CALIB_NOREF) == 0u && tenms != 0u) {
        clksource = 0u;
        reload = (tenms + 1u) / 10u;
        source = F407_SYSTICK_FROM_CALIB;
    }

    if (reload == 0u) {
        reload = 1u;
    } else if (reload > SYSTICK_MAX_RELOAD + 1u) {
        reload = SYSTICK_MAX_RELOAD + 1u;
    }
    SYST_CSR = 0u;
    SYST_RVR = reload - 1u;
    SYST_CVR = 0u;
    SCB_SHPR3 = (SCB_SHPR3 & 0x00FFFFFFu) | (0x00u << 24); /* highest priority: the tick is never late */
    SYST_CSR = clksource | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
    return source;
}

void SysTick_Handler(void)
{
    const uint32_t now = uptime_ms + 1u;
    uptime_ms = now;
    if (now % HEARTBEAT_HALF_PERIOD_MS == 0u) {
        f407_led_set(F407_LED_GREEN, ((now / HEARTBEAT_HALF_PERIOD_MS) & 1u) != 0u);
    }
}

uint32_t f407_systick_ms(void)
{
    return uptime_ms;
}

/* The port contract's clock (cvm_port.h). */
uint32_t cvm_port_uptime_ms(void)
{
    return f407_systick_ms();
}
