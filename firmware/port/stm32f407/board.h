/*
 * The STM32F407 Discovery port's internal modules, as main.c wires them together. Only files in
 * this folder include this header. Every function here runs from the main loop at boot unless its
 * comment says otherwise; none allocates memory.
 */
#ifndef F407_BOARD_H
#define F407_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- clock.c ----------------------------------------------------------------------------------- */

/** Why the clock tree runs where it runs, as decided by f407_clock_init(). */
typedef enum {
    F407_CLOCK_PLL_168MHZ = 0,  /**< HSE 8 MHz -> PLL -> 168 MHz: the intended configuration. */
    F407_CLOCK_HSE_TIMEOUT,     /**< HSE never reported ready: still on the 16 MHz HSI. */
    F407_CLOCK_PLL_TIMEOUT,     /**< PLL never locked: still on the HSI. */
    F407_CLOCK_FLASH_REFUSED,   /**< FLASH_ACR did not take 5 wait states: staying slow is the safe choice. */
    F407_CLOCK_SWITCH_TIMEOUT,  /**< SWS never showed the PLL: switched back to the HSI. */
} f407_clock_outcome;

/** Tries HSE + PLL at 168 MHz (AHB /1, APB1 /4 = 42 MHz, APB2 /2 = 84 MHz, flash 5 wait states,
 *  prefetch and caches on). Every hardware wait is bounded by a loop count (a few ms at 16 MHz);
 *  on any timeout it undoes what it started and stays on the 16 MHz HSI. Call once, first thing in
 *  main, with interrupts off. Never fails: the result says which branch ran. */
f407_clock_outcome f407_clock_init(void);

/** Core clock (HCLK) in Hz, computed from what RCC_CFGR says is selected (SWS, HPRE) and from
 *  RCC_PLLCFGR, not from what f407_clock_init() asked for. An RCC that reads all zeros (QEMU)
 *  decodes as HSI, 16 MHz. */
uint32_t f407_clock_hclk_hz(void);

/** APB1 clock (PCLK1, feeds USART2) in Hz, from HCLK and PPRE1. */
uint32_t f407_clock_pclk1_hz(void);

/** True when RCC describes a state silicon can be in: the oscillator SWS names reports ready.
 *  False when the RCC reads as all zeros (SWS = HSI but HSIRDY = 0), which no real F407 does:
 *  the register file is not backed by hardware (QEMU), and the decoded frequencies are only the
 *  reset-state assumption. */
bool f407_clock_rcc_credible(void);

/** True when the system clock is not the PLL (fell back to, or stayed on, an oscillator). */
bool f407_clock_is_fallback(void);

/** Short text for an outcome, for the boot log line; never NULL. */
const char *f407_clock_outcome_name(f407_clock_outcome outcome);

/* ---- systick.c --------------------------------------------------------------------------------- */

/** How the 1 kHz tick was derived. */
typedef enum {
    F407_SYSTICK_FROM_HCLK = 0, /**< core clock, reload = hclk / 1000 (the normal case) */
    F407_SYSTICK_FROM_CALIB,    /**< reference clock, reload = SYST_CALIB.TENMS / 10 */
} f407_systick_source;

/** Starts SysTick at 1 kHz. With hclk_known, from the core clock: reload = hclk_hz / 1000
 *  (clamped to 1..2^24). Without it (the RCC is not credible, see f407_clock_rcc_credible), from
 *  the architectural calibration: the reference clock with reload TENMS/10, if SYST_CALIB offers
 *  one (NOREF clear, TENMS non-zero); otherwise the core clock at hclk_hz anyway. The tick also
 *  drives the green heartbeat LED. Returns the source used. */
f407_systick_source f407_systick_init(uint32_t hclk_hz, bool hclk_known);

/** Milliseconds since f407_systick_init(); wraps at 2^32. Safe from any context. */
uint32_t f407_systick_ms(void);

/* ---- usart2.c ---------------------------------------------------------------------------------- */

