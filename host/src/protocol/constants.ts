// Generated from protocol/constants.json by protocol/gen/generate.ts. Do not edit: run `npm run gen`.

/** Protocol version spoken by this library (hello key proto_version). */
export const PROTOCOL_VERSION = 3;

/** Framing constants (PROTOCOL.md §2). C: CVM_* in cvm_protocol.h. */
export const Framing = {
  /** First byte of every frame line: '~' (0x7E), outside the base64 alphabet. */
  frameMarker: 126,
  /** Most bytes a line may hold before its '\n' (marker, base64 and an optional '\r' included). Longer lines are discarded whole and counted as rx_overlong. */
  maxLineBytes: 520,
  /** Most bytes of a decoded frame: the CBOR message plus its 2-byte CRC. Its base64 form is 512 characters. */
  maxFrameBytes: 384,
  /** Most bytes of one CBOR message (max_frame_bytes minus the CRC). */
  maxMessageBytes: 382,
  /** CRC-16/XMODEM of the CBOR message, big-endian, after it. */
  crcBytes: 2,
  /** Most operations in one batch request. */
  maxBatchOps: 32,
  /** Deepest nesting of a request: the top-level array is depth 1. */
  maxCborDepth: 4,
  /** Most request-line bytes a host may have sent and not yet seen answered; the device's receive ring holds this much. */
  maxInflightBytes: 1024,
  /** UART rate, 8N1. */
  defaultBaud: 115200,
} as const;

/** Link layer (PROTOCOL.md §3.3): the replay cache's default size, and the host's retransmission policy. */
export const Link = {
  /** Responses the device keeps in its replay cache (CVM_REPLAY_DEPTH): a host keeps at most this many requests unanswered. */
  replayDepth: 32,
  /** Bytes of response messages the replay cache holds (CVM_REPLAY_BYTES): a host keeps the largest possible responses of its unanswered requests within this. At least max_message_bytes, so any one response fits. */
  replayBytes: 2048,
  /** Requests past a gap the device holds until the gap fills (CVM_HOLD_DEPTH): a request whose seq is 1..hold_depth ahead of next is kept and answered held, then executed in order once every request before it has been (selective repeat). A host gains nothing from more unanswered requests than hold_depth + 1 on a lossy link. */
  holdDepth: 16,
  /** Longest request message (CBOR, without CRC) the device holds past a gap (CVM_HOLD_MESSAGE_BYTES); a longer one is refused out_of_sequence as in version 2. 32 holds every pool operation with in-range arguments; echo and batch requests are usually longer. */
  holdMessageBytes: 32,
  /** Host: retransmission timeout before the first round-trip sample (a 520-byte request and response at 115200 baud take about 90 ms). */
  rtoInitialMs: 250,
  /** Host: floor of the retransmission timeout (RFC 6298 uses 1 s for the Internet; a serial link's round trip is known to be short). */
  rtoMinMs: 10,
  /** Host: ceiling of the retransmission timeout, backoff included (a full-size request and response at 115200 baud take about 90 ms; several attempts fit in dead_link_ms). */
  rtoMaxMs: 400,
  /** Host: transmissions of one request for each attempt_bytes of its round trip (its request line and the line of its largest response; at least max_attempts) before it fails with RetriesExhausted. */
  maxAttempts: 40,
  /** Host: round-trip bytes per max_attempts transmissions (a long frame is hit more often: a full-size echo, 514 bytes each way, gets 2,600 transmissions, a store 80 to 120). */
  attemptBytes: 16,
  /** Host: nothing at all received for this long while requests are pending means the link is dead: every pending and queued request fails at once with LinkDead. */
  deadLinkMs: 1500,
  /** Host: recommended wait, from power-on or reset release, for the banner before asking hello anyway. */
  readyMs: 1000,
} as const;

/** Range each replay-cache and hold size may take (C: CVM_LIMIT_MIN_* .. CVM_LIMIT_*, checked in cvm_config.h). */
export const LinkBounds = {
  replayDepth: { min: 1, max: 255 },
  replayBytes: { min: 382, max: 65535 },
  holdDepth: { min: 1, max: 255 },
  holdMessageBytes: { min: 7, max: 382 },
} as const;

