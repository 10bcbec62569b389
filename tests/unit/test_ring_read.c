/*
 * test_ring_read.c — decoding ring files: threads come out with their
 * events in claim order, process identity is carried over, torn and invalid
 * records are dropped and counted (never misread), a process that ended is
 * read as of its end (events stamped later, by threads still running while
 * it exited, are left out for every thread alike), and files that are not
 * rings are refused with a reason.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring_read.h"
#include "check.h"
#include "ring_fixture.h"

static void test_threads_and_identity(void)
{
    struct ring_fixture f;
    ring_fixture_init(&f, 8);
    uint64_t a1 = ring_fixture_claim(&f, 100);
    uint64_t b1 = ring_fixture_claim(&f, 200);
    uint64_t a2 = ring_fixture_claim(&f, 100);
    for (uint32_t i = 0; i < RING_RECORDS_PER_CHUNK; i++)
        ring_fixture_put(&f, a1, i, 2000 + i, i % 2 ? RING_EV_RELEASE : RING_EV_ACQUIRE, 0, 3);
    ring_fixture_put(&f, a2, 0, 2000 + RING_RECORDS_PER_CHUNK, RING_EV_ACQUIRE, 0, RING_CPU_UNKNOWN);
    ring_fixture_put(&f, b1, 0, 2500, RING_EV_BUSY, 0, 1);

    struct trace_process p;
    char err[256];
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == 0);
    CHECK_EQ_INT(p.pid, 4242);
    CHECK_EQ_INT(p.ppid, 1);
    CHECK_STR(p.exe, "/usr/bin/python3");
    CHECK_EQ_INT(p.argc, 2);
    CHECK_STR(p.argv[1], "app.py");
    CHECK(p.exited);
    CHECK_EQ_INT(p.start_ns, 1000);
    CHECK_EQ_INT(p.end_ns, 900000);
    CHECK_EQ_INT(p.thread_count, 2);
    CHECK_EQ_INT(p.threads[0].tid, 100);
    CHECK_EQ_INT(p.threads[0].count, RING_RECORDS_PER_CHUNK + 1);
    CHECK_EQ_INT(p.threads[0].events[RING_RECORDS_PER_CHUNK].ts_ns, 2000 + RING_RECORDS_PER_CHUNK);
    CHECK_EQ_INT(p.threads[0].events[RING_RECORDS_PER_CHUNK].cpu, RING_CPU_UNKNOWN);
    CHECK_EQ_INT(p.threads[0].events[1].kind, RING_EV_RELEASE);
    CHECK_EQ_INT(p.threads[0].events[1].cpu, 3);
    CHECK_EQ_INT(p.threads[1].tid, 200);
    CHECK_EQ_INT(p.threads[1].count, 1);
    CHECK_EQ_INT(p.dropped_records, 0);
    trace_process_free(&p);
    ring_fixture_free(&f);
}

static void test_torn_and_invalid_records(void)
{
    struct ring_fixture f;
    ring_fixture_init(&f, 4);
    uint64_t s = ring_fixture_claim(&f, 7);
    ring_fixture_put(&f, s, 0, 3000, RING_EV_ACQUIRE, 0, 0);
    ring_fixture_put(&f, s, 1, 3100, RING_EV_RELEASE, 0, 0);
    /* Torn: the timestamp reached memory, the committing tail did not. */
    ring_fixture_record(&f, s, 2)->raw_ts = 3200;

    uint64_t t = ring_fixture_claim(&f, 8);
    ring_fixture_put(&f, t, 0, 3000, RING_EV_BUSY, 0, 0);
    ring_fixture_put(&f, t, 1, 3050, 99, 0, 0);             /* unknown kind */
    uint64_t u = ring_fixture_claim(&f, 9);
    ring_fixture_put(&f, u, 0, 3000, RING_EV_ACQUIRE, 5, 0); /* GIL 5 does not exist */
    /* A record committed under another chunk's seq (stale data). */
    struct ring_record *r = ring_fixture_record(&f, u, 1);
    r->raw_ts = 3300;
    r->tail = ring_record_tail(RING_EV_RELEASE, 0, 0, ring_record_check(u + 1, 1));

    struct trace_process p;
    char err[256];
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == 0);
    CHECK_EQ_INT(p.thread_count, 3);
    CHECK_EQ_INT(p.threads[0].count, 2);
    CHECK_EQ_INT(p.threads[1].count, 1);
    CHECK_EQ_INT(p.threads[2].count, 0);
    CHECK_EQ_INT(p.dropped_records, 3);
    trace_process_free(&p);
    ring_fixture_free(&f);
}

static void test_cut_at_end(void)
{
    struct ring_fixture f;
    ring_fixture_init(&f, 4); /* exited, end at 900000 ns */
    uint64_t a = ring_fixture_claim(&f, 100);
    uint64_t b = ring_fixture_claim(&f, 200);
    ring_fixture_put(&f, a, 0, 899000, RING_EV_ACQUIRE, 0, 0);
    ring_fixture_put(&f, a, 1, 899500, RING_EV_RELEASE, 0, 0);
    ring_fixture_put(&f, a, 2, 900500, RING_EV_BUSY, 0, 0);
    ring_fixture_put(&f, b, 0, 899600, RING_EV_ACQUIRE, 0, 0);
    ring_fixture_put(&f, b, 1, 900000, RING_EV_RELEASE, 0, 0);
    ring_fixture_put(&f, b, 2, 900100, RING_EV_ACQUIRE, 0, 0);
    struct trace_process p;
    char err[256];
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == 0);
    CHECK_EQ_INT(p.thread_count, 2);
    CHECK_EQ_INT(p.threads[0].count, 2);
    CHECK_EQ_INT(p.threads[1].count, 2);
    CHECK_EQ_INT(p.threads[1].events[1].ts_ns, 900000);
    CHECK_EQ_INT(p.end_ns, 900000);
    CHECK_EQ_INT(p.dropped_records, 0);
    trace_process_free(&p);
    ring_fixture_free(&f);
}

