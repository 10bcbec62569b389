/*
 * experiment_label.c — reading and printing a trace's experiment label.
 * See experiment_label.h.
 */
#include "experiment_label.h"

#include <sqlite3.h>
#include <string.h>

#include "tdb_read.h"

bool experiment_label_read(const char *path, char *out, size_t cap)
{
    char err[512];
    sqlite3 *db = tdb_open_read(path, err, sizeof err);
    bool found = false;
    if (!db)
        return false;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'experiment'", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) && cap > 0) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        size_t n = strlen(v);
        n = n < cap - 1 ? n : cap - 1;
        memcpy(out, v, n);
        out[n] = '\0';
        found = true;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return found;
}

void experiment_label_print(FILE *out, const char *spec)
{
    fprintf(out,
            "*** EXPERIMENT %s: giltrace changed this run's GIL scheduling (giltrace run --experiment); "
            "its waits are not what CPython does on its own ***\n",
            spec);
}
