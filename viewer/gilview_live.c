/*
 * gilview_live.c — `gilview --live PID`: follow a running traced process.
 *
 * Its ring (found with formats/ring/proc_ring.h) is read while it is being
 * written — formats/model/ring_read.h gives a consistent snapshot — and written
 * into a private temporary trace database, summaries included, which is
 * opened for drawing. Each refresh makes a new database and drops the last
 * one; the traced process is never stopped or slowed beyond the page-cache
 * reads.
 *
 * So a refresh costs time in proportion to the trace so far (issue 13):
 * tests/bench/viewer/bench_live.c times it with 10^6 and 10^7 events in the
 * ring (about 1 us an event, nine tenths of it storing the events). Making it
 * incremental needs the summaries of the lanes to grow with each poll's
 * events (formats/model/ring_follow.h hands over only those), which the
 * summary builder of formats/tdb/tdb_summary.h cannot yet do: it only
 * finishes a lane once; see docs/ARCHITECTURE.md, "Live mode".
 */
#include "gilview.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc_ring.h"
#include "ring_read.h"
#include "tdb_write.h"

struct gv_live {
    pid_t pid;
    bool fixed;         /* `ring` was given (gv_live_open_ring), not looked up by pid */
    char ring[PATH_MAX];
    char db[PATH_MAX];
    struct tdb_view *view;
};

/* Write what the ring holds now into a new private database at `path`. */
static int snapshot_to(const char *ring, const char *path, char *err, size_t n)
{
    struct trace_process p;
    if (ring_read_file(ring, &p, err, n))
        return -1;
    struct tdb_writer *w;
    int r = tdb_writer_open(path, TDB_CREATE, &w, err, n);
    if (r == 0) {
        r = tdb_writer_add_process(w, &p, err, n);
        if (r == 0)
            r = tdb_writer_close(w, err, n);
        else
            tdb_writer_abort(w);
    }
    trace_process_free(&p);
    return r;
}

static int make_temp(char *path, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || dir[0] != '/')
        dir = "/tmp";
    if ((size_t)snprintf(path, cap, "%s/gilview-live-XXXXXX", dir) >= cap)
        return -1;
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

int gv_live_refresh(struct gv_live *l, char *err, size_t n)
{
    char ring[PATH_MAX], path[PATH_MAX];
    if (l->fixed)
        snprintf(ring, sizeof ring, "%s", l->ring);
    else if (proc_ring_path(l->pid, ring, sizeof ring, err, n))
        return -1;
    if (make_temp(path, sizeof path)) {
        snprintf(err, n, "cannot make a temporary file: %s", strerror(errno));
        return -1;
    }
    struct tdb_view *v = NULL;
    if (snapshot_to(ring, path, err, n) == 0) {
        char name[64];
        snprintf(name, sizeof name, "live pid %d", (int)l->pid);
        struct tdb_view_options opt = {.name = name};
        v = tdb_view_open(path, &opt, err, n);
    }
    if (!v) {
        unlink(path);
        return -1;
    }
    if (l->view) {
        tdb_view_close(l->view);
        unlink(l->db);
    }
    l->view = v;
    snprintf(l->ring, sizeof l->ring, "%s", ring);
    snprintf(l->db, sizeof l->db, "%s", path);
    return 0;
}

struct gv_live *gv_live_open(pid_t pid, char *err, size_t n)
{
    struct gv_live *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    l->pid = pid;
    if (gv_live_refresh(l, err, n)) {
        free(l);
        return NULL;
    }
    return l;
}

struct gv_live *gv_live_open_ring(const char *ring, pid_t pid, char *err, size_t n)
{
    struct gv_live *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    l->pid = pid;
    l->fixed = true;
    if ((size_t)snprintf(l->ring, sizeof l->ring, "%s", ring) >= sizeof l->ring) {
        snprintf(err, n, "ring path too long");
        free(l);
        return NULL;
    }
    if (gv_live_refresh(l, err, n)) {
        free(l);
        return NULL;
    }
    return l;
}

struct tdb_view *gv_live_view(const struct gv_live *l)
{
    return l->view;
}

pid_t gv_live_pid(const struct gv_live *l)
{
    return l->pid;
}

void gv_live_close(struct gv_live *l)
{
    if (!l)
        return;
    if (l->view) {
        tdb_view_close(l->view);
        unlink(l->db);
    }
    free(l);
}
