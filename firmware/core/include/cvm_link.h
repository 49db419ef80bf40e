/*
 * The link layer (PROTOCOL.md §3.3): every request executed exactly once and in order over a
 * lossy line. It holds the session (open or not, and `next`, the seq it executes next), the replay
 * cache of the responses of the session's most recent executed requests, and the counters stats
 * reports as keys 15..18.
 *
 * The replay cache is a byte ring of CVM_REPLAY_BYTES holding the response messages (CBOR, no
 * CRC) back to back, and an index of at most CVM_REPLAY_DEPTH entries {offset, len}, oldest
 * first; an entry's bytes may wrap around the end of the ring. It always holds the responses of a
 * run of consecutive seqs ending at next - 1. Caching evicts the oldest entries (FIFO) while the
 * index is full or the new response does not fit the free bytes.
 *
 * The caller owns the cvm_link struct and every buffer. No allocation, no I/O. Not reentrant per
 * instance. The sizes come from cvm_config.h (CVM_REPLAY_DEPTH, CVM_REPLAY_BYTES).
 *
 * Use, for each request that passed §3.1 steps 1 and 2 (its seq known):
 *   action = cvm_link_receive(l, seq, is_hello, out, cap, &n);
 *   if action is CVM_LINK_EXECUTE or CVM_LINK_NEW_SESSION: execute it into out, then
 *       cvm_link_cache(l, out, n) (this is what advances next);
 *   send out[0..n) (unless n is 0).
 */
#ifndef CVM_LINK_H
#define CVM_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm_config.h"
#include "cvm_protocol.h"

/** What cvm_link_receive() decided for a request, in the order of the rules of §3.3. */
typedef enum {
    CVM_LINK_REPLAY = 1,           /**< Rule 1: a duplicate; out holds its cached response. */
    CVM_LINK_NEW_SESSION = 2,      /**< Rule 2: a hello opened a new session; execute it, cache. */
    CVM_LINK_NO_SESSION = 3,       /**< Rule 3: out holds [seq, 13]. */
    CVM_LINK_EXECUTE = 4,          /**< Rule 4: seq == next; execute it, cache. */
    CVM_LINK_OUT_OF_SEQUENCE = 5,  /**< Rule 5: out holds [seq, 12, next]. */
} cvm_link_action;

/** The link layer's counters (stats keys 15..18). uint32, wrapping; never cleared but at init. */
typedef struct {
    uint32_t replayed;         /**< Duplicates answered from the cache (rule 1). */
    uint32_t out_of_sequence;  /**< [seq, 12, next] answers (rule 5). */
    uint32_t no_session;       /**< [seq, 13] answers (rule 3). */
    uint32_t sessions;         /**< Sessions opened by a hello (rule 2). */
} cvm_link_counters;

/**
 * One cached response: where its bytes are in the ring. Its seq is not stored: the entries hold a
 * run of consecutive seqs ending at next - 1, so the k-th from the oldest is next - count + k.
 */
typedef struct {
    uint16_t offset;  /**< First byte in ring[], 0..CVM_REPLAY_BYTES-1. */
    uint16_t len;     /**< Bytes, 0..CVM_MAX_MESSAGE_BYTES; may run past the ring's end and wrap. */
} cvm_link_entry;

_Static_assert(CVM_REPLAY_BYTES <= 65535u, "ring offsets are uint16_t");

typedef struct {
    bool open;                                /**< A session is open (a hello since init). */
    uint32_t next;                            /**< The seq executed next; meaningful when open. */
    uint16_t first;                           /**< Index slot of the oldest entry. */
    uint16_t count;                           /**< Entries cached, 0..CVM_REPLAY_DEPTH. */
    uint16_t used;                            /**< Ring bytes the entries hold. */
    cvm_link_entry index[CVM_REPLAY_DEPTH];   /**< Ring of entries, first..first+count-1. */
    uint8_t ring[CVM_REPLAY_BYTES];
    cvm_link_counters counters;
} cvm_link;

/** Boot state: no session, an empty cache, counters 0. */
void cvm_link_init(cvm_link *l);

/**
 * Applies the rules of §3.3, in order, to a request with this seq; is_hello says whether it is
 * exactly [seq, 0] (two elements, the second the unsigned integer 0). Updates the counters.
 *
 * @param out  Caller-owned, cap >= CVM_MAX_MESSAGE_BYTES makes every answer fit.
 * @param out_len  Set to the length of the answer written into out for CVM_LINK_REPLAY,
 *                 CVM_LINK_NO_SESSION and CVM_LINK_OUT_OF_SEQUENCE (0 if it did not fit cap);
 *                 set to 0 for the two actions that ask the caller to execute.
 * @return the action. For CVM_LINK_NEW_SESSION the cache is already empty and next is seq; for
 *         both executing actions the caller must then call cvm_link_cache() with the response.
 */
cvm_link_action cvm_link_receive(cvm_link *l, uint32_t seq, bool is_hello, uint8_t *out,
                                 size_t cap, size_t *out_len);

/**
 * Caches msg[0..len) as the response of seq next, evicting the oldest entries as needed, and
 * advances next by 1 (wrapping at 2^32). Call exactly once after each executing action. The bytes
 * are copied. A len above CVM_REPLAY_BYTES (never, since CVM_REPLAY_BYTES >=
 * CVM_MAX_MESSAGE_BYTES) empties the cache and caches nothing, so it never holds a gap.
 */
void cvm_link_cache(cvm_link *l, const uint8_t *msg, size_t len);

/**
 * Copies the cached response of seq into out[0..cap).
 * @return its length, or 0 when seq is not cached or the response does not fit cap.
 */
size_t cvm_link_cached(const cvm_link *l, uint32_t seq, uint8_t *out, size_t cap);

#endif /* CVM_LINK_H */
