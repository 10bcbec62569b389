/*
 * fuzz_tdb_file.c — libFuzzer target: any bytes as a trace database file.
 * Opening must refuse with a reason or succeed; reading lanes, events and
 * processes of whatever opened must fail cleanly or succeed, never crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tdb_read.h"
#include "fuzz_db.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/giltrace-fuzz-tdb-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    char err[512];
    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    if (db) {
        fuzz_db_read_everything(db);
        sqlite3_close(db);
    } else if (!err[0]) {
        abort();
    }
    unlink(path);
    return 0;
}
