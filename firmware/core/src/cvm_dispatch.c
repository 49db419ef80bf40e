#include "cvm_dispatch.h"

#include <string.h>

#include "cvm_cbor.h"
#include "cvm_port.h"

/*
 * Largest hello response: head 7, map head 1, 16 one-byte keys, then the values: version 1,
 * firmware id (head 2 + CVM_FIRMWARE_ID_MAX), the four limits (at most 1 + 2 + 2 + 3 at their
 * protocol maxima), max_line 3, max_batch 2, nonce 5, uptime 5, reset cause (head 1 + 9), unique
 * id (head 1 + 12), replay_depth, replay_bytes, hold_depth, hold_message_bytes (2, 3, 2, 3).
 */
#define CVM_HELLO_RESPONSE_MAX                                                                      \
    (7u + 1u + CVM_HELLO_KEY_COUNT + 1u + 2u + CVM_FIRMWARE_ID_MAX + 8u + 3u + 2u + 5u + 5u + 10u + \
     13u + CVM_CBOR_UINT_SIZE(CVM_LIMIT_REPLAY_DEPTH) + CVM_CBOR_UINT_SIZE(CVM_LIMIT_REPLAY_BYTES) \
     + CVM_CBOR_UINT_SIZE(CVM_LIMIT_HOLD_DEPTH) + CVM_CBOR_UINT_SIZE(CVM_LIMIT_HOLD_MESSAGE_BYTES))
_Static_assert(CVM_HELLO_RESPONSE_MAX <= CVM_MAX_MESSAGE_BYTES, "hello response may not fit");
_Static_assert(CVM_HELLO_KEY_COUNT == CVM_HELLO_HOLD_MESSAGE_BYTES && CVM_HELLO_KEY_COUNT < 24u,
               "hello keys moved: update cvm_dispatch_put_hello");
_Static_assert(CVM_FIRMWARE_ID_MAX < 256u, "firmware id head must stay 2 bytes");

static const char *const cvm_reset_cause_names[CVM_RESET_CAUSE_COUNT] = CVM_RESET_CAUSE_NAMES;

/*
 * The per-op facts, generated from protocol/constants.json. Sized by their initialisers, so a
 * table with a missing (or extra) entry fails here instead of reading a zero-filled default.
 */
static const uint8_t cvm_op_argc[] = CVM_OP_ARGC_TABLE;
static const uint8_t cvm_op_arg_kind[][CVM_OP_MAX_ARGS] = CVM_OP_ARG_KIND_TABLE;
static const bool cvm_op_batchable[] = CVM_OP_BATCHABLE_TABLE;
static const bool cvm_op_int32_result[] = CVM_OP_INT32_RESULT_TABLE;
_Static_assert(sizeof cvm_op_argc == CVM_OP_COUNT, "CVM_OP_ARGC_TABLE needs one entry per op");
_Static_assert(sizeof cvm_op_arg_kind / sizeof cvm_op_arg_kind[0] == CVM_OP_COUNT,
               "CVM_OP_ARG_KIND_TABLE needs one entry per op");
_Static_assert(sizeof cvm_op_batchable == CVM_OP_COUNT * sizeof(bool),
               "CVM_OP_BATCHABLE_TABLE needs one entry per op");
_Static_assert(sizeof cvm_op_int32_result == CVM_OP_COUNT * sizeof(bool),
               "CVM_OP_INT32_RESULT_TABLE needs one entry per op");

/* An operation's arguments, read by kind (§3.1 step 4), at their positions. */
typedef struct {
    uint32_t id[CVM_OP_MAX_ARGS];    /* CVM_ARG_ID; CVM_POOL_ID_INVALID when negative or > uint32 */
    int32_t int32[CVM_OP_MAX_ARGS];  /* CVM_ARG_INT32 */
    const uint8_t *bytes;            /* CVM_ARG_BYTES (at most one) */
    size_t bytes_len;
    uint64_t ops_count;              /* CVM_ARG_OPS (at most one): its entries follow in rest */
} cvm_dispatch_args;

