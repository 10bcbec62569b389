/*
 * test_stack_unwind.c — the recording path's unwinder (tracer/shim/
 * stack_unwind.c) against libunwind's: at the same point, in many call
 * shapes (deep recursion, alloca frames, an object loaded with dlopen,
 * callbacks from libc's qsort, another thread), the frames it records must
 * be exactly libunwind's from that frame on. Then the ring's stack table:
 * one id per distinct stack, the same id for the same stack, lost when
 * full, and consistent when many threads intern at once.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <libunwind.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "../../tracer/shim/stack_table.h"
#include "../../tracer/shim/stack_unwind.h"
#include "check.h"

#define MAX 64

static uintptr_t stack_top(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    CHECK(pthread_getattr_np(pthread_self(), &a) == 0);
    CHECK(pthread_attr_getstack(&a, &addr, &size) == 0);
    pthread_attr_destroy(&a);
    return (uintptr_t)addr + size;
}

static __thread uintptr_t top;
static int compared, frames_compared;

/* Unwind here both ways; ours starts at this function's return address. */
__attribute__((noinline)) static int probe(int expect_full)
{
    uintptr_t from = (uintptr_t)__builtin_return_address(0);
    uintptr_t ours[MAX];
    bool truncated;
    unsigned n = stack_unwind(from, top, ours, MAX, &truncated);
    void *ref[MAX + 8];
    int m = unw_backtrace(ref, MAX + 8);
    int k = 0;
    while (k < m && (uintptr_t)ref[k] != from)
        k++;
    CHECK(k < m);
    CHECK(n >= 1);
    CHECK_EQ_INT(ours[0], from);
    unsigned same = 0;
    while (same < n && k + (int)same < m && ours[same] == (uintptr_t)ref[k + same])
        same++;
    if (same != n) {
        fprintf(stderr, "frame %u differs: ours %#lx, libunwind's %#lx\n", same, (unsigned long)ours[same],
                (unsigned long)ref[k + same]);
        CHECK(same == n);
    }
    if (expect_full && !truncated && m - k < MAX)
        CHECK_EQ_INT(n, m - k); /* all the way, as far as libunwind went */
    compared++;
    frames_compared += (int)n;
    return (int)n;
}

__attribute__((noinline)) static int recurse(int depth, int expect_full)
{
    if (depth == 0)
        return probe(expect_full);
    int r = recurse(depth - 1, expect_full);
    __asm__ volatile("" ::: "memory");
    return r + 1;
}

__attribute__((noinline)) static int with_alloca(int n)
{
    volatile char *p = __builtin_alloca((size_t)(n + 1) * 32);
    p[0] = 1;
    int r = n > 0 ? with_alloca(n - 1) : probe(1);
    __asm__ volatile("" : : "r"(p) : "memory");
    return r + p[0];
}

__attribute__((noinline)) static int probe_small(void)
{
    uintptr_t ips[3];
    bool truncated;
    unsigned n = stack_unwind((uintptr_t)__builtin_return_address(0), top, ips, 3, &truncated);
    CHECK(truncated);
    return (int)n;
}

__attribute__((noinline)) static int recurse_small(int depth)
{
    int r = depth ? recurse_small(depth - 1) : probe_small();
    __asm__ volatile("" ::: "memory");
    return r;
}

static int cb(int arg)
{
    return probe(arg);
}

static int cmp_and_probe(const void *a, const void *b)
{
    static int once;
    if (!once++)
        probe(1);
    return *(const int *)a - *(const int *)b;
}

static void *thread_main(void *arg)
{
    top = stack_top();
    recurse(10, 1);
    int (*helper)(int, int (*)(int), int) = arg;
    helper(5, cb, 1);
    return NULL;
}

/* ---- the stack table ---- */

static struct ring_aux *make_aux(uint32_t mb, void **mem)
{
    struct ring_aux_layout l = ring_aux_layout(mb);
    *mem = calloc(1, l.size);
    CHECK(*mem != NULL);
    struct ring_aux *a = *mem;
    a->size = sizeof *a;
    a->slots_cap = l.slots_cap;
    a->slots_offset = l.slots_offset;
    a->pool_offset = l.pool_offset;
    a->pool_cap = l.pool_cap;
    a->pool_used = 1;
    return a;
}

static const uint64_t *frames_of(struct ring_aux *a, uint32_t id, uint32_t *depth)
{
    struct ring_stack_slot *s = (struct ring_stack_slot *)((char *)a + a->slots_offset) + (id - 1);
    *depth = s->depth & ~RING_STACK_TRUNCATED;
    return (const uint64_t *)((char *)a + a->pool_offset) + s->frames;
}

struct intern_job {
    struct ring_aux *a;
    int seed;
    int errors;
};

