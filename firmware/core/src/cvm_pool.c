#include "cvm_pool.h"

#include <string.h>

typedef struct {
    uint32_t globals;
    uint32_t arrays;
    uint32_t elements;
} cvm_pool_hw;

typedef struct {
    VMMemoryContext contexts[MAX_CONCURRENT_VMS];
    cvm_pool_hw hw[MAX_CONCURRENT_VMS];
    uint32_t contexts_acquired;
    uint32_t contexts_hw;
    uint32_t acquires;
    uint32_t releases;
} cvm_pool_t;

/* The pool: the only instance, in .bss (its size is `nm -S` of cvm_pool_state). */
static cvm_pool_t cvm_pool_state;

const cvm_memory_ops cvm_pool_memory_ops = {
    .load_global = cvm_pool_load_global,
    .store_global = cvm_pool_store_global,
    .create_array = cvm_pool_create_array,
    .load_array = cvm_pool_load_array,
    .store_array = cvm_pool_store_array,
    .context = cvm_pool_context,
    .acquire = cvm_pool_acquire,
    .release = cvm_pool_release,
    .reset = cvm_pool_reset,
    .telemetry = cvm_pool_telemetry_read,
};

void cvm_pool_init(void)
{
    cvm_pool_reset();
}

void cvm_pool_reset(void)
{
    memset(&cvm_pool_state, 0, sizeof cvm_pool_state);
}

