/*
 * test_summary_extremes.c — the summary builder terminates and keeps exact
 * totals for lane times at the ends of int64 (a damaged ring or trace can
 * carry any value): an event near INT64_MAX once made the bucket arithmetic
 * wrap at level 59 and loop forever. A watchdog alarm turns a hang into a
 * failure with a message.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include "check.h"
#include "tdb_summary.h"

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_summary_extremes: the summary builder did not finish (hang)\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static int count_chunks(void *ctx, int level, int64_t chunk, int start_state, int end_state, uint32_t n,
                        const uint8_t *blob, size_t len)
{
    (void)level, (void)chunk, (void)start_state, (void)end_state, (void)n, (void)blob, (void)len;
    ++*(int *)ctx;
    return 0;
}

/* Build one lane of events (t[i], kind[i]) announced over [first, end] and
 * check that it finishes with `held` ns held. */
static void build(const char *what, const int64_t *t, const int *kind, int n, int64_t end, int64_t held)
{
    int chunks = 0;
    alarm(20);
    struct tdb_sum_builder *b = tdb_sum_builder_new(1, (uint64_t)n, t[0], t[n - 1], end, count_chunks, &chunks);
    CHECK(b);
    for (int i = 0; i < n; i++)
        CHECK_EQ_INT(tdb_sum_builder_event(b, t[i], kind[i]), 0);
    struct tdb_lane_summary s;
    const struct tdb_wait_span *w;
    size_t nw;
    CHECK_EQ_INT(tdb_sum_builder_finish(b, &s, &w, &nw), 0);
    alarm(0);
    fprintf(stderr, "%s: base level %d, top level %d, %d chunks, held %lld ns\n", what, s.base_level, s.top_level,
            chunks, (long long)s.total.held_ns);
    CHECK(chunks > 0);
    CHECK(s.top_level <= TDB_SUMMARY_MAX_LEVEL);
    CHECK_EQ_INT(s.total.held_ns, held);
    tdb_sum_builder_free(b);
}

int main(void)
{
    signal(SIGALRM, on_alarm);
    enum { ACQ = 1, REL = 2 };
    /* the review's case: ordinary events, then one moved near 2^63 */
    int64_t t1[] = {1000, 2000, 3000, INT64_C(0x7300000000000000) + 3000};
    int k1[] = {ACQ, REL, ACQ, REL};
    build("one event near 2^63", t1, k1, 4, t1[3], 1000 + (t1[3] - 3000));
    /* the very end of int64, held to it */
    int64_t t2[] = {0, 10, INT64_MAX - 1, INT64_MAX};
    int k2[] = {ACQ, REL, ACQ, REL};
    build("events at INT64_MAX", t2, k2, 4, INT64_MAX, 10 + 1);
    /* held up to an announced end of INT64_MAX (closed at the lane's end) */
    int64_t t3[] = {5, INT64_MAX - 100};
    int k3[] = {REL, ACQ};
    build("hold open to INT64_MAX", t3, k3, 2, INT64_MAX, 100);
    /* a lane that starts near INT64_MIN and ends near INT64_MAX: differences
     * do not fit int64 */
    int64_t t4[] = {INT64_MIN + 1, INT64_MIN + 11, 0, 7, INT64_MAX - 3};
    int k4[] = {ACQ, REL, ACQ, REL, REL};
    int chunks = 0;
    alarm(20);
    struct tdb_sum_builder *b = tdb_sum_builder_new(1, 5, t4[0], t4[4], INT64_MAX, count_chunks, &chunks);
    CHECK(b);
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(tdb_sum_builder_event(b, t4[i], k4[i]), 0);
    struct tdb_lane_summary s;
    const struct tdb_wait_span *w;
    size_t nw;
    CHECK_EQ_INT(tdb_sum_builder_finish(b, &s, &w, &nw), 0);
    alarm(0);
    fprintf(stderr, "INT64_MIN to INT64_MAX: top level %d, held %lld ns\n", s.top_level, (long long)s.total.held_ns);
    CHECK(s.total.held_ns >= 10);
    tdb_sum_builder_free(b);
    printf("summary builder: all extreme lanes finished\n");
    return 0;
}
