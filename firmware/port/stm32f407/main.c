/*
 * Boot sequence and main loop of the STM32F407 Discovery port.
 *
 * Boot: clock (bounded, falls back to HSI) -> LEDs -> SysTick -> fault exceptions armed ->
 * reset cause -> unique id (fault-tolerant probe) -> USART2 -> boot nonce -> the core.
 * Loop: hand every received byte to cvm_device_feed() in the order it arrived, and sleep in wfi
 * whenever the receive ring is empty; the USART2 receive interrupt and the 1 kHz SysTick are
 * the only wake-ups. Everything the core writes goes out from this loop, so output is serialised.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "cvm_device.h"
#include "cvm_port.h"
#include "stm32f407_regs.h"

const char *cvm_port_name(void)
{
    return "stm32f407";
}

/* Appends text to buf (capacity cap, always NUL-terminated); returns the new length. */
static size_t f407_append(char *buf, size_t len, size_t cap, const char *text)
{
    while (*text != '\0' && len + 1u < cap) {
        buf[len++] = *text++;
    }
    buf[len] = '\0';
    return len;
}

static size_t f407_append_u32(char *buf, size_t len, size_t cap, uint32_t value)
{
    char digits[11];
    size_t n = 0u;
    do {
        digits[n++] = (char)('0' + value % 10u);
        value /= 10u;
    } while (value != 0u);
    while (n > 0u && len + 1u < cap) {
        buf[len++] = digits[--n];
    }
    buf[len] = '\0';
    return len;
}

/* One diagnostic log line after the banner: how the clock came up and whether the id is readable,
 * e.g. "stm32f407: clock=pll hclk=168000000 pclk1=42000000 rcc=ok tick=hclk uid=yes". */
static void f407_log_boot(f407_clock_outcome outcome, f407_systick_source tick, bool uid_readable)
{
    char line[128];
    size_t len = f407_append(line, 0u, sizeof line, "stm32f407: clock=");
    len = f407_append(line, len, sizeof line, f407_clock_outcome_name(outcome));
    len = f407_append(line, len, sizeof line, " hclk=");
    len = f407_append_u32(line, len, sizeof line, f407_clock_hclk_hz());
    len = f407_append(line, len, sizeof line, " pclk1=");
    len = f407_append_u32(line, len, sizeof line, f407_clock_pclk1_hz());
    len = f407_append(line, len, sizeof line, f407_clock_rcc_credible() ? " rcc=ok" : " rcc=unreadable");
    len = f407_append(line, len, sizeof line, tick == F407_SYSTICK_FROM_CALIB ? " tick=calib" : " tick=hclk");
    len = f407_append(line, len, sizeof line, uid_readable ? " uid=yes" : " uid=no");
    cvm_device_log(line);
}

/* Length of the first chunk to feed: up to and including the first '\n', or all of len.
 * Feeding line by line releases each request's ring space as soon as its response is written,
 * which is what the host's in-flight window (counted in unanswered request bytes) assumes; a
 * large span fed whole would hold answered bytes in the ring while the host sends more. */
static size_t f407_first_line(const uint8_t *data, size_t len)
{
    for (size_t i = 0u; i < len; ++i) {
        if (data[i] == (uint8_t)'\n') {
            return i + 1u;
        }
    }
    return len;
}

/* Blue LED: toggles once per received line. */
static void f407_toggle_blue(void)
{
    static bool blue;
    blue = !blue;
    f407_led_set(F407_LED_BLUE, blue);
}

int main(void)
{
    F407_IRQ_DISABLE();
    const f407_clock_outcome clock = f407_clock_init();
    f407_leds_init();
    f407_led_set(F407_LED_ORANGE, f407_clock_is_fallback());
    const f407_systick_source tick = f407_systick_init(f407_clock_hclk_hz(), f407_clock_rcc_credible());
    f407_fault_init();
    const uint32_t reset_flags = f407_reset_cause_capture();
    const bool uid_readable = f407_unique_id_capture();
    f407_usart2_init(f407_clock_pclk1_hz(), CVM_DEFAULT_BAUD);
    F407_IRQ_ENABLE();
    f407_nonce_init(reset_flags); /* needs SysTick interrupts */

    cvm_device_init();
    cvm_device_banner();
    f407_log_boot(clock, tick, uid_readable);

    uint32_t overruns_seen = 0u;
    for (;;) {
        const uint8_t *span;
        const size_t available = f407_usart2_rx_peek(&span);
        if (available > 0u) {
            const size_t n = f407_first_line(span, available);
            const bool line_end = span[n - 1u] == (uint8_t)'\n';
            cvm_device_feed(span, n);
            f407_usart2_rx_consume(n); /* from here on the ISR may reuse those bytes */
            if (line_end) {
                f407_toggle_blue();
            }
            continue;
        }
        const uint32_t overruns = f407_usart2_rx_overruns();
        if (overruns != overruns_seen) {
            overruns_seen = overruns;
            f407_led_set(F407_LED_RED, true);
        }
        /* Sleep only if nothing arrived since the check above: with interrupts masked, a pending
         * interrupt still ends wfi at once, and it is taken as soon as they are unmasked. */
        F407_IRQ_DISABLE();
        if (f407_usart2_rx_empty()) {
            F407_WFI();
        }
        F407_IRQ_ENABLE();
    }
}
