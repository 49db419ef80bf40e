/* The pool (PROTOCOL.md §4, §4.1, §6): every rule, in the order of checks, and its telemetry. */
#include "cvm_pool.h"
#include "cvm_test.h"

static cvm_pool_telemetry telemetry(void)
{
    cvm_pool_telemetry t;
    cvm_pool_telemetry_read(&t);
    return t;
}

static void test_acquire_release(void)
{
    cvm_pool_init();
    for (uint32_t vm = 0; vm < MAX_CONCURRENT_VMS; vm++) {
        CHECK(cvm_pool_context(vm) == NULL);
        CHECK_EQ(cvm_pool_acquire(vm), CVM_ERR_OK);
        CHECK(cvm_pool_context(vm) != NULL);
    }
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_ALREADY_ACQUIRED);
    CHECK_EQ(cvm_pool_acquire(MAX_CONCURRENT_VMS), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_acquire(CVM_POOL_ID_INVALID), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_release(MAX_CONCURRENT_VMS), CVM_ERR_OUT_OF_RANGE);
    CHECK(cvm_pool_context(MAX_CONCURRENT_VMS) == NULL);

    cvm_pool_telemetry t = telemetry();
    CHECK_EQ(t.contexts_acquired, MAX_CONCURRENT_VMS);
    CHECK_EQ(t.contexts_hw, MAX_CONCURRENT_VMS);
    CHECK_EQ(t.acquires, MAX_CONCURRENT_VMS);
    CHECK_EQ(t.releases, 0);

    CHECK_EQ(cvm_pool_release(0), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_release(0), CVM_ERR_NOT_ACQUIRED);
    CHECK(cvm_pool_context(0) == NULL);
    t = telemetry();
    CHECK_EQ(t.contexts_acquired, MAX_CONCURRENT_VMS - 1u);
    CHECK_EQ(t.contexts_hw, MAX_CONCURRENT_VMS);
    CHECK_EQ(t.releases, 1);
    CHECK_EQ(t.contexts[0].acquired, 0);
    CHECK_EQ(t.contexts[MAX_CONCURRENT_VMS - 1u].acquired, 1);
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
    CHECK_EQ(telemetry().acquires, MAX_CONCURRENT_VMS + 1u);
}

static void test_not_acquired(void)
{
    int32_t v = 77;
    cvm_pool_init();
    /* Every context operation: out_of_range (vm) first, then not_acquired before its own checks. */
    CHECK_EQ(cvm_pool_load_global(MAX_CONCURRENT_VMS, 0, &v), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_load_global(0, 0, &v), CVM_ERR_NOT_ACQUIRED);
    CHECK_EQ(cvm_pool_load_global(0, CVM_POOL_ID_INVALID, &v), CVM_ERR_NOT_ACQUIRED);
    CHECK_EQ(cvm_pool_store_global(MAX_CONCURRENT_VMS, 0, 1), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_store_global(0, VM_MAX_GLOBALS, 1), CVM_ERR_NOT_ACQUIRED);
    CHECK_EQ(cvm_pool_create_array(CVM_POOL_ID_INVALID, 0, 1), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_create_array(0, VM_MAX_ARRAYS, 0), CVM_ERR_NOT_ACQUIRED);
    CHECK_EQ(cvm_pool_load_array(MAX_CONCURRENT_VMS, 0, 0, &v), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_load_array(0, VM_MAX_ARRAYS, VM_ARRAY_ELEMENTS, &v), CVM_ERR_NOT_ACQUIRED);
    CHECK_EQ(cvm_pool_store_array(MAX_CONCURRENT_VMS, 0, 0, 1), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_store_array(0, 0, 0, 1), CVM_ERR_NOT_ACQUIRED);
    CHECK_EQ(v, 77); /* untouched on failure */
}

