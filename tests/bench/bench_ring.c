/*
 * bench_ring.c — synthetic ring files for the benchmarks (bench_ring.h).
 */
#include "bench_ring.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ring.h"

/* A GIL battle among the threads: the repeating sequence of one forced
 * handoff, 2-20 us apart, with the TSC running at 3 ticks per ns. */
void bench_ring_write(const char *path, uint64_t events)
{
    uint64_t per_thread = events / BENCH_RING_THREADS;
    uint64_t chunks_per_thread = (per_thread + RING_RECORDS_PER_CHUNK - 1) / RING_RECORDS_PER_CHUNK;
    uint32_t chunks = (uint32_t)(chunks_per_thread * BENCH_RING_THREADS);
    size_t size = (size_t)ring_chunk_offset(chunks);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0)
        exit(1);
    unsigned char *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        exit(1);
    struct ring_header *h = (void *)m;
    ring_header_init(h, chunks, RING_CLOCK_TSC);
    h->pid = 1000;
    h->gil_kind = RING_GIL_CONDVAR;
    h->gil_count = 1;
    h->start = (struct ring_calibration){.raw = 3000000000000u, .mono_ns = 1000000000000u};
    static const unsigned pattern[] = {RING_EV_ACQUIRE, RING_EV_RELEASE, RING_EV_FORCED_SWITCH, RING_EV_BUSY,
                                       RING_EV_TIMEOUT, RING_EV_DROP_REQUEST, RING_EV_RETRY};
    uint64_t seq = 0, last_raw = 0;
    for (uint32_t t = 0; t < BENCH_RING_THREADS; t++) {
        uint64_t raw = h->start.raw + t * 1000;
        uint64_t left = per_thread;
        for (uint64_t c = 0; c < chunks_per_thread; c++) {
            seq++;
            struct ring_chunk_header *ch = (void *)(m + ring_chunk_offset((uint32_t)(seq - 1)));
            ch->seq = seq;
            ch->tid = 2000 + t;
            ch->claimed = (struct ring_calibration){.raw = raw, .mono_ns = 1000000000000u + (raw - h->start.raw) / 3};
            struct ring_record *r = (void *)((char *)ch + RING_CHUNK_HEADER_SIZE);
            for (uint32_t i = 0; i < RING_RECORDS_PER_CHUNK && left; i++, left--) {
                raw += 6000 + (raw * 2654435761u >> 20) % 54000;
                r[i].raw_ts = raw;
                r[i].tail = ring_record_tail(pattern[(per_thread - left) % 7], 0, t % 2, ring_record_check(seq, i));
            }
        }
        if (raw > last_raw)
            last_raw = raw;
    }
    h->next_chunk = seq;
    h->end = (struct ring_calibration){.raw = last_raw, .mono_ns = 1000000000000u + (last_raw - h->start.raw) / 3};
    h->state = RING_STATE_EXITED;
    munmap(m, size);
}
