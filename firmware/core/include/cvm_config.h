/*
 * Build-time limits of the pool and of the link layer's replay cache and hold. Each is
 * #ifndef-guarded so a build overrides it with -D, e.g.
 * `-DMAX_CONCURRENT_VMS=2 -DVM_MAX_GLOBALS=16 -DVM_MAX_ARRAYS=4 -DVM_ARRAY_ELEMENTS=16` (the
 * "small" configuration of firmware/Makefile). Defaults come from protocol/constants.json through
 * the generated cvm_protocol.h; the protocol's maxima are enforced here at compile time.
 *
 * Every other header of the core includes this one, so every object of one build sees the same
 * limits.
 */
#ifndef CVM_CONFIG_H
#define CVM_CONFIG_H

#include "cvm_protocol.h"

/** VM memory contexts in the pool (vm ids 0..MAX_CONCURRENT_VMS-1). */
#ifndef MAX_CONCURRENT_VMS
#define MAX_CONCURRENT_VMS CVM_DEFAULT_MAX_CONCURRENT_VMS
#endif

/** int32 globals per context (global ids 0..VM_MAX_GLOBALS-1). */
#ifndef VM_MAX_GLOBALS
#define VM_MAX_GLOBALS CVM_DEFAULT_VM_MAX_GLOBALS
#endif

/** Arrays per context (array ids 0..VM_MAX_ARRAYS-1). */
#ifndef VM_MAX_ARRAYS
#define VM_MAX_ARRAYS CVM_DEFAULT_VM_MAX_ARRAYS
#endif

/** Most int32 elements in one array (indexes 0..VM_ARRAY_ELEMENTS-1, sizes 1..VM_ARRAY_ELEMENTS). */
#ifndef VM_ARRAY_ELEMENTS
#define VM_ARRAY_ELEMENTS CVM_DEFAULT_VM_ARRAY_ELEMENTS
#endif

_Static_assert(MAX_CONCURRENT_VMS >= 1 && MAX_CONCURRENT_VMS <= CVM_LIMIT_MAX_CONCURRENT_VMS,
               "MAX_CONCURRENT_VMS must be 1..CVM_LIMIT_MAX_CONCURRENT_VMS");
_Static_assert(VM_MAX_GLOBALS >= 1 && VM_MAX_GLOBALS <= CVM_LIMIT_VM_MAX_GLOBALS,
               "VM_MAX_GLOBALS must be 1..CVM_LIMIT_VM_MAX_GLOBALS");
_Static_assert(VM_MAX_ARRAYS >= 1 && VM_MAX_ARRAYS <= CVM_LIMIT_VM_MAX_ARRAYS,
               "VM_MAX_ARRAYS must be 1..CVM_LIMIT_VM_MAX_ARRAYS");
_Static_assert(VM_ARRAY_ELEMENTS >= 1 && VM_ARRAY_ELEMENTS <= CVM_LIMIT_VM_ARRAY_ELEMENTS,
               "VM_ARRAY_ELEMENTS must be 1..CVM_LIMIT_VM_ARRAY_ELEMENTS");

/** Responses the link layer's replay cache keeps (PROTOCOL.md §3.3; hello key 13). */
#ifndef CVM_REPLAY_DEPTH
#define CVM_REPLAY_DEPTH CVM_DEFAULT_REPLAY_DEPTH
#endif

/** Bytes of response messages the replay cache holds (§3.3; hello key 14). */
#ifndef CVM_REPLAY_BYTES
#define CVM_REPLAY_BYTES CVM_DEFAULT_REPLAY_BYTES
#endif

_Static_assert(CVM_REPLAY_DEPTH >= CVM_LIMIT_MIN_REPLAY_DEPTH &&
                   CVM_REPLAY_DEPTH <= CVM_LIMIT_REPLAY_DEPTH,
               "CVM_REPLAY_DEPTH must be CVM_LIMIT_MIN_REPLAY_DEPTH..CVM_LIMIT_REPLAY_DEPTH");
_Static_assert(CVM_REPLAY_BYTES >= CVM_LIMIT_MIN_REPLAY_BYTES &&
                   CVM_REPLAY_BYTES <= CVM_LIMIT_REPLAY_BYTES,
               "CVM_REPLAY_BYTES must be CVM_LIMIT_MIN_REPLAY_BYTES..CVM_LIMIT_REPLAY_BYTES");
_Static_assert(CVM_REPLAY_BYTES >= CVM_MAX_MESSAGE_BYTES,
               "CVM_REPLAY_BYTES must hold the largest response (CVM_MAX_MESSAGE_BYTES)");

/** Requests past a gap the link layer's hold keeps, one slot each (§3.3 rule 5; hello key 15). */
#ifndef CVM_HOLD_DEPTH
#define CVM_HOLD_DEPTH CVM_DEFAULT_HOLD_DEPTH
#endif

/** Longest request message (CBOR, without CRC) a hold slot keeps, in bytes (§3.3; hello key 16). */
#ifndef CVM_HOLD_MESSAGE_BYTES
#define CVM_HOLD_MESSAGE_BYTES CVM_DEFAULT_HOLD_MESSAGE_BYTES
#endif

