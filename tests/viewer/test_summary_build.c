/*
 * test_summary_build.c — level-of-detail summaries: the ones the writer
 * builds while dumping equal, row for row, the ones built later from the
 * event table; and their totals agree with the holds and waits views.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tdb_summary.h"
#include "trace_gen.h"

static int64_t q1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The events one a row as (lane, t, kc), t since base_ns as summaries count
 * it (the writer's event table stores absolute times). */
#define FLAT_EVENTS "(SELECT lane, ts - (SELECT value FROM meta WHERE key = 'base_ns') AS t, kc FROM event)"

static int64_t q1f(sqlite3 *db, const char *fmt)
{
    char *sql = sqlite3_mprintf(fmt, FLAT_EVENTS);
    int64_t v = q1(db, sql);
    sqlite3_free(sql);
    return v;
}

/* Every lane's event packs decode to its rows of the event table, in order. */
static void check_event_packs(sqlite3 *db)
{
    sqlite3_stmt *lanes, *packs, *rows;
    CHECK(sqlite3_prepare_v2(db, "SELECT lane, origin, base_level FROM summary_lane", -1, &lanes, NULL) == SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "SELECT chunk, events, data FROM summary_events WHERE lane = ? ORDER BY chunk", -1,
                             &packs, NULL) == SQLITE_OK);
    char *sql = sqlite3_mprintf("SELECT t, kc FROM %s WHERE lane = ? ORDER BY t, kc", FLAT_EVENTS);
    CHECK(sqlite3_prepare_v2(db, sql, -1, &rows, NULL) == SQLITE_OK);
    sqlite3_free(sql);
    while (sqlite3_step(lanes) == SQLITE_ROW) {
        int64_t lane = sqlite3_column_int64(lanes, 0), origin = sqlite3_column_int64(lanes, 1);
        int base = sqlite3_column_int(lanes, 2);
        sqlite3_bind_int64(packs, 1, lane);
        sqlite3_bind_int64(rows, 1, lane);
        int64_t prev_chunk = -1;
        while (sqlite3_step(packs) == SQLITE_ROW) {
            int64_t chunk = sqlite3_column_int64(packs, 0);
            int n = sqlite3_column_int(packs, 1);
            CHECK(chunk > prev_chunk);
            prev_chunk = chunk;
            int64_t *t = malloc((size_t)n * sizeof *t);
            uint32_t *k = malloc((size_t)n * sizeof *k);
            int64_t start = origin + ((chunk << TDB_SUMMARY_CHUNK_BITS) << base);
            CHECK_EQ_INT(tdb_summary_decode_events(sqlite3_column_blob(packs, 2),
                                                   (size_t)sqlite3_column_bytes(packs, 2), start, t, k, n),
                         n);
            for (int i = 0; i < n; i++) {
                CHECK(sqlite3_step(rows) == SQLITE_ROW);
                CHECK_EQ_INT(t[i], sqlite3_column_int64(rows, 0));
                CHECK_EQ_INT(k[i], sqlite3_column_int64(rows, 1));
                CHECK_EQ_INT(((t[i] - origin) >> base) >> TDB_SUMMARY_CHUNK_BITS, chunk);
            }
            free(t);
            free(k);
        }
        CHECK(sqlite3_step(rows) == SQLITE_DONE); /* no event missing */
        sqlite3_reset(packs);
        sqlite3_reset(rows);
    }
    sqlite3_finalize(lanes);
    sqlite3_finalize(packs);
    sqlite3_finalize(rows);
}

