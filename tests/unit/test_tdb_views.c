/*
 * test_tdb_views.c — the trace database's contract views hold what was
 * written: processes, threads and events come back as stored, and the
 * holds and waits views agree row for row with trace_intervals() in C on a
 * trace whose answers are known by construction.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "tdb_read.h"
#include "tdb_schema.h"
#include "tdb_summary.h"
#include "tdb_write.h"
#include "trace_intervals.h"
#include "check.h"

#define MS 1000000LL
#define T0 5000000000LL

static struct trace_event ev(int64_t ms, unsigned kind, unsigned cpu)
{
    return (struct trace_event){.ts_ns = T0 + ms * MS, .kind = (uint8_t)kind, .gil = 0, .cpu = (uint16_t)cpu};
}

/* Thread 11 holds 0-5 ms, is forced off (12's DROP_REQUEST at 4 ms), waits
 * 5-10 ms with one retry and one timeout, holds 10-12 ms and then until the
 * process ends (20 ms). Thread 12 waits 1-5 ms, holds 5-10 ms voluntarily. */
static void build(struct trace_process *p)
{
    static struct trace_event a[] = {
        {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0}, {0},
    };
    a[0] = ev(0, RING_EV_ACQUIRE, 0);
    a[1] = ev(5, RING_EV_RELEASE, 0);
    a[2] = ev(5, RING_EV_FORCED_SWITCH, 0);
    a[3] = ev(6, RING_EV_BUSY, 0);
    a[4] = ev(7, RING_EV_TIMEOUT, 0);
    a[5] = ev(8, RING_EV_RETRY, 0);
    a[6] = ev(10, RING_EV_ACQUIRE, 1);
    a[7] = ev(12, RING_EV_RELEASE, 1);
    a[8] = ev(13, RING_EV_ACQUIRE, RING_CPU_UNKNOWN);
    static struct trace_event b[] = {{0}, {0}, {0}, {0}, {0}, {0}};
    b[0] = ev(1, RING_EV_BUSY, 2);
    b[1] = ev(4, RING_EV_TIMEOUT, 2);
    b[2] = ev(4, RING_EV_DROP_REQUEST, 2);
    b[3] = ev(4, RING_EV_RETRY, 2);
    b[4] = ev(5, RING_EV_ACQUIRE, 2);
    b[5] = ev(10, RING_EV_RELEASE, 2);

    memset(p, 0, sizeof *p);
    p->pid = 77;
    p->ppid = 1;
    p->exe = "/usr/bin/python3.11";
    static char *argv[] = {"python3", "app.py", "--say \"hi\""};
    p->argv = argv;
    p->argc = 3;
    p->python_version = "3.11.2 (main)";
    p->python_hexversion = 0x030b02f0;
    p->gil_kind = RING_GIL_CONDVAR;
    p->switch_interval_us = 5000;
    p->start_ns = T0 - MS;
    p->end_ns = T0 + 20 * MS;
    p->exited = true;
    static struct trace_gil gil = {.index = 0, .kind = RING_GIL_CONDVAR, .address = 0x1000};
    p->gils = &gil;
    p->gil_count = 1;
    static struct trace_thread threads[2];
    threads[0] = (struct trace_thread){.tid = 11, .name = "MainThread", .count = 9, .events = a};
    threads[1] = (struct trace_thread){.tid = 12, .count = 6, .events = b};
    p->threads = threads;
    p->thread_count = 2;
}

static int64_t one_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static char *one_text(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    char *v = strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

struct expected {
    char rows[64][96];
    int n;
};

static void add_hold(void *ctx, const struct trace_hold *h)
{
    struct expected *e = ctx;
    /* an open hold's forced is NULL in the view: it was not released */
    if (h->open)
        snprintf(e->rows[e->n++], 96, "H %lld %lld -", (long long)h->start_ns, (long long)h->end_ns);
    else
        snprintf(e->rows[e->n++], 96, "H %lld %lld %d", (long long)h->start_ns, (long long)h->end_ns, h->forced);
}

static void add_wait(void *ctx, const struct trace_wait *w)
{
    struct expected *e = ctx;
    snprintf(e->rows[e->n++], 96, "W %lld %lld %u %u", (long long)w->start_ns, (long long)w->end_ns, w->retries,
             w->timeouts);
}

static void check_views_match_c(sqlite3 *db, const struct trace_process *p)
{
    int64_t *drops;
    ptrdiff_t nd = trace_drop_requests(p, 0, &drops);
    CHECK_EQ_INT(nd, 1);
    for (size_t i = 0; i < p->thread_count; i++) {
        struct expected want = {0};
        struct trace_interval_sink sink = {add_hold, add_wait, &want};
        trace_intervals(p, &p->threads[i], 0, drops, (size_t)nd, &sink);
        char sql[512];
        snprintf(sql, sizeof sql,
                 "SELECT 'H ' || start_ns || ' ' || end_ns || ' ' || coalesce(forced, '-') AS r, start_ns FROM holds WHERE tid = %u"
                 " UNION ALL SELECT 'W ' || start_ns || ' ' || end_ns || ' ' || retries || ' ' || timeouts, start_ns"
                 " FROM waits WHERE tid = %u ORDER BY 1",
                 p->threads[i].tid, p->threads[i].tid);
        sqlite3_stmt *st;
        CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
        /* Same set of rows, compared sorted as text. */
        qsort(want.rows, (size_t)want.n, sizeof want.rows[0], (int (*)(const void *, const void *))strcmp);
        int got = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            CHECK(got < want.n);
            CHECK_STR((const char *)sqlite3_column_text(st, 0), want.rows[got]);
            got++;
        }
        CHECK_EQ_INT(got, want.n);
        sqlite3_finalize(st);
    }
    free(drops);
}

