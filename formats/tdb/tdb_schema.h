/*
 * tdb_schema.h — the trace database's schema: storage tables and the
 * contract views (meta, processes, threads, events, holds, waits) that
 * users query with the stock sqlite3 shell. Documented in formats/tdb/SCHEMA.md.
 *
 * Bump TDB_SCHEMA_VERSION when a view changes; readers refuse databases
 * with a newer version than theirs.
 */
#ifndef GILTRACE_TDB_SCHEMA_H
#define GILTRACE_TDB_SCHEMA_H

#define TDB_SCHEMA_VERSION 4 /* 2: processes.overwritten_events; 3: holds and waits stored, indexed;
                                4: events one a row at absolute times, indexed */
#define TDB_SCHEMA_OLDEST 2  /* the oldest version readers still understand */
#define TDB_APPLICATION_ID 0x47494c54 /* "GILT" */

/* Creates every table and view and fills the lookup tables; run once on an
 * empty database. */
extern const char tdb_schema_sql[];

/* The planner's statistics (sqlite_stat1, sampled: a window query on holds
 * and waits without a pid then seeks each thread instead of scanning). Run
 * by the writer when it closes; idempotent. */
extern const char tdb_schema_index_sql[];

/* Events per row of schemas 2-3's event table, event(lane, t, k0, o1, k1,
 * o2, k2, o3, k3) (see tdb_schema.c); readers still read it. */
#define TDB_EVENTS_PER_ROW 4

/* Storage packs an event's kind, CPU and stack into one integer:
 * kc = kind | (cpu + 1) << 4 | stack << 20, with cpu + 1 = 0 when the CPU
 * is unknown and stack = 0 when the event has none. */
static inline long long tdb_pack_kc(unsigned kind, unsigned cpu, int cpu_known, unsigned stack)
{
    return (long long)kind | (cpu_known ? ((long long)(cpu < 0xffff ? cpu : 0xfffe) + 1) << 4 : 0) | (long long)stack << 20;
}

/* The stack id of a packed event (0: none). */
static inline unsigned tdb_kc_stack(long long kc)
{
    return (unsigned)(kc >> 20);
}

static inline unsigned tdb_kc_kind(long long kc)
{
    return (unsigned)(kc & 15);
}

/* The CPU of a packed kind/CPU, or -1 when unknown. */
static inline int tdb_kc_cpu(long long kc)
{
    return (int)((kc >> 4) & 0xffff) - 1;
}

#endif
