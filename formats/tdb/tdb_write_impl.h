/*
 * tdb_write_impl.h — what the tdb_write*.c files share: the writer itself
 * and its helpers. Not for users of tdb_write.h.
 */
#ifndef GILTRACE_TDB_WRITE_IMPL_H
#define GILTRACE_TDB_WRITE_IMPL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb_schema.h"
#include "tdb_write.h"

#define PROGRESS_EVERY 262144u
#define BATCH 64                       /* rows per INSERT statement: fewer VM round trips */
#define ROW_COLUMNS 3                  /* lane, ts, kc */

struct tdb_writer {
    sqlite3 *db;
    sqlite3_stmt *insert_event;       /* one row */
    sqlite3_stmt *insert_event_batch; /* BATCH rows */
    sqlite3_stmt *insert_lane;
    sqlite3_stmt *select_lane;
    int64_t base_ns;
    int have_base;
    uint64_t events_written;
    uint64_t adjusted_timestamps;
    tdb_progress_fn progress;
    void *progress_ctx;
    /* Module and stack ids taken by earlier images of the pid being added
     * (a process that exec'd): its own are numbered after them. */
    int64_t module_base, stack_base;
};

/* "<what>: <SQLite's error>" into `err`; returns -1. */
int tdb_write_sql_fail(struct tdb_writer *w, char *err, size_t n, const char *what);

/* `p` with every lane's times strictly increasing: `p` itself when they are
 * (the rule), else a copy in `copy` whose thread and event arrays are new.
 * Returns NULL when out of memory. */
const struct trace_process *tdb_write_without_clashes(struct tdb_writer *w, const struct trace_process *p,
                                                      struct trace_process *copy, struct trace_event ***fixed);

/* Free what tdb_write_without_clashes allocated (nothing if it returned `p`). */
void tdb_write_free_fixed(const struct trace_process *p, struct trace_process *copy, struct trace_event **fixed);

/* Insert the events of thread `t` of `p` that are on GIL `gil`, in order,
 * and summarise them for viewers (tdb_summary.h); 0, or -1 with the reason
 * in `err`. */
int tdb_write_insert_lane_events(struct tdb_writer *w, const struct trace_process *p, const struct trace_thread *t,
                                 unsigned gil, char *err, size_t n);

#endif
