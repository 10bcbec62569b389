/*
 * cli_trace_set.c — rings of a run -> processes -> one database. See cli_trace_set.h.
 */
#include "cli_trace_set.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progress_bar.h"
#include "ring_read.h"
#include "stack_symbols.h"
#include "tdb_write.h"
#include "cli.h"

static int by_start(const void *a, const void *b)
{
    const struct trace_process *x = a, *y = b;
    if (x->start_ns != y->start_ns)
        return x->start_ns < y->start_ns ? -1 : 1;
    return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a > b && strcmp(s + a - b, suffix) == 0;
}

/* Name the native stack frames of every process (traces recorded with
 * --stacks), from the ELF files, now that the processes are gone. */
static void name_frames(struct cli_trace_set *s)
{
    struct stack_symbols *symbols = stack_symbols_new();
    for (size_t i = 0; i < s->count; i++)
        if (s->procs[i].stack_count && stack_symbols_apply(symbols, &s->procs[i]))
            cli_warn("out of memory naming the stack frames of pid %d", s->procs[i].pid);
    stack_symbols_free(symbols);
}

int cli_trace_set_read_dir(const char *dir, struct cli_trace_set *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, n, "cannot read ring directory %s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!ends_with(de->d_name, ".ring"))
            continue;
        if (out->count == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct trace_process *p = realloc(out->procs, ncap * sizeof *p);
            if (!p)
                break;
            out->procs = p;
            cap = ncap;
        }
        char path[4096], why[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (ring_read_file(path, &out->procs[out->count], why, sizeof why) == 0) {
            out->count++;
        } else {
            cli_warn("skipping a ring that cannot be read: %s", why);
            out->unreadable++;
        }
    }
    closedir(d);
    if (out->count)
        qsort(out->procs, out->count, sizeof *out->procs, by_start);
    name_frames(out);
    return 0;
}

int cli_trace_set_read_file(const char *path, struct cli_trace_set *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    out->procs = calloc(1, sizeof *out->procs);
    if (!out->procs) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (ring_read_file(path, &out->procs[0], err, n)) {
        free(out->procs);
        out->procs = NULL;
        return -1;
    }
    out->count = 1;
    name_frames(out);
    return 0;
}

uint64_t cli_trace_set_event_count(const struct cli_trace_set *s)
{
    uint64_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += trace_process_event_count(&s->procs[i]);
    return n;
}

static void show_progress(void *ctx, uint64_t done)
{
    progress_bar_update(ctx, done, 0, NULL);
}

int cli_trace_set_write(const struct cli_trace_set *s, const char *db_path, const char *command, char *err, size_t n)
{
    struct tdb_writer *w;
    if (tdb_writer_open(db_path, TDB_CREATE, &w, err, n))
        return -1;
    struct progress_bar bar;
    progress_bar_start(&bar, "giltrace: writing trace", cli_trace_set_event_count(s));
    tdb_writer_set_progress(w, show_progress, &bar);
    if (command && tdb_writer_set_meta(w, "command", command, err, n))
        goto fail;
    if (s->experiment && tdb_writer_set_meta(w, "experiment", s->experiment, err, n))
        goto fail;
    for (size_t i = 0; i < s->count; i++)
        if (tdb_writer_add_process(w, &s->procs[i], err, n))
            goto fail;
    progress_bar_done(&bar);
    return tdb_writer_close(w, err, n);
fail:
    progress_bar_done(&bar);
    tdb_writer_abort(w);
    return -1;
}

void cli_trace_set_free(struct cli_trace_set *s)
{
    for (size_t i = 0; i < s->count; i++)
        trace_process_free(&s->procs[i]);
    free(s->procs);
    memset(s, 0, sizeof *s);
}
