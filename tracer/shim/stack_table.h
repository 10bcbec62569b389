/*
 * stack_table.h — the deduplicated stacks of a ring (formats/ring/ring.h,
 * struct ring_stack_slot): lock-free and allocation-free, for the
 * recording path.
 */
#ifndef GILTRACE_STACK_TABLE_H
#define GILTRACE_STACK_TABLE_H

#include <stdbool.h>
#include <stdint.h>

#include "ring.h"

/* The id (>= 1) of the stack `ips[0..n)`, storing it if it is new; 0 when
 * the table or its frame pool is full. Never waits: when another thread is
 * storing the same new stack at that moment, the stack may be stored twice
 * (readers merge copies). */
uint32_t stack_table_intern(struct ring_aux *a, const uintptr_t *ips, unsigned n, bool truncated);

/* The same for any stack of words (native or Python): `flags` are the
 * RING_STACK_* bits stored with its depth (truncated, Python). */
uint32_t stack_table_intern_words(struct ring_aux *a, const uint64_t *words, unsigned n, uint32_t flags);

#endif
