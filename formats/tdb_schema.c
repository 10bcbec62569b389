/*
 * tdb_schema.c — the SQL of the trace database. See tdb_schema.h.
 *
 * Events are stored one row each in a WITHOUT ROWID table keyed by
 * (lane, t, kc): a lane is one thread on one GIL, t is ns since meta.base_ns.
 * That keeps a row near 14 bytes and lets every lane be read in time order
 * straight off the primary key. holds and waits are derived from it with
 * window functions, so they can never disagree with the events.
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
    "  lost_events INTEGER NOT NULL, dropped_records INTEGER NOT NULL, exited INTEGER NOT NULL);\n"
    "CREATE INDEX process_pid ON process(pid);\n"
    "CREATE TABLE gil(pid INTEGER NOT NULL, gil INTEGER NOT NULL, kind INTEGER NOT NULL,\n"
    "  address INTEGER, subinterpreter INTEGER NOT NULL, PRIMARY KEY(pid, gil)) WITHOUT ROWID;\n"
    "CREATE TABLE thread(pid INTEGER NOT NULL, tid INTEGER NOT NULL, name TEXT,\n"
    "  first_ns INTEGER, last_ns INTEGER, PRIMARY KEY(pid, tid)) WITHOUT ROWID;\n"
    "CREATE TABLE lane(id INTEGER PRIMARY KEY, pid INTEGER NOT NULL, tid INTEGER NOT NULL,\n"
    "  gil INTEGER NOT NULL, UNIQUE(pid, tid, gil));\n"
    "CREATE TABLE event(lane INTEGER NOT NULL, t INTEGER NOT NULL, kc INTEGER NOT NULL,\n"
    "  PRIMARY KEY(lane, t, kc)) WITHOUT ROWID;\n"
    "\n"
    "CREATE VIEW processes AS\n"
    "  SELECT p.pid, p.ppid, p.exe, p.argv, p.python_version, k.name AS gil,\n"
    "         p.switch_interval_us, p.start_ns, p.end_ns, p.lost_events\n"
    "  FROM process p JOIN gil_kind k ON k.id = p.gil_kind;\n"
    "CREATE VIEW threads AS SELECT pid, tid, name, first_ns, last_ns FROM thread;\n"
    "CREATE VIEW events AS\n"
    "  SELECT l.pid, l.tid, l.gil,\n"
    "         e.t + (SELECT value FROM meta WHERE key = 'base_ns') AS ts_ns,\n"
    "         k.name AS kind, NULLIF(e.kc >> 4, 0) - 1 AS cpu\n"
    "  FROM event e JOIN lane l ON l.id = e.lane JOIN event_kind k ON k.id = (e.kc & 15);\n"
    /* A hold: ACQUIRE to the lane's next RELEASE (or ACQUIRE); still open when
     * the trace ends: until its process ended. Forced when another thread
     * made a DROP_REQUEST on that GIL while it was held. */
    "CREATE VIEW holds AS\n"
    "  WITH s AS (\n"
    "    SELECT lane, t, kc & 15 AS k, LEAD(t) OVER w AS t1\n"
    "    FROM event WHERE (kc & 15) IN (1, 2)\n"
    "    WINDOW w AS (PARTITION BY lane ORDER BY t, kc))\n"
    "  SELECT l.pid, l.tid, l.gil,\n"
    "         s.t + (SELECT value FROM meta WHERE key = 'base_ns') AS start_ns,\n"
    "         CASE WHEN s.t1 IS NULL THEN (SELECT max(end_ns) FROM process p WHERE p.pid = l.pid)\n"
    "              ELSE s.t1 + (SELECT value FROM meta WHERE key = 'base_ns') END AS end_ns,\n"
    "         EXISTS (SELECT 1 FROM lane o JOIN event d ON d.lane = o.id\n"
    "                 WHERE o.pid = l.pid AND o.gil = l.gil AND (d.kc & 15) = 6\n"
    "                   AND d.t > s.t AND d.t <= coalesce(s.t1, 9223372036854775807)) AS forced\n"
    "  FROM s JOIN lane l ON l.id = s.lane WHERE s.k = 1;\n"
    /* A wait: BUSY to the lane's next ACQUIRE (or BUSY), counting the RETRY
     * and TIMEOUT events between; open at the end: until the process ended. */
    "CREATE VIEW waits AS\n"
    "  WITH x AS (\n"
    "    SELECT lane, t, kc, kc & 15 AS k,\n"
    "           sum((kc & 15) = 4) OVER run AS nr, sum((kc & 15) = 5) OVER run AS nt,\n"
    "           sum((kc & 15) = 4) OVER (PARTITION BY lane) AS nr_all,\n"
    "           sum((kc & 15) = 5) OVER (PARTITION BY lane) AS nt_all\n"
    "    FROM event WHERE (kc & 15) IN (1, 3, 4, 5)\n"
    "    WINDOW run AS (PARTITION BY lane ORDER BY t, kc ROWS UNBOUNDED PRECEDING)),\n"
    "  y AS (\n"
    "    SELECT lane, t, k, nr, nt, nr_all, nt_all, LEAD(t) OVER v AS t1, LEAD(k) OVER v AS k1,\n"
    "           LEAD(nr) OVER v AS nr1, LEAD(nt) OVER v AS nt1\n"
    "    FROM x WHERE k IN (1, 3)\n"
    "    WINDOW v AS (PARTITION BY lane ORDER BY t, kc))\n"
    "  SELECT l.pid, l.tid, l.gil,\n"
    "         y.t + (SELECT value FROM meta WHERE key = 'base_ns') AS start_ns,\n"
    "         CASE WHEN y.k1 IS NULL THEN (SELECT max(end_ns) FROM process p WHERE p.pid = l.pid)\n"
    "              ELSE y.t1 + (SELECT value FROM meta WHERE key = 'base_ns') END AS end_ns,\n"
    "         coalesce(y.nr1, y.nr_all) - y.nr AS retries,\n"
    "         coalesce(y.nt1, y.nt_all) - y.nt AS timeouts\n"
    "  FROM y JOIN lane l ON l.id = y.lane WHERE y.k = 3;\n";
