/*
 * The unit tests' implementation of cvm_port.h: captures every cvm_port_write() and returns the
 * values the test sets. fake_port_reset() restores the defaults below and empties the capture.
 */
#ifndef FAKE_PORT_H
#define FAKE_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "cvm_port.h"

#define FAKE_PORT_CAPTURE 65536u

extern uint8_t fake_port_out[FAKE_PORT_CAPTURE]; /**< Everything written since the last reset. */
extern size_t fake_port_out_len;
extern unsigned fake_port_writes;                /**< cvm_port_write() calls since the last reset. */

extern uint32_t fake_port_nonce;         /**< default 0x12345678 */
extern uint32_t fake_port_uptime;        /**< default 1000 */
extern cvm_reset_cause fake_port_cause;  /**< default CVM_RESET_POWER_ON */
extern size_t fake_port_uid_len;         /**< 12 (bytes 0x01..0x0c) or 0; default 12 */
extern uint32_t fake_port_overruns;      /**< default 0 */
extern const char *fake_port_name;       /**< default "test" */

void fake_port_reset(void);

/** Empties the capture only. */
void fake_port_clear(void);

#endif /* FAKE_PORT_H */
