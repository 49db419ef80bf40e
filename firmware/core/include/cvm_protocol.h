/* Generated from protocol/constants.json by protocol/gen/generate.ts. Do not edit: run `npm run gen`. */
#ifndef CVM_PROTOCOL_H
#define CVM_PROTOCOL_H

/** Protocol version spoken by this firmware. */
#define CVM_PROTOCOL_VERSION 3u

/** First byte of every frame line: '~' (0x7E), outside the base64 alphabet. */
#define CVM_FRAME_MARKER 126u
/** Most bytes a line may hold before its '\n' (marker, base64 and an optional '\r' included). Longer lines are discarded whole and counted as rx_overlong. */
#define CVM_MAX_LINE_BYTES 520u
/** Most bytes of a decoded frame: the CBOR message plus its 2-byte CRC. Its base64 form is 512 characters. */
#define CVM_MAX_FRAME_BYTES 384u
/** Most bytes of one CBOR message (max_frame_bytes minus the CRC). */
#define CVM_MAX_MESSAGE_BYTES 382u
/** CRC-16/XMODEM of the CBOR message, big-endian, after it. */
#define CVM_CRC_BYTES 2u
/** Most operations in one batch request. */
#define CVM_MAX_BATCH_OPS 32u
/** Deepest nesting of a request: the top-level array is depth 1. */
#define CVM_MAX_CBOR_DEPTH 4u
/** Most request-line bytes a host may have sent and not yet seen answered; the device's receive ring holds this much. */
#define CVM_MAX_INFLIGHT_BYTES 1024u
/** UART rate, 8N1. */
#define CVM_DEFAULT_BAUD 115200u

/* Default build-time limits; firmware/core/include/cvm_config.h lets -D override them. */
/** VM memory contexts in the pool (MAX_CONCURRENT_VMS). At most 15 so that a worst-case stats response (v3: with the link counters 15..19) fits in one frame. */
#define CVM_DEFAULT_MAX_CONCURRENT_VMS 4u
#define CVM_LIMIT_MAX_CONCURRENT_VMS 15u
/** int32 globals per context (VM_MAX_GLOBALS). */
#define CVM_DEFAULT_VM_MAX_GLOBALS 64u
#define CVM_LIMIT_VM_MAX_GLOBALS 255u
/** Arrays per context (VM_MAX_ARRAYS). */
#define CVM_DEFAULT_VM_MAX_ARRAYS 16u
#define CVM_LIMIT_VM_MAX_ARRAYS 255u
/** Most int32 elements in one array (VM_ARRAY_ELEMENTS). */
#define CVM_DEFAULT_VM_ARRAY_ELEMENTS 64u
#define CVM_LIMIT_VM_ARRAY_ELEMENTS 65535u

/* Link layer (PROTOCOL.md section 3.3): defaults of the replay cache and the hold; cvm_config.h lets -D override them. */
/** Responses the device keeps in its replay cache (CVM_REPLAY_DEPTH): a host keeps at most this many requests unanswered. */
#define CVM_DEFAULT_REPLAY_DEPTH 32u
#define CVM_LIMIT_MIN_REPLAY_DEPTH 1u
#define CVM_LIMIT_REPLAY_DEPTH 255u
/** Bytes of response messages the replay cache holds (CVM_REPLAY_BYTES): a host keeps the largest possible responses of its unanswered requests within this. At least max_message_bytes, so any one response fits. */
#define CVM_DEFAULT_REPLAY_BYTES 2048u
#define CVM_LIMIT_MIN_REPLAY_BYTES 382u
#define CVM_LIMIT_REPLAY_BYTES 65535u
/** Requests past a gap the device holds until the gap fills (CVM_HOLD_DEPTH): a request whose seq is 1..hold_depth ahead of next is kept and answered held, then executed in order once every request before it has been (selective repeat). A host gains nothing from more unanswered requests than hold_depth + 1 on a lossy link. */
#define CVM_DEFAULT_HOLD_DEPTH 16u
#define CVM_LIMIT_MIN_HOLD_DEPTH 1u
#define CVM_LIMIT_HOLD_DEPTH 255u
/** Longest request message (CBOR, without CRC) the device holds past a gap (CVM_HOLD_MESSAGE_BYTES); a longer one is refused out_of_sequence as in version 2. 32 holds every pool operation with in-range arguments; echo and batch requests are usually longer. */
#define CVM_DEFAULT_HOLD_MESSAGE_BYTES 32u
#define CVM_LIMIT_MIN_HOLD_MESSAGE_BYTES 7u
#define CVM_LIMIT_HOLD_MESSAGE_BYTES 382u

