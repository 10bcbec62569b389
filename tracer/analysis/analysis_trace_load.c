/*
 * analysis_trace_load.c — reading a whole trace. See analysis_trace_load.h.
 */
#include "analysis_trace_load.h"

#include <stdio.h>
#include <stdlib.h>

#include "tdb_read.h"

int analysis_trace_load(const char *path, struct trace_process **procs, size_t *n, char *err, size_t err_len)
{
    *procs = NULL;
    *n = 0;
    sqlite3 *db = tdb_open_read(path, err, err_len);
    if (!db)
        return -1;
    int64_t *ids; /* one per process image (a pid that exec'd has several) */
    size_t count;
    if (tdb_read_images(db, &ids, &count, err, err_len)) {
        sqlite3_close(db);
        return -1;
    }
    struct trace_process *v = calloc(count ? count : 1, sizeof *v);
    if (!v) {
        snprintf(err, err_len, "out of memory reading %s", path);
        free(ids);
        sqlite3_close(db);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        if (tdb_read_image(db, ids[i], &v[i], err, err_len)) {
            analysis_trace_load_free(v, i);
            free(ids);
            sqlite3_close(db);
            return -1;
        }
    }
    free(ids);
    sqlite3_close(db);
    *procs = v;
    *n = count;
    return 0;
}

void analysis_trace_load_free(struct trace_process *procs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        trace_process_free(&procs[i]);
    free(procs);
}