/** Default build-time limits of the pool (a device reports its own in hello). */
export const DefaultLimits = {
  /** VM memory contexts in the pool (MAX_CONCURRENT_VMS). At most 15 so that a worst-case stats response (v3: with the link counters 15..19) fits in one frame. */
  maxConcurrentVms: 4,
  /** int32 globals per context (VM_MAX_GLOBALS). */
  vmMaxGlobals: 64,
  /** Arrays per context (VM_MAX_ARRAYS). */
  vmMaxArrays: 16,
  /** Most int32 elements in one array (VM_ARRAY_ELEMENTS). */
  vmArrayElements: 64,
} as const;

/** Largest value each build-time limit may take. */
export const LimitMaxima = {
  maxConcurrentVms: 15,
  vmMaxGlobals: 255,
  vmMaxArrays: 255,
  vmArrayElements: 65535,
} as const;

/** Operation codes (PROTOCOL.md §4). C: enum cvm_op. */
export const Op = {
  /** Protocol version, firmware id, build-time limits, boot nonce, uptime, reset cause, unique id. */
  hello: 0,
  /** Take a free context and zero it. */
  acquire: 1,
  /** Zero a taken context and free it. */
  release: 2,
  /** Read a global; never-stored globals read 0. */
  load_global: 3,
  /** Write a global. */
  store_global: 4,
  /** Activate a zeroed array of 1..VM_ARRAY_ELEMENTS elements. */
  create_array: 5,
  /** Read an element of an active array. */
  load_array: 6,
  /** Write an element of an active array. */
  store_array: 7,
  /** Pool, per-context and link telemetry with high-water marks. */
  stats: 8,
  /** Run up to max_batch_ops pool operations in order; one result each. */
  batch: 9,
  /** Send the payload back, for link tests. */
  echo: 10,
  /** Release (zero) every context and clear pool telemetry; link counters are kept. */
  reset_pool: 11,
} as const;
export type OpName = keyof typeof Op;
export type OpCode = (typeof Op)[OpName];

/** Number of arguments each operation takes, by op code. */
export const OpArity: Readonly<Record<number, number>> = {
  0: 0,
  1: 1,
  2: 1,
  3: 2,
  4: 3,
  5: 3,
  6: 3,
  7: 4,
  8: 0,
  9: 1,
  10: 1,
  11: 0,
};

/** Names of each operation's arguments in wire order, by op code. */
export const OpArgs: Readonly<Record<number, readonly string[]>> = {
  0: [],
  1: ["vm"],
  2: ["vm"],
  3: ["vm","global"],
  4: ["vm","global","value"],
  5: ["vm","array","size"],
  6: ["vm","array","index"],
  7: ["vm","array","index","value"],
  8: [],
  9: ["ops"],
  10: ["payload"],
  11: [],
};

/** What each kind of argument must be on the wire (PROTOCOL.md §3.1 step 4). C: cvm_arg_kind. */
export type ArgKind = 'id' | 'int32' | 'bytes' | 'ops';

/**
 * Largest response of an operation: a byte count, or a rule (PROTOCOL.md §3.3):
 * - number: at most this many bytes: [seq, code] is 7, [seq, 0, int32] is 12 (seq counted at its widest, 5 bytes).
 * - max_message: bounded only by max_message_bytes (hello, stats).
 * - request: no longer than the request message itself (echo).
 * - batch: 9 bytes plus, per entry, 7 for an entry whose result is an int32 (load_global, load_array) and 2 for any other.
 */
export type MaxResponse = number | 'max_message' | 'request' | 'batch';

/** Everything the protocol says about one operation, by op code: the one source of per-op facts. */
export interface OpFact {
  readonly name: OpName;
  readonly code: number;
  /** Arguments in wire order. */
  readonly args: readonly { readonly name: string; readonly kind: ArgKind }[];
  readonly result: string;
  /** May be an entry of a batch (PROTOCOL.md §4.2). */
  readonly batchable: boolean;
  readonly maxResponse: MaxResponse;
  /** The errors the operation itself can answer, in the order they are checked (after bad_arg and unknown_op). */
  readonly errors: readonly string[];
}

