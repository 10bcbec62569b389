/*
 * fuzz_tdb_rows.c — libFuzzer target: a well-formed trace database (our
 * schema, written by tdb_write) whose rows hold whatever values the input
 * says — odd times, offsets, kinds, lanes, NULLs — read every way our
 * readers do. Finds what a corrupt-but-valid file would do to them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdb_read.h"
#include "tdb_write.h"
#include "fuzz_db.h"

struct input {
    const uint8_t *p;
    size_t left;
};

static int64_t take(struct input *in, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes && in->left; i++, in->left--)
        v = v << 8 | *in->p++;
    if (bytes == 8)
        return (int64_t)v;
    return (int64_t)(v & ((1ull << (8 * bytes)) - 1)) - (int64_t)(1ull << (8 * bytes - 1));
}

static void bind_value(sqlite3_stmt *st, int col, struct input *in)
{
    int how = (int)(take(in, 1) & 3);
    if (how == 0)
        sqlite3_bind_null(st, col);
    else
        sqlite3_bind_int64(st, col, take(in, how == 1 ? 1 : how == 2 ? 4 : 8));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/giltrace-fuzz-rows-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    close(fd);
    char err[512];
    struct tdb_writer *w;
    if (tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err) || tdb_writer_close(w, err, sizeof err)) {
        unlink(path);
        return 0;
    }
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) {
        unlink(path);
        return 0;
    }
    struct input in = {data, size};
    sqlite3_exec(db, "BEGIN; INSERT OR REPLACE INTO meta VALUES ('base_ns', 1000000000)", NULL, NULL, NULL);
    const char *inserts[] = {
        "INSERT OR IGNORE INTO process(pid, ppid, gil_kind, switch_interval_us, start_ns, end_ns, lost_events,"
        " overwritten_events, dropped_records, exited) VALUES (?,?,?,?,?,?,?,?,?,?)",
        "INSERT OR IGNORE INTO lane(id, pid, tid, gil) VALUES (?,?,?,?)",
        "INSERT OR IGNORE INTO thread(pid, tid, name, first_ns, last_ns) VALUES (?,?,NULL,?,?)",
        "INSERT OR IGNORE INTO event VALUES (?,?,?)",
    };
    int columns[] = {10, 4, 4, 3};
    while (in.left > 2) {
        int table = (int)(take(&in, 1) & 3);
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, inserts[table], -1, &st, NULL) != SQLITE_OK)
            break;
        for (int c = 1; c <= columns[table]; c++)
            bind_value(st, c, &in);
        sqlite3_step(st);
        sqlite3_finalize(st);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(db);

    sqlite3 *r = tdb_open_read(path, err, sizeof err);
    if (r) {
        fuzz_db_read_everything(r);
        sqlite3_close(r);
    }
    unlink(path);
    return 0;
}
