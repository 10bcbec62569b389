/*
 * db_round_trip.h — test helper: write a process into a new trace database
 * and read it back, as `giltrace run` writes and the report reads.
 */
#ifndef GILTRACE_TEST_DB_ROUND_TRIP_H
#define GILTRACE_TEST_DB_ROUND_TRIP_H

#include <sqlite3.h>
#include <stdint.h>

#include "trace_model.h"

/* Write `p` into a new database at a temporary path (its name into `path`,
 * 32 bytes at least) and read process `pid` back into `out`. Any failure
 * fails the test. Returns the database, open for reading; the caller closes
 * it and unlinks `path`. */
sqlite3 *db_round_trip(const struct trace_process *p, int32_t pid, struct trace_process *out, char *path);

#endif
