/*
 * ring_aux_read.h — the aux area of a ring file (formats/ring/ring.h): thread
 * names, modules, deduplicated native and Python stacks, decoded into a trace_process.
 * Internal to ring_read.c.
 */
#ifndef GILTRACE_RING_AUX_READ_H
#define GILTRACE_RING_AUX_READ_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"
#include "trace_model.h"

/* Decoded aux: names by tid, and how raw stack ids map to p->stacks. */
struct ring_aux_data {
    size_t nnames;
    struct ring_thread_name *names; /* committed entries, in order */
    uint32_t *stack_of_slot;        /* raw id (slot + 1) -> 1-based stack in p->stacks, 0: none */
    size_t nslots;                  /* entries of stack_of_slot - 1 */
    uint32_t *py_stack_of_slot;     /* raw Python stack id -> 1-based stack in p->py_stacks, 0: none */
    size_t py_nslots;               /* entries of py_stack_of_slot - 1 */
};

/* Read the aux area of the ring at `base` (`size` bytes, header checked)
 * into `aux` and `p` (modules, stacks, lost_stacks, stacks_recorded, and
 * the Python code objects and stacks, their lines resolved for
 * p->python_hexversion, which must be set).
 * Entries that are not committed or point outside the file are skipped.
 * Returns 0, or -1 when out of memory. */
int ring_aux_read(const struct ring_header *h, const char *base, size_t size, struct trace_process *p,
                  struct ring_aux_data *aux);

/* The name recorded last for `tid`, or NULL. */
const char *ring_aux_name(const struct ring_aux_data *aux, uint32_t tid);

void ring_aux_data_free(struct ring_aux_data *aux);

#endif