static void *intern_many(void *p)
{
    struct intern_job *j = p;
    for (int i = 0; i < 20000; i++) {
        uintptr_t ips[8];
        int which = (i * 7 + j->seed) % 500; /* 500 distinct stacks, shared by all threads */
        unsigned n = 1 + (unsigned)which % 8;
        for (unsigned k = 0; k < n; k++)
            ips[k] = 0x400000 + (uintptr_t)which * 64 + k;
        uint32_t id = stack_table_intern(j->a, ips, n, false);
        uint32_t depth;
        const uint64_t *f = id ? frames_of(j->a, id, &depth) : NULL;
        if (!id || depth != n || memcmp(f, ips, n * 8) != 0)
            j->errors++;
    }
    return NULL;
}

static void check_table(void)
{
    void *mem;
    struct ring_aux *a = make_aux(1, &mem);
    uintptr_t s1[3] = {1, 2, 3}, s2[3] = {1, 2, 4};
    uint32_t a1 = stack_table_intern(a, s1, 3, false);
    uint32_t a2 = stack_table_intern(a, s2, 3, false);
    uint32_t a3 = stack_table_intern(a, s1, 3, true);
    CHECK(a1 && a2 && a3 && a1 != a2 && a1 != a3);
    CHECK_EQ_INT(stack_table_intern(a, s1, 3, false), a1);
    CHECK_EQ_INT(stack_table_intern(a, s1, 2, false) == a1, 0);
    free(mem);

    /* a full frame pool: new stacks are lost (0), known ones still found */
    a = make_aux(1, &mem);
    a->pool_cap = 1 + 3 * 10;
    uint32_t ids[20];
    for (int i = 0; i < 20; i++) {
        uintptr_t s[3] = {(uintptr_t)i, 7, 8};
        ids[i] = stack_table_intern(a, s, 3, false);
    }
    for (int i = 0; i < 20; i++)
        CHECK(i < 10 ? ids[i] != 0 : ids[i] == 0);
    uintptr_t again[3] = {3, 7, 8};
    CHECK_EQ_INT(stack_table_intern(a, again, 3, false), ids[3]);
    free(mem);

    /* eight threads interning the same 500 stacks at once */
    a = make_aux(4, &mem);
    pthread_t t[8];
    struct intern_job jobs[8];
    for (int i = 0; i < 8; i++) {
        jobs[i] = (struct intern_job){a, i * 13, 0};
        CHECK(pthread_create(&t[i], NULL, intern_many, &jobs[i]) == 0);
    }
    int errors = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        errors += jobs[i].errors;
    }
    CHECK_EQ_INT(errors, 0);
    uint32_t used = 0;
    struct ring_stack_slot *slots = (struct ring_stack_slot *)((char *)a + a->slots_offset);
    for (uint32_t i = 0; i < a->slots_cap; i++)
        used += slots[i].hash != 0;
    /* copies only where threads met a stack another was storing: each
     * thread at most once per stack */
    CHECK(used >= 500 && used <= 500 * 8);
    /* and once stored, a stack is found: interning them all again takes no slot */
    uint64_t pool_before = a->pool_used;
    struct intern_job repeat = {a, 0, 0};
    intern_many(&repeat);
    CHECK_EQ_INT(repeat.errors, 0);
    CHECK_EQ_INT(a->pool_used, pool_before);
    printf("stack table: 8 threads x 20000 interns of 500 stacks -> %u slots (%u copies from races)\n", used,
           used - 500);
    free(mem);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    stack_unwind_init();
    top = stack_top();
    for (int d = 0; d < 40; d += 7)
        recurse(d, 1);
    with_alloca(6);
    int v[16];
    for (int i = 0; i < 16; i++)
        v[i] = 16 - i;
    qsort(v, 16, sizeof v[0], cmp_and_probe);

    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], dlerror());
        return 1;
    }
    int (*helper)(int, int (*)(int), int) = (int (*)(int, int (*)(int), int))dlsym(h, "helper_call");
    CHECK(helper != NULL);
    helper(7, cb, 1);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_main, (void *)helper) == 0);
    pthread_join(t, NULL);

    /* a stack deeper than what is kept: the innermost frames, truncated */
    top = stack_top();
    CHECK_EQ_INT(recurse_small(20), 3);
    uintptr_t ips[8];
    bool truncated;
    /* the start frame is never met: nothing */
    CHECK(stack_unwind(1, top, ips, 8, &truncated) == 0);

    /* no readable stack above the stack pointer: nothing */
    CHECK(stack_unwind(0, 16, ips, 8, &truncated) == 0);

    printf("unwinder: %d stacks, %d frames, identical to libunwind's\n", compared, frames_compared);
    check_table();
    return 0;
}
