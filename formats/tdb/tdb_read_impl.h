/*
 * tdb_read_impl.h — what tdb_read.c and tdb_read_image.c share. Not for
 * users of tdb_read.h.
 */
#ifndef GILTRACE_TDB_READ_IMPL_H
#define GILTRACE_TDB_READ_IMPL_H

#include <sqlite3.h>
#include <stdint.h>

/* The integer the first row of `sql` holds, or `fallback` (no row, NULL,
 * or SQLite refused the statement); *ok: whether the statement ran. */
int64_t tdb_read_query_int(sqlite3 *db, const char *sql, int64_t fallback, int *ok);

#endif
