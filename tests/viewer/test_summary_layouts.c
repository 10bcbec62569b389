/*
 * test_summary_layouts.c — traces in every event-table layout still read
 * (storage under the contract views is free to change; readers tell the
 * layouts apart in one place, tdb_event_layout). The writer's trace
 * (schema 4: one event a row at absolute times) is rewritten as a schema 3
 * file (four a row, event_flat and the events view of the time) and as a
 * schema 1 table (one a row since base_ns); each must open, give the same
 * events per lane (tdb_read_lane_events), the same summaries built on first
 * open and, for schema 3, the same rows from its own events view.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tdb_read.h"
#include "tdb_summary.h"
#include "trace_gen.h"

/* Schema 3's events view (then formats/tdb_schema.c), as such files hold it. */
#define V3_VIEWS                                                                                       \
    "CREATE VIEW event_flat AS SELECT lane, t, k0 AS kc FROM event\n"                                  \
    "  UNION ALL SELECT lane, t + o1, k1 FROM event WHERE k1 IS NOT NULL\n"                             \
    "  UNION ALL SELECT lane, t + o2, k2 FROM event WHERE k2 IS NOT NULL\n"                             \
    "  UNION ALL SELECT lane, t + o3, k3 FROM event WHERE k3 IS NOT NULL;\n"                            \
    "CREATE VIEW events AS\n"                                                                          \
    "  SELECT l.pid, l.tid, l.gil, e.t + (SELECT value FROM meta WHERE key = 'base_ns') AS ts_ns,\n"    \
    "         k.name AS kind, NULLIF((e.kc >> 4) & 65535, 0) - 1 AS cpu\n"                              \
    "  FROM event_flat e JOIN lane l ON l.id = e.lane JOIN event_kind k ON k.id = (e.kc & 15);\n"       \
    "UPDATE meta SET value = 3 WHERE key = 'schema_version';"

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

/* Rewrite the writer's event table, event(lane, ts, kc), in an old layout:
 * four a row (schema 3, with its views) or one a row since base_ns. */
static void to_old_layout(sqlite3 *db, int four)
{
    exec(db, "BEGIN;"
             "CREATE TEMP TABLE old_event AS SELECT lane, ts - (SELECT value FROM meta WHERE key = 'base_ns') AS t,"
             " kc FROM event ORDER BY lane, ts;"
             "DROP VIEW events; DROP VIEW event_stacks; DROP TABLE event;");
    exec(db, four ? "CREATE TABLE event(lane INTEGER NOT NULL, t INTEGER NOT NULL, k0 INTEGER NOT NULL,"
                    " o1 INTEGER, k1 INTEGER, o2 INTEGER, k2 INTEGER, o3 INTEGER, k3 INTEGER,"
                    " PRIMARY KEY(lane, t)) WITHOUT ROWID;"
                  : "CREATE TABLE event(lane INTEGER NOT NULL, t INTEGER NOT NULL, kc INTEGER NOT NULL,"
                    " PRIMARY KEY(lane, t, kc)) WITHOUT ROWID;"
                    "INSERT INTO main.event SELECT lane, t, kc FROM temp.old_event;");
    if (four) {
        sqlite3_stmt *rd, *wr;
        CHECK(sqlite3_prepare_v2(db, "SELECT lane, t, kc FROM temp.old_event ORDER BY lane, t", -1, &rd, NULL) ==
              SQLITE_OK);
        CHECK(sqlite3_prepare_v2(db, "INSERT INTO main.event VALUES (?,?,?,?,?,?,?,?,?)", -1, &wr, NULL) ==
              SQLITE_OK);
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
        exec(db, V3_VIEWS);
    }
    exec(db, "DROP TABLE temp.old_event;"
             "DROP TABLE summary_chunk; DROP TABLE summary_lane; DROP TABLE summary_wait; DROP TABLE summary_events;"
             "DROP TABLE summary_meta; COMMIT;");
}

/* A digest of every lane's events as tdb_read_lane_events gives them. */
struct digest {
    uint64_t events, sum;
    uint64_t window_events, window_sum; /* those in the middle 1% of the trace */
};

static int add_event(void *ctx, const struct trace_event *e)
{
    struct digest *d = ctx;
    d->events++;
    d->sum = d->sum * 1000003u + (uint64_t)e->ts_ns * 31u + e->kind * 7u + e->cpu * 3u + e->gil + e->stack;
    return 0;
}