export const OpFacts: readonly OpFact[] = [
  { name: 'hello', code: 0, args: [], result: 'hello', batchable: false, maxResponse: "max_message", errors: [] },
  { name: 'acquire', code: 1, args: [{ name: 'vm', kind: 'id' }], result: 'none', batchable: true, maxResponse: 7, errors: ["out_of_range (vm)","already_acquired"] },
  { name: 'release', code: 2, args: [{ name: 'vm', kind: 'id' }], result: 'none', batchable: true, maxResponse: 7, errors: ["out_of_range (vm)","not_acquired"] },
  { name: 'load_global', code: 3, args: [{ name: 'vm', kind: 'id' }, { name: 'global', kind: 'id' }], result: 'int32', batchable: true, maxResponse: 12, errors: ["out_of_range (vm)","not_acquired","out_of_range (global)"] },
  { name: 'store_global', code: 4, args: [{ name: 'vm', kind: 'id' }, { name: 'global', kind: 'id' }, { name: 'value', kind: 'int32' }], result: 'none', batchable: true, maxResponse: 7, errors: ["out_of_range (vm)","not_acquired","out_of_range (global)"] },
  { name: 'create_array', code: 5, args: [{ name: 'vm', kind: 'id' }, { name: 'array', kind: 'id' }, { name: 'size', kind: 'id' }], result: 'none', batchable: true, maxResponse: 7, errors: ["out_of_range (vm)","not_acquired","out_of_range (array)","bad_size","array_exists"] },
  { name: 'load_array', code: 6, args: [{ name: 'vm', kind: 'id' }, { name: 'array', kind: 'id' }, { name: 'index', kind: 'id' }], result: 'int32', batchable: true, maxResponse: 12, errors: ["out_of_range (vm)","not_acquired","out_of_range (array)","out_of_range (index >= VM_ARRAY_ELEMENTS)","array_inactive","past_size"] },
  { name: 'store_array', code: 7, args: [{ name: 'vm', kind: 'id' }, { name: 'array', kind: 'id' }, { name: 'index', kind: 'id' }, { name: 'value', kind: 'int32' }], result: 'none', batchable: true, maxResponse: 7, errors: ["out_of_range (vm)","not_acquired","out_of_range (array)","out_of_range (index >= VM_ARRAY_ELEMENTS)","array_inactive","past_size"] },
  { name: 'stats', code: 8, args: [], result: 'stats', batchable: false, maxResponse: "max_message", errors: [] },
  { name: 'batch', code: 9, args: [{ name: 'ops', kind: 'ops' }], result: 'batch', batchable: false, maxResponse: "batch", errors: ["bad_arg (not an array)","too_large (> max_batch_ops)"] },
  { name: 'echo', code: 10, args: [{ name: 'payload', kind: 'bytes' }], result: 'bytes', batchable: false, maxResponse: "request", errors: [] },
  { name: 'reset_pool', code: 11, args: [], result: 'none', batchable: true, maxResponse: 7, errors: [] },
];

/** Operation name by op code. */
export const OpNameByCode: Readonly<Record<number, OpName>> = {
  0: 'hello',
  1: 'acquire',
  2: 'release',
  3: 'load_global',
  4: 'store_global',
  5: 'create_array',
  6: 'load_array',
  7: 'store_array',
  8: 'stats',
  9: 'batch',
  10: 'echo',
  11: 'reset_pool',
};

