/*
 * The device: the glue a port calls. It owns the one line assembler, link layer (cvm_link.h),
 * dispatcher and output buffer of the firmware and drives the pool (cvm_pool.h) through its
 * memory-operations table. Every byte
 * it sends, frame or log line, goes out as one whole line through cvm_port_write(), so a log line
 * never lands inside a frame (PROTOCOL.md §2).
 *
 * Not reentrant: call every function from one execution context (on the board, the main loop,
 * never an interrupt handler). No allocation; the state is static, sized by cvm_config.h.
 *
 * Firmware id (hello key 2 and the banner's fw=): "cvm-fw/" CVM_FIRMWARE_VERSION "+" <port>
 * ".vms" <MAX_CONCURRENT_VMS> ".g" <VM_MAX_GLOBALS> ".a" <VM_MAX_ARRAYS> ".e" <VM_ARRAY_ELEMENTS>,
 * e.g. "cvm-fw/0.1.0+sim.vms4.g64.a16.e64": the name, the version, and SemVer build metadata
 * naming the port (cvm_port_name(), each character outside [0-9A-Za-z-] replaced by '-', at most
 * 24 characters) and the build configuration. It holds no space, so the banner splits on spaces.
 */
#ifndef CVM_DEVICE_H
#define CVM_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/** Version of the firmware, reported in the firmware id. */
#define CVM_FIRMWARE_VERSION "0.1.0"

/**
 * Boot state: empties the pool, zeroes every counter, empties the line assembler and the link
 * layer's replay cache and hold, opens no session (the link layer answers no_session until a
 * hello, §3.3), and reads the
 * boot nonce, reset cause and unique id from the port (cvm_port_boot_nonce(),
 * cvm_port_reset_cause(), cvm_port_unique_id()). Call once before anything else; calling again
 * is a reboot of the core. Writes nothing.
 */
void cvm_device_init(void);

/**
 * Writes the boot banner log line (§5):
 * "CVM-BOOT proto=<CVM_PROTOCOL_VERSION> fw=<firmware id> nonce=<8 lowercase hex> vms=<n>
 * globals=<n> arrays=<n> elements=<n>\n". Call after cvm_device_init() and before feeding any byte.
 */
void cvm_device_banner(void);

/**
 * Feeds received bytes (any split: a line may span calls, a call may hold many lines). Each
 * complete line is handled at once (§2.1, §3, the link layer of §3.3); each answered request
 * (executed, refused, held, or a duplicate replayed from the cache) writes its response frame
 * line "~" base64(CBOR ‖ CRC-16 big-endian) "\n" (no '\r') with one cvm_port_write() call,
 * before this function returns. A request that fills the gap before held ones is answered first,
 * then each held request it lets run (§3.3 rule 4's drain), in seq order, one line each. data may
 * be NULL when len is 0.
 */
void cvm_device_feed(const uint8_t *data, size_t len);

/**
 * Writes text followed by '\n' as one log line, with one cvm_port_write() call. text is
 * NUL-terminated and must not start with '~' nor hold '\r' or '\n'. If it does anyway, the line
 * is sanitised rather than dropped, so the host never mistakes it for a frame and never sees it
 * split: a leading '~' is written as '?', and each '\r' or '\n' as a space. Text longer than
 * CVM_MAX_LINE_BYTES - 1 bytes is cut there (the line then ends in "...").
 */
void cvm_device_log(const char *text);

/** The firmware id text (NUL-terminated, static) built by cvm_device_init(). */
const char *cvm_device_firmware_id(void);

#endif /* CVM_DEVICE_H */
