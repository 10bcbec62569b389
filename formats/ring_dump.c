/*
 * ring_dump.c — ring file -> trace database, for env-only mode. See ring_dump.h.
 */
#include "ring_dump.h"

#include <stdio.h>

#include "ring_read.h"
#include "stack_symbols.h"
#include "tdb_write.h"

__attribute__((visibility("default"))) int giltrace_dump_ring(const char *ring_path, const char *db_path,
                                                               char *err, size_t err_len)
{
    struct trace_process p;
    if (ring_read_file(ring_path, &p, err, err_len))
        return -1;
    struct stack_symbols *symbols = stack_symbols_new();
    stack_symbols_apply(symbols, &p); /* frames it cannot name keep their addresses */
    stack_symbols_free(symbols);
    struct tdb_writer *w;
    char why[512];
    int r = -1;
    if (tdb_writer_open(db_path, TDB_APPEND, &w, why, sizeof why) == 0) {
        if (tdb_writer_add_process(w, &p, why, sizeof why) == 0)
            r = tdb_writer_close(w, why, sizeof why);
        else
            tdb_writer_abort(w);
    }
    if (r)
        snprintf(err, err_len, "could not write the trace to %s: %s", db_path, why);
    trace_process_free(&p);
    return r;
}