static void test_globals(void)
{
    int32_t v = 77;
    cvm_pool_init();
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
    /* Never stored reads 0, at both ends. */
    CHECK_EQ(cvm_pool_load_global(0, 0, &v), CVM_ERR_OK);
    CHECK_EQ(v, 0);
    v = 77;
    CHECK_EQ(cvm_pool_load_global(0, VM_MAX_GLOBALS - 1u, &v), CVM_ERR_OK);
    CHECK_EQ(v, 0);
    v = 77;
    CHECK_EQ(cvm_pool_load_global(0, VM_MAX_GLOBALS, &v), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_load_global(0, CVM_POOL_ID_INVALID, &v), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(v, 77);
    CHECK_EQ(cvm_pool_store_global(0, VM_MAX_GLOBALS, 5), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(telemetry().contexts[0].globals_in_use, 0);

    CHECK_EQ(cvm_pool_store_global(0, 2, INT32_MIN), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_load_global(0, 2, &v), CVM_ERR_OK);
    CHECK_EQ(v, INT32_MIN);
    cvm_pool_telemetry t = telemetry();
    CHECK_EQ(t.contexts[0].globals_in_use, 3);
    CHECK_EQ(t.contexts[0].bytes_used, 12);
    CHECK_EQ(t.contexts[0].hw_globals, 3);
    /* A lower id does not lower globals_in_use. */
    CHECK_EQ(cvm_pool_store_global(0, 0, INT32_MAX), CVM_ERR_OK);
    CHECK_EQ(telemetry().contexts[0].globals_in_use, 3);
    CHECK_EQ(cvm_pool_store_global(0, VM_MAX_GLOBALS - 1u, -1), CVM_ERR_OK);
    t = telemetry();
    CHECK_EQ(t.contexts[0].globals_in_use, VM_MAX_GLOBALS);
    CHECK_EQ(t.contexts[0].hw_globals, VM_MAX_GLOBALS);
    CHECK_EQ(t.contexts[0].bytes_used, 4u * VM_MAX_GLOBALS);
}

static void test_arrays(void)
{
    int32_t v = 77;
    cvm_pool_init();
    CHECK_EQ(cvm_pool_acquire(1), CVM_ERR_OK);
    /* create_array: out_of_range (array) before bad_size before array_exists. */
    CHECK_EQ(cvm_pool_create_array(1, VM_MAX_ARRAYS, 0), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_create_array(1, CVM_POOL_ID_INVALID, 1), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_create_array(1, 0, 0), CVM_ERR_BAD_SIZE);
    CHECK_EQ(cvm_pool_create_array(1, 0, VM_ARRAY_ELEMENTS + 1u), CVM_ERR_BAD_SIZE);
    CHECK_EQ(cvm_pool_create_array(1, 0, CVM_POOL_ID_INVALID), CVM_ERR_BAD_SIZE);
    /* Inactive array: out_of_range (index >= VM_ARRAY_ELEMENTS) comes before array_inactive. */
    CHECK_EQ(cvm_pool_load_array(1, 0, 0, &v), CVM_ERR_ARRAY_INACTIVE);
    CHECK_EQ(cvm_pool_store_array(1, 0, 0, 1), CVM_ERR_ARRAY_INACTIVE);
    CHECK_EQ(cvm_pool_load_array(1, 0, VM_ARRAY_ELEMENTS, &v), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_load_array(1, VM_MAX_ARRAYS, 0, &v), CVM_ERR_OUT_OF_RANGE);

    uint32_t size = VM_ARRAY_ELEMENTS > 1u ? VM_ARRAY_ELEMENTS / 2u : 1u;
    CHECK_EQ(cvm_pool_create_array(1, 0, size), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_create_array(1, 0, 1), CVM_ERR_ARRAY_EXISTS);
    CHECK_EQ(cvm_pool_create_array(1, 0, 0), CVM_ERR_BAD_SIZE); /* bad_size before array_exists */
    /* A fresh array reads 0 everywhere below its size. */
    unsigned nonzero = 0;
    for (uint32_t i = 0; i < size; i++) {
        v = 77;
        if (cvm_pool_load_array(1, 0, i, &v) != CVM_ERR_OK || v != 0) {
            nonzero++;
        }
    }
    CHECK_EQ(nonzero, 0);
    CHECK_EQ(cvm_pool_store_array(1, 0, size - 1u, -42), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_load_array(1, 0, size - 1u, &v), CVM_ERR_OK);
    CHECK_EQ(v, -42);
    /* The deliberate tightening: at or past the array's size is past_size, below
     * VM_ARRAY_ELEMENTS; at or past VM_ARRAY_ELEMENTS is out_of_range. */
    if (size < VM_ARRAY_ELEMENTS) {
        CHECK_EQ(cvm_pool_load_array(1, 0, size, &v), CVM_ERR_PAST_SIZE);
        CHECK_EQ(cvm_pool_store_array(1, 0, VM_ARRAY_ELEMENTS - 1u, 1), CVM_ERR_PAST_SIZE);
    }
    CHECK_EQ(cvm_pool_store_array(1, 0, VM_ARRAY_ELEMENTS, 1), CVM_ERR_OUT_OF_RANGE);
    CHECK_EQ(cvm_pool_store_array(1, 0, CVM_POOL_ID_INVALID, 1), CVM_ERR_OUT_OF_RANGE);

    /* A full-size array in the last slot. */
    CHECK_EQ(cvm_pool_create_array(1, VM_MAX_ARRAYS - 1u, VM_ARRAY_ELEMENTS),
             VM_MAX_ARRAYS > 1u ? CVM_ERR_OK : CVM_ERR_ARRAY_EXISTS);
    if (VM_MAX_ARRAYS > 1u) {
        CHECK_EQ(cvm_pool_store_array(1, VM_MAX_ARRAYS - 1u, VM_ARRAY_ELEMENTS - 1u, 9), CVM_ERR_OK);
        cvm_pool_telemetry t = telemetry();
        CHECK_EQ(t.contexts[1].arrays_active, 2);
        CHECK_EQ(t.contexts[1].elements, size + VM_ARRAY_ELEMENTS);
        CHECK_EQ(t.contexts[1].bytes_used, 4u * (size + VM_ARRAY_ELEMENTS));
        CHECK_EQ(t.contexts[1].hw_arrays, 2);
        CHECK_EQ(t.contexts[1].hw_elements, size + VM_ARRAY_ELEMENTS);
    }
}

static void test_zeroing_and_isolation(void)
{
    int32_t v;
    cvm_pool_init();
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_store_global(0, 1, 1234), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_create_array(0, 0, 2), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_store_array(0, 0, 1, 5678), CVM_ERR_OK);

    if (MAX_CONCURRENT_VMS > 1u) {
        /* Isolation: another context sees none of it. */
        CHECK_EQ(cvm_pool_acquire(1), CVM_ERR_OK);
        CHECK_EQ(cvm_pool_load_global(1, 1, &v), CVM_ERR_OK);
        CHECK_EQ(v, 0);
        CHECK_EQ(cvm_pool_load_array(1, 0, 1, &v), CVM_ERR_ARRAY_INACTIVE);
        CHECK_EQ(cvm_pool_store_global(1, 1, -1), CVM_ERR_OK);
        CHECK_EQ(cvm_pool_load_global(0, 1, &v), CVM_ERR_OK);
        CHECK_EQ(v, 1234);
        CHECK_EQ(telemetry().contexts[1].globals_in_use, 2);
        CHECK_EQ(telemetry().contexts[0].arrays_active, 1);
        CHECK_EQ(telemetry().contexts[1].arrays_active, 0);
    }

    /* release zeroes the whole context; the high-water marks survive. */
    VMMemoryContext *c = cvm_pool_context(0);
    CHECK(c != NULL);
    CHECK_EQ(cvm_pool_release(0), CVM_ERR_OK);
    static const VMMemoryContext zero;
    CHECK(memcmp(c, &zero, sizeof zero) == 0);
    cvm_pool_telemetry t = telemetry();
    CHECK_EQ(t.contexts[0].globals_in_use, 0);
    CHECK_EQ(t.contexts[0].elements, 0);
    CHECK_EQ(t.contexts[0].hw_globals, 2);
    CHECK_EQ(t.contexts[0].hw_arrays, 1);
    CHECK_EQ(t.contexts[0].hw_elements, 2);

    /* acquire zeroes too, even memory written behind the pool's back. */
    c->globals[3] = 99;
    c->arrays[0][1] = 99;
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_load_global(0, 3, &v), CVM_ERR_OK);
    CHECK_EQ(v, 0);
    CHECK_EQ(cvm_pool_load_array(0, 0, 1, &v), CVM_ERR_ARRAY_INACTIVE);
    CHECK_EQ(cvm_pool_create_array(0, 0, 2), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_load_array(0, 0, 1, &v), CVM_ERR_OK);
    CHECK_EQ(v, 0);
}

