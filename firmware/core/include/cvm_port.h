/*
 * The port contract: all the portable core needs from what it runs on (the STM32F407 board, or
 * the host build "sim"). One port implements every function here; nothing else in the core
 * touches hardware or the operating system. Unit tests provide their own implementation.
 */
#ifndef CVM_PORT_H
#define CVM_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "cvm_protocol.h"

/** Writes len bytes to the link, blocking until all are queued; the core's only output path.
 *  The core always writes whole lines in one call sequence from one context, so lines never interleave. */
void cvm_port_write(const uint8_t *data, size_t len);

/** Milliseconds since boot; wraps at 2^32. */
uint32_t cvm_port_uptime_ms(void);

/** Why the device last reset, read once at boot. */
cvm_reset_cause cvm_port_reset_cause(void);

/** Copies the 96-bit unique id into out; returns 12, or 0 when it cannot be read (out untouched). */
size_t cvm_port_unique_id(uint8_t out[12]);

/** A value that differs between consecutive boots with high probability. */
uint32_t cvm_port_boot_nonce(void);

/** Bytes lost so far because the receive ring was full (reported as rx_overrun). */
uint32_t cvm_port_rx_overruns(void);

/** Short name of the port for the firmware id, e.g. "stm32f407" or "sim". */
const char *cvm_port_name(void);

#endif /* CVM_PORT_H */
