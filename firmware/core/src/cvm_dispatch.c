#include "cvm_dispatch.h"

#include <string.h>

#include "cvm_cbor.h"
#include "cvm_port.h"

/*
 * Largest hello response: head 7, map head 1, 12 one-byte keys, then the values: version 1,
 * firmware id (head 2 + CVM_FIRMWARE_ID_MAX), the four limits (at most 1 + 2 + 2 + 3 at their
 * protocol maxima), max_line 3, max_batch 2, nonce 5, uptime 5, reset cause (head 1 + 9), unique
 * id (head 1 + 12).
 */
#define CVM_HELLO_RESPONSE_MAX (7u + 1u + 12u + 1u + 2u + CVM_FIRMWARE_ID_MAX + 8u + 3u + 2u + 5u + 5u + 10u + 13u)
_Static_assert(CVM_HELLO_RESPONSE_MAX <= CVM_MAX_MESSAGE_BYTES, "hello response may not fit");
_Static_assert(CVM_FIRMWARE_ID_MAX < 256u, "firmware id head must stay 2 bytes");

static const char *const cvm_reset_cause_names[CVM_RESET_CAUSE_COUNT] = CVM_RESET_CAUSE_NAMES;

void cvm_dispatch_init(cvm_dispatch *d, const cvm_memory_ops *mem, const cvm_line_counters *link,
                       const cvm_identity *identity)
{
    memset(d, 0, sizeof *d);
    d->mem = mem;
    d->link = link;
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
 * Reads an id, index or size argument (§3.1 step 4): any integer is the right type; a negative one
 * or one past uint32 becomes CVM_POOL_ID_INVALID, which the pool rejects at that argument's own
 * check (out_of_range, or bad_size for a size). Anything else is bad_arg.
 */
static cvm_err cvm_dispatch_read_id(cvm_cbor_reader *r, uint32_t *id)
{
    bool negative;
    uint64_t arg;
    if (cvm_cbor_read_int(r, &negative, &arg) != CVM_CBOR_OK) {
        return CVM_ERR_BAD_ARG;
    }
    *id = (negative || arg > 0xFFFFFFFFu) ? CVM_POOL_ID_INVALID : (uint32_t)arg;
    return CVM_ERR_OK;
}

/* Arguments of each pool operation, by op code; 0xFF for the operations that are not. */
static const uint8_t cvm_pool_op_argc[CVM_OP_COUNT] = {
    [CVM_OP_HELLO] = 0xFFu,       [CVM_OP_ACQUIRE] = 1u,      [CVM_OP_RELEASE] = 1u,
    [CVM_OP_LOAD_GLOBAL] = 2u,    [CVM_OP_STORE_GLOBAL] = 3u, [CVM_OP_CREATE_ARRAY] = 3u,
    [CVM_OP_LOAD_ARRAY] = 3u,     [CVM_OP_STORE_ARRAY] = 4u,  [CVM_OP_STATS] = 0xFFu,
    [CVM_OP_BATCH] = 0xFFu,       [CVM_OP_ECHO] = 0xFFu,      [CVM_OP_RESET_POOL] = 0u,
};

/*
 * Runs the pool operation `op` (one whose cvm_pool_op_argc is not 0xFF) whose argc arguments are
 * next in r: §3.1 step 4, then the pool's checks (step 5). Sets *has_value when the result is an
 * int32 in *value. Does not count the operation.
 */
static cvm_err cvm_dispatch_pool_op(cvm_dispatch *d, cvm_op op, cvm_cbor_reader *r, uint64_t argc,
                                    int32_t *value, bool *has_value)
{
    uint32_t a[3] = {0, 0, 0};
    int32_t v = 0;
    uint8_t want = cvm_pool_op_argc[op];

    *has_value = false;
    if (argc != want) {
        return CVM_ERR_BAD_ARG;
    }
    /* store_global and store_array end in an int32 value; every other argument is an id. */
    bool stores = op == CVM_OP_STORE_GLOBAL || op == CVM_OP_STORE_ARRAY;
    unsigned ids = stores ? want - 1u : want;
    for (unsigned i = 0; i < ids; i++) {
        if (cvm_dispatch_read_id(r, &a[i]) != CVM_ERR_OK) {
            return CVM_ERR_BAD_ARG;
        }
    }
    if (stores && cvm_cbor_read_int32(r, &v) != CVM_CBOR_OK) {
        return CVM_ERR_BAD_ARG;
    }

    const cvm_memory_ops *m = d->mem;
    switch (op) {
    case CVM_OP_ACQUIRE:
        return m->acquire(a[0]);
    case CVM_OP_RELEASE:
        return m->release(a[0]);
    case CVM_OP_LOAD_GLOBAL:
        *has_value = true;
        return m->load_global(a[0], a[1], value);
    case CVM_OP_STORE_GLOBAL:
        return m->store_global(a[0], a[1], v);
    case CVM_OP_CREATE_ARRAY:
        return m->create_array(a[0], a[1], a[2]);
    case CVM_OP_LOAD_ARRAY:
        *has_value = true;
        return m->load_array(a[0], a[1], a[2], value);
    case CVM_OP_STORE_ARRAY:
        return m->store_array(a[0], a[1], a[2], v);
    case CVM_OP_RESET_POOL:
        m->reset();
        d->ops = 0;
        d->op_errors = 0;
        return CVM_ERR_OK;
    default:
        return CVM_ERR_UNKNOWN_OP; /* not reached: callers pass pool operations only */
    }
}

/* Runs one batch entry (§4.2) and writes its result. Counts it. */
static void cvm_dispatch_batch_entry(cvm_dispatch *d, cvm_cbor_reader *entry, cvm_cbor_writer *w)
{
    uint64_t n;
    uint64_t code;
    int32_t value = 0;
    bool has_value = false;
    cvm_err e;

    if (cvm_cbor_enter_array(entry, &n) != CVM_CBOR_OK || n == 0u ||
        cvm_cbor_read_uint(entry, &code) != CVM_CBOR_OK) {
        e = CVM_ERR_BAD_ARG;
    } else if (code >= CVM_OP_COUNT) {
        e = CVM_ERR_UNKNOWN_OP;
    } else if (cvm_pool_op_argc[code] == 0xFFu) {
        e = CVM_ERR_NOT_IN_BATCH;
    } else {
        e = cvm_dispatch_pool_op(d, (cvm_op)code, entry, n - 1u, &value, &has_value);
    }
    cvm_dispatch_count(d, e);
    if (e != CVM_ERR_OK) {
        (void)cvm_cbor_put_array(w, 1u);
        (void)cvm_cbor_put_uint(w, (uint64_t)e);
    } else if (has_value) {
        (void)cvm_cbor_put_array(w, 2u);
        (void)cvm_cbor_put_uint(w, 0u);
        (void)cvm_cbor_put_int(w, value);
    } else {
        (void)cvm_cbor_put_array(w, 1u);
        (void)cvm_cbor_put_uint(w, 0u);
    }
}

/* Writes hello's result map (§5). */
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
}

