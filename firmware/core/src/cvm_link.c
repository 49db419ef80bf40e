#include "cvm_link.h"

#include <string.h>

#include "cvm_cbor.h"

void cvm_link_init(cvm_link *l)
{
    memset(l, 0, sizeof *l);
}

/* Empties the cache (a new session, or a response that cannot be cached). */
static void cvm_link_empty(cvm_link *l)
{
    l->first = 0;
    l->count = 0;
    l->used = 0;
}

/* Drops the oldest entry; the cache is not empty. */
static void cvm_link_evict(cvm_link *l)
{
    l->used = (uint16_t)(l->used - l->index[l->first].len);
    l->first = (uint16_t)((l->first + 1u) % CVM_REPLAY_DEPTH);
    l->count--;
}

/* [seq, code] or, when has_next, [seq, code, next]; 0 when it does not fit cap. */
static size_t cvm_link_put_refusal(uint8_t *out, size_t cap, uint32_t seq, cvm_err code,
                                   bool has_next, uint32_t next)
{
    cvm_cbor_writer w;
    cvm_cbor_writer_init(&w, out, cap);
    (void)cvm_cbor_put_array(&w, has_next ? 3u : 2u);
    (void)cvm_cbor_put_uint(&w, seq);
    (void)cvm_cbor_put_uint(&w, (uint64_t)code);
    if (has_next) {
        (void)cvm_cbor_put_uint(&w, next);
    }
    return cvm_cbor_writer_len(&w);
}

size_t cvm_link_cached(const cvm_link *l, uint32_t seq, uint8_t *out, size_t cap)
{
    /* d = (next - seq) mod 2^32: 1 is the newest entry, count the oldest. */
    uint32_t d = l->next - seq;
    if (!l->open || d == 0u || d > l->count) {
        return 0;
    }
    const cvm_link_entry *e = &l->index[(l->first + l->count - d) % CVM_REPLAY_DEPTH];
    size_t len = e->len;
    if (len > cap) {
        return 0;
    }
    size_t head = CVM_REPLAY_BYTES - e->offset; /* bytes before the ring's end */
    if (len <= head) {
        memcpy(out, &l->ring[e->offset], len);
    } else {
        memcpy(out, &l->ring[e->offset], head);
        memcpy(out + head, l->ring, len - head);
    }
    return len;
}

/* Empties the hold (a new session). */
static void cvm_link_empty_hold(cvm_link *l)
{
    for (size_t i = 0; i < CVM_HOLD_DEPTH; i++) {
        l->hold[i].len = 0;
    }
}

cvm_link_action cvm_link_receive(cvm_link *l, uint32_t seq, bool is_hello, const uint8_t *msg,
                                 size_t msg_len, uint8_t *out, size_t cap, size_t *out_len)
{
    uint32_t d = l->next - seq;
    *out_len = 0;
    /* Rule 1: a duplicate of a cached response. */
    if (l->open && d >= 1u && d <= l->count) {
        l->counters.replayed++;
        *out_len = cvm_link_cached(l, seq, out, cap);
        return CVM_LINK_REPLAY;
    }
    /* Rule 2: a hello opens a new session, whatever next is. */
    if (is_hello) {
        cvm_link_empty(l);
        cvm_link_empty_hold(l);
        l->open = true;
        l->next = seq;
        l->hold_next = (uint16_t)(seq % CVM_HOLD_DEPTH);
        l->counters.sessions++;
        return CVM_LINK_NEW_SESSION;
    }
    /* Rule 3. */
    if (!l->open) {
        l->counters.no_session++;
        *out_len = cvm_link_put_refusal(out, cap, seq, CVM_ERR_NO_SESSION, false, 0u);
        return CVM_LINK_NO_SESSION;
    }
    /* Rule 4. */
    if (d == 0u) {
        return CVM_LINK_EXECUTE;
    }
    /* Rule 5: 1..CVM_HOLD_DEPTH ahead and short enough: held (a copy replaces the one held). */
    uint32_t ahead = seq - l->next;
    if (ahead <= CVM_HOLD_DEPTH && msg_len >= 1u && msg_len <= CVM_HOLD_MESSAGE_BYTES) {
        cvm_link_slot *slot = &l->hold[((size_t)l->hold_next + ahead) % CVM_HOLD_DEPTH];
        memcpy(slot->msg, msg, msg_len);
        slot->len = (uint16_t)msg_len;
        l->counters.held++;
        *out_len = cvm_link_put_refusal(out, cap, seq, CVM_ERR_HELD, true, l->next);
        return CVM_LINK_HELD;
    }
    /* Rule 6: a gap the hold cannot take, or older than the cache. */
    l->counters.out_of_sequence++;
    *out_len = cvm_link_put_refusal(out, cap, seq, CVM_ERR_OUT_OF_SEQUENCE, true, l->next);
    return CVM_LINK_OUT_OF_SEQUENCE;
}

const uint8_t *cvm_link_take_held(cvm_link *l, size_t *len)
{
    /* Without a session the hold is empty: init empties it and only rule 5, after rule 3, fills
     * it. */
    cvm_link_slot *slot = &l->hold[l->hold_next];
    size_t n = slot->len;
    *len = n;
    if (n == 0u) {
        return NULL;
    }
    slot->len = 0;
    return slot->msg;
}

void cvm_link_cache(cvm_link *l, const uint8_t *msg, size_t len)
{
    l->next++;
    l->hold_next = (uint16_t)(l->hold_next + 1u == CVM_HOLD_DEPTH ? 0u : l->hold_next + 1u);
    if (len > CVM_REPLAY_BYTES) {
        cvm_link_empty(l);
        return;
    }
    while (l->count > 0u && (l->count == CVM_REPLAY_DEPTH || l->used + len > CVM_REPLAY_BYTES)) {
        cvm_link_evict(l);
    }
    /* The entries' bytes are contiguous (mod the ring) from the oldest one's offset. */
    size_t offset = l->count == 0u
                        ? 0u
                        : ((size_t)l->index[l->first].offset + l->used) % CVM_REPLAY_BYTES;
    if (l->count == 0u) {
        l->first = 0;
    }
    size_t head = CVM_REPLAY_BYTES - offset;
    if (len == 0u) {
        /* nothing to copy (msg may then be NULL) */
    } else if (len <= head) {
        memcpy(&l->ring[offset], msg, len);
    } else {
        memcpy(&l->ring[offset], msg, head);
        memcpy(l->ring, msg + head, len - head);
    }
    cvm_link_entry *e = &l->index[(l->first + l->count) % CVM_REPLAY_DEPTH];
    e->offset = (uint16_t)offset;
    e->len = (uint16_t)len;
    l->count++;
    l->used = (uint16_t)(l->used + len);
}
