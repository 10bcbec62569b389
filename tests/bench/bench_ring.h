/*
 * bench_ring.h — synthetic ring files for the benchmarks: a ring laid out
 * exactly as the shim writes it (rdtscp clock and all), holding a GIL
 * battle of a given number of events, for benchmarks of what reads rings
 * (bench_dump, bench_live).
 */
#ifndef GILTRACE_BENCH_RING_H
#define GILTRACE_BENCH_RING_H

#include <stdint.h>

#define BENCH_RING_THREADS 4

/* Write a finished ring of `events` events (BENCH_RING_THREADS threads of
 * events / BENCH_RING_THREADS each) to `path`; exits the program on an I/O error. */
void bench_ring_write(const char *path, uint64_t events);

#endif
