/*
 * The link layer (PROTOCOL.md §3.3): every request executed exactly once and in order over a
 * lossy line. It holds the session (open or not, and `next`, the seq it executes next), the replay
 * cache of the responses of the session's most recent executed requests, the hold of the requests
 * that arrived past a gap, and the counters stats reports as keys 15..19.
 *
 * The replay cache is a byte ring of CVM_REPLAY_BYTES holding the response messages (CBOR, no
 * CRC) back to back, and an index of at most CVM_REPLAY_DEPTH entries {offset, len}, oldest
 * first; an entry's bytes may wrap around the end of the ring. It always holds the responses of a
 * run of consecutive seqs ending at next - 1. Caching evicts the oldest entries (FIFO) while the
 * index is full or the new response does not fit the free bytes.
 *
 * The hold is CVM_HOLD_DEPTH slots of a length (0: empty) and CVM_HOLD_MESSAGE_BYTES bytes, for
 * the request messages (CBOR, no CRC, as received) whose seq is 1..CVM_HOLD_DEPTH ahead of next.
 * The slot of a seq is seq mod CVM_HOLD_DEPTH, as §3.3 says, counted from next's slot: the link
 * keeps next's slot (hold_next) and moves it with next, so the seqs 1..CVM_HOLD_DEPTH ahead of next
 * always take distinct slots, across the wrap of seq at 2^32 too. With a CVM_HOLD_DEPTH that
 * divides 2^32 (a power of two, as the default 16) that is exactly seq mod CVM_HOLD_DEPTH; with
 * another depth, seq mod CVM_HOLD_DEPTH itself would put two of those seqs in one slot at the wrap
 * (with 3: 0xFFFFFFFF and 0) and one held request would replace another. A session's first slot is
 * its hello's seq mod CVM_HOLD_DEPTH. The hold is emptied by init and by a hello (rule 2) only.
 *
 * The caller owns the cvm_link struct and every buffer. No allocation, no I/O. Not reentrant per
 * instance. The sizes come from cvm_config.h (CVM_REPLAY_DEPTH, CVM_REPLAY_BYTES, CVM_HOLD_DEPTH,
 * CVM_HOLD_MESSAGE_BYTES).
 *
 * Use, for each request message msg[0..len) that passed §3.1 steps 1 and 2 (its seq known):
 *   action = cvm_link_receive(l, seq, is_hello, msg, len, out, cap, &n);
 *   if action is CVM_LINK_EXECUTE or CVM_LINK_NEW_SESSION:
 *       execute it into out, cvm_link_cache(l, out, n) (this is what advances next), send out;
 *       then drain (rule 4): while ((m = cvm_link_take_held(l, &k)) != NULL), parse m[0..k)
 *       again, execute it into out, cvm_link_cache(l, out, n'), send out;
 *   otherwise send out[0..n) (unless n is 0).
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
    CVM_LINK_EXECUTE = 4,          /**< Rule 4: seq == next; execute it, cache, then drain. */
    CVM_LINK_HELD = 5,             /**< Rule 5: the message is held; out holds [seq, 14, next]. */
    CVM_LINK_OUT_OF_SEQUENCE = 6,  /**< Rule 6: out holds [seq, 12, next]. */
} cvm_link_action;

