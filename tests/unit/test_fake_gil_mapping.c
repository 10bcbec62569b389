/*
 * test_fake_gil_mapping.c — the shim turns take_gil/drop_gil traffic into the
 * right events: on the fake CPython (tests/fake_cpython) with two CPU-bound
 * threads, each kind of event is recorded exactly as often as the algorithm
 * took the path it stands for (so FORCED_SWITCH is checked even on runs
 * where scheduling made it rare), every handoff the interpreter counts is an
 * ACQUIRE by a new holder, holds never overlap, and ACQUIRE/RELEASE
 * alternate per thread.
 */
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "check.h"
#include "ring_dir.h"

struct span {
    int64_t start, end;
};

static int by_start(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    char *const cmd[] = {argv[1], "cpu", "2", "60000", "500", NULL};
    char out[512];
    struct trace_process p;
    CHECK_EQ_INT(run_traced(cmd, out, sizeof out, &p), 0);
    unsigned long switch_number, takes, busy, waits, timeouts, drops, releases, forced;
    CHECK(sscanf(out,
                 "switch_number=%lu takes=%lu busy=%lu waits=%lu timeouts=%lu drop_requests=%lu releases=%lu"
                 " forced_paths=%lu",
                 &switch_number, &takes, &busy, &waits, &timeouts, &drops, &releases, &forced) == 8);

    CHECK_EQ_INT(p.gil_kind, RING_GIL_CONDVAR);
    CHECK_EQ_INT(p.gil_count, 1);
    CHECK_EQ_INT(p.lost_events, 0);
    CHECK_EQ_INT(p.dropped_records, 0);
    CHECK_EQ_INT(p.switch_interval_us, 500);
    CHECK_EQ_INT(p.thread_count, 3);

    /* Merge every thread's ACQUIREs in time order; count holder changes. */
    size_t counts[RING_EV_KIND_MAX + 1] = {0};
    struct span *holds = calloc(200000, sizeof *holds);
    struct {
        int64_t ts;
        uint32_t tid;
    } *acq = calloc(200000, sizeof *acq);
    size_t nholds = 0, nacq = 0;
    for (size_t i = 0; i < p.thread_count; i++) {
        const struct trace_thread *t = &p.threads[i];
        int holding = 0;
        for (size_t k = 0; k < t->count; k++) {
            const struct trace_event *e = &t->events[k];
            counts[e->kind]++;
            if (k)
                CHECK(e->ts_ns >= t->events[k - 1].ts_ns);
            if (e->kind == RING_EV_ACQUIRE) {
                CHECK(!holding);
                holding = 1;
                holds[nholds].start = e->ts_ns;
                acq[nacq].ts = e->ts_ns;
                acq[nacq++].tid = t->tid;
            } else if (e->kind == RING_EV_RELEASE) {
                CHECK(holding);
                holding = 0;
                holds[nholds++].end = e->ts_ns;
            }
        }
        CHECK(!holding);
    }
    qsort(holds, nholds, sizeof *holds, by_start);
    for (size_t i = 1; i < nholds; i++)
        CHECK(holds[i].start >= holds[i - 1].end);

    /* Sort ACQUIREs by time (insertion sort: few hundred) and count changes. */
    for (size_t i = 1; i < nacq; i++)
        for (size_t j = i; j > 0 && acq[j].ts < acq[j - 1].ts; j--) {
            __typeof__(*acq) tmp = acq[j];
            acq[j] = acq[j - 1];
            acq[j - 1] = tmp;
        }
    unsigned long changes = 0;
    for (size_t i = 0; i < nacq; i++)
        changes += i == 0 || acq[i].tid != acq[i - 1].tid;
    CHECK_EQ_INT(changes, switch_number);

    CHECK_EQ_INT(counts[RING_EV_ACQUIRE], takes);
    CHECK_EQ_INT(counts[RING_EV_RELEASE], releases);
    CHECK_EQ_INT(counts[RING_EV_BUSY], busy);
    CHECK_EQ_INT(counts[RING_EV_RETRY], waits - busy);
    CHECK_EQ_INT(counts[RING_EV_TIMEOUT], timeouts);
    CHECK_EQ_INT(counts[RING_EV_DROP_REQUEST], drops);
    CHECK_EQ_INT(counts[RING_EV_FORCED_SWITCH], forced);
    /* CPU-bound threads only let go when asked, so these always happen. */
    CHECK(busy > 0 && timeouts > 0 && drops > 0);
    free(holds);
    free(acq);
    trace_process_free(&p);
    return 0;
}