/* Writes stats' result map (§6): the counters as they are before this operation is counted. */
static void cvm_dispatch_put_stats(const cvm_dispatch *d, cvm_cbor_writer *w)
{
    cvm_pool_telemetry t;
    static const cvm_line_counters none;
    const cvm_line_counters *link = d->link != NULL ? d->link : &none;

    d->mem->telemetry(&t);
    const uint32_t counters[13] = {
        t.contexts_acquired, t.contexts_hw,   t.acquires,         t.releases,
        d->ops,              d->op_errors,    link->rx_frames,    link->rx_bad_frame,
        link->rx_bad_crc,    link->rx_overlong, d->rx_malformed,  link->rx_noise,
        cvm_port_rx_overruns(),
    };
    (void)cvm_cbor_put_map(w, CVM_STATS_KEY_COUNT);
    for (unsigned k = 0; k < 13u; k++) {
        (void)cvm_cbor_put_uint(w, k + 1u); /* keys CVM_STATS_CONTEXTS_ACQUIRED..RX_OVERRUN */
        (void)cvm_cbor_put_uint(w, counters[k]);
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
}
_Static_assert(CVM_STATS_RX_OVERRUN == 13 && CVM_STATS_CONTEXTS == 14, "stats keys moved");

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

size_t cvm_dispatch_handle(cvm_dispatch *d, const uint8_t *msg, size_t len, uint8_t *out,
                           size_t cap)
{
    cvm_cbor_reader r;
    cvm_cbor_writer w;
    uint64_t n;
    uint64_t seq64;
    uint64_t op;

    /* Steps 1 and 2: no reply. */
    if (cvm_cbor_check(msg, len, CVM_MAX_CBOR_DEPTH) != CVM_CBOR_OK) {
        d->rx_malformed++;
        return 0;
    }
    cvm_cbor_reader_init(&r, msg, len);
    if (cvm_cbor_enter_array(&r, &n) != CVM_CBOR_OK || n == 0u ||
        cvm_cbor_read_uint(&r, &seq64) != CVM_CBOR_OK || seq64 > 0xFFFFFFFFu) {
        d->rx_malformed++;
        return 0;
    }
    uint32_t seq = (uint32_t)seq64;
    cvm_cbor_writer_init(&w, out, cap);

    /* Step 3. */
    cvm_err e;
    if (n < 2u || cvm_cbor_read_uint(&r, &op) != CVM_CBOR_OK) {
        e = CVM_ERR_BAD_ARG;
    } else if (op >= CVM_OP_COUNT) {
        e = CVM_ERR_UNKNOWN_OP;
    } else {
        uint64_t argc = n - 2u;
        switch ((cvm_op)op) {
        case CVM_OP_HELLO:
            if (argc != 0u) {
                e = CVM_ERR_BAD_ARG;
                break;
            }
            cvm_dispatch_put_ok_head(&w, seq);
            cvm_dispatch_put_hello(d, &w);
            cvm_dispatch_count(d, CVM_ERR_OK);
            return cvm_cbor_writer_len(&w);
        case CVM_OP_STATS:
            if (argc != 0u) {
                e = CVM_ERR_BAD_ARG;
                break;
            }
            cvm_dispatch_put_ok_head(&w, seq);
            cvm_dispatch_put_stats(d, &w);
            cvm_dispatch_count(d, CVM_ERR_OK);
            return cvm_cbor_writer_len(&w);
        case CVM_OP_ECHO: {
            const uint8_t *payload;
            size_t payload_len;
            if (argc != 1u || cvm_cbor_read_bstr(&r, &payload, &payload_len) != CVM_CBOR_OK) {
                e = CVM_ERR_BAD_ARG;
                break;
            }
            cvm_dispatch_put_ok_head(&w, seq);
            (void)cvm_cbor_put_bstr(&w, payload, payload_len);
            cvm_dispatch_count(d, CVM_ERR_OK);
            return cvm_cbor_writer_len(&w);
        }
        case CVM_OP_BATCH: {
            uint64_t entries;
            if (argc != 1u || cvm_cbor_enter_array(&r, &entries) != CVM_CBOR_OK) {
                e = CVM_ERR_BAD_ARG;
                break;
            }
            if (entries > CVM_MAX_BATCH_OPS) {
                e = CVM_ERR_TOO_LARGE;
                break;
            }
            cvm_dispatch_put_ok_head(&w, seq);
            (void)cvm_cbor_put_array(&w, entries);
            for (uint64_t i = 0; i < entries; i++) {
                cvm_cbor_reader entry = r;
                (void)cvm_cbor_skip(&r); /* cannot fail: step 1 proved the message well-formed */
                cvm_dispatch_batch_entry(d, &entry, &w);
            }
            /* A batch counts as its entries, each counted as it completed. */
            return cvm_cbor_writer_len(&w);
        }
        default: {
            int32_t value = 0;
            bool has_value = false;
            e = cvm_dispatch_pool_op(d, (cvm_op)op, &r, argc, &value, &has_value);
            if (e == CVM_ERR_OK && has_value) {
                cvm_dispatch_put_ok_head(&w, seq);
                (void)cvm_cbor_put_int(&w, value);
                cvm_dispatch_count(d, e);
                return cvm_cbor_writer_len(&w);
            }
            break;
        }
        }
    }
    cvm_dispatch_put_status(&w, seq, e);
    cvm_dispatch_count(d, e);
    return cvm_cbor_writer_len(&w);
}
