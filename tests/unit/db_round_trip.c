/*
 * db_round_trip.c — a process through a trace database and back. See
 * db_round_trip.h.
 */
#include "db_round_trip.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdb_read.h"
#include "tdb_write.h"
#include "check.h"

sqlite3 *db_round_trip(const struct trace_process *p, int32_t pid, struct trace_process *out, char *path)
{
    strcpy(path, "/tmp/giltrace-db-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char err[256];
    struct tdb_writer *w;
    CHECK(tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_add_process(w, p, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    CHECK(db != NULL);
    CHECK(tdb_read_process(db, pid, out, err, sizeof err) == 0);
    return db;
}
