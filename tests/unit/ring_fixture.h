/*
 * ring_fixture.h — test helper: build ring files in memory, record by
 * record, exactly as the shim lays them out (formats/ring/ring.h).
 */
#ifndef GILTRACE_TEST_RING_FIXTURE_H
#define GILTRACE_TEST_RING_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

struct ring_fixture {
    unsigned char *mem;
    size_t size;
    uint32_t chunk_count;
};

/* A header for `chunks` chunks, MONOTONIC clock (raw == ns), one condvar GIL. */
void ring_fixture_init(struct ring_fixture *f, uint32_t chunks);

/* Claim the next chunk for `tid`; returns its seq. */
uint64_t ring_fixture_claim(struct ring_fixture *f, uint32_t tid);

/* Write record `index` of chunk `seq` with a valid commit check. */
void ring_fixture_put(struct ring_fixture *f, uint64_t seq, uint32_t index, uint64_t ts, unsigned kind,
                      unsigned gil, unsigned cpu);

struct ring_record *ring_fixture_record(struct ring_fixture *f, uint64_t seq, uint32_t index);

void ring_fixture_free(struct ring_fixture *f);

#endif
