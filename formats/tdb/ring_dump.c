/*
 * ring_dump.c — ring file -> trace database, for env-only mode. See ring_dump.h.
 *
 * The output may be in a directory other users write to (GILTRACE_OUTPUT=
 * /var/tmp/gil-%p.db): a new database is written into a file of our own,
 * made exclusively beside it, and then given its name without replacing or
 * following anything; only a file this user owns is appended to (processes
 * sharing one GILTRACE_OUTPUT without %p), and never through a symlink.
 */
#include "ring_dump.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt_error.h"
#include "out_file.h"
#include "ring_read.h"
#include "stack_symbols.h"
#include "tdb_write.h"

/* Store `p` in the database at `path` opened as `mode`. Returns 0 or -1 with `why`. */
static int write_process(const char *path, enum tdb_open_mode mode, const struct trace_process *p, char *why,
                         size_t n)
{
    struct tdb_writer *w;
    if (tdb_writer_open(path, mode, &w, why, n))
        return -1;
    if (tdb_writer_add_process(w, p, why, n)) {
        tdb_writer_abort(w);
        return -1;
    }
    return tdb_writer_close(w, why, n);
}

/* Append to an existing `db`: only a regular file of this user's. */
static int append_process(const char *db, const struct trace_process *p, char *why, size_t n)
{
    struct stat st;
    if (lstat(db, &st) != 0)
        return fmt_error(why, n, "%s", strerror(errno));
    if (S_ISLNK(st.st_mode))
        return fmt_error(why, n, "it is a symbolic link (not followed)");
    if (!S_ISREG(st.st_mode))
        return fmt_error(why, n, "it exists and is not a regular file");
    if (st.st_uid != geteuid())
        return fmt_error(why, n, "it exists and belongs to another user (uid %u); not writing into it",
                        (unsigned)st.st_uid);
    return write_process(db, TDB_APPEND, p, why, n);
}

/* Write `p` as a new database at `db`; *exists when `db` turned out to be there already. */
static int create_process(const char *db, const struct trace_process *p, bool *exists, char *why, size_t n)
{
    char tmp[4200];
    *exists = false;
    int fd = out_file_make_tmp(db, tmp, sizeof tmp);
    if (fd < 0)
        return fmt_error(why, n, "%s", strerror(errno));
    close(fd);
    if (write_process(tmp, TDB_CREATE, p, why, n)) {
        unlink(tmp);
        return -1;
    }
    if (out_file_rename_new(tmp, db) == 0)
        return 0;
    int e = errno;
    unlink(tmp);
    *exists = e == EEXIST;
    return fmt_error(why, n, "%s", strerror(e));
}

__attribute__((visibility("default"))) int giltrace_dump_ring(const char *ring_path, const char *db_path,
                                                               char *err, size_t err_len)
{
    struct trace_process p;
    if (ring_read_file(ring_path, &p, err, err_len))
        return -1;
    struct stack_symbols *symbols = stack_symbols_new();
    stack_symbols_apply(symbols, &p); /* frames it cannot name keep their addresses */
    stack_symbols_free(symbols);
    char why[512];
    struct stat st;
    bool exists = lstat(db_path, &st) == 0;
    int r = exists ? -1 : create_process(db_path, &p, &exists, why, sizeof why);
    if (r && exists) /* there already, or made meanwhile by another process of this output */
        r = append_process(db_path, &p, why, sizeof why);
    if (r)
        snprintf(err, err_len, "could not write the trace to %s: %s", db_path, why);
    trace_process_free(&p);
    return r;
}
