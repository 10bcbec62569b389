/*
 * test_tdb_read.c — reading a trace back through formats/tdb/tdb_read.h: a
 * process comes back exactly as written (identity, GILs, threads, every
 * event with its kind, GIL and CPU), and a lane's events can be asked for by
 * time window, including windows that start or end inside a stored row;
 * damaged process times come back clamped, and a damaged file is refused in
 * SQLite's words.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "ring.h"
#include "tdb_read.h"
#include "check.h"
#include "db_round_trip.h"

#define N 1001

struct window {
    int64_t from, to;
    int seen;
    int64_t last;
};

static int count_in_window(void *ctx, const struct trace_event *e)
{
    struct window *w = ctx;
    CHECK(e->ts_ns >= w->from && e->ts_ns < w->to);
    CHECK(e->ts_ns > w->last);
    w->last = e->ts_ns;
    w->seen++;
    return 0;
}

static int stop_after_three(void *ctx, const struct trace_event *e)
{
    (void)e;
    return ++*(int *)ctx == 3;
}

int main(void)
{
    static struct trace_event ev[2][N];
    for (int i = 0; i < N; i++) {
        ev[0][i] = (struct trace_event){.ts_ns = 7000000000LL + i * 1000LL, .kind = (uint8_t)(1 + i % 9),
                                        .gil = (uint8_t)(i % 3 == 0), .cpu = (uint16_t)(i % 5)};
        ev[1][i] = (struct trace_event){.ts_ns = 7000000500LL + i * 1000LL, .kind = (uint8_t)(1 + i % 7),
                                        .gil = 0, .cpu = RING_CPU_UNKNOWN};
    }
    struct trace_thread threads[2] = {{.tid = 501, .name = "MainThread", .count = N, .events = ev[0]},
                                      {.tid = 502, .count = N, .events = ev[1]}};
    struct trace_gil gils[2] = {{.index = 0, .kind = RING_GIL_CONDVAR, .address = 0xabc0},
                                {.index = 1, .kind = RING_GIL_CONDVAR, .address = 0xdef0, .subinterpreter = true}};
    char *argv[] = {"python3", "-c", "pass"};
    struct trace_process p = {.pid = 500, .ppid = 1, .exe = "/usr/bin/python3", .argv = argv, .argc = 3,
                              .python_version = "3.12.1", .python_hexversion = 0x030c01f0,
                              .gil_kind = RING_GIL_CONDVAR, .switch_interval_us = 5000, .start_ns = 6999999000LL,
                              .end_ns = 7002000000LL, .exited = true, .lost_events = 3, .gil_count = 2,
                              .gils = gils, .thread_count = 2, .threads = threads};

    char path[32], err[256];
    struct trace_process q;
    sqlite3 *db = db_round_trip(&p, 500, &q, path);
    CHECK_EQ_INT(q.ppid, 1);
    CHECK_STR(q.exe, "/usr/bin/python3");
    CHECK_EQ_INT(q.argc, 3);
    CHECK_STR(q.argv[2], "pass");
    CHECK_EQ_INT(q.switch_interval_us, 5000);
    CHECK_EQ_INT(q.lost_events, 3);
    CHECK(q.exited);
    CHECK_EQ_INT(q.gil_count, 2);
    CHECK(q.gils[1].subinterpreter && q.gils[1].address == 0xdef0);
    CHECK_EQ_INT(q.thread_count, 2);
    CHECK_STR(q.threads[0].name, "MainThread");
    CHECK(q.threads[1].name == NULL);
    for (int t = 0; t < 2; t++) {
        CHECK_EQ_INT(q.threads[t].count, N);
        for (int i = 0; i < N; i++) {
            const struct trace_event *a = &ev[t][i], *b = &q.threads[t].events[i];
            CHECK_EQ_INT(b->ts_ns, a->ts_ns);
            CHECK_EQ_INT(b->kind, a->kind);
            CHECK_EQ_INT(b->gil, a->gil);
            CHECK_EQ_INT(b->cpu, a->cpu);
        }
    }
    trace_process_free(&q);
    CHECK(tdb_read_process(db, 999, &q, err, sizeof err) == -1);

    struct tdb_lane *lanes;
    size_t nlanes;
    CHECK(tdb_read_lanes(db, &lanes, &nlanes, err, sizeof err) == 0);
    CHECK_EQ_INT(nlanes, 3); /* 501 on gils 0 and 1, 502 on gil 0 */
    CHECK(lanes[0].tid == 501 && lanes[0].gil == 0 && lanes[1].tid == 502 && lanes[2].gil == 1);
    /* Thread 502's lane holds events at 7000000500 + 1000 i. */
    struct window win = {.from = 7000100000LL, .to = 7000200000LL, .last = 0};
    CHECK(tdb_read_lane_events(db, lanes[1].id, win.from, win.to, count_in_window, &win, err, sizeof err) == 0);
    CHECK_EQ_INT(win.seen, 100);
    win = (struct window){.from = 7000100501LL, .to = 7000100502LL, .last = 0};
    CHECK(tdb_read_lane_events(db, lanes[1].id, win.from, win.to, count_in_window, &win, err, sizeof err) == 0);
    CHECK_EQ_INT(win.seen, 0);
    int calls = 0;
    CHECK(tdb_read_lane_events(db, lanes[1].id, 0, INT64_MAX / 2, stop_after_three, &calls, err, sizeof err) == 0);
    CHECK_EQ_INT(calls, 3);
    CHECK(tdb_read_lane_events(db, 12345, 0, 1, stop_after_three, &calls, err, sizeof err) == -1);
    free(lanes);

    /* A damaged process time (a fuzzed ring once gave INT64_MIN) is read
     * clamped to the range of clock times, so that readers may subtract. */
    sqlite3 *rw;
    CHECK(sqlite3_open(path, &rw) == SQLITE_OK);
    CHECK(sqlite3_exec(rw, "UPDATE process SET start_ns = -9223372036854775808, end_ns = 9223372036854775807",
                       NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(rw);
    CHECK(tdb_read_process(db, 500, &q, err, sizeof err) == 0);
    CHECK_EQ_INT(q.start_ns, 0);
    CHECK_EQ_INT(q.end_ns, TRACE_TIME_MAX_NS);
    trace_process_free(&q);
    sqlite3_close(db);

    /* A trace cut short is called damaged in SQLite's words, not "not an
     * SQLite database"; random bytes are not a database. */
    FILE *f = fopen(path, "rb");
    CHECK(f != NULL);
    static char bytes[1 << 20];
    size_t size = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    CHECK(size > 8192 && size < sizeof bytes);
    char cut[] = "/tmp/giltrace-cut-XXXXXX";
    int fd = mkstemp(cut);
    CHECK(fd >= 0);
    CHECK(write(fd, bytes, size / 2) == (ssize_t)(size / 2));
    close(fd);
    CHECK(tdb_open_read(cut, err, sizeof err) == NULL);
    fprintf(stderr, "cut short: %s\n", err);
    CHECK(strstr(err, "malformed") != NULL);
    memset(bytes, 0x5a, 4096);
    fd = open(cut, O_WRONLY | O_TRUNC);
    CHECK(fd >= 0 && write(fd, bytes, 4096) == 4096);
    close(fd);
    CHECK(tdb_open_read(cut, err, sizeof err) == NULL);
    fprintf(stderr, "random bytes: %s\n", err);
    CHECK(strstr(err, "not an SQLite database") != NULL);
    unlink(cut);
    unlink(path);
    return 0;
}