static void check_trace(const char *path, const struct trace_gen_options *o)
{
    char err[256];
    uint64_t events = 0;
    if (trace_gen_write(path, o, &events, err, sizeof err)) {
        fprintf(stderr, "gen: %s\n", err);
        exit(1);
    }
    CHECK(events >= o->events / 2);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(tdb_summary_is_complete(db, "main", err, sizeof err) == 1);
    CHECK_EQ_INT(q1(db, "SELECT sum(events) FROM summary_lane"), (int64_t)events);

    /* rebuild from the event table into an attached database */
    char other[512];
    snprintf(other, sizeof other, "%s.sum", path);
    unlink(other);
    char *sql = sqlite3_mprintf("ATTACH %Q AS sum", other);
    CHECK(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_free(sql);
    CHECK_EQ_INT(tdb_summary_is_complete(db, "sum", err, sizeof err), 0);
    CHECK(tdb_summary_build(db, "sum", NULL, NULL, err, sizeof err) == 0);
    CHECK_EQ_INT(tdb_summary_is_complete(db, "sum", err, sizeof err), 1);
    CHECK(q1(db, "SELECT count(*) FROM summary_chunk") > 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM (SELECT * FROM main.summary_chunk EXCEPT SELECT * FROM sum.summary_chunk)"), 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM (SELECT * FROM sum.summary_chunk EXCEPT SELECT * FROM main.summary_chunk)"), 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM (SELECT * FROM main.summary_lane EXCEPT SELECT * FROM sum.summary_lane)"), 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM (SELECT * FROM main.summary_wait EXCEPT SELECT * FROM sum.summary_wait)"), 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM (SELECT * FROM main.summary_events EXCEPT SELECT * FROM sum.summary_events)"), 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM (SELECT * FROM sum.summary_events EXCEPT SELECT * FROM main.summary_events)"), 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM main.summary_chunk"), q1(db, "SELECT count(*) FROM sum.summary_chunk"));
    CHECK_EQ_INT(q1(db, "SELECT sum(events) FROM summary_events"), (int64_t)events);
    check_event_packs(db);

    /* totals against the contract views */
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM summary_lane s JOIN lane l ON l.id = s.lane WHERE s.held_ns !="
                        " (SELECT coalesce(sum(end_ns - start_ns), 0) FROM holds h"
                        "  WHERE h.pid = l.pid AND h.tid = l.tid AND h.gil = l.gil)"),
                 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM summary_lane s JOIN lane l ON l.id = s.lane WHERE s.wait_ns !="
                        " (SELECT coalesce(sum(end_ns - start_ns), 0) FROM waits h"
                        "  WHERE h.pid = l.pid AND h.tid = l.tid AND h.gil = l.gil)"),
                 0);
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM summary_lane s JOIN lane l ON l.id = s.lane WHERE s.longest_wait_ns !="
                        " (SELECT coalesce(max(end_ns - start_ns), 0) FROM waits h"
                        "  WHERE h.pid = l.pid AND h.tid = l.tid AND h.gil = l.gil)"),
                 0);
    CHECK_EQ_INT(q1f(db, "SELECT count(*) FROM summary_lane s JOIN lane l ON l.id = s.lane WHERE s.acquires !="
                         " (SELECT count(*) FROM %s e WHERE e.lane = l.id AND (e.kc & 15) = 1)"),
                 0);
    /* the longest kept wait of each lane is the longest of the view, with its retries */
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM lane l WHERE (SELECT max(end_t - start_t) FROM summary_wait w"
                        " WHERE w.lane = l.id) IS NOT (SELECT max(end_ns - start_ns) FROM waits h"
                        " WHERE h.pid = l.pid AND h.tid = l.tid AND h.gil = l.gil)"),
                 0);
    /* every level of a lane adds up to the same held time: check the top
     * (one bucket) against the lane total */
    CHECK_EQ_INT(q1(db, "SELECT count(*) FROM summary_lane s WHERE (SELECT count(*) FROM summary_chunk c"
                        " WHERE c.lane = s.lane AND c.level = s.top_level) != 1"),
                 0);
    sqlite3_close(db);
    unlink(other);
    unlink(path);
}

int main(void)
{
    char path[] = "/tmp/test-summary-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct trace_gen_options o = {.pattern = TRACE_GEN_RANDOM, .events = 60000, .threads = 3, .processes = 2, .seed = 7};
    check_trace(path, &o);
    o = (struct trace_gen_options){.pattern = TRACE_GEN_PINGPONG, .events = 50000, .threads = 3, .seed = 1};
    check_trace(path, &o);
    o = (struct trace_gen_options){.pattern = TRACE_GEN_CONVOY, .events = 50000, .threads = 3, .seed = 2,
                                   .interval_ns = 100000};
    check_trace(path, &o);
    o = (struct trace_gen_options){.pattern = TRACE_GEN_RANDOM, .events = 5, .threads = 1, .seed = 3};
    check_trace(path, &o);
    printf("ok\n");
    return 0;
}
