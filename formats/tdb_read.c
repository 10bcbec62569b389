/*
 * tdb_read.c — opening trace databases for reading. See tdb_read.h.
 */
#include "tdb_read.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tdb_schema.h"

static int64_t query_int(sqlite3 *db, const char *sql, int64_t fallback, int *ok)
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
    int64_t app = query_int(db, "PRAGMA application_id", 0, &ok);
    if (!ok) {
        snprintf(err, n, "%s is not a giltrace trace (not an SQLite database)", path);
        goto fail;
    }
    int64_t version = query_int(db, "SELECT value FROM meta WHERE key = 'schema_version'", -1, &ok);
    if (app != TDB_APPLICATION_ID || !ok || version < 1) {
        snprintf(err, n, "%s is not a giltrace trace", path);
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

int64_t tdb_base_ns(sqlite3 *db)
{
    int ok;
    return query_int(db, "SELECT value FROM meta WHERE key = 'base_ns'", 0, &ok);
}