cvm_err cvm_pool_acquire(uint32_t vm)
{
    if (vm >= MAX_CONCURRENT_VMS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    VMMemoryContext *c = &cvm_pool_state.contexts[vm];
    if (c->acquired) {
        return CVM_ERR_ALREADY_ACQUIRED;
    }
    memset(c, 0, sizeof *c);
    c->acquired = true;
    cvm_pool_state.acquires++;
    cvm_pool_state.contexts_acquired++;
    if (cvm_pool_state.contexts_acquired > cvm_pool_state.contexts_hw) {
        cvm_pool_state.contexts_hw = cvm_pool_state.contexts_acquired;
    }
    return CVM_ERR_OK;
}

cvm_err cvm_pool_release(uint32_t vm)
{
    if (vm >= MAX_CONCURRENT_VMS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    VMMemoryContext *c = &cvm_pool_state.contexts[vm];
    if (!c->acquired) {
        return CVM_ERR_NOT_ACQUIRED;
    }
    memset(c, 0, sizeof *c);
    cvm_pool_state.releases++;
    cvm_pool_state.contexts_acquired--;
    return CVM_ERR_OK;
}

/* The first two checks of every context operation: out_of_range (vm), not_acquired. */
static cvm_err cvm_pool_lookup(uint32_t vm, VMMemoryContext **out)
{
    if (vm >= MAX_CONCURRENT_VMS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    VMMemoryContext *c = &cvm_pool_state.contexts[vm];
    if (!c->acquired) {
        return CVM_ERR_NOT_ACQUIRED;
    }
    *out = c;
    return CVM_ERR_OK;
}

VMMemoryContext *cvm_pool_context(uint32_t vm)
{
    VMMemoryContext *c = NULL;
    return cvm_pool_lookup(vm, &c) == CVM_ERR_OK ? c : NULL;
}

cvm_err cvm_pool_load_global(uint32_t vm, uint32_t global, int32_t *value)
{
    VMMemoryContext *c;
    cvm_err e = cvm_pool_lookup(vm, &c);
    if (e != CVM_ERR_OK) {
        return e;
    }
    if (global >= VM_MAX_GLOBALS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    *value = c->globals[global];
    return CVM_ERR_OK;
}

cvm_err cvm_pool_store_global(uint32_t vm, uint32_t global, int32_t value)
{
    VMMemoryContext *c;
    cvm_err e = cvm_pool_lookup(vm, &c);
    if (e != CVM_ERR_OK) {
        return e;
    }
    if (global >= VM_MAX_GLOBALS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    c->globals[global] = value;
    if (global >= c->globals_in_use) {
        c->globals_in_use = (uint16_t)(global + 1u);
        cvm_pool_hw *hw = &cvm_pool_state.hw[vm];
        if (c->globals_in_use > hw->globals) {
            hw->globals = c->globals_in_use;
        }
    }
    return CVM_ERR_OK;
}

cvm_err cvm_pool_create_array(uint32_t vm, uint32_t array, uint32_t size)
{
    VMMemoryContext *c;
    cvm_err e = cvm_pool_lookup(vm, &c);
    if (e != CVM_ERR_OK) {
        return e;
    }
    if (array >= VM_MAX_ARRAYS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    if (size == 0u || size > VM_ARRAY_ELEMENTS) {
        return CVM_ERR_BAD_SIZE;
    }
    if (c->array_active[array]) {
        return CVM_ERR_ARRAY_EXISTS;
    }
    memset(c->arrays[array], 0, sizeof c->arrays[array]);
    c->array_active[array] = true;
    c->array_size[array] = (uint16_t)size;
    c->arrays_active++;
    c->elements += size;
    cvm_pool_hw *hw = &cvm_pool_state.hw[vm];
    if (c->arrays_active > hw->arrays) {
        hw->arrays = c->arrays_active;
    }
    if (c->elements > hw->elements) {
        hw->elements = c->elements;
    }
    return CVM_ERR_OK;
}

/* The checks shared by load_array and store_array, after the context's. */
static cvm_err cvm_pool_element(uint32_t vm, uint32_t array, uint32_t index, int32_t **out)
{
    VMMemoryContext *c;
    cvm_err e = cvm_pool_lookup(vm, &c);
    if (e != CVM_ERR_OK) {
        return e;
    }
    if (array >= VM_MAX_ARRAYS || index >= VM_ARRAY_ELEMENTS) {
        return CVM_ERR_OUT_OF_RANGE;
    }
    if (!c->array_active[array]) {
        return CVM_ERR_ARRAY_INACTIVE;
    }
    if (index >= c->array_size[array]) {
        return CVM_ERR_PAST_SIZE;
    }
    *out = &c->arrays[array][index];
    return CVM_ERR_OK;
}

cvm_err cvm_pool_load_array(uint32_t vm, uint32_t array, uint32_t index, int32_t *value)
{
    int32_t *slot;
    cvm_err e = cvm_pool_element(vm, array, index, &slot);
    if (e == CVM_ERR_OK) {
        *value = *slot;
    }
    return e;
}

cvm_err cvm_pool_store_array(uint32_t vm, uint32_t array, uint32_t index, int32_t value)
{
    int32_t *slot;
    cvm_err e = cvm_pool_element(vm, array, index, &slot);
    if (e == CVM_ERR_OK) {
        *slot = value;
    }
    return e;
}

void cvm_pool_telemetry_read(cvm_pool_telemetry *out)
{
    out->contexts_acquired = cvm_pool_state.contexts_acquired;
    out->contexts_hw = cvm_pool_state.contexts_hw;
    out->acquires = cvm_pool_state.acquires;
    out->releases = cvm_pool_state.releases;
    for (uint32_t vm = 0; vm < MAX_CONCURRENT_VMS; vm++) {
        const VMMemoryContext *c = &cvm_pool_state.contexts[vm];
        const cvm_pool_hw *hw = &cvm_pool_state.hw[vm];
        cvm_context_telemetry *t = &out->contexts[vm];
        t->acquired = c->acquired ? 1u : 0u;
        t->globals_in_use = c->globals_in_use;
        t->arrays_active = c->arrays_active;
        t->elements = c->elements;
        t->bytes_used = 4u * ((uint32_t)c->globals_in_use + c->elements);
        t->hw_globals = hw->globals;
        t->hw_arrays = hw->arrays;
        t->hw_elements = hw->elements;
    }
}