void cvm_dispatch_init(cvm_dispatch *d, const cvm_memory_ops *mem, const cvm_line_counters *link,
                       const cvm_link_counters *session, const cvm_identity *identity)
{
    memset(d, 0, sizeof *d);
    d->mem = mem;
    d->link = link;
    d->session = session;
    d->identity = *identity;
    if (d->identity.unique_id_len > CVM_UNIQUE_ID_BYTES) {
        d->identity.unique_id_len = CVM_UNIQUE_ID_BYTES;
    }
}

/* Counts one completed operation (§6). */
static void cvm_dispatch_count(cvm_dispatch *d, cvm_err e)
{
    d->ops++;
    if (e != CVM_ERR_OK) {
        d->op_errors++;
    }
}

/*
 * Reads the argc arguments of op from r into *a, each by its kind (§3.1 step 4). An id, index or
 * size may be any integer: a negative one or one past uint32 becomes CVM_POOL_ID_INVALID, which
 * the pool rejects at that argument's own check (out_of_range, or bad_size for a size).
 * @return CVM_ERR_OK, or CVM_ERR_BAD_ARG for a wrong count or a wrong type.
 */
static cvm_err cvm_dispatch_read_args(cvm_op op, uint64_t argc, cvm_cbor_reader *r,
                                      cvm_dispatch_args *a)
{
    if (argc != cvm_op_argc[op]) {
        return CVM_ERR_BAD_ARG;
    }
    for (unsigned i = 0; i < cvm_op_argc[op]; i++) {
        bool negative = false;
        uint64_t v = 0;
        int ok = CVM_CBOR_ERR_TYPE;
        /* No default: a cvm_arg_kind without a case here fails the build (-Wswitch). */
        switch ((cvm_arg_kind)cvm_op_arg_kind[op][i]) {
        case CVM_ARG_ID:
            ok = cvm_cbor_read_int(r, &negative, &v);
            a->id[i] = (negative || v > 0xFFFFFFFFu) ? CVM_POOL_ID_INVALID : (uint32_t)v;
            break;
        case CVM_ARG_INT32:
            ok = cvm_cbor_read_int32(r, &a->int32[i]);
            break;
        case CVM_ARG_BYTES:
            ok = cvm_cbor_read_bstr(r, &a->bytes, &a->bytes_len);
            break;
        case CVM_ARG_OPS:
            ok = cvm_cbor_enter_array(r, &a->ops_count);
            break;
        }
        if (ok != CVM_CBOR_OK) {
            return CVM_ERR_BAD_ARG;
        }
    }
    return CVM_ERR_OK;
}

/*
 * Runs the pool operation op (one whose cvm_op_batchable entry is true) on its read arguments:
 * the pool's checks (step 5). Stores an int32 result in *value (cvm_op_int32_result). Does not
 * count the operation.
 */
static cvm_err cvm_dispatch_pool_op(cvm_dispatch *d, cvm_op op, const cvm_dispatch_args *a,
                                    int32_t *value)
{
    const cvm_memory_ops *m = d->mem;
    switch (op) {
    case CVM_OP_ACQUIRE:
        return m->acquire(a->id[0]);
    case CVM_OP_RELEASE:
        return m->release(a->id[0]);
    case CVM_OP_LOAD_GLOBAL:
        return m->load_global(a->id[0], a->id[1], value);
    case CVM_OP_STORE_GLOBAL:
        return m->store_global(a->id[0], a->id[1], a->int32[2]);
    case CVM_OP_CREATE_ARRAY:
        return m->create_array(a->id[0], a->id[1], a->id[2]);
    case CVM_OP_LOAD_ARRAY:
        return m->load_array(a->id[0], a->id[1], a->id[2], value);
    case CVM_OP_STORE_ARRAY:
        return m->store_array(a->id[0], a->id[1], a->id[2], a->int32[3]);
    case CVM_OP_RESET_POOL:
        m->reset();
        d->ops = 0;
        d->op_errors = 0;
        return CVM_ERR_OK;
    case CVM_OP_HELLO:
    case CVM_OP_STATS:
    case CVM_OP_BATCH:
    case CVM_OP_ECHO:
        break; /* not pool operations: callers pass batchable ones only */
    }
    return CVM_ERR_NOT_IN_BATCH;
}

