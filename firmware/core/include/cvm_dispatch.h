/*
 * The dispatcher: turns one CRC-good request message into its response message (PROTOCOL.md §3,
 * §4, §5, §6), in two calls so that the link layer (cvm_link.h, §3.3) decides in between:
 * cvm_dispatch_parse() applies §3.1 steps 1 and 2 (which give the seq), cvm_dispatch_execute()
 * steps 3..5. It reaches the pool only through a cvm_memory_ops table, encodes the response in
 * core deterministic CBOR and keeps the counters ops, op_errors and rx_malformed.
 *
 * Each operation's argument count and kinds, whether it may be batched and whether its result is
 * an int32 come from the tables generated from protocol/constants.json (cvm_protocol.h); a table
 * that does not have one entry per op code fails the build, and so does an op code without a
 * case in the dispatcher's switches (-Wswitch).
 *
 * The caller owns the cvm_dispatch struct and every buffer. No allocation; its only calls into the
 * port are cvm_port_uptime_ms() (hello) and cvm_port_rx_overruns() (stats). Not reentrant.
 */
#ifndef CVM_DISPATCH_H
#define CVM_DISPATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm_cbor.h"
#include "cvm_config.h"
#include "cvm_line.h"
#include "cvm_link.h"
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
    const cvm_line_counters *link;    /**< Line counters stats reports; NULL reports zeros. */
    const cvm_link_counters *session; /**< Link-layer counters (keys 15..19); NULL: zeros. */
    cvm_identity identity;
    uint32_t ops;           /**< Operations completed (stats key 5); wraps. */
    uint32_t op_errors;     /**< Of those, how many answered an error (key 6); wraps. */
    uint32_t rx_malformed;  /**< CRC-good frames that were no request (key 11); wraps. */
} cvm_dispatch;

/**
 * A request that passed §3.1 steps 1 and 2, as cvm_dispatch_parse() found it. It points into the
 * message it was parsed from, which must stay unchanged until cvm_dispatch_execute() returns.
 */
typedef struct {
    uint32_t seq;
    bool is_hello;         /**< Exactly [seq, 0]: the link layer's rule 2 (§3.3). */
    uint64_t elements;     /**< Elements of the request array (>= 1). */
    cvm_cbor_reader rest;  /**< Positioned after the seq. */
} cvm_dispatch_request;

/**
 * Sets up d with its memory-operations table (not NULL, must outlive d), the line and link-layer
 * counters to report (either may be NULL; both must outlive d) and the identity (copied; its
 * firmware_id pointer is kept). Counters start at 0. The pool itself is not touched.
 */
void cvm_dispatch_init(cvm_dispatch *d, const cvm_memory_ops *mem, const cvm_line_counters *link,
                       const cvm_link_counters *session, const cvm_identity *identity);

/**
 * §3.1 steps 1 and 2 on the request msg[0..len): well-formed within CVM_MAX_CBOR_DEPTH, an array
 * whose first element is a uint32 seq. Fills *req (caller-owned) and returns true; otherwise
 * rx_malformed += 1 and returns false (the request gets no reply). Executes nothing.
 */
bool cvm_dispatch_parse(cvm_dispatch *d, const uint8_t *msg, size_t len,
                        cvm_dispatch_request *req);

/**
 * Executes a request cvm_dispatch_parse() accepted (§3.1 steps 3..5, §4, §5, §6), counts it in
 * ops/op_errors, and writes its response message into out[0..cap).
 *
 * @param out  Caller-owned, must not overlap the request. With cap >= CVM_MAX_MESSAGE_BYTES every
 *             response fits (cvm_config.h proves it for stats and batch; echo answers no longer
 *             than it was asked; hello is bounded by CVM_FIRMWARE_ID_MAX).
 * @return the response length; 0 only when, never with a large enough out, the response did not
 *         fit cap (the operation has still run and been counted).
 */
size_t cvm_dispatch_execute(cvm_dispatch *d, const cvm_dispatch_request *req, uint8_t *out,
                            size_t cap);

#endif /* CVM_DISPATCH_H */