/** The link layer's counters (stats keys 15..19). uint32, wrapping; never cleared but at init. */
typedef struct {
    uint32_t replayed;         /**< Duplicates answered from the cache (rule 1). */
    uint32_t out_of_sequence;  /**< [seq, 12, next] answers (rule 6). */
    uint32_t no_session;       /**< [seq, 13] answers (rule 3). */
    uint32_t sessions;         /**< Sessions opened by a hello (rule 2). */
    uint32_t held;             /**< [seq, 14, next] answers: requests held, copies too (rule 5). */
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

/** One hold slot: a request message held past a gap (§3.3 rule 5). */
typedef struct {
    uint16_t len;                         /**< Bytes, 1..CVM_HOLD_MESSAGE_BYTES; 0: empty. */
    uint8_t msg[CVM_HOLD_MESSAGE_BYTES];  /**< The message (CBOR, no CRC), as received. */
} cvm_link_slot;

_Static_assert(CVM_HOLD_MESSAGE_BYTES <= 65535u, "hold lengths are uint16_t");
_Static_assert(CVM_HOLD_DEPTH <= 65535u, "hold slot indexes are uint16_t");

typedef struct {
    bool open;                                /**< A session is open (a hello since init). */
    uint32_t next;                            /**< The seq executed next; meaningful when open. */
    uint16_t first;                           /**< Index slot of the oldest entry. */
    uint16_t count;                           /**< Entries cached, 0..CVM_REPLAY_DEPTH. */
    uint16_t used;                            /**< Ring bytes the entries hold. */
    uint16_t hold_next;                       /**< Hold slot of next, 0..CVM_HOLD_DEPTH-1. */
    cvm_link_entry index[CVM_REPLAY_DEPTH];   /**< Ring of entries, first..first+count-1. */
    uint8_t ring[CVM_REPLAY_BYTES];
    cvm_link_slot hold[CVM_HOLD_DEPTH];       /**< Slot (hold_next + k) % depth: seq next + k. */
    cvm_link_counters counters;
} cvm_link;

/** Boot state: no session, an empty cache, an empty hold, counters 0. */
void cvm_link_init(cvm_link *l);

/**
 * Applies the rules of §3.3, in order, to the request message msg[0..msg_len) with this seq;
 * is_hello says whether it is exactly [seq, 0] (two elements, the second the unsigned integer 0).
 * Updates the counters.
 *
 * @param msg  The request message (CBOR, without CRC), as cvm_line_message() gives it. Read only
 *             for rule 5, which copies it into the hold when 1 <= msg_len <=
 *             CVM_HOLD_MESSAGE_BYTES (a longer or empty one is refused by rule 6 instead). Not
 *             kept: it may change once this returns. May be NULL when msg_len is 0.
 * @param out  Caller-owned, must not overlap msg; cap >= CVM_MAX_MESSAGE_BYTES makes every answer
 *             fit.
 * @param out_len  Set to the length of the answer written into out for CVM_LINK_REPLAY,
 *                 CVM_LINK_NO_SESSION, CVM_LINK_HELD and CVM_LINK_OUT_OF_SEQUENCE (0 if it did
 *                 not fit cap: the rule is applied, and a held message held, all the same); set to
 *                 0 for the two actions that ask the caller to execute.
 * @return the action. For CVM_LINK_NEW_SESSION the cache and the hold are already empty and next
 *         is seq; for both executing actions the caller must then call cvm_link_cache() with the
 *         response, then drain the hold with cvm_link_take_held().
 */
cvm_link_action cvm_link_receive(cvm_link *l, uint32_t seq, bool is_hello, const uint8_t *msg,
                                 size_t msg_len, uint8_t *out, size_t cap, size_t *out_len);

/**
 * Caches msg[0..len) as the response of seq next, evicting the oldest entries as needed, and
 * advances next by 1 (wrapping at 2^32) and the hold's slot of next with it. Call exactly once
 * after each executing action and each request cvm_link_take_held() gave. The bytes are copied.
 * A len above CVM_REPLAY_BYTES (never, since CVM_REPLAY_BYTES >= CVM_MAX_MESSAGE_BYTES) empties
 * the cache and caches nothing, so it never holds a gap.
 */
void cvm_link_cache(cvm_link *l, const uint8_t *msg, size_t len);

/**
 * Rule 4's drain, one step: when a session is open and the hold slot of next holds a request (its
 * seq is next), empties the slot and gives that request's message, to be parsed and executed as if
 * it had just arrived, then cached with cvm_link_cache() (which moves next on to the following
 * slot). Call again after each until it gives NULL.
 *
 * Call it only right after cvm_link_cache() (of an executed request, or of the last request it
 * gave): then the slot of next can hold nothing but next's request. Before next has run, its slot
 * is also the slot of next + CVM_HOLD_DEPTH, which may be held there.
 *
 * @param len  Set to the message's length (1..CVM_HOLD_MESSAGE_BYTES), or 0 with NULL.
 * @return the message, inside l: its bytes stay unchanged until the next cvm_link_receive() or
 *         cvm_link_init() (only they write a slot), so the request may execute from them, and
 *         cvm_link_cache() may be called meanwhile; NULL when the slot is empty (next has not
 *         arrived: the drain is over; always so without a session, whose hold is empty).
 */
const uint8_t *cvm_link_take_held(cvm_link *l, size_t *len);

/**
 * Copies the cached response of seq into out[0..cap).
 * @return its length, or 0 when seq is not cached or the response does not fit cap.
 */
size_t cvm_link_cached(const cvm_link *l, uint32_t seq, uint8_t *out, size_t cap);

#endif /* CVM_LINK_H */
