/*
 * test_view_figures.c — gilview's selection panel gives the figures the
 * report and the documented SQL give: over a selection that covers the
 * whole trace, each lane's held and waiting time and its life within the
 * selection (tdb_view_stats, tdb_view_life_within: what the panel shows as
 * held % and waiting %) equal the thread's row of the thread_totals view,
 * which tests/integration/test_figures.py holds equal to `giltrace report`.
 * The panel reads pixel-column summaries, so it is held to the exact figure
 * within 0.01 percentage points (it prints one decimal); its life is exact.
 * Some threads end inside an interval (life up to the process end), others
 * idle (life up to their last event): both ways a life ends are seen.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "ring.h"
#include "tdb_view.h"
#include "trace_figures.h"
#include "trace_gen.h"

int main(void)
{
    char path[] = "/tmp/test-view-figures-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char err[256];
    struct trace_gen_options o = {.pattern = TRACE_GEN_CONVOY, .events = 40000, .threads = 3, .processes = 2,
                                  .seed = 5, .interval_ns = 200000};
    CHECK(trace_gen_write(path, &o, NULL, err, sizeof err) == 0);

    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT life_ns, held_ns, waited_ns FROM thread_totals WHERE pid = ? AND tid = ?", -1,
                             &st, NULL) == SQLITE_OK);
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    int64_t a, b;
    tdb_view_span(v, &a, &b);
    size_t lanes = tdb_view_lane_count(v);
    CHECK(lanes >= 6);
    for (size_t i = 0; i < lanes; i++) {
        const struct tdb_view_lane *l = tdb_view_lane(v, i);
        CHECK_EQ_INT(l->gil, 0); /* one lane per thread: the thread's figures are the lane's */
        struct tdb_range_stats s;
        CHECK(tdb_view_stats(v, i, (double)a, (double)b, &s) == 0);
        double life = tdb_view_life_within(v, i, (double)a, (double)b);
        sqlite3_bind_int(st, 1, l->pid);
        sqlite3_bind_int64(st, 2, l->tid);
        CHECK(sqlite3_step(st) == SQLITE_ROW);
        int64_t want_life = sqlite3_column_int64(st, 0), held = sqlite3_column_int64(st, 1),
                waited = sqlite3_column_int64(st, 2);
        sqlite3_reset(st);
        CHECK_EQ_INT((int64_t)life, want_life);
        double panel_held = 100 * trace_share((int64_t)s.held_ns, (int64_t)life);
        double panel_wait = 100 * trace_share((int64_t)s.wait_ns, (int64_t)life);
        double exact_held = 100 * trace_share(held, want_life), exact_wait = 100 * trace_share(waited, want_life);
        if (fabs(panel_held - exact_held) > 0.01 || fabs(panel_wait - exact_wait) > 0.01) {
            fprintf(stderr, "lane %zu (pid %d tid %u): panel %.4f%% / %.4f%%, thread_totals %.4f%% / %.4f%%\n", i,
                    l->pid, l->tid, panel_held, panel_wait, exact_held, exact_wait);
            return 1;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    tdb_view_close(v);
    unlink(path);
    printf("ok: %zu lanes, the panel's shares equal thread_totals'\n", lanes);
    return 0;
}