/** Operation codes (PROTOCOL.md section 4). */
typedef enum {
    CVM_OP_HELLO = 0, /**< Protocol version, firmware id, build-time limits, boot nonce, uptime, reset cause, unique id. */
    CVM_OP_ACQUIRE = 1, /**< Take a free context and zero it. */
    CVM_OP_RELEASE = 2, /**< Zero a taken context and free it. */
    CVM_OP_LOAD_GLOBAL = 3, /**< Read a global; never-stored globals read 0. */
    CVM_OP_STORE_GLOBAL = 4, /**< Write a global. */
    CVM_OP_CREATE_ARRAY = 5, /**< Activate a zeroed array of 1..VM_ARRAY_ELEMENTS elements. */
    CVM_OP_LOAD_ARRAY = 6, /**< Read an element of an active array. */
    CVM_OP_STORE_ARRAY = 7, /**< Write an element of an active array. */
    CVM_OP_STATS = 8, /**< Pool, per-context and link telemetry with high-water marks. */
    CVM_OP_BATCH = 9, /**< Run up to max_batch_ops pool operations in order; one result each. */
    CVM_OP_ECHO = 10, /**< Send the payload back, for link tests. */
    CVM_OP_RESET_POOL = 11, /**< Release (zero) every context and clear pool telemetry; link counters are kept. */
} cvm_op;
#define CVM_OP_COUNT 12u

/** What each kind of argument must be on the wire (PROTOCOL.md section 3.1 step 4). */
typedef enum {
    CVM_ARG_ID = 0, /**< vm, global, array, index or size: any CBOR integer (major type 0 or 1); a negative or too large one is judged by the operation's own range check. */
    CVM_ARG_INT32 = 1, /**< an integer in -2^31..2^31-1; any other integer is bad_arg. */
    CVM_ARG_BYTES = 2, /**< a byte string (major type 2). */
    CVM_ARG_OPS = 3, /**< an array of batch entries. */
} cvm_arg_kind;

/** Most arguments any operation takes. */
#define CVM_OP_MAX_ARGS 4u

/** Initialiser of a uint8_t[CVM_OP_COUNT] table: each operation's argument count, by op code. */
#define CVM_OP_ARGC_TABLE { 0u, 1u, 1u, 2u, 3u, 3u, 3u, 4u, 0u, 1u, 1u, 0u }
/** Initialiser of a uint8_t[CVM_OP_COUNT][CVM_OP_MAX_ARGS] table: each argument's cvm_arg_kind, by op code. */
#define CVM_OP_ARG_KIND_TABLE { { 0 }, { CVM_ARG_ID }, { CVM_ARG_ID }, { CVM_ARG_ID, CVM_ARG_ID }, { CVM_ARG_ID, CVM_ARG_ID, CVM_ARG_INT32 }, { CVM_ARG_ID, CVM_ARG_ID, CVM_ARG_ID }, { CVM_ARG_ID, CVM_ARG_ID, CVM_ARG_ID }, { CVM_ARG_ID, CVM_ARG_ID, CVM_ARG_ID, CVM_ARG_INT32 }, { 0 }, { CVM_ARG_OPS }, { CVM_ARG_BYTES }, { 0 } }
/** Initialiser of a bool[CVM_OP_COUNT] table: whether the operation may be a batch entry (section 4.2). */
#define CVM_OP_BATCHABLE_TABLE { false, true, true, true, true, true, true, true, false, false, false, true }
/** Initialiser of a bool[CVM_OP_COUNT] table: whether the operation's result is an int32. */
#define CVM_OP_INT32_RESULT_TABLE { false, false, false, true, false, false, true, false, false, false, false, false }

