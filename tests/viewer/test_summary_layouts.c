/*
 * test_summary_layouts.c — summaries built on first open are the same
 * whether the event table stores one event a row, event(lane, t, kc), or
 * four, event(lane, t, k0, o1, k1, o2, k2, o3, k3) (storage under the
 * contract views is free to change; summaries read it in one place). The
 * trace is written by the writer in its layout, then rewritten in the other.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tdb_summary.h"
#include "trace_gen.h"

static void exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", sql, msg);
        exit(1);
    }
}

static int64_t q1(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    int64_t v = -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Rewrite the event table in the other layout: one event a row becomes
 * four a row, four a row becomes one. Returns the new layout's rows. */
static int64_t to_other_layout(sqlite3 *db, int four)
{
    exec(db, four ? "CREATE TEMP TABLE old_event AS SELECT lane, t, kc FROM event ORDER BY lane, t, kc;"
                  : "CREATE TEMP TABLE old_event AS SELECT lane, t, kc FROM event_flat ORDER BY lane, t, kc;");
    exec(db, "DROP VIEW IF EXISTS holds; DROP VIEW IF EXISTS waits; DROP VIEW IF EXISTS events;"
             "DROP VIEW IF EXISTS event_stacks;"
             "DROP VIEW IF EXISTS event_flat; DROP TABLE event;");
    exec(db, four ? "CREATE TABLE event(lane INTEGER NOT NULL, t INTEGER NOT NULL, k0 INTEGER NOT NULL,"
                    " o1 INTEGER, k1 INTEGER, o2 INTEGER, k2 INTEGER, o3 INTEGER, k3 INTEGER,"
                    " PRIMARY KEY(lane, t)) WITHOUT ROWID;"
                  : "CREATE TABLE event(lane INTEGER NOT NULL, t INTEGER NOT NULL, kc INTEGER NOT NULL,"
                    " PRIMARY KEY(lane, t, kc)) WITHOUT ROWID;");
    if (!four) {
        exec(db, "INSERT INTO main.event SELECT lane, t, kc FROM temp.old_event; DROP TABLE temp.old_event;");
        return q1(db, "SELECT count(*) FROM event");
    }
    sqlite3_stmt *rd, *wr;
    CHECK(sqlite3_prepare_v2(db, "SELECT lane, t, kc FROM temp.old_event ORDER BY lane, t, kc", -1, &rd, NULL) ==
          SQLITE_OK);
    CHECK(sqlite3_prepare_v2(db, "INSERT INTO main.event VALUES (?,?,?,?,?,?,?,?,?)", -1, &wr, NULL) == SQLITE_OK);
    int64_t lane = -1, t[4], kc[4];
    int n = 0;
    for (;;) {
        int rc = sqlite3_step(rd);
        int64_t l = rc == SQLITE_ROW ? sqlite3_column_int64(rd, 0) : -2;
        if (n > 0 && (l != lane || n == 4)) {
            sqlite3_bind_int64(wr, 1, lane);
            sqlite3_bind_int64(wr, 2, t[0]);
            sqlite3_bind_int64(wr, 3, kc[0]);
            for (int k = 1; k < 4; k++) {
                if (k < n) {
                    sqlite3_bind_int64(wr, 2 + 2 * k, t[k] - t[0]);
                    sqlite3_bind_int64(wr, 3 + 2 * k, kc[k]);
                } else {
                    sqlite3_bind_null(wr, 2 + 2 * k);
                    sqlite3_bind_null(wr, 3 + 2 * k);
                }
            }
            CHECK(sqlite3_step(wr) == SQLITE_DONE);
            sqlite3_reset(wr);
            n = 0;
        }
        if (rc != SQLITE_ROW)
            break;
        lane = l;
        t[n] = sqlite3_column_int64(rd, 1);
        kc[n] = sqlite3_column_int64(rd, 2);
        n++;
    }
    sqlite3_finalize(rd);
    sqlite3_finalize(wr);
    exec(db, "DROP TABLE temp.old_event");
    return q1(db, "SELECT count(*) FROM event");
}

int main(void)
{
    char path[] = "/tmp/test-layouts-XXXXXX", saved[64];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    snprintf(saved, sizeof saved, "%s.saved", path);
    char err[256];
    struct trace_gen_options o = {.pattern = TRACE_GEN_CONVOY, .events = 30000, .threads = 3, .processes = 2,
                                  .seed = 11, .interval_ns = 300000};
    CHECK(trace_gen_write(path, &o, NULL, err, sizeof err) == 0);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    exec(db, "PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY;");
    /* keep the summaries built from the one-a-row table */
    char *sql = sqlite3_mprintf("ATTACH %Q AS saved;"
                                "CREATE TABLE saved.c AS SELECT * FROM main.summary_chunk;"
                                "CREATE TABLE saved.l AS SELECT * FROM main.summary_lane;"
                                "CREATE TABLE saved.w AS SELECT * FROM main.summary_wait;"
                                "CREATE TABLE saved.e AS SELECT * FROM main.summary_events;",
                                saved);
    exec(db, sql);
    sqlite3_free(sql);
    /* the writer's layout: one event a row, or several (then an event_flat view) */
    int four = q1(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'event_flat'") == 0;
    int64_t events = q1(db, four ? "SELECT count(*) FROM event" : "SELECT count(*) FROM event_flat");
    exec(db, "BEGIN");
    int64_t rows = to_other_layout(db, four);
    exec(db, "COMMIT");
    if (four)
        CHECK(rows < events / 3);
    else
        CHECK_EQ_INT(rows, events);
    exec(db, "DROP TABLE summary_chunk; DROP TABLE summary_lane; DROP TABLE summary_wait; DROP TABLE summary_events;"
             "DROP TABLE summary_meta;");
    CHECK(tdb_summary_is_complete(db, "main", err, sizeof err) == 0);
    CHECK(tdb_summary_build(db, "main", NULL, NULL, err, sizeof err) == 0);
    CHECK(tdb_summary_is_complete(db, "main", err, sizeof err) == 1);
    static const char *const pairs[][2] = {{"main.summary_chunk", "saved.c"}, {"main.summary_lane", "saved.l"},
                                           {"main.summary_wait", "saved.w"}, {"main.summary_events", "saved.e"}};
    for (size_t i = 0; i < 4; i++) {
        char q[256];
        snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT * FROM %s EXCEPT SELECT * FROM %s)", pairs[i][0],
                 pairs[i][1]);
        CHECK_EQ_INT(q1(db, q), 0);
        snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT * FROM %s EXCEPT SELECT * FROM %s)", pairs[i][1],
                 pairs[i][0]);
        CHECK_EQ_INT(q1(db, q), 0);
    }
    CHECK_EQ_INT(q1(db, "SELECT sum(events) FROM summary_lane"), events);
    /* an event table of a layout we do not know: a clear error, nothing built */
    exec(db, four ? "DROP TABLE summary_meta; ALTER TABLE event RENAME COLUMN k0 TO first_kind;"
                  : "DROP TABLE summary_meta; ALTER TABLE event RENAME COLUMN kc TO kind_cpu;");
    CHECK(tdb_summary_build(db, "main", NULL, NULL, err, sizeof err) == -1);
    CHECK(strstr(err, "layout"));
    sqlite3_close(db);
    unlink(path);
    unlink(saved);
    printf("ok\n");
    return 0;
}
