/*
 * tdb_write_intervals.h — the writer's second half: a process's holds and
 * waits, derived in C by trace_intervals() (the rules the report uses), stored
 * as the indexed tables `hold` and `wait` under the contract views `holds`
 * and `waits` (formats/tdb/SCHEMA.md), so that queries by thread or by time
 * window answer through an index instead of replaying every event.
 */
#ifndef GILTRACE_TDB_WRITE_INTERVALS_H
#define GILTRACE_TDB_WRITE_INTERVALS_H

#include <sqlite3.h>
#include <stddef.h>

#include "trace_model.h"

/* Insert the holds and waits of every thread of `p` on every GIL into the
 * hold and wait tables of `db` (inside the caller's transaction), and add
 * each thread's totals to its `thread` row (already stored). `p`'s
 * events must be those the event table holds (times strictly increasing
 * within a lane), so that the views and the events agree exactly.
 * Returns 0, or -1 with `err`. */
int tdb_write_intervals(sqlite3 *db, const struct trace_process *p, char *err, size_t err_len);

#endif
