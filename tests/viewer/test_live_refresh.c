/*
 * test_live_refresh.c — gv_live (viewer/gilview_live.c) following a process
 * through its refreshes: a ring that grows between refreshes is shown whole
 * after the next one, and once the process is gone a refresh fails in one
 * line and the last view stays, unchanged.
 *
 * The "traced process" is a child that maps a synthetic ring
 * (tests/bench/bench_ring.h) as the shim would, tells the parent it has,
 * and waits on a pipe; closing the pipe ends it, and waitpid makes sure it
 * is gone before the refresh that must fail. The ring grows by chunks
 * hidden from the first refresh (seq 0) and shown before the second.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_ring.h"
#include "check.h"
#include "gilview.h"
#include "ring.h"
#include "tdb_view.h"

#define EVENTS 40000

/* Hide (seq 0) or show every thread's last chunk (chunk i has seq i + 1). */
static void set_last_chunks(unsigned char *m, bool show)
{
    uint64_t cpt = (EVENTS / BENCH_RING_THREADS + RING_RECORDS_PER_CHUNK - 1) / RING_RECORDS_PER_CHUNK;
    for (uint64_t t = 0; t < BENCH_RING_THREADS; t++) {
        uint64_t i = (t + 1) * cpt - 1;
        struct ring_chunk_header *ch = (void *)(m + ring_chunk_offset((uint32_t)i));
        __atomic_store_n(&ch->seq, show ? i + 1 : 0, __ATOMIC_RELEASE);
    }
}

int main(void)
{
    char ring[] = "/tmp/test-live-refresh-XXXXXX.ring"; /* proc_ring.h looks for *.ring */
    int fd = mkstemps(ring, 5);
    CHECK(fd >= 0);
    close(fd);
    bench_ring_write(ring, EVENTS);
    fd = open(ring, O_RDWR);
    struct stat st;
    CHECK(fd >= 0 && fstat(fd, &st) == 0);
    unsigned char *m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(m != MAP_FAILED);
    set_last_chunks(m, false);

    int ready[2], hold[2];
    CHECK(pipe(ready) == 0 && pipe(hold) == 0);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) { /* the traced process: its ring mapped, waiting to be let go */
        close(ready[0]);
        close(hold[1]);
        void *mine = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        char c = mine == MAP_FAILED ? 'x' : 'r', buf;
        if (write(ready[1], &c, 1) != 1)
            _exit(1);
        while (read(hold[0], &buf, 1) > 0)
            ;
        _exit(0);
    }
    close(fd);
    close(ready[1]);
    close(hold[0]);
    char c = 0;
    CHECK(read(ready[0], &c, 1) == 1 && c == 'r');
    ((struct ring_header *)m)->pid = (uint32_t)child; /* the ring of this process */

    char err[256];
    struct gv_live *l = gv_live_open(child, err, sizeof err);
    if (!l)
        fprintf(stderr, "%s\n", err);
    CHECK(l);
    uint64_t all = EVENTS / BENCH_RING_THREADS * BENCH_RING_THREADS;
    uint64_t first = tdb_view_event_count(gv_live_view(l));
    CHECK(first > 0 && first < all); /* the hidden chunks are not there yet */

    set_last_chunks(m, true); /* the ring grows */
    CHECK(gv_live_refresh(l, err, sizeof err) == 0);
    struct tdb_view *v = gv_live_view(l);
    CHECK_EQ_INT(tdb_view_event_count(v), all);
    CHECK_EQ_INT(tdb_view_lane_count(v), BENCH_RING_THREADS);

    close(hold[1]); /* the process ends */
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    err[0] = '\0';
    CHECK(gv_live_refresh(l, err, sizeof err) != 0);
    CHECK(err[0] != '\0' && strchr(err, '\n') == NULL);
    CHECK(gv_live_view(l) == v); /* the last view stays */
    CHECK_EQ_INT(tdb_view_event_count(v), all);
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    CHECK(s1 > s0);
    printf("ok: %llu events, then %llu after the ring grew; once the process was gone: \"%s\", the last view kept\n",
           (unsigned long long)first, (unsigned long long)all, err);
    gv_live_close(l);
    munmap(m, (size_t)st.st_size);
    unlink(ring);
    return 0;
}
