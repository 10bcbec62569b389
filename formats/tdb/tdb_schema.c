/*
 * tdb_schema.c — the SQL of the trace database. See tdb_schema.h.
 *
 * Events are stored one a row, event(lane, ts, kc), keyed by lane (one
 * thread on one GIL) and absolute time, so that the events view's ts_ns is
 * the bare key column: a time window is one index seek per lane (the view
 * joins each lane to its events), with or without a pid or tid. Schemas 2-3
 * packed four events a row with times relative to meta.base_ns, which made
 * an event ~9 bytes and writing cheaper, but no index could serve a
 * predicate on ts_ns (tdb_read.h's tdb_event_layout reads both). Holds and
 * waits are tables the writer fills from the same events
 * (tdb_write_intervals.c), indexed so that the documented queries answer
 * without replaying the events.
 */
#include "tdb_schema.h"

const char tdb_schema_sql[] =
    "PRAGMA application_id = 1195986004;\n" /* TDB_APPLICATION_ID */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;\n"
    "CREATE TABLE event_kind(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
    "INSERT INTO event_kind VALUES (1,'ACQUIRE'),(2,'RELEASE'),(3,'BUSY'),(4,'RETRY'),"
    "(5,'TIMEOUT'),(6,'DROP_REQUEST'),(7,'FORCED_SWITCH'),(8,'GIL_DISABLED'),(9,'GIL_ENABLED');\n"
    "CREATE TABLE gil_kind(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);\n"
    "INSERT INTO gil_kind VALUES (0,'unknown'),(1,'condvar'),(2,'semaphore'),(3,'none');\n"
    "CREATE TABLE process(\n"
    "  id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, ppid INTEGER, exe TEXT, argv TEXT,\n"
    "  python_version TEXT, python_hexversion INTEGER, gil_kind INTEGER NOT NULL,\n"
    "  switch_interval_us INTEGER, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL,\n"
    "  lost_events INTEGER NOT NULL, overwritten_events INTEGER NOT NULL, dropped_records INTEGER NOT NULL,\n"
    "  exited INTEGER NOT NULL, stacks INTEGER NOT NULL DEFAULT 0, lost_stacks INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE INDEX process_pid ON process(pid);\n"
    "CREATE TABLE gil(pid INTEGER NOT NULL, gil INTEGER NOT NULL, kind INTEGER NOT NULL,\n"
    "  address INTEGER, subinterpreter INTEGER NOT NULL, PRIMARY KEY(pid, gil)) WITHOUT ROWID;\n"
    "CREATE TABLE thread(pid INTEGER NOT NULL, tid INTEGER NOT NULL, name TEXT,\n"
    "  first_ns INTEGER, last_ns INTEGER, held_ns INTEGER NOT NULL DEFAULT 0, waited_ns INTEGER NOT NULL DEFAULT 0,\n"
    "  end_ns INTEGER, PRIMARY KEY(pid, tid)) WITHOUT ROWID;\n"
    "CREATE TABLE lane(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, tid INTEGER NOT NULL,\n"
    "  gil INTEGER NOT NULL, UNIQUE(pid, tid, gil));\n"
    "CREATE TABLE event(lane INTEGER NOT NULL, ts INTEGER NOT NULL, kc INTEGER NOT NULL,\n"
    "  PRIMARY KEY(lane, ts)) WITHOUT ROWID;\n"
    "CREATE TABLE stack_module(pid INTEGER NOT NULL, module INTEGER NOT NULL, path TEXT, bias INTEGER,\n"
    "  lo INTEGER, hi INTEGER, build_id TEXT, PRIMARY KEY(pid, module)) WITHOUT ROWID;\n"
    "CREATE TABLE stack(pid INTEGER NOT NULL, stack INTEGER NOT NULL, depth INTEGER NOT NULL,\n"
    "  truncated INTEGER NOT NULL, PRIMARY KEY(pid, stack)) WITHOUT ROWID;\n"
    "CREATE TABLE stack_frame(pid INTEGER NOT NULL, stack INTEGER NOT NULL, frame INTEGER NOT NULL,\n"
    "  address INTEGER NOT NULL, module INTEGER, symbol TEXT, symbol_offset INTEGER,\n"
    "  PRIMARY KEY(pid, stack, frame)) WITHOUT ROWID;\n"
    "\n"
    "CREATE VIEW processes AS\n"
    "  SELECT p.pid, p.ppid, p.exe, p.argv, p.python_version, k.name AS gil,\n"
    "         p.switch_interval_us, p.start_ns, p.end_ns, p.lost_events, p.overwritten_events\n"
    "  FROM process p JOIN gil_kind k ON k.id = p.gil_kind;\n"
    "CREATE VIEW threads AS SELECT pid, tid, name, first_ns, last_ns FROM thread;\n"
    /* each thread's totals, summed by the writer from its holds and waits:
     * the figures of formats/model/trace_figures.h without a scan */
    "CREATE VIEW thread_totals AS\n"
    "  SELECT pid, tid, name, first_ns, max(last_ns, coalesce(end_ns, last_ns)) AS end_ns,\n"
    "         max(last_ns, coalesce(end_ns, last_ns)) - first_ns AS life_ns, held_ns, waited_ns FROM thread;\n"
    "CREATE VIEW events AS\n"
    "  SELECT l.pid, l.tid, l.gil, e.ts AS ts_ns,\n"
    "         k.name AS kind, NULLIF((e.kc >> 4) & 65535, 0) - 1 AS cpu\n"
    "  FROM event e JOIN lane l ON l.id = e.lane JOIN event_kind k ON k.id = (e.kc & 15);\n"
    /* Stacks (giltrace run --stacks): which RELEASE/BUSY had which stack,
     * the stacks, and their frames, innermost (frame 0) first. */
    "CREATE VIEW event_stacks AS\n"
    "  SELECT l.pid, l.tid, l.gil, e.ts AS ts_ns, k.name AS kind, e.kc >> 20 AS stack_id\n"
    "  FROM event e JOIN lane l ON l.id = e.lane JOIN event_kind k ON k.id = (e.kc & 15)\n"
    "  WHERE e.kc >= 1048576;\n"
    "CREATE VIEW stacks AS SELECT pid, stack AS stack_id, depth, truncated FROM stack;\n"
    "CREATE VIEW stack_frames AS\n"
    "  SELECT f.pid, f.stack AS stack_id, f.frame, f.address, m.path AS module, f.symbol, f.symbol_offset\n"
    "  FROM stack_frame f LEFT JOIN stack_module m ON m.pid = f.pid AND m.module = f.module;\n"
    /* Holds and waits, derived at dump time by trace_intervals() (the
     * writer's tdb_write_intervals.c), keyed by thread and start: a thread's
     * intervals are one range, its interval at an instant one seek, and a
     * time window one seek per thread (SQLite's skip-scan, which the
     * statistics below lead it to). No second index: on an I/O-bound trace
     * (a hold every 3 events) one on (pid, gil, start_ns) cost 8 bytes an
     * event, past the 32 a trace may take. Lengths rather than ends keep
     * rows small. */
    "CREATE TABLE hold(pid INTEGER NOT NULL, tid INTEGER NOT NULL, gil INTEGER NOT NULL, start_ns INTEGER NOT NULL,\n"
    "  dur INTEGER NOT NULL, forced INTEGER, PRIMARY KEY(pid, tid, gil, start_ns)) WITHOUT ROWID;\n"

    "CREATE TABLE wait(pid INTEGER NOT NULL, tid INTEGER NOT NULL, gil INTEGER NOT NULL, start_ns INTEGER NOT NULL,\n"
    "  dur INTEGER NOT NULL, retries INTEGER NOT NULL, timeouts INTEGER NOT NULL,\n"
    "  PRIMARY KEY(pid, tid, gil, start_ns)) WITHOUT ROWID;\n"

    "CREATE VIEW holds AS SELECT pid, tid, gil, start_ns, start_ns + dur AS end_ns, forced FROM hold;\n"
    "CREATE VIEW waits AS\n"
    "  SELECT pid, tid, gil, start_ns, start_ns + dur AS end_ns, retries, timeouts FROM wait;\n";

const char tdb_schema_index_sql[] =
    "PRAGMA analysis_limit = 1000;\n"
    "ANALYZE hold; ANALYZE wait; ANALYZE lane; ANALYZE event;\n";
