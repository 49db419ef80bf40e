/*
 * Raw echo over the product's USART2 port: every received byte is written back, nothing else.
 * It is the ceiling `hil bench` divides the protocol's echo throughput by (the raw link of this
 * very port under QEMU, measured in the same run): the same boot (clock, SysTick, faults), the
 * same interrupt-driven receive ring and polled transmit (usart2.c), the same wfi idle, but no
 * core and no framing.
 *
 * Bytes go back a line at a time, as the product answers: up to and including each '\n', or a
 * run of ECHO_BURST bytes without one, or whatever is left once the line has been quiet for
 * ECHO_IDLE_MS. Echoing each byte as it lands would time one-byte writes to the host, not the link.
 * Its one line of its own, ECHO_READY, goes out once the receiver is on: bytes sent before that
 * are lost (a USART discards them while RE is off), so the host waits for it.
 * Built by `make -C firmware arm-echo`; no heap, no C library.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "cvm_protocol.h"
#include "stm32f407_regs.h"

/* Sent once at boot, when the receiver is enabled; the host streams only after it (bench-run.ts). */
static const uint8_t ECHO_READY[] = "CVM-ECHO ready\n";

/* Longest run echoed without a '\n' (a quarter of the receive ring). */
#define ECHO_BURST (CVM_MAX_INFLIGHT_BYTES / 4u)
/* A partial line is echoed after this long without a new byte, in ms. */
#define ECHO_IDLE_MS 2u

/* Bytes of span to echo now: through the last '\n', or all of it when it is long or the line quiet. */
static size_t echo_now(const uint8_t *span, size_t len, bool quiet)
{
    if (len >= ECHO_BURST || quiet) {
        return len;
    }
    for (size_t i = len; i > 0u; --i) {
        if (span[i - 1u] == (uint8_t)'\n') {
            return i;
        }
    }
    return 0u;
}

int main(void)
{
    F407_IRQ_DISABLE();
    (void)f407_clock_init();
    f407_leds_init();
    (void)f407_systick_init(f407_clock_hclk_hz(), f407_clock_rcc_credible());
    f407_fault_init();
    f407_usart2_init(f407_clock_pclk1_hz(), CVM_DEFAULT_BAUD);
    F407_IRQ_ENABLE();
    f407_usart2_write(ECHO_READY, sizeof ECHO_READY - 1u);

    size_t seen = 0u;        /* bytes waiting at the last look */
    uint32_t changed_ms = 0u; /* when that count last changed */
    for (;;) {
        const uint8_t *span;
        const size_t available = f407_usart2_rx_peek(&span);
        const uint32_t now = f407_systick_ms();
        if (available != seen) {
            seen = available;
            changed_ms = now;
        }
        const size_t n = available > 0u ? echo_now(span, available, now - changed_ms >= ECHO_IDLE_MS) : 0u;
        if (n > 0u) {
            f407_usart2_write(span, n);
            f407_usart2_rx_consume(n);
            seen = 0u;
            continue;
        }
        /* As the product's main loop: sleep only if nothing arrived since the check above; the
         * 1 kHz SysTick wakes it to echo a quiet partial line. */
        F407_IRQ_DISABLE();
        if (f407_usart2_rx_peek(&span) == available) {
            F407_WFI();
        }
        F407_IRQ_ENABLE();
    }
}
