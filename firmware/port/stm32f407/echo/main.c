/*
 * Raw echo over the product's USART2 port: every received byte is written back, nothing else.
 * It is the ceiling `hil bench` divides the protocol's echo throughput by (the raw link of this
 * very port under QEMU, measured in the same run): the same boot (clock, SysTick, faults), the
 * same interrupt-driven receive ring and polled transmit (usart2.c), the same wfi idle, but no
 * core, no framing and no banner. Built by `make -C firmware arm-echo`; no heap, no C library.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "cvm_protocol.h"
#include "stm32f407_regs.h"

int main(void)
{
    F407_IRQ_DISABLE();
    (void)f407_clock_init();
    f407_leds_init();
    (void)f407_systick_init(f407_clock_hclk_hz(), f407_clock_rcc_credible());
    f407_fault_init();
    f407_usart2_init(f407_clock_pclk1_hz(), CVM_DEFAULT_BAUD);
    F407_IRQ_ENABLE();

    for (;;) {
        const uint8_t *span;
        const size_t available = f407_usart2_rx_peek(&span);
        if (available > 0u) {
            f407_usart2_write(span, available);
            f407_usart2_rx_consume(available);
            continue;
        }
        /* As the product's main loop: sleep only if nothing arrived since the check above. */
        F407_IRQ_DISABLE();
        if (f407_usart2_rx_empty()) {
            F407_WFI();
        }
        F407_IRQ_ENABLE();
    }
}
