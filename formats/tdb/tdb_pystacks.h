/*
 * tdb_pystacks.h — Python stacks in the trace database: the code objects,
 * the deduplicated stacks with their resolved lines, which RELEASE/BUSY
 * had which stack, and the views over them (formats/tdb/SCHEMA.md, "Python
 * stacks").
 */
#ifndef GILTRACE_TDB_PYSTACKS_H
#define GILTRACE_TDB_PYSTACKS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

/* The tables and views (CREATE ... IF NOT EXISTS: empty in a trace without
 * Python stacks). */
extern const char tdb_pystacks_schema_sql[];

/* Create the tables and views if missing, then store the Python code
 * objects, stacks and marked events of process `p`; event times are stored
 * as the `events` view shows them (ns since `base_ns`, made strictly
 * increasing per thread and GIL the way the event table is), so that
 * py_event_stacks joins events, holds and waits on (pid, tid, gil, ts_ns).
 * Returns 0, or -1 with a one-line reason in `err`. */
int tdb_pystacks_insert(sqlite3 *db, int64_t base_ns, const struct trace_process *p, char *err, size_t n);

/* Read the Python code objects, stacks and marked events of process
 * `p->pid` (its threads and events already read) back into `p`. A trace
 * without the tables, or without Python stacks, leaves `p` as it is.
 * Returns 0, or -1 when out of memory or on an SQLite error. */
int tdb_pystacks_read(sqlite3 *db, struct trace_process *p);

/* The innermost Python frame of the event of thread `tid` of process `pid`
 * on GIL `gil` at lane time `t` (ns since meta.base_ns, as the event table
 * stores it) as "function (file:line)" in `buf`; false (and "") when that
 * event has no Python stack, the trace has none, or on an SQLite error. */
bool tdb_pystacks_site(sqlite3 *db, int32_t pid, uint32_t tid, unsigned gil, int64_t t, char *buf, size_t cap);

#endif
