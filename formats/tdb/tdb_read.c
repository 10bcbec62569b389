/*
 * tdb_read.c — opening trace databases for reading, their meta values,
 * lanes and a lane's events. A process's image as written is read by
 * tdb_read_image.c. See tdb_read.h.
 */
#include "tdb_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ring.h"
#include "tdb_read_impl.h"
#include "tdb_schema.h"

int64_t tdb_read_query_int(sqlite3 *db, const char *sql, int64_t fallback, int *ok)
{
    sqlite3_stmt *st;
    int64_t v = fallback;
    *ok = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return fallback;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        *ok = 1;
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

sqlite3 *tdb_open_read(const char *path, char *err, size_t n)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, n, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, n, "%s is not a regular file", path);
        return NULL;
    }
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot open %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return NULL;
    }
    int ok;
    int64_t app = tdb_read_query_int(db, "PRAGMA application_id", 0, &ok);
    if (!ok) {
        /* SQLite's own reason: a damaged trace is not "not a database" */
        if (sqlite3_errcode(db) == SQLITE_NOTADB)
            snprintf(err, n, "%s is not a giltrace trace (not an SQLite database)", path);
        else
            snprintf(err, n, "cannot read %s as a trace: %s", path, sqlite3_errmsg(db));
        goto fail;
    }
    int64_t version = tdb_read_query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &ok);
    if (app != TDB_APPLICATION_ID || !ok || version < 1) {
        snprintf(err, n, "%s is not a giltrace trace", path);
        goto fail;
    }
    if (version < TDB_SCHEMA_OLDEST) {
        snprintf(err, n, "%s was written by an older giltrace (trace schema %lld; this one reads %d to %d)", path,
                 (long long)version, TDB_SCHEMA_OLDEST, TDB_SCHEMA_VERSION);
        goto fail;
    }
    if (version > TDB_SCHEMA_VERSION) {
        snprintf(err, n, "%s was written by a newer giltrace (trace schema %lld; this one reads up to %d)",
                 path, (long long)version, TDB_SCHEMA_VERSION);
        goto fail;
    }
    return db;
fail:
    sqlite3_close(db);
    return NULL;
}

int tdb_meta_int(sqlite3 *db, const char *key, int64_t *value)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
        /* the writer stores meta values as text */
        const char *text = (const char *)sqlite3_column_text(st, 0);
        char *end;
        errno = 0;
        long long v = text ? strtoll(text, &end, 10) : 0;
        if (text && *text && *end == '\0' && errno == 0) {
            *value = v;
            found = 1;
        }
    }
    sqlite3_finalize(st);
    return found;
}

int64_t tdb_base_ns(sqlite3 *db)
{
    int ok;
    return tdb_read_query_int(db, "SELECT value FROM meta WHERE key = 'base_ns'", 0, &ok);
}

int tdb_read_lanes(sqlite3 *db, struct tdb_lane **lanes, size_t *count, char *err, size_t n)
{
    *lanes = NULL;
    *count = 0;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, "SELECT id, pid, tid, gil FROM lane ORDER BY pid, gil, tid", -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot read lanes: %s", sqlite3_errmsg(db));
        return -1;
    }
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            struct tdb_lane *more = realloc(*lanes, cap * sizeof *more);
            if (!more) {
                rc = SQLITE_NOMEM;
                break;
            }
            *lanes = more;
        }
        (*lanes)[(*count)++] = (struct tdb_lane){
            .id = sqlite3_column_int64(st, 0),
            .pid = sqlite3_column_int(st, 1),
            .tid = (uint32_t)sqlite3_column_int64(st, 2),
            .gil = (uint32_t)sqlite3_column_int(st, 3),
        };
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        snprintf(err, n, "cannot read lanes: %s", sqlite3_errstr(rc));
        free(*lanes);
        *lanes = NULL;
        *count = 0;
        return -1;
    }
    return 0;
}

enum tdb_event_layout tdb_event_layout(sqlite3 *db, const char *schema)
{
    sqlite3_stmt *st;
    enum tdb_event_layout l = TDB_LAYOUT_UNKNOWN;
    if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_table_info('event', ?1)", -1, &st, NULL) != SQLITE_OK)
        return l;
    sqlite3_bind_text(st, 1, schema, -1, SQLITE_STATIC);
    int ts = 0, t = 0, kc = 0, k0 = 0, o3 = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *c = (const char *)sqlite3_column_text(st, 0);
        if (!c)
            continue;
        ts |= strcmp(c, "ts") == 0;
        t |= strcmp(c, "t") == 0;
        kc |= strcmp(c, "kc") == 0;
        k0 |= strcmp(c, "k0") == 0;
        o3 |= strcmp(c, "o3") == 0;
    }
    sqlite3_finalize(st);
    return ts && kc ? TDB_LAYOUT_ABS : t && k0 && o3 ? TDB_LAYOUT_FOUR : t && kc ? TDB_LAYOUT_ONE : l;
}