/* F7 of the reliability review: thread 11 holds 0-2 ms, then asks again
 * (BUSY at 3 ms) as its last event; the process ends at 1 s. Had its ring
 * not filled, that is a wait until the process ended; after losses, what
 * the thread did after 3 ms is unknown, and no wait of 997 ms may appear in
 * the waits view, in trace_intervals (report, run summary, export) or in the
 * summaries (gilview), built while writing or rebuilt later. */
static void check_lossy_open_intervals(const char *path, uint64_t lost)
{
    static struct trace_event a[3], b[4];
    a[0] = ev(0, RING_EV_ACQUIRE, 0);
    a[1] = ev(2, RING_EV_RELEASE, 0);
    a[2] = ev(3, RING_EV_BUSY, 0);
    b[0] = ev(1, RING_EV_BUSY, 1);
    b[1] = ev(1, RING_EV_DROP_REQUEST, 1);
    b[2] = ev(2, RING_EV_ACQUIRE, 1);
    b[3] = ev(4, RING_EV_RELEASE, 1);
    struct trace_process p;
    build(&p);
    struct trace_thread threads[2] = {{.tid = 11, .count = 3, .events = a}, {.tid = 12, .count = 4, .events = b}};
    p.threads = threads;
    p.end_ns = T0 + 1000 * MS;
    p.lost_events = lost;
    unlink(path);
    char err[512];
    struct tdb_writer *w;
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_add_process(w, &p, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    int64_t want = lost ? T0 + 3 * MS : T0 + 1000 * MS;
    for (int rebuilt = 0; rebuilt < 2; rebuilt++) {
        sqlite3 *db = tdb_open_read(path, err, sizeof err);
        CHECK(db != NULL);
        CHECK_EQ_INT(one_int(db, "SELECT end_ns FROM waits WHERE tid = 11"), want);
        check_views_match_c(db, &p);
        CHECK_EQ_INT(one_int(db, "SELECT s.wait_ns FROM summary_lane s JOIN lane l ON l.id = s.lane WHERE l.tid = 11"),
                     want - (T0 + 3 * MS));
        sqlite3_close(db);
        if (rebuilt)
            break;
        /* drop the summaries and have them rebuilt, as gilview does */
        CHECK(sqlite3_open(path, &db) == SQLITE_OK);
        CHECK(sqlite3_exec(db, "DELETE FROM summary_lane; DELETE FROM summary_chunk; DELETE FROM summary_wait;"
                               " DELETE FROM summary_events", NULL, NULL, NULL) == SQLITE_OK);
        CHECK(tdb_summary_build(db, "main", NULL, NULL, err, sizeof err) == 0);
        sqlite3_close(db);
    }
    printf("an open wait after %llu lost events ends at %lld ms\n", (unsigned long long)lost,
           (long long)((want - T0) / MS));
}

/* A window on the events view is one index seek per lane, whatever else
 * the query asks: the plan searches the event table by (lane, ts) and never
 * scans it (a scan is what 10^8 events cannot afford). */
static void check_window_plans(sqlite3 *db)
{
    static const char *const queries[] = {
        "SELECT * FROM events WHERE ts_ns >= ?1 AND ts_ns < ?2",
        "SELECT * FROM events WHERE ts_ns BETWEEN ?1 AND ?2",
        "SELECT count(*) FROM events WHERE pid = 77 AND ts_ns >= ?1 AND ts_ns < ?2",
        "SELECT ts_ns, kind FROM events WHERE tid = 11 AND kind = 'ACQUIRE' AND ts_ns > ?1 AND ts_ns <= ?2",
        "SELECT * FROM event_stacks WHERE ts_ns >= ?1 AND ts_ns < ?2",
    };
    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++) {
        char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", queries[i]);
        sqlite3_stmt *st;
        CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK);
        sqlite3_free(sql);
        int seeks = 0, scans = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *step = (const char *)sqlite3_column_text(st, 3);
            seeks += strncmp(step, "SEARCH e USING PRIMARY KEY (lane=? AND ts>", 42) == 0;
            scans += strncmp(step, "SCAN e", 6) == 0;
        }
        sqlite3_finalize(st);
        if (seeks != 1 || scans != 0)
            fprintf(stderr, "plan of %s: %d seeks, %d scans of the event table\n", queries[i], seeks, scans);
        CHECK_EQ_INT(seeks, 1);
        CHECK_EQ_INT(scans, 0);
    }
}