/* Runs one batch entry (§4.2) and writes its result. Counts it. */
static void cvm_dispatch_batch_entry(cvm_dispatch *d, cvm_cbor_reader *entry, cvm_cbor_writer *w)
{
    uint64_t n;
    uint64_t code;
    int32_t value = 0;
    cvm_dispatch_args a;
    cvm_err e;

    if (cvm_cbor_enter_array(entry, &n) != CVM_CBOR_OK || n == 0u ||
        cvm_cbor_read_uint(entry, &code) != CVM_CBOR_OK) {
        e = CVM_ERR_BAD_ARG;
    } else if (code >= CVM_OP_COUNT) {
        e = CVM_ERR_UNKNOWN_OP;
    } else if (!cvm_op_batchable[code]) {
        e = CVM_ERR_NOT_IN_BATCH;
    } else {
        e = cvm_dispatch_read_args((cvm_op)code, n - 1u, entry, &a);
        if (e == CVM_ERR_OK) {
            e = cvm_dispatch_pool_op(d, (cvm_op)code, &a, &value);
        }
    }
    cvm_dispatch_count(d, e);
    if (e != CVM_ERR_OK) {
        (void)cvm_cbor_put_array(w, 1u);
        (void)cvm_cbor_put_uint(w, (uint64_t)e);
    } else if (cvm_op_int32_result[code]) {
        (void)cvm_cbor_put_array(w, 2u);
        (void)cvm_cbor_put_uint(w, 0u);
        (void)cvm_cbor_put_int(w, value);
    } else {
        (void)cvm_cbor_put_array(w, 1u);
        (void)cvm_cbor_put_uint(w, 0u);
    }
}

/* Writes hello's result map (§5), keys in ascending order. */
static void cvm_dispatch_put_hello(const cvm_dispatch *d, cvm_cbor_writer *w)
{
    const cvm_identity *id = &d->identity;
    size_t fw_len = strlen(id->firmware_id);
    if (fw_len > CVM_FIRMWARE_ID_MAX) {
        fw_len = CVM_FIRMWARE_ID_MAX;
    }
    const char *cause = cvm_reset_cause_names[(unsigned)id->reset_cause < CVM_RESET_CAUSE_COUNT
                                                  ? (unsigned)id->reset_cause
                                                  : (unsigned)CVM_RESET_UNKNOWN];

    (void)cvm_cbor_put_map(w, CVM_HELLO_KEY_COUNT);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_PROTO_VERSION);
    (void)cvm_cbor_put_uint(w, CVM_PROTOCOL_VERSION);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_FIRMWARE_ID);
    (void)cvm_cbor_put_tstr(w, id->firmware_id, fw_len);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_MAX_VMS);
    (void)cvm_cbor_put_uint(w, MAX_CONCURRENT_VMS);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_MAX_GLOBALS);
    (void)cvm_cbor_put_uint(w, VM_MAX_GLOBALS);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_MAX_ARRAYS);
    (void)cvm_cbor_put_uint(w, VM_MAX_ARRAYS);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_ARRAY_ELEMENTS);
    (void)cvm_cbor_put_uint(w, VM_ARRAY_ELEMENTS);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_MAX_LINE);
    (void)cvm_cbor_put_uint(w, CVM_MAX_LINE_BYTES);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_MAX_BATCH);
    (void)cvm_cbor_put_uint(w, CVM_MAX_BATCH_OPS);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_BOOT_NONCE);
    (void)cvm_cbor_put_uint(w, id->boot_nonce);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_UPTIME_MS);
    (void)cvm_cbor_put_uint(w, cvm_port_uptime_ms());
    (void)cvm_cbor_put_uint(w, CVM_HELLO_RESET_CAUSE);
    (void)cvm_cbor_put_tstr(w, cause, strlen(cause));
    (void)cvm_cbor_put_uint(w, CVM_HELLO_UNIQUE_ID);
    (void)cvm_cbor_put_bstr(w, id->unique_id, id->unique_id_len);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_REPLAY_DEPTH);
    (void)cvm_cbor_put_uint(w, CVM_REPLAY_DEPTH);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_REPLAY_BYTES);
    (void)cvm_cbor_put_uint(w, CVM_REPLAY_BYTES);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_HOLD_DEPTH);
    (void)cvm_cbor_put_uint(w, CVM_HOLD_DEPTH);
    (void)cvm_cbor_put_uint(w, CVM_HELLO_HOLD_MESSAGE_BYTES);
    (void)cvm_cbor_put_uint(w, CVM_HOLD_MESSAGE_BYTES);
}

