/*
 * USART2 on PA2 (TX) / PA3 (RX), AF7: the link to the host (a USB-UART adapter on the bench,
 * QEMU's second -serial in emulation).
 *
 * Receive is interrupt driven into a ring of CVM_MAX_INFLIGHT_BYTES bytes: the host keeps at most
 * that many request bytes unanswered (PROTOCOL.md §2.1), so a well-behaved host never overflows
 * it; a byte that finds the ring full is dropped and counted. Transmit is polled and blocking:
 * only the main loop writes (and the fault handler, through its own bounded path), so one
 * serialised path is all that is needed and a log line can never interleave with a frame.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board.h"
#include "cvm_port.h"
#include "cvm_protocol.h"
#include "stm32f407_regs.h"

#define RX_RING_SIZE CVM_MAX_INFLIGHT_BYTES
_Static_assert((RX_RING_SIZE & (RX_RING_SIZE - 1u)) == 0u, "the ring size must be a power of two");
#define RX_RING_MASK (RX_RING_SIZE - 1u)

/* Free-running indices: head is written only by the ISR, tail only by the main loop; head - tail
 * is the fill level (unsigned wrap-around keeps it correct). 32-bit loads and stores are atomic
 * on the Cortex-M4, so no lock is needed. */
static uint8_t rx_ring[RX_RING_SIZE];
static volatile uint32_t rx_head;
static volatile uint32_t rx_tail;
static volatile uint32_t rx_lost;
static bool usart2_ready;

/* One TXE wait in the fault path: about 20 bit times at 115200 even on a 168 MHz core, yet short
 * enough that a USART that never drains cannot keep the fault handler from resetting. */
#define FAULT_TXE_SPINS 200000u

void f407_usart2_init(uint32_t pclk1_hz, uint32_t baud)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIOAEN;
    RCC_APB1ENR |= RCC_APB1ENR_USART2EN;
    (void)RCC_APB1ENR; /* read back: the clock must be running before the first peripheral access */

    /* PA2, PA3: alternate function 7 (USART2), medium speed; RX pulled up so an unconnected
     * adapter reads as an idle line rather than noise. */
    GPIO_AFRL(GPIOA_BASE) = (GPIO_AFRL(GPIOA_BASE) & ~((0xFu << 8) | (0xFu << 12))) | (7u << 8) | (7u << 12);
    GPIO_OSPEEDR(GPIOA_BASE) = (GPIO_OSPEEDR(GPIOA_BASE) & ~((3u << 4) | (3u << 6))) | (1u << 4) | (1u << 6);
    GPIO_PUPDR(GPIOA_BASE) = (GPIO_PUPDR(GPIOA_BASE) & ~((3u << 4) | (3u << 6))) | (GPIO_PULL_UP << 6);
    GPIO_MODER(GPIOA_BASE) =
        (GPIO_MODER(GPIOA_BASE) & ~((3u << 4) | (3u << 6))) | (GPIO_MODE_AF << 4) | (GPIO_MODE_AF << 6);

    /* 16x oversampling: BRR = pclk / baud as 12.4 fixed point, i.e. the integer pclk / baud
     * rounded to nearest (RM0090 §30.3.4). 42 MHz / 115200 -> 365 (0.08 % error); 16 MHz -> 139. */
    if (baud == 0u) {
        baud = CVM_DEFAULT_BAUD;
    }
    uint32_t brr = (pclk1_hz + baud / 2u) / baud;
    if (brr < 16u) {
        brr = 16u; /* the mantissa must be at least 1 */
    } else if (brr > 0xFFFFu) {
        brr = 0xFFFFu;
    }

    USART2_CR1 = 0u; /* UE off while configuring */
    USART2_CR2 = 0u; /* 1 stop bit */
    USART2_CR3 = 0u; /* no flow control, no DMA */
    USART2_BRR = brr;
    rx_head = 0u;
    rx_tail = 0u;
    rx_lost = 0u;
    USART2_CR1 = USART_CR1_UE | USART_CR1_TE | USART_CR1_RE | USART_CR1_RXNEIE; /* 8 data bits, no parity */

    NVIC_IPR_BYTE(USART2_IRQN) = 0x40u; /* below SysTick's 0x00: only bookkeeping happens there */
    NVIC_ISER(USART2_IRQN / 32u) = 1u << (USART2_IRQN % 32u);
    usart2_ready = true;
}

void USART2_IRQHandler(void)
{
    /* Reading SR then DR clears RXNE and ORE together (RM0090 §30.6.1). */
    uint32_t sr = USART2_SR;
    while ((sr & (USART_SR_RXNE | USART_SR_ORE)) != 0u) {
        const uint8_t byte = (uint8_t)USART2_DR;
        if ((sr & USART_SR_ORE) != 0u) {
            rx_lost = rx_lost + 1u; /* a byte was overwritten in the shift register */
        }
        const uint32_t head = rx_head;
        if (head - rx_tail < RX_RING_SIZE) {
            rx_ring[head & RX_RING_MASK] = byte;
            F407_COMPILER_BARRIER(); /* the byte is in the ring before the main loop can see it */
            rx_head = head + 1u;
        } else {
            rx_lost = rx_lost + 1u;
        }
        sr = USART2_SR;
    }
}

size_t f407_usart2_rx_peek(const uint8_t **span)
{
    const uint32_t tail = rx_tail;
    const uint32_t used = rx_head - tail;
    F407_COMPILER_BARRIER(); /* read head before reading the bytes it publishes */
    const uint32_t offset = tail & RX_RING_MASK;
    const uint32_t to_end = RX_RING_SIZE - offset;
    *span = &rx_ring[offset];
    return (size_t)(used < to_end ? used : to_end);
}

void f407_usart2_rx_consume(size_t n)
{
    const uint32_t tail = rx_tail;
    const uint32_t used = rx_head - tail;
    if (n > used) {
        n = used;
    }
    F407_COMPILER_BARRIER(); /* finished with the bytes before handing their slots back */
    rx_tail = tail + (uint32_t)n;
}

bool f407_usart2_rx_empty(void)
{
    return rx_head == rx_tail;
}

uint32_t f407_usart2_rx_overruns(void)
{
    return rx_lost;
}

void f407_usart2_write(const uint8_t *data, size_t len)
{
    if (!usart2_ready) {
        return;
    }
    for (size_t i = 0u; i < len; ++i) {
        while ((USART2_SR & USART_SR_TXE) == 0u) {
            /* ~87 us a byte at 115200: the receive interrupt keeps filling the ring meanwhile. */
        }
        USART2_DR = data[i];
    }
}

void f407_usart2_write_from_fault(const char *text)
{
    if (!usart2_ready) {
        return;
    }
    for (; *text != '\0'; ++text) {
        for (uint32_t spins = 0u; (USART2_SR & USART_SR_TXE) == 0u && spins < FAULT_TXE_SPINS; ++spins) {
        }
        USART2_DR = (uint8_t)*text;
    }
    /* Let the last byte leave the shift register before the reset cuts it off. */
    for (uint32_t spins = 0u; (USART2_SR & USART_SR_TC) == 0u && spins < FAULT_TXE_SPINS; ++spins) {
    }
}

/* ---- the port contract's link functions (cvm_port.h) ---- */

void cvm_port_write(const uint8_t *data, size_t len)
{
    f407_usart2_write(data, len);
}

uint32_t cvm_port_rx_overruns(void)
{
    return f407_usart2_rx_overruns();
}