static struct digest read_lanes(const char *path)
{
    char err[256];
    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    if (!db) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    struct tdb_lane *lanes;
    size_t count;
    CHECK(tdb_read_lanes(db, &lanes, &count, err, sizeof err) == 0);
    int64_t start = q1(db, "SELECT min(start_ns) FROM process"), end = q1(db, "SELECT max(end_ns) FROM process");
    int64_t from = start + (end - start) / 2, to = from + (end - start) / 100;
    struct digest d = {0}, w = {0};
    for (size_t i = 0; i < count; i++) {
        CHECK(tdb_read_lane_events(db, lanes[i].id, INT64_MIN, INT64_MAX, add_event, &d, err, sizeof err) == 0);
        CHECK(tdb_read_lane_events(db, lanes[i].id, from, to, add_event, &w, err, sizeof err) == 0);
    }
    CHECK(w.events > 0 && w.events < d.events);
    d.window_events = w.events;
    d.window_sum = w.sum;
    free(lanes);
    sqlite3_close(db);
    return d;
}

static int64_t differ(sqlite3 *db, const char *a, const char *b)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT * FROM %s EXCEPT SELECT * FROM %s)", a, b);
    int64_t n = q1(db, q);
    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT * FROM %s EXCEPT SELECT * FROM %s)", b, a);
    return n + q1(db, q);
}

int main(void)
{
    char path[] = "/tmp/test-layouts-XXXXXX", saved[64], old[64];
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    snprintf(saved, sizeof saved, "%s.saved", path);
    snprintf(old, sizeof old, "%s.old", path);
    char err[256];
    struct trace_gen_options o = {.pattern = TRACE_GEN_CONVOY, .events = 30000, .threads = 3, .processes = 2,
                                  .seed = 11, .interval_ns = 300000};
    CHECK(trace_gen_write(path, &o, NULL, err, sizeof err) == 0);
    struct digest want = read_lanes(path);
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(tdb_event_layout(db, "main") == TDB_LAYOUT_ABS);
    int64_t events = q1(db, "SELECT count(*) FROM events");
    CHECK_EQ_INT(want.events, events);
    /* keep the summaries built by the writer, and the events view's rows */
    char *sql = sqlite3_mprintf("ATTACH %Q AS saved;"
                                "CREATE TABLE saved.c AS SELECT * FROM main.summary_chunk;"
                                "CREATE TABLE saved.l AS SELECT * FROM main.summary_lane;"
                                "CREATE TABLE saved.w AS SELECT * FROM main.summary_wait;"
                                "CREATE TABLE saved.e AS SELECT * FROM main.summary_events;"
                                "CREATE TABLE saved.ev AS SELECT * FROM main.events;"
                                "VACUUM main INTO %Q;",
                                saved, old);
    exec(db, sql);
    sqlite3_free(sql);
    sqlite3_close(db);

    for (int four = 1; four >= 0; four--) {
        if (!four) /* start again from the writer's file */
            CHECK(rename(old, path) == 0);
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        exec(db, "PRAGMA synchronous = OFF; PRAGMA journal_mode = MEMORY;");
        to_old_layout(db, four);
        CHECK(tdb_event_layout(db, "main") == (four ? TDB_LAYOUT_FOUR : TDB_LAYOUT_ONE));
        if (four)
            CHECK(q1(db, "SELECT count(*) FROM event") < events / 3);
        sqlite3_close(db);
        if (four) { /* a schema 3 file: readers open it and read the same events */
            struct digest got = read_lanes(path);
            CHECK_EQ_INT(got.events, want.events);
            CHECK_EQ_INT(got.sum, want.sum);
            CHECK_EQ_INT(got.window_events, want.window_events);
            CHECK_EQ_INT(got.window_sum, want.window_sum);
        }
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        sql = sqlite3_mprintf("ATTACH %Q AS saved", saved);
        exec(db, sql);
        sqlite3_free(sql);
        if (four)
            CHECK_EQ_INT(differ(db, "main.events", "saved.ev"), 0);
        CHECK(tdb_summary_is_complete(db, "main", err, sizeof err) == 0);
        CHECK(tdb_summary_build(db, "main", NULL, NULL, err, sizeof err) == 0);
        CHECK(tdb_summary_is_complete(db, "main", err, sizeof err) == 1);
        CHECK_EQ_INT(differ(db, "main.summary_chunk", "saved.c"), 0);
        CHECK_EQ_INT(differ(db, "main.summary_lane", "saved.l"), 0);
        CHECK_EQ_INT(differ(db, "main.summary_wait", "saved.w"), 0);
        CHECK_EQ_INT(differ(db, "main.summary_events", "saved.e"), 0);
        CHECK_EQ_INT(q1(db, "SELECT sum(events) FROM summary_lane"), events);
        /* an event table of a layout we do not know: a clear error, nothing built */
        if (!four) {
            exec(db, "DROP TABLE summary_meta; ALTER TABLE event RENAME COLUMN kc TO kind_cpu;");
            CHECK(tdb_event_layout(db, "main") == TDB_LAYOUT_UNKNOWN);
            CHECK(tdb_summary_build(db, "main", NULL, NULL, err, sizeof err) == -1);
            CHECK(strstr(err, "layout"));
        }
        sqlite3_close(db);
    }
    unlink(path);
    unlink(saved);
    printf("ok\n");
    return 0;
}
