/*
 * unwind_helper.c — a shared object that test_stack_unwind loads with
 * dlopen, so that unwinding crosses an object loaded after the process
 * started. Its frames use both CFA rules (rsp-based, and rbp-based through
 * alloca).
 */
#include <alloca.h>
#include <string.h>

__attribute__((visibility("default"), noinline)) int helper_call(int depth, int (*cb)(int), int arg)
{
    if (depth <= 0)
        return cb(arg);
    volatile char *pad = alloca((size_t)(16 + depth * 8)); /* an rbp-based frame */
    memset((char *)pad, depth, 8);
    int r = helper_call(depth - 1, cb, arg) + pad[0];
    __asm__ volatile("" : : "r"(pad) : "memory");
    return r;
}
