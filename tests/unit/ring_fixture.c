/*
 * ring_fixture.c — in-memory ring files for tests. See ring_fixture.h.
 */
#include "ring_fixture.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"

void ring_fixture_init(struct ring_fixture *f, uint32_t chunks)
{
    f->chunk_count = chunks;
    f->size = (size_t)ring_chunk_offset(chunks);
    f->mem = calloc(1, f->size);
    CHECK(f->mem != NULL);
    struct ring_header *h = (struct ring_header *)f->mem;
    ring_header_init(h, chunks, RING_CLOCK_MONOTONIC);
    h->pid = 4242;
    h->ppid = 1;
    h->python_hexversion = 0x030b07f0;
    h->gil_kind = RING_GIL_CONDVAR;
    h->start = (struct ring_calibration){.raw = 1000, .mono_ns = 1000};
    h->state = RING_STATE_EXITED;
    h->end = (struct ring_calibration){.raw = 900000, .mono_ns = 900000};
    h->gil_count = 1;
    h->gils[0].kind = RING_GIL_CONDVAR;
    strcpy(h->python_version, "3.11.7 (fixture)");
    strcpy(h->exe, "/usr/bin/python3");
    memcpy(h->argv, "python3\0app.py\0", 15);
    h->argv_len = 15;
}

uint64_t ring_fixture_claim(struct ring_fixture *f, uint32_t tid)
{
    struct ring_header *h = (struct ring_header *)f->mem;
    uint64_t seq = ++h->next_chunk;
    CHECK(seq <= f->chunk_count);
    struct ring_chunk_header *c = (struct ring_chunk_header *)(f->mem + ring_chunk_offset((uint32_t)(seq - 1)));
    c->seq = seq;
    c->tid = tid;
    return seq;
}

struct ring_record *ring_fixture_record(struct ring_fixture *f, uint64_t seq, uint32_t index)
{
    return (struct ring_record *)(f->mem + ring_chunk_offset((uint32_t)(seq - 1)) + RING_CHUNK_HEADER_SIZE) + index;
}

void ring_fixture_put(struct ring_fixture *f, uint64_t seq, uint32_t index, uint64_t ts, unsigned kind,
                      unsigned gil, unsigned cpu)
{
    struct ring_record *r = ring_fixture_record(f, seq, index);
    r->raw_ts = ts;
    r->tail = ring_record_tail(kind, gil, cpu, ring_record_check(seq, index));
}

void ring_fixture_free(struct ring_fixture *f)
{
    free(f->mem);
    memset(f, 0, sizeof *f);
}
