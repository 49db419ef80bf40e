/*
 * The static memory pool: MAX_CONCURRENT_VMS fixed VM memory contexts (vm id = slot: 0 emergency,
 * 1 audio, 2 display, 3 debug/test at the defaults), their telemetry, and the memory-operations
 * table through which everything else reaches them (PROTOCOL.md §4, §4.1, §6).
 *
 * The pool is one static object (cvm_pool.c), sized only by the limits of cvm_config.h. There is
 * no allocation and no I/O. Not reentrant: call from one execution context.
 *
 * Ids are uint32_t. A caller holding a wider or negative wire value passes CVM_POOL_ID_INVALID,
 * which every limit rejects with CVM_ERR_OUT_OF_RANGE (or CVM_ERR_BAD_SIZE for a size) at the
 * step PROTOCOL.md §4 checks that argument, so the order of checks is kept.
 */
#ifndef CVM_POOL_H
#define CVM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cvm_config.h"
#include "cvm_protocol.h"

/** An id, index or size that is negative or does not fit uint32_t: past every limit. */
#define CVM_POOL_ID_INVALID UINT32_MAX

/**
 * One VM's memory (the original specification's VMMemoryContext). acquire and release zero it
 * whole. The usage figures are kept up to date by the pool's operations; writing through the
 * pointer cvm_pool_context() returns bypasses them.
 */
typedef struct cvm_vm_memory_context {
    int32_t globals[VM_MAX_GLOBALS];
    int32_t arrays[VM_MAX_ARRAYS][VM_ARRAY_ELEMENTS];
    uint16_t array_size[VM_MAX_ARRAYS];  /**< Elements of each active array; 0 when inactive. */
    bool array_active[VM_MAX_ARRAYS];
    bool acquired;
    uint16_t globals_in_use;             /**< Highest global id stored since acquire, plus 1. */
    uint16_t arrays_active;              /**< Arrays created since acquire. */
    uint32_t elements;                   /**< Sum of the active arrays' sizes. */
} VMMemoryContext;

/** One context's entry of stats (PROTOCOL.md §6, context-stats). */
typedef struct {
    uint32_t acquired;        /**< 1 if acquired, else 0. */
    uint32_t globals_in_use;
    uint32_t arrays_active;
    uint32_t elements;
    uint32_t bytes_used;      /**< 4 * (globals_in_use + elements). */
    uint32_t hw_globals;      /**< High-water marks: survive release, cleared by reset. */
    uint32_t hw_arrays;
    uint32_t hw_elements;
} cvm_context_telemetry;

/** The pool's part of stats (keys 1..4 and 14). Counters are uint32 and wrap. */
typedef struct {
    uint32_t contexts_acquired;  /**< Acquired now. */
    uint32_t contexts_hw;        /**< High-water mark of contexts_acquired. */
    uint32_t acquires;           /**< Successful acquires. */
    uint32_t releases;           /**< Successful releases. */
    cvm_context_telemetry contexts[MAX_CONCURRENT_VMS];  /**< In vm id order. */
} cvm_pool_telemetry;

/**
 * The memory-operations table. The dispatcher reaches the pool only through one of these, so a
 * unit test can hand it a mock. The first six members are the original specification's, with its
 * names; the last four are the pool-level operations this protocol adds. Every member that can
 * fail returns a cvm_err and checks in the order of PROTOCOL.md §4; on failure nothing changes
 * and *value is left untouched.
 */
typedef struct cvm_memory_ops {
    /** out_of_range (vm), not_acquired, out_of_range (global). A never-stored global reads 0. */
    cvm_err (*load_global)(uint32_t vm, uint32_t global, int32_t *value);
    /** out_of_range (vm), not_acquired, out_of_range (global). */
    cvm_err (*store_global)(uint32_t vm, uint32_t global, int32_t value);
    /** out_of_range (vm), not_acquired, out_of_range (array), bad_size (0 or > VM_ARRAY_ELEMENTS),
     *  array_exists. Zeroes the array and records its size. */
    cvm_err (*create_array)(uint32_t vm, uint32_t array, uint32_t size);
    /** out_of_range (vm), not_acquired, out_of_range (array), out_of_range (index >=
     *  VM_ARRAY_ELEMENTS), array_inactive, past_size (index >= the array's size). */
    cvm_err (*load_array)(uint32_t vm, uint32_t array, uint32_t index, int32_t *value);
    /** As load_array. */
    cvm_err (*store_array)(uint32_t vm, uint32_t array, uint32_t index, int32_t value);
    /** The context of vm, or NULL when vm is out of range or not acquired. */
    VMMemoryContext *(*context)(uint32_t vm);
    /** out_of_range (vm), already_acquired. Zeroes the context and marks it taken. */
    cvm_err (*acquire)(uint32_t vm);
    /** out_of_range (vm), not_acquired. Zeroes the context and frees it. */
    cvm_err (*release)(uint32_t vm);
    /** reset_pool: zeroes and frees every context, clears counters and high-water marks. */
    void (*reset)(void);
    /** Copies the pool's telemetry into *out (caller-owned, never NULL). */
    void (*telemetry)(cvm_pool_telemetry *out);
} cvm_memory_ops;

/** The table of the real pool below. */
extern const cvm_memory_ops cvm_pool_memory_ops;

/** Puts the pool in its boot state (same as cvm_pool_reset). */
void cvm_pool_init(void);

cvm_err cvm_pool_acquire(uint32_t vm);
cvm_err cvm_pool_release(uint32_t vm);
void cvm_pool_reset(void);
cvm_err cvm_pool_load_global(uint32_t vm, uint32_t global, int32_t *value);
cvm_err cvm_pool_store_global(uint32_t vm, uint32_t global, int32_t value);
cvm_err cvm_pool_create_array(uint32_t vm, uint32_t array, uint32_t size);
cvm_err cvm_pool_load_array(uint32_t vm, uint32_t array, uint32_t index, int32_t *value);
cvm_err cvm_pool_store_array(uint32_t vm, uint32_t array, uint32_t index, int32_t value);
VMMemoryContext *cvm_pool_context(uint32_t vm);
void cvm_pool_telemetry_read(cvm_pool_telemetry *out);

#endif /* CVM_POOL_H */