/** Device error codes (PROTOCOL.md §4). C: enum cvm_err. */
export const ErrorCode = {
  /** Success. */
  ok: 0,
  /** The op code is an unsigned integer but names no operation (in a request, or in a batch entry). */
  unknown_op: 1,
  /** Wrong number of arguments, or an argument of the wrong CBOR type, or a value outside int32. */
  bad_arg: 2,
  /** A vm, global or array id past its build-time limit, an array index at or past VM_ARRAY_ELEMENTS, or any negative id or index. */
  out_of_range: 3,
  /** The context is not acquired. */
  not_acquired: 4,
  /** acquire on a context that is already acquired. */
  already_acquired: 5,
  /** load_array/store_array on an array that was never created in this context. */
  array_inactive: 6,
  /** create_array on an array that is already active. */
  array_exists: 7,
  /** create_array with size 0 or larger than VM_ARRAY_ELEMENTS. */
  bad_size: 8,
  /** Array index below VM_ARRAY_ELEMENTS but at or past the array's own size (the deliberate tightening). */
  past_size: 9,
  /** A batch of more than max_batch_ops operations. */
  too_large: 10,
  /** hello, stats, batch or echo inside a batch: only pool operations may be batched. */
  not_in_batch: 11,
  /** Not executed: the request's seq is neither the next one the device expects nor in its replay cache (a gap after a lost request, or too old). The response is [seq, 12, expected_seq]: go back to expected_seq. */
  out_of_sequence: 12,
  /** Not executed: no session is open (no hello since boot). Send hello first. */
  no_session: 13,
  /** Not an error: the request is 1..hold_depth ahead of next and the device holds it (§3.3 rule 5). It is executed, in order, once every request before it has been, and its response follows then. Answered [seq, 14, next]: the host resends the requests from next it has no answer for, not this one. */
  held: 14,
} as const;
export type ErrorName = keyof typeof ErrorCode;

/** Key of each field of the hello map. */
export const HelloKey = {
  proto_version: 1,
  firmware_id: 2,
  max_vms: 3,
  max_globals: 4,
  max_arrays: 5,
  array_elements: 6,
  max_line: 7,
  max_batch: 8,
  boot_nonce: 9,
  uptime_ms: 10,
  reset_cause: 11,
  unique_id: 12,
  replay_depth: 13,
  replay_bytes: 14,
  hold_depth: 15,
  hold_message_bytes: 16,
} as const;

/** Key of each field of the stats map. */
export const StatsKey = {
  /** Contexts acquired now. */
  contexts_acquired: 1,
  /** High-water mark of contexts acquired at once. */
  contexts_hw: 2,
  /** Successful acquires. */
  acquires: 3,
  /** Successful releases. */
  releases: 4,
  /** Operations completed before this one (a batch counts as its operations). */
  ops: 5,
  /** How many of those answered an error code. */
  op_errors: 6,
  /** Frames with a good CRC, this one included. */
  rx_frames: 7,
  /** Frame lines with bad base64 or a bad decoded length. */
  rx_bad_frame: 8,
  /** Frames whose CRC did not match. */
  rx_bad_crc: 9,
  /** Lines longer than max_line_bytes. */
  rx_overlong: 10,
  /** CRC-good frames that were not a well-formed request (no reply possible). */
  rx_malformed: 11,
  /** Non-empty lines without the frame marker. */
  rx_noise: 12,
  /** Bytes lost because the receive ring was full. */
  rx_overrun: 13,
  /** One entry per context, in vm id order (see context_fields). */
  contexts: 14,
  /** Duplicate requests answered from the replay cache without executing them again. */
  replayed: 15,
  /** Requests refused with out_of_sequence (past a gap and not held, or older than the cache). */
  out_of_sequence: 16,
  /** Requests refused with no_session (before the first hello since boot). */
  no_session: 17,
  /** Sessions opened: hellos that were not duplicates. */
  sessions: 18,
  /** Requests held past a gap and answered held (a copy of one already held counts again). */
  held: 19,
} as const;

/** Fields of one context entry of stats, in wire order. */
export const CONTEXT_FIELDS = ["acquired","globals_in_use","arrays_active","elements","bytes_used","hw_globals","hw_arrays","hw_elements"] as const;

/** Reset causes a device may report in hello, by index of the C enum cvm_reset_cause. */
export const RESET_CAUSES = ["unknown","power_on","pin","software","watchdog","brown_out","low_power","lockup"] as const;

/** Prefix of the boot banner log line (PROTOCOL.md §5). */
export const BANNER_PREFIX = "CVM-BOOT";