/** Device error codes (PROTOCOL.md section 4). */
typedef enum {
    CVM_ERR_OK = 0, /**< Success. */
    CVM_ERR_UNKNOWN_OP = 1, /**< The op code is an unsigned integer but names no operation (in a request, or in a batch entry). */
    CVM_ERR_BAD_ARG = 2, /**< Wrong number of arguments, or an argument of the wrong CBOR type, or a value outside int32. */
    CVM_ERR_OUT_OF_RANGE = 3, /**< A vm, global or array id past its build-time limit, an array index at or past VM_ARRAY_ELEMENTS, or any negative id or index. */
    CVM_ERR_NOT_ACQUIRED = 4, /**< The context is not acquired. */
    CVM_ERR_ALREADY_ACQUIRED = 5, /**< acquire on a context that is already acquired. */
    CVM_ERR_ARRAY_INACTIVE = 6, /**< load_array/store_array on an array that was never created in this context. */
    CVM_ERR_ARRAY_EXISTS = 7, /**< create_array on an array that is already active. */
    CVM_ERR_BAD_SIZE = 8, /**< create_array with size 0 or larger than VM_ARRAY_ELEMENTS. */
    CVM_ERR_PAST_SIZE = 9, /**< Array index below VM_ARRAY_ELEMENTS but at or past the array's own size (the deliberate tightening). */
    CVM_ERR_TOO_LARGE = 10, /**< A batch of more than max_batch_ops operations. */
    CVM_ERR_NOT_IN_BATCH = 11, /**< hello, stats, batch or echo inside a batch: only pool operations may be batched. */
    CVM_ERR_OUT_OF_SEQUENCE = 12, /**< Not executed: the request's seq is neither the next one the device expects nor in its replay cache (a gap after a lost request, or too old). The response is [seq, 12, expected_seq]: go back to expected_seq. */
    CVM_ERR_NO_SESSION = 13, /**< Not executed: no session is open (no hello since boot). Send hello first. */
    CVM_ERR_HELD = 14, /**< Not an error: the request is 1..hold_depth ahead of next and the device holds it (§3.3 rule 5). It is executed, in order, once every request before it has been, and its response follows then. Answered [seq, 14, next]: the host resends the requests from next it has no answer for, not this one. */
} cvm_err;

/** Keys of the hello map. */
typedef enum {
    CVM_HELLO_PROTO_VERSION = 1,
    CVM_HELLO_FIRMWARE_ID = 2,
    CVM_HELLO_MAX_VMS = 3,
    CVM_HELLO_MAX_GLOBALS = 4,
    CVM_HELLO_MAX_ARRAYS = 5,
    CVM_HELLO_ARRAY_ELEMENTS = 6,
    CVM_HELLO_MAX_LINE = 7,
    CVM_HELLO_MAX_BATCH = 8,
    CVM_HELLO_BOOT_NONCE = 9,
    CVM_HELLO_UPTIME_MS = 10,
    CVM_HELLO_RESET_CAUSE = 11,
    CVM_HELLO_UNIQUE_ID = 12,
    CVM_HELLO_REPLAY_DEPTH = 13,
    CVM_HELLO_REPLAY_BYTES = 14,
    CVM_HELLO_HOLD_DEPTH = 15,
    CVM_HELLO_HOLD_MESSAGE_BYTES = 16,
} cvm_hello_key;
#define CVM_HELLO_KEY_COUNT 16u

/** Keys of the stats map. */
typedef enum {
    CVM_STATS_CONTEXTS_ACQUIRED = 1,
    CVM_STATS_CONTEXTS_HW = 2,
    CVM_STATS_ACQUIRES = 3,
    CVM_STATS_RELEASES = 4,
    CVM_STATS_OPS = 5,
    CVM_STATS_OP_ERRORS = 6,
    CVM_STATS_RX_FRAMES = 7,
    CVM_STATS_RX_BAD_FRAME = 8,
    CVM_STATS_RX_BAD_CRC = 9,
    CVM_STATS_RX_OVERLONG = 10,
    CVM_STATS_RX_MALFORMED = 11,
    CVM_STATS_RX_NOISE = 12,
    CVM_STATS_RX_OVERRUN = 13,
    CVM_STATS_CONTEXTS = 14,
    CVM_STATS_REPLAYED = 15,
    CVM_STATS_OUT_OF_SEQUENCE = 16,
    CVM_STATS_NO_SESSION = 17,
    CVM_STATS_SESSIONS = 18,
    CVM_STATS_HELD = 19,
} cvm_stats_key;
#define CVM_STATS_KEY_COUNT 19u

/** Fields in one context entry of stats. */
#define CVM_CONTEXT_FIELD_COUNT 8u

/** Reset causes reported in hello; cvm_reset_cause_name() maps them to their wire text. */
typedef enum {
    CVM_RESET_UNKNOWN = 0,
    CVM_RESET_POWER_ON = 1,
    CVM_RESET_PIN = 2,
    CVM_RESET_SOFTWARE = 3,
    CVM_RESET_WATCHDOG = 4,
    CVM_RESET_BROWN_OUT = 5,
    CVM_RESET_LOW_POWER = 6,
    CVM_RESET_LOCKUP = 7,
} cvm_reset_cause;
#define CVM_RESET_CAUSE_COUNT 8u
#define CVM_RESET_CAUSE_NAMES { "unknown", "power_on", "pin", "software", "watchdog", "brown_out", "low_power", "lockup" }

/** Prefix of the boot banner log line (PROTOCOL.md section 5). */
#define CVM_BANNER_PREFIX "CVM-BOOT"

#endif /* CVM_PROTOCOL_H */
