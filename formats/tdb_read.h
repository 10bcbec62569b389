/*
 * tdb_read.h — opening trace databases for reading, with the checks every
 * reader needs: the file exists, is SQLite, is a giltrace trace, and its
 * schema is one this build understands.
 */
#ifndef GILTRACE_TDB_READ_H
#define GILTRACE_TDB_READ_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Open `path` read-only. Returns the handle, or NULL with a one-line reason
 * in `err` ("cannot open ...", "... is not a giltrace trace", "... was
 * written by a newer giltrace (schema N; this one reads up to M)"). */
sqlite3 *tdb_open_read(const char *path, char *err, size_t err_len);

/* meta.base_ns of an open trace (0 if absent). */
int64_t tdb_base_ns(sqlite3 *db);

#endif