/* Hand one stored event to `fn`: `ts` absolute, `kc` packed. */
static int emit(tdb_event_fn fn, void *ctx, int64_t ts, long long kc, int64_t gil)
{
    int cpu = tdb_kc_cpu(kc);
    struct trace_event e = {
        .ts_ns = ts,
        .kind = (uint8_t)tdb_kc_kind(kc),
        .gil = (uint8_t)gil,
        .cpu = cpu < 0 ? RING_CPU_UNKNOWN : (uint16_t)cpu,
        .stack = tdb_kc_stack(kc),
    };
    return fn(ctx, &e);
}

int tdb_read_lane_events(sqlite3 *db, int64_t lane, int64_t from_ns, int64_t to_ns, tdb_event_fn fn, void *ctx,
                         char *err, size_t n)
{
    enum tdb_event_layout layout = tdb_event_layout(db, "main");
    /* stored times are absolute (ABS) or since base_ns */
    int64_t base = layout == TDB_LAYOUT_ABS ? 0 : tdb_base_ns(db), from, to;
    if (__builtin_sub_overflow(from_ns, base, &from))
        from = from_ns < 0 ? INT64_MIN : INT64_MAX;
    if (__builtin_sub_overflow(to_ns, base, &to))
        to = to_ns < 0 ? INT64_MIN : INT64_MAX;
    int ok;
    char q[64];
    snprintf(q, sizeof q, "SELECT gil FROM lane WHERE id = %lld", (long long)lane);
    int64_t gil = tdb_read_query_int(db, q, -1, &ok);
    if (gil < 0) {
        snprintf(err, n, "the trace has no lane %lld", (long long)lane);
        return -1;
    }
    /* Four a row: rows are keyed by their first event, so start at the
     * last row that begins at or before `from`, as it may hold events
     * after it. */
    const char *sql =
        layout == TDB_LAYOUT_ABS ? "SELECT ts, kc FROM event WHERE lane = ?1 AND ts >= ?2 AND ts < ?3 ORDER BY ts"
        : layout == TDB_LAYOUT_ONE
            ? "SELECT t, kc FROM event WHERE lane = ?1 AND t >= ?2 AND t < ?3 ORDER BY t"
            : "SELECT t, k0, o1, k1, o2, k2, o3, k3 FROM event WHERE lane = ?1 AND t < ?3 AND"
              " t >= coalesce((SELECT max(t) FROM event WHERE lane = ?1 AND t <= ?2), ?2) ORDER BY t";
    int per_row = layout == TDB_LAYOUT_FOUR ? TDB_EVENTS_PER_ROW : 1;
    sqlite3_stmt *st;
    if (layout == TDB_LAYOUT_UNKNOWN || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(err, n, "cannot read events: %s",
                 layout == TDB_LAYOUT_UNKNOWN ? "the event table has a layout this giltrace does not know"
                                              : sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, lane);
    sqlite3_bind_int64(st, 2, from);
    sqlite3_bind_int64(st, 3, to);
    int rc, stop = 0;
    while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t0 = sqlite3_column_int64(st, 0);
        for (int k = 0; k < per_row && !stop; k++) {
            int kind_col = 2 * k + 1; /* kc or k0, k1, ... ; o1, o2, ... just before */
            if (sqlite3_column_type(st, kind_col) == SQLITE_NULL)
                break;
            int64_t t = t0, ts;
            if (k && __builtin_add_overflow(t0, sqlite3_column_int64(st, kind_col - 1), &t))
                continue; /* a corrupt offset: no such time */
            if (t < from || t >= to || __builtin_add_overflow(t, base, &ts))
                continue;
            stop = emit(fn, ctx, ts, sqlite3_column_int64(st, kind_col), gil);
        }
    }
    sqlite3_finalize(st);
    if (!stop && rc != SQLITE_DONE) {
        snprintf(err, n, "cannot read events: %s", sqlite3_errstr(rc));
        return -1;
    }
    return 0;
}