/* A ring file whose claimed chunks past the first are holes (the writer
 * could not populate them): reading it allocates nothing in the file (on a
 * full tmpfs, touching a hole is SIGBUS). */
static void test_holes(void)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char path[128];
    snprintf(path, sizeof path, "%s/giltrace-holes-%d.ring", dir, (int)getpid());
    struct ring_fixture f;
    ring_fixture_init(&f, 64);
    uint64_t s = ring_fixture_claim(&f, 100);
    ring_fixture_put(&f, s, 0, 2000, RING_EV_ACQUIRE, 0, 0);
    ((struct ring_header *)f.mem)->next_chunk = 64; /* 63 more claimed, never populated */
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    size_t written = (size_t)ring_chunk_offset(1);
    CHECK(pwrite(fd, f.mem, written, 0) == (ssize_t)written);
    CHECK(ftruncate(fd, (off_t)f.size) == 0);
    struct stat before, after;
    CHECK(fstat(fd, &before) == 0);
    struct trace_process p;
    char err[256];
    CHECK(ring_read_file(path, &p, err, sizeof err) == 0);
    CHECK(fstat(fd, &after) == 0);
    CHECK_EQ_INT(after.st_blocks, before.st_blocks);
    CHECK_EQ_INT(p.thread_count, 1);
    CHECK_EQ_INT(p.threads[0].count, 1);
    trace_process_free(&p);
    close(fd);
    unlink(path);
    ring_fixture_free(&f);
}

static void test_refusals(void)
{
    struct ring_fixture f;
    struct trace_process p;
    char err[256];
    ring_fixture_init(&f, 2);
    memcpy(f.mem, "NOTARING", 8);
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == -1);
    CHECK(strstr(err, "not a giltrace ring") != NULL);
    ring_fixture_free(&f);

    ring_fixture_init(&f, 2);
    ((struct ring_header *)f.mem)->version = RING_VERSION + 1;
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == -1);
    CHECK(strstr(err, "version") != NULL);
    ring_fixture_free(&f);

    ring_fixture_init(&f, 2);
    ((struct ring_header *)f.mem)->clock = 77;
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == -1);
    ring_fixture_free(&f);

    /* A file cut inside its chunks is read as far as it goes. */
    ring_fixture_init(&f, 4);
    uint64_t s = ring_fixture_claim(&f, 1);
    ring_fixture_put(&f, s, 0, 5000, RING_EV_ACQUIRE, 0, 0);
    ring_fixture_claim(&f, 1);
    CHECK(ring_read_memory(f.mem, (size_t)ring_chunk_offset(1), &p, err, sizeof err) == 0);
    CHECK_EQ_INT(p.thread_count, 1);
    CHECK_EQ_INT(p.threads[0].count, 1);
    CHECK_EQ_INT(p.chunks_used, 2); /* and it says what is missing */
    CHECK_EQ_INT(p.chunks_missing, 1);
    trace_process_free(&p);
    ring_fixture_free(&f);

    CHECK(ring_read_file("/nonexistent/x.ring", &p, err, sizeof err) == -1);
    CHECK(strstr(err, "cannot open") != NULL);
}

/* Times no clock gives (a damaged calibration, a record's timestamp near
 * 2^63) are dropped and counted, never passed on to be subtracted. */
static void test_damaged_times(void)
{
    struct ring_fixture f;
    ring_fixture_init(&f, 4);
    struct ring_header *h = (struct ring_header *)f.mem;
    h->start.mono_ns = UINT64_C(0x8000000000000000);
    uint64_t s = ring_fixture_claim(&f, 7);
    ring_fixture_put(&f, s, 0, 3000, RING_EV_ACQUIRE, 0, 0);
    ring_fixture_put(&f, s, 1, UINT64_C(0x7300000000000000) + 3100, RING_EV_RELEASE, 0, 0);
    ring_fixture_put(&f, s, 2, 3200, RING_EV_BUSY, 0, 0);
    struct trace_process p;
    char err[256];
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == 0);
    CHECK(p.start_ns >= 0 && p.start_ns <= 3000);
    CHECK(p.end_ns >= 3200 && p.end_ns <= TRACE_TIME_MAX_NS);
    CHECK_EQ_INT(p.threads[0].count, 2);
    CHECK_EQ_INT(p.dropped_records, 1);
    CHECK_EQ_INT(p.chunks_missing, 0);
    trace_process_free(&p);
    ring_fixture_free(&f);
}

int main(void)
{
    test_damaged_times();
    test_threads_and_identity();
    test_torn_and_invalid_records();
    test_cut_at_end();
    test_holes();
    test_refusals();
    return 0;
}
