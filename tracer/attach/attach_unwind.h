/*
 * attach_unwind.h — the call chain of a stopped thread of another process,
 * from the call frame information of the objects it runs (so stripped
 * builds work), with libunwind's ptrace accessors.
 *
 * libunwind reads the target's memory a word at a time, searching each
 * object's .eh_frame_hdr table and decoding its frame descriptions in
 * place, and finds each object's table anew whenever the stack crosses
 * objects; with its stock ptrace accessors a Python stack cost several
 * milliseconds. Here memory is read a page at a time into a cache, and
 * each object's table is found once, both for as long as the unwinder
 * lives, which must therefore only be while every thread stays stopped.
 */
#ifndef GILTRACE_ATTACH_UNWIND_H
#define GILTRACE_ATTACH_UNWIND_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach_maps.h"

struct attach_unwinder;

/* An unwinder for process `pid`, whose memory map is `maps` (kept; one
 * unwinder at a time). NULL if libunwind fails. */
struct attach_unwinder *attach_unwind_new(pid_t pid, const struct attach_maps *maps);

void attach_unwind_free(struct attach_unwinder *u);

enum attach_unwind_end {
    ATTACH_UNWIND_DONE,    /* reached the outermost frame */
    ATTACH_UNWIND_STOPPED, /* `frame` asked to stop */
    ATTACH_UNWIND_BROKEN,  /* a frame had no unwind information */
    ATTACH_UNWIND_DEEP     /* more than `max` frames */
};

/* Call `frame` with an address inside each function on thread `tid`'s
 * stack, innermost first (return addresses are moved back into the call
 * instruction), until it returns false. */
enum attach_unwind_end attach_unwind_frames(struct attach_unwinder *u, pid_t tid, unsigned max,
                                            bool (*frame)(void *ctx, uintptr_t addr), void *ctx);

#endif