int main(void)
{
    char path[] = "/tmp/giltrace-tdb-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct trace_process p;
    build(&p);
    char err[512];
    struct tdb_writer *w;
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_set_meta(w, "command", "python3 app.py", err, sizeof err) == 0);
    CHECK(tdb_writer_add_process(w, &p, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);

    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    CHECK(db != NULL);
    CHECK_EQ_INT(one_int(db, "SELECT value FROM meta WHERE key = 'schema_version'"), TDB_SCHEMA_VERSION);
    char *gil = one_text(db, "SELECT gil || '|' || switch_interval_us || '|' || argv FROM processes");
    CHECK_STR(gil, "condvar|5000|[\"python3\",\"app.py\",\"--say \\\"hi\\\"\"]");
    free(gil);
    CHECK_EQ_INT(one_int(db, "SELECT count(*) FROM events"), 15);
    CHECK_EQ_INT(one_int(db, "SELECT count(*) FROM events WHERE cpu IS NULL"), 1);
    CHECK_EQ_INT(one_int(db, "SELECT cpu FROM events WHERE tid = 12 AND kind = 'DROP_REQUEST'"), 2);
    CHECK_EQ_INT(one_int(db, "SELECT ts_ns FROM events WHERE tid = 11 AND kind = 'RETRY'"), T0 + 8 * MS);
    char *name = one_text(db, "SELECT name || first_ns || '-' || last_ns FROM threads WHERE tid = 11");
    char want[96];
    snprintf(want, sizeof want, "MainThread%lld-%lld", T0, T0 + 13 * MS);
    CHECK_STR(name, want);
    free(name);

    /* Known answers, then the same answers from C. */
    CHECK_EQ_INT(one_int(db, "SELECT count(*) FROM holds"), 4);
    CHECK_EQ_INT(one_int(db, "SELECT forced FROM holds WHERE tid = 11 AND start_ns = 5000000000"), 1);
    CHECK_EQ_INT(one_int(db, "SELECT sum(forced) FROM holds"), 1);
    CHECK_EQ_INT(one_int(db, "SELECT end_ns FROM holds WHERE tid = 11 ORDER BY start_ns DESC LIMIT 1"), T0 + 20 * MS);
    CHECK_EQ_INT(one_int(db, "SELECT retries * 10 + timeouts FROM waits WHERE tid = 11"), 11);
    CHECK_EQ_INT(one_int(db, "SELECT end_ns - start_ns FROM waits WHERE tid = 12"), 4 * MS);
    check_views_match_c(db, &p);
    check_window_plans(db);
    sqlite3_close(db);
    check_lossy_open_intervals(path, 0);
    check_lossy_open_intervals(path, 633325);
    unlink(path);
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_add_process(w, &p, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);

    /* Appending another process keeps the first. */
    p.pid = 78;
    CHECK(tdb_writer_open(path, TDB_APPEND, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_add_process(w, &p, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    db = tdb_open_read(path, err, sizeof err);
    CHECK(db != NULL);
    CHECK_EQ_INT(one_int(db, "SELECT count(*) FROM processes"), 2);
    CHECK_EQ_INT(one_int(db, "SELECT count(*) FROM events"), 30);
    sqlite3_close(db);

    /* A new trace needs an empty file. */
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == -1);
    CHECK(strstr(err, "not empty") != NULL);
    unlink(path);

    /* Bad input for readers. */
    CHECK(tdb_open_read("/nonexistent/trace.db", err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot open") != NULL);
    FILE *f = fopen(path, "w");
    fputs("this is not a database, just some text that is long enough to look like a header..........", f);
    fclose(f);
    CHECK(tdb_open_read(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a giltrace trace") != NULL);
    unlink(path);

    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE x(y)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(tdb_open_read(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "not a giltrace trace") != NULL);
    CHECK(tdb_writer_open(path, TDB_APPEND, &w, err, sizeof err) == -1);
    CHECK(strstr(err, "not a giltrace trace") != NULL);
    unlink(path);

    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_set_meta(w, "schema_version", "99", err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    CHECK(tdb_open_read(path, err, sizeof err) == NULL);
    CHECK(strstr(err, "newer giltrace") != NULL);
    unlink(path);
    return 0;
}
