/*
 * test_ring_follow.c — following a ring incrementally: the events handed
 * over poll after poll, put together, are exactly what ring_read reads of
 * the final ring (same threads, order, kinds and times); a poll with
 * nothing new hands over nothing; a chunk taken over (overwrite mode) is
 * read again from its first record under its new seq.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring_follow.h"
#include "ring_read.h"
#include "check.h"
#include "ring_fixture.h"

/* Everything the sink received, per tid (at most 4 threads). */
struct got {
    uint32_t tid[4];
    size_t count[4];
    struct trace_event ev[4][4096];
    size_t calls;
};

static void on_events(void *ctx, uint32_t tid, const struct ring_follow_event *ev, size_t n)
{
    struct got *g = ctx;
    g->calls++;
    size_t k = 0;
    while (k < 4 && g->tid[k] && g->tid[k] != tid)
        k++;
    CHECK(k < 4);
    g->tid[k] = tid;
    CHECK(g->count[k] + n <= 4096);
    for (size_t i = 0; i < n; i++)
        g->ev[k][g->count[k]++] = ev[i].ev;
}

static void store(const struct ring_fixture *f, int fd)
{
    CHECK(pwrite(fd, f->mem, f->size, 0) == (ssize_t)f->size);
}

static void check_same(const struct got *g, const struct ring_fixture *f)
{
    struct trace_process p;
    char err[256];
    CHECK(ring_read_memory(f->mem, f->size, &p, err, sizeof err) == 0);
    for (size_t i = 0; i < p.thread_count; i++) {
        size_t k = 0;
        while (k < 4 && g->tid[k] != p.threads[i].tid)
            k++;
        CHECK(k < 4);
        CHECK_EQ_INT(g->count[k], p.threads[i].count);
        for (size_t e = 0; e < p.threads[i].count; e++) {
            CHECK_EQ_INT(g->ev[k][e].ts_ns, p.threads[i].events[e].ts_ns);
            CHECK_EQ_INT(g->ev[k][e].kind, p.threads[i].events[e].kind);
        }
    }
    trace_process_free(&p);
}

static void test_polls_add_up(void)
{
    char path[] = "/tmp/giltrace-follow-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    struct ring_fixture f;
    ring_fixture_init(&f, 8);
    uint64_t a1 = ring_fixture_claim(&f, 100);
    uint64_t b1 = ring_fixture_claim(&f, 200);
    for (uint32_t i = 0; i < 10; i++)
        ring_fixture_put(&f, a1, i, 2000 + 10 * i, i % 2 ? RING_EV_RELEASE : RING_EV_ACQUIRE, 0, 0);
    ring_fixture_put(&f, b1, 0, 2005, RING_EV_BUSY, 0, 0);
    store(&f, fd);

    struct ring_follow *rf;
    char err[256];
    CHECK(ring_follow_open(path, &rf, err, sizeof err) == 0);
    struct got *g = calloc(1, sizeof *g);
    CHECK(g != NULL);
    struct ring_follow_sink sink = {.events = on_events, .ctx = g};
    CHECK(ring_follow_poll(rf, &sink, err, sizeof err) == 0);
    CHECK_EQ_INT(g->count[0] + g->count[1], 11);
    CHECK_EQ_INT(ring_follow_process(rf)->pid, 4242);

    /* nothing new: nothing handed over */
    size_t calls = g->calls;
    CHECK(ring_follow_poll(rf, &sink, err, sizeof err) == 0);
    CHECK_EQ_INT(g->calls, calls);

    /* more records in the same chunks, and a new chunk of thread 100 */
    for (uint32_t i = 10; i < RING_RECORDS_PER_CHUNK; i++)
        ring_fixture_put(&f, a1, i, 2000 + 10 * i, i % 2 ? RING_EV_RELEASE : RING_EV_ACQUIRE, 0, 0);
    uint64_t a2 = ring_fixture_claim(&f, 100);
    ring_fixture_put(&f, a2, 0, 2000 + 10 * RING_RECORDS_PER_CHUNK, RING_EV_ACQUIRE, 0, 0);
    ring_fixture_put(&f, b1, 1, 2015, RING_EV_ACQUIRE, 0, 0);
    store(&f, fd);
    CHECK(ring_follow_poll(rf, &sink, err, sizeof err) == 0);
    check_same(g, &f);

    /* chunk b1 taken over by thread 300 under a new seq: read from record 0 */
    struct ring_chunk_header *c = (void *)(f.mem + ring_chunk_offset(1));
    uint64_t seq = 100;
    struct ring_record *r = ring_chunk_records(c);
    memset(r, 0, RING_CHUNK_SIZE - RING_CHUNK_HEADER_SIZE);
    c->seq = seq;
    c->tid = 300;
    r[0] = (struct ring_record){5000, ring_record_tail(RING_EV_BUSY, 0, 0, ring_record_check(seq, 0))};
    r[1] = (struct ring_record){5100, ring_record_tail(RING_EV_ACQUIRE, 0, 0, ring_record_check(seq, 1))};
    store(&f, fd);
    CHECK(ring_follow_poll(rf, &sink, err, sizeof err) == 0);
    size_t k = 0;
    while (k < 4 && g->tid[k] != 300)
        k++;
    CHECK(k < 4);
    CHECK_EQ_INT(g->count[k], 2);
    CHECK_EQ_INT(g->ev[k][1].ts_ns, 5100);

    ring_follow_close(rf);
    free(g);
    ring_fixture_free(&f);
    close(fd);
    unlink(path);
}

static void test_refusal(void)
{
    struct ring_follow *rf;
    char err[256];
    CHECK(ring_follow_open("/proc/self/status", &rf, err, sizeof err) == -1);
    CHECK(strstr(err, "not a giltrace ring") != NULL);
}

int main(void)
{
    test_polls_add_up();
    test_refusal();
    return 0;
}
