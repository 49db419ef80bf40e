/*
 * The dispatcher: turns one CRC-good request message into its response message (PROTOCOL.md §3,
 * §4, §5, §6). It applies §3.1 steps 1..5 in order, reaches the pool only through a
 * cvm_memory_ops table, encodes the response in core deterministic CBOR and keeps the counters
 * ops, op_errors and rx_malformed.
 *
 * The caller owns the cvm_dispatch struct and every buffer. No allocation; its only calls into the
 * port are cvm_port_uptime_ms() (hello) and cvm_port_rx_overruns() (stats). Not reentrant.
 */
#ifndef CVM_DISPATCH_H
#define CVM_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include "cvm_config.h"
#include "cvm_line.h"
#include "cvm_pool.h"
#include "cvm_protocol.h"

/** Longest firmware id hello reports, in bytes; a longer one is truncated. */
#define CVM_FIRMWARE_ID_MAX 64u

/** Bytes of the unique id when it can be read. */
#define CVM_UNIQUE_ID_BYTES 12u

/** What hello reports about this device besides the limits. */
typedef struct {
    const char *firmware_id;  /**< NUL-terminated text; must outlive the dispatcher. */
    uint32_t boot_nonce;
    cvm_reset_cause reset_cause;  /**< Out-of-range values are reported as "unknown". */
    uint8_t unique_id[CVM_UNIQUE_ID_BYTES];
    size_t unique_id_len;     /**< CVM_UNIQUE_ID_BYTES, or 0 when it cannot be read. */
} cvm_identity;

typedef struct {
    const cvm_memory_ops *mem;        /**< The pool, or a test's mock. */
    const cvm_line_counters *link;    /**< Link counters stats reports; NULL reports zeros. */
    cvm_identity identity;
    uint32_t ops;           /**< Operations completed (stats key 5); wraps. */
    uint32_t op_errors;     /**< Of those, how many answered an error (key 6); wraps. */
    uint32_t rx_malformed;  /**< CRC-good frames that were no request (key 11); wraps. */
} cvm_dispatch;

/**
 * Sets up d with its memory-operations table (not NULL, must outlive d), the link counters to
 * report (may be NULL) and the identity (copied; its firmware_id pointer is kept). Counters start
 * at 0. The pool itself is not touched.
 */
void cvm_dispatch_init(cvm_dispatch *d, const cvm_memory_ops *mem, const cvm_line_counters *link,
                       const cvm_identity *identity);

/**
 * Handles the request msg[0..len) and writes its response message into out[0..cap).
 *
 * @param out  Caller-owned, must not overlap msg. With cap >= CVM_MAX_MESSAGE_BYTES every response
 *             fits (cvm_config.h proves it for stats and batch; echo answers no longer than it
 *             was asked; hello is bounded by CVM_FIRMWARE_ID_MAX).
 * @return the response length, or 0 when there is nothing to send: the request failed §3.1 step 1
 *         or 2 (rx_malformed += 1), or, never with a large enough out, the response did not fit
 *         cap (the operation has still run and been counted).
 */
size_t cvm_dispatch_handle(cvm_dispatch *d, const uint8_t *msg, size_t len, uint8_t *out,
                           size_t cap);

#endif /* CVM_DISPATCH_H */