/* Writes stats' result map (§6): the counters as they are before this operation is counted. */
static void cvm_dispatch_put_stats(const cvm_dispatch *d, cvm_cbor_writer *w)
{
    cvm_pool_telemetry t;
    static const cvm_line_counters no_line;
    static const cvm_link_counters no_link;
    const cvm_line_counters *line = d->link != NULL ? d->link : &no_line;
    const cvm_link_counters *link = d->session != NULL ? d->session : &no_link;

    d->mem->telemetry(&t);
    /* Keys 1..13, then (after key 14, the contexts) keys 15..19: ascending, as §3.1 requires. */
    const uint32_t before[13] = {
        t.contexts_acquired, t.contexts_hw,    t.acquires,        t.releases,
        d->ops,              d->op_errors,     line->rx_frames,   line->rx_bad_frame,
        line->rx_bad_crc,    line->rx_overlong, d->rx_malformed,  line->rx_noise,
        cvm_port_rx_overruns(),
    };
    const uint32_t after[5] = {link->replayed, link->out_of_sequence, link->no_session,
                               link->sessions, link->held};
    (void)cvm_cbor_put_map(w, CVM_STATS_KEY_COUNT);
    for (unsigned k = 0; k < 13u; k++) {
        (void)cvm_cbor_put_uint(w, CVM_STATS_CONTEXTS_ACQUIRED + k);
        (void)cvm_cbor_put_uint(w, before[k]);
    }
    (void)cvm_cbor_put_uint(w, CVM_STATS_CONTEXTS);
    (void)cvm_cbor_put_array(w, MAX_CONCURRENT_VMS);
    for (unsigned vm = 0; vm < MAX_CONCURRENT_VMS; vm++) {
        const cvm_context_telemetry *c = &t.contexts[vm];
        (void)cvm_cbor_put_array(w, CVM_CONTEXT_FIELD_COUNT);
        (void)cvm_cbor_put_uint(w, c->acquired);
        (void)cvm_cbor_put_uint(w, c->globals_in_use);
        (void)cvm_cbor_put_uint(w, c->arrays_active);
        (void)cvm_cbor_put_uint(w, c->elements);
        (void)cvm_cbor_put_uint(w, c->bytes_used);
        (void)cvm_cbor_put_uint(w, c->hw_globals);
        (void)cvm_cbor_put_uint(w, c->hw_arrays);
        (void)cvm_cbor_put_uint(w, c->hw_elements);
    }
    for (unsigned k = 0; k < 5u; k++) {
        (void)cvm_cbor_put_uint(w, CVM_STATS_REPLAYED + k);
        (void)cvm_cbor_put_uint(w, after[k]);
    }
}
_Static_assert(CVM_STATS_CONTEXTS_ACQUIRED == 1 && CVM_STATS_RX_OVERRUN == 13 &&
                   CVM_STATS_CONTEXTS == 14 && CVM_STATS_REPLAYED == 15 &&
                   CVM_STATS_SESSIONS == 18 && CVM_STATS_HELD == 19 &&
                   CVM_STATS_KEY_COUNT == 19,
               "stats keys moved: update cvm_dispatch_put_stats");

/* [seq, code]: an error, or success without a result. */
static void cvm_dispatch_put_status(cvm_cbor_writer *w, uint32_t seq, cvm_err e)
{
    (void)cvm_cbor_put_array(w, 2u);
    (void)cvm_cbor_put_uint(w, seq);
    (void)cvm_cbor_put_uint(w, (uint64_t)e);
}

/* [seq, 0, <result follows>]. */
static void cvm_dispatch_put_ok_head(cvm_cbor_writer *w, uint32_t seq)
{
    (void)cvm_cbor_put_array(w, 3u);
    (void)cvm_cbor_put_uint(w, seq);
    (void)cvm_cbor_put_uint(w, 0u);
}

