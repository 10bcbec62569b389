/*
 * fuzz_db.c — read a trace database every way our readers do. See fuzz_db.h.
 */
#include "fuzz_db.h"

#include <stdint.h>
#include <stdlib.h>

#include "tdb_read.h"

static int count_event(void *ctx, const struct trace_event *e)
{
    (void)e;
    return ++*(unsigned *)ctx > 100000; /* bounded */
}

void fuzz_db_read_everything(sqlite3 *db)
{
    char err[512];
    struct tdb_lane *lanes;
    size_t n;
    if (tdb_read_lanes(db, &lanes, &n, err, sizeof err) == 0) {
        for (size_t i = 0; i < n && i < 64; i++) {
            unsigned seen = 0;
            tdb_read_lane_events(db, lanes[i].id, INT64_MIN / 4, INT64_MAX / 4, count_event, &seen, err, sizeof err);
            struct trace_process p;
            if (tdb_read_process(db, lanes[i].pid, &p, err, sizeof err) == 0)
                trace_process_free(&p);
        }
        free(lanes);
    }
    /* The contract views, as a user's sqlite3 shell would run them. */
    static const char *const views[] = {
        "SELECT count(*), sum(ts_ns), group_concat(DISTINCT kind) FROM events",
        "SELECT count(*), sum(end_ns - start_ns), sum(forced) FROM holds",
        "SELECT count(*), sum(end_ns - start_ns), sum(retries), sum(timeouts) FROM waits",
        "SELECT * FROM processes",
        "SELECT * FROM threads",
    };
    for (size_t i = 0; i < sizeof views / sizeof views[0]; i++) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, views[i], -1, &st, NULL) != SQLITE_OK)
            continue;
        for (int rows = 0; rows < 1000 && sqlite3_step(st) == SQLITE_ROW; rows++)
            ;
        sqlite3_finalize(st);
    }
}
