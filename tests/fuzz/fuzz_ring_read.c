/*
 * fuzz_ring_read.c — libFuzzer target: any bytes given to the ring reader as
 * a ring file must be refused with a reason or decoded, never crash, hang or
 * read out of bounds; a decoded process must be self-consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "ring_read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The reader maps files: give it a page-aligned copy, as mmap would. */
    size_t cap = size ? (size + 4095) / 4096 * 4096 : 4096;
    void *copy = aligned_alloc(4096, cap);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct trace_process p;
    char err[256];
    if (ring_read_memory(copy, size, &p, err, sizeof err) == 0) {
        for (size_t i = 0; i < p.thread_count; i++)
            for (size_t k = 0; k < p.threads[i].count; k++) {
                const struct trace_event *e = &p.threads[i].events[k];
                if (e->kind < 1 || e->kind > RING_EV_KIND_MAX || e->gil >= (p.gil_count ? p.gil_count : 1))
                    abort(); /* the reader let an invalid record through */
            }
        trace_process_free(&p);
    } else if (!err[0]) {
        abort(); /* refused without saying why */
    }
    free(copy);
    return 0;
}
