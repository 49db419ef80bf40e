/*
 * The Discovery board's four user LEDs on port D, active high:
 *   PD12 green  - heartbeat: blinks at 1 Hz from the SysTick interrupt while the firmware runs
 *   PD13 orange - on while the system clock is not the 168 MHz PLL (HSE/PLL fallback to HSI)
 *   PD14 red    - on when a fault is being reported (the board resets right after) or when a
 *                 received byte was lost (ring full or USART overrun); stays on until reset
 *   PD15 blue   - toggles on every received line ('\n'), i.e. on every request frame
 * Writes go through BSRR, which sets or clears one pin atomically, so the SysTick heartbeat and
 * the main loop never race on a read-modify-write of ODR.
 */
#include <stdbool.h>
#include <stdint.h>

#include "board.h"
#include "stm32f407_regs.h"

#define LED_PINS ((1u << F407_LED_GREEN) | (1u << F407_LED_ORANGE) | (1u << F407_LED_RED) | (1u << F407_LED_BLUE))

void f407_leds_init(void)
{
    RCC_AHB1ENR |= RCC_AHB1ENR_GPIODEN;
    (void)RCC_AHB1ENR; /* read back: the port clock must run before its registers are written */
    GPIO_BSRR(GPIOD_BASE) = LED_PINS << 16; /* all off before they become outputs */
    uint32_t moder = GPIO_MODER(GPIOD_BASE);
    for (uint32_t pin = F407_LED_GREEN; pin <= F407_LED_BLUE; ++pin) {
        moder = (moder & ~(3u << (2u * pin))) | (GPIO_MODE_OUTPUT << (2u * pin));
    }
    GPIO_MODER(GPIOD_BASE) = moder;
}

void f407_led_set(f407_led led, bool on)
{
    const uint32_t bit = 1u << (uint32_t)led;
    GPIO_BSRR(GPIOD_BASE) = on ? bit : bit << 16;
}