static void test_reset(void)
{
    cvm_pool_init();
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_store_global(0, 3, 1), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_create_array(0, 0, 1), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_release(0), CVM_ERR_OK);
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
    cvm_pool_reset();
    cvm_pool_telemetry t = telemetry();
    static const cvm_pool_telemetry zero;
    CHECK(memcmp(&t, &zero, sizeof t) == 0);
    CHECK(cvm_pool_context(0) == NULL);
    CHECK_EQ(cvm_pool_acquire(0), CVM_ERR_OK);
}

static void test_table(void)
{
    const cvm_memory_ops *m = &cvm_pool_memory_ops;
    int32_t v = 0;
    m->reset();
    CHECK_EQ(m->acquire(0), CVM_ERR_OK);
    CHECK_EQ(m->store_global(0, 0, 7), CVM_ERR_OK);
    CHECK_EQ(m->load_global(0, 0, &v), CVM_ERR_OK);
    CHECK_EQ(v, 7);
    CHECK_EQ(m->create_array(0, 0, 1), CVM_ERR_OK);
    CHECK_EQ(m->store_array(0, 0, 0, 8), CVM_ERR_OK);
    CHECK_EQ(m->load_array(0, 0, 0, &v), CVM_ERR_OK);
    CHECK_EQ(v, 8);
    CHECK(m->context(0) == cvm_pool_context(0));
    cvm_pool_telemetry t;
    m->telemetry(&t);
    CHECK_EQ(t.acquires, 1);
    CHECK_EQ(m->release(0), CVM_ERR_OK);
    CHECK(m->context(0) == NULL);
}

int main(void)
{
    test_acquire_release();
    test_not_acquired();
    test_globals();
    test_arrays();
    test_zeroing_and_isolation();
    test_reset();
    test_table();
    return cvm_test_end();
}
