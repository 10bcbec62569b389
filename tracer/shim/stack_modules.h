/*
 * stack_modules.h — the objects (executable, shared libraries) loaded in the
 * process, for the ring (so that stack frames can be named after the
 * process is gone) and, on a glibc without _dl_find_object, for the
 * unwinder. Built with dl_iterate_phdr, never on the recording path: when
 * tracing starts, at each thread start, after a fork and at exit.
 */
#ifndef GILTRACE_STACK_MODULES_H
#define GILTRACE_STACK_MODULES_H

#include <stdbool.h>
#include <stdint.h>

/* Add every object loaded since the last call (to the ring too). */
void stack_modules_refresh(void);

/* In a fork child: the registry's lock may have been held by another thread. */
void stack_modules_after_fork_child(void);

/* The object holding pc, from the table (lock-free; the recording path may
 * call it): its mapping [start, end), load bias and eh_frame_hdr. */
bool stack_modules_find(uintptr_t pc, uintptr_t *start, uintptr_t *end, uintptr_t *bias, uintptr_t *eh_frame_hdr);

#endif