bool cvm_dispatch_parse(cvm_dispatch *d, const uint8_t *msg, size_t len, cvm_dispatch_request *req)
{
    uint64_t seq;
    if (cvm_cbor_check(msg, len, CVM_MAX_CBOR_DEPTH) != CVM_CBOR_OK) {
        d->rx_malformed++;
        return false;
    }
    cvm_cbor_reader_init(&req->rest, msg, len);
    if (cvm_cbor_enter_array(&req->rest, &req->elements) != CVM_CBOR_OK || req->elements == 0u ||
        cvm_cbor_read_uint(&req->rest, &seq) != CVM_CBOR_OK || seq > 0xFFFFFFFFu) {
        d->rx_malformed++;
        return false;
    }
    req->seq = (uint32_t)seq;
    uint64_t op;
    cvm_cbor_reader peek = req->rest;
    req->is_hello = req->elements == 2u && cvm_cbor_read_uint(&peek, &op) == CVM_CBOR_OK &&
                    op == CVM_OP_HELLO;
    return true;
}

/* Step 3 and 4: the op code and its arguments. Fills *op and *a, or returns the error. */
static cvm_err cvm_dispatch_decode(cvm_dispatch_request *req, cvm_op *op, cvm_dispatch_args *a)
{
    uint64_t code;
    if (req->elements < 2u || cvm_cbor_read_uint(&req->rest, &code) != CVM_CBOR_OK) {
        return CVM_ERR_BAD_ARG;
    }
    if (code >= CVM_OP_COUNT) {
        return CVM_ERR_UNKNOWN_OP;
    }
    *op = (cvm_op)code;
    return cvm_dispatch_read_args(*op, req->elements - 2u, &req->rest, a);
}

size_t cvm_dispatch_execute(cvm_dispatch *d, const cvm_dispatch_request *request, uint8_t *out,
                            size_t cap)
{
    cvm_dispatch_request req = *request;
    cvm_cbor_writer w;
    cvm_dispatch_args a;
    cvm_op op = CVM_OP_HELLO;
    int32_t value = 0;

    cvm_cbor_writer_init(&w, out, cap);
    cvm_err e = cvm_dispatch_decode(&req, &op, &a);
    if (e == CVM_ERR_OK && cvm_op_batchable[op]) {
        e = cvm_dispatch_pool_op(d, op, &a, &value);
        if (e == CVM_ERR_OK && cvm_op_int32_result[op]) {
            cvm_dispatch_put_ok_head(&w, req.seq);
            (void)cvm_cbor_put_int(&w, value);
            cvm_dispatch_count(d, e);
            return cvm_cbor_writer_len(&w);
        }
    } else if (e == CVM_ERR_OK) {
        switch (op) {
        case CVM_OP_HELLO:
            cvm_dispatch_put_ok_head(&w, req.seq);
            cvm_dispatch_put_hello(d, &w);
            break;
        case CVM_OP_STATS:
            cvm_dispatch_put_ok_head(&w, req.seq);
            cvm_dispatch_put_stats(d, &w);
            break;
        case CVM_OP_ECHO:
            cvm_dispatch_put_ok_head(&w, req.seq);
            (void)cvm_cbor_put_bstr(&w, a.bytes, a.bytes_len);
            break;
        case CVM_OP_BATCH:
            if (a.ops_count > CVM_MAX_BATCH_OPS) {
                e = CVM_ERR_TOO_LARGE;
                break;
            }
            cvm_dispatch_put_ok_head(&w, req.seq);
            (void)cvm_cbor_put_array(&w, a.ops_count);
            for (uint64_t i = 0; i < a.ops_count; i++) {
                cvm_cbor_reader entry = req.rest;
                (void)cvm_cbor_skip(&req.rest); /* cannot fail: step 1 proved it well-formed */
                cvm_dispatch_batch_entry(d, &entry, &w);
            }
            /* A batch counts as its entries, each counted as it completed. */
            return cvm_cbor_writer_len(&w);
        case CVM_OP_ACQUIRE:
        case CVM_OP_RELEASE:
        case CVM_OP_LOAD_GLOBAL:
        case CVM_OP_STORE_GLOBAL:
        case CVM_OP_CREATE_ARRAY:
        case CVM_OP_LOAD_ARRAY:
        case CVM_OP_STORE_ARRAY:
        case CVM_OP_RESET_POOL:
            break; /* not reached: batchable, run above */
        }
        if (e == CVM_ERR_OK) {
            cvm_dispatch_count(d, e);
            return cvm_cbor_writer_len(&w);
        }
    }
    cvm_dispatch_put_status(&w, req.seq, e);
    cvm_dispatch_count(d, e);
    return cvm_cbor_writer_len(&w);
}