/** Configures PA2 (TX) / PA3 (RX, pulled up) as AF7 and USART2 as 8N1 at baud from pclk1_hz
 *  (16x oversampling, divisor rounded to nearest), and enables the receive interrupt.
 *  baud must be > 0 and pclk1_hz >= 16 * baud, otherwise the divisor is clamped. */
void f407_usart2_init(uint32_t pclk1_hz, uint32_t baud);

/** Blocking write of len bytes through polled TXE. Main-loop context only (not reentrant). */
void f407_usart2_write(const uint8_t *data, size_t len);

/** Fault-path write: polled, each byte's wait bounded so a dead USART cannot hang the fault
 *  handler; a no-op when f407_usart2_init() has not run. Safe from any handler. */
void f407_usart2_write_from_fault(const char *text);

/** Points *span at the oldest received bytes still in the ring and returns how many are
 *  contiguous there (0..CVM_MAX_INFLIGHT_BYTES; 0 when empty). The bytes stay valid until
 *  f407_usart2_rx_consume(). Main-loop context only. */
size_t f407_usart2_rx_peek(const uint8_t **span);

/** Releases n bytes returned by the last f407_usart2_rx_peek(); n larger than that is clamped. */
void f407_usart2_rx_consume(size_t n);

/** True when the receive ring holds no byte. Call with interrupts disabled before sleeping. */
bool f407_usart2_rx_empty(void);

/** Bytes lost: ring full when a byte arrived, plus hardware overruns (ORE). Wraps at 2^32. */
uint32_t f407_usart2_rx_overruns(void);

/* ---- reset_cause.c ----------------------------------------------------------------------------- */

/** Reads the RCC_CSR reset flags once, remembers them, then clears them (RMVF) so the next boot
 *  reports only its own cause. Call once at boot. Returns the raw flags (0 under QEMU). */
uint32_t f407_reset_cause_capture(void);

/* ---- unique_id.c ------------------------------------------------------------------------------- */

/** Reads the 96-bit unique id with a fault-tolerant probe; remembers the result. Call once at
 *  boot after the fault handlers are armed (f407_fault_init). Returns true when it was readable. */
bool f407_unique_id_capture(void);

/* ---- fault.c ----------------------------------------------------------------------------------- */

/** Enables the separate MemManage, BusFault and UsageFault exceptions so CFSR tells them apart
 *  and a bus-fault probe can be recovered. Call once at boot before any probe. */
void f407_fault_init(void);

/** Reads one 32-bit word at addr; a bus fault during that one load is caught and reported
 *  instead of escalating. Returns true and stores the word in *out on success; returns false
 *  (out untouched) when the read faulted. Main-loop context only, never from a handler. */
bool f407_probe_read32(uint32_t addr, uint32_t *out);

/* ---- leds.c ------------------------------------------------------------------------------------ */

/** The four user LEDs of the Discovery board, on port D (active high). */
typedef enum {
    F407_LED_GREEN = 12,  /**< PD12: heartbeat, 1 Hz blink while the firmware is alive. */
    F407_LED_ORANGE = 13, /**< PD13: on while the system clock is not the 168 MHz PLL. */
    F407_LED_RED = 14,    /**< PD14: on after a fault (seen only until the reset) or a lost byte. */
    F407_LED_BLUE = 15,   /**< PD15: toggles on every received line. */
} f407_led;

/** Configures PD12..PD15 as push-pull outputs, all off. */
void f407_leds_init(void);

/** Switches one LED; atomic (BSRR), so safe from any context. */
void f407_led_set(f407_led led, bool on);

/* ---- nonce.c ----------------------------------------------------------------------------------- */

/** Computes the boot nonce once (see nonce.c for its sources) and advances the .noinit boot
 *  counter. reset_flags: the raw RCC_CSR value from f407_reset_cause_capture(). Call once at
 *  boot after SysTick is running and the unique id was captured; takes at most a few ms. */
void f407_nonce_init(uint32_t reset_flags);

#endif /* F407_BOARD_H */