_Static_assert(CVM_HOLD_DEPTH >= CVM_LIMIT_MIN_HOLD_DEPTH &&
                   CVM_HOLD_DEPTH <= CVM_LIMIT_HOLD_DEPTH,
               "CVM_HOLD_DEPTH must be CVM_LIMIT_MIN_HOLD_DEPTH..CVM_LIMIT_HOLD_DEPTH");
_Static_assert(CVM_HOLD_MESSAGE_BYTES >= CVM_LIMIT_MIN_HOLD_MESSAGE_BYTES &&
                   CVM_HOLD_MESSAGE_BYTES <= CVM_LIMIT_HOLD_MESSAGE_BYTES,
               "CVM_HOLD_MESSAGE_BYTES must be "
               "CVM_LIMIT_MIN_HOLD_MESSAGE_BYTES..CVM_LIMIT_HOLD_MESSAGE_BYTES");

/*
 * Worst-case response sizes, computed from the limits above, so that a configuration whose
 * answers could not fit one frame fails to compile instead of failing on the wire.
 *
 * CVM_CBOR_UINT_SIZE(v) is the size of the shortest CBOR head carrying v (RFC 8949 §4.2.1).
 * A response starts with [seq, 0, ...]: array head 1 + seq (uint32) 5 + status 1 = 7 bytes.
 *
 * stats = 7 + map head 1 + keys 1..19 (19 x 1) + 18 uint32 counters (keys 1..13 and 15..19,
 *         18 x 5) + key 14's array head + MAX_CONCURRENT_VMS x context entry, where a context
 *         entry is
 *         array head 1 + acquired 1 + globals_in_use + arrays_active + elements + bytes_used
 *         + the three high-water marks, each at most its limit:
 *           globals_in_use, hw_globals <= VM_MAX_GLOBALS
 *           arrays_active, hw_arrays   <= VM_MAX_ARRAYS
 *           elements, hw_elements      <= VM_MAX_ARRAYS * VM_ARRAY_ELEMENTS
 *           bytes_used                 <= 4 * (VM_MAX_GLOBALS + VM_MAX_ARRAYS * VM_ARRAY_ELEMENTS)
 *         Defaults (4, 64, 16, 64): 17 bytes an entry, 186 bytes in all.
 *
 * batch = 7 + array head (<= 32 entries: 2) + CVM_MAX_BATCH_OPS x 7, the largest result being
 *         [0, int32] = array head 1 + 0 + int32 5. 233 bytes.
 *
 * hello and echo are bounded elsewhere: echo's answer is never longer than its request, and
 * cvm_dispatch.h bounds the firmware id (see CVM_FIRMWARE_ID_MAX).
 */
#define CVM_CBOR_UINT_SIZE(v)                                                                       \
    ((unsigned long long)(v) < 24ull ? 1u                                                           \
     : (unsigned long long)(v) <= 0xFFull ? 2u                                                      \
     : (unsigned long long)(v) <= 0xFFFFull ? 3u                                                    \
     : (unsigned long long)(v) <= 0xFFFFFFFFull ? 5u                                                \
                                                : 9u)

#define CVM_RESPONSE_HEAD_MAX 7u

#define CVM_MAX_ELEMENTS_PER_CONTEXT ((unsigned long long)VM_MAX_ARRAYS * VM_ARRAY_ELEMENTS)

#define CVM_STATS_CONTEXT_ENTRY_MAX                                                                 \
    (1u + 1u + 2u * CVM_CBOR_UINT_SIZE(VM_MAX_GLOBALS) + 2u * CVM_CBOR_UINT_SIZE(VM_MAX_ARRAYS) +   \
     2u * CVM_CBOR_UINT_SIZE(CVM_MAX_ELEMENTS_PER_CONTEXT) +                                        \
     CVM_CBOR_UINT_SIZE(4ull * (VM_MAX_GLOBALS + CVM_MAX_ELEMENTS_PER_CONTEXT)))

/** stats' uint32 counters: every key but CVM_STATS_CONTEXTS (the per-context array). */
#define CVM_STATS_COUNTER_COUNT (CVM_STATS_KEY_COUNT - 1u)
_Static_assert(CVM_STATS_KEY_COUNT < 24u, "stats keys and map head must stay one byte each");

/** Largest stats response of this build, in bytes. */
#define CVM_STATS_RESPONSE_MAX                                                                      \
    (CVM_RESPONSE_HEAD_MAX + 1u + CVM_STATS_KEY_COUNT + CVM_STATS_COUNTER_COUNT * 5u +              \
     CVM_CBOR_UINT_SIZE(MAX_CONCURRENT_VMS) + MAX_CONCURRENT_VMS * CVM_STATS_CONTEXT_ENTRY_MAX)

/** Largest batch response, in bytes. */
#define CVM_BATCH_RESPONSE_MAX                                                                      \
    (CVM_RESPONSE_HEAD_MAX + CVM_CBOR_UINT_SIZE(CVM_MAX_BATCH_OPS) + CVM_MAX_BATCH_OPS * 7u)

_Static_assert(CVM_STATS_RESPONSE_MAX <= CVM_MAX_MESSAGE_BYTES,
               "a worst-case stats response of this configuration does not fit one message");
_Static_assert(CVM_BATCH_RESPONSE_MAX <= CVM_MAX_MESSAGE_BYTES,
               "a worst-case batch response does not fit one message");

#endif /* CVM_CONFIG_H */
