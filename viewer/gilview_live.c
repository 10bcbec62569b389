/*
 * gilview_live.c — `gilview --live PID`: follow a running traced process.
 *
 * Its ring (found with formats/ring/proc_ring.h) is followed incrementally
 * (formats/model/ring_follow.h): each refresh polls it for the events
 * committed since the last one, stores only those in one private live
 * trace database kept for the session (formats/tdb/tdb_live.h: each lane's
 * summary builder lives across polls; its open chunks are finished into
 * rows the next refresh replaces) and opens a new view of that database,
 * read while the next refresh writes (WAL). So a refresh costs
 * O(new events + lanes x levels), not the trace so far: about the same at
 * 10^6 and 10^7 events in the ring (tests/bench/viewer/bench_live.c, issue
 * 13; docs/ARCHITECTURE.md, "Live mode"). The traced process is never
 * stopped or slowed beyond the page-cache reads.
 *
 * A refresh that fails (the process is gone, the ring cannot be read, the
 * database cannot be written) keeps the last view and says why; after a
 * failure past the lookup of the ring, the next refresh starts over from
 * the whole ring into a new database.
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
#include "ring_follow.h"
#include "tdb_live.h"
#include "tdb_view.h"

struct gv_live {
    pid_t pid;
    bool fixed;             /* `ring` was given (gv_live_open_ring), not looked up by pid */
    char ring[PATH_MAX];    /* the ring followed (or to follow) */
    struct ring_follow *follow; /* NULL: start over at the next refresh */
    struct tdb_live *db;
    char db_path[PATH_MAX]; /* the live database being written */
    struct tdb_view *view;
    char view_path[PATH_MAX]; /* the database the view reads */
    bool oom;               /* tdb_live_add failed during this poll */
};

/* Remove a live database file and what SQLite keeps beside it in WAL mode. */
static void remove_db(const char *path)
{
    char side[PATH_MAX + 8];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
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

/* Stop following and writing; the database file stays while the view reads it. */
static void drop_follow(struct gv_live *l)
{
    ring_follow_close(l->follow);
    l->follow = NULL;
    tdb_live_close(l->db);
    l->db = NULL;
    if (l->db_path[0] && strcmp(l->db_path, l->view_path) != 0)
        remove_db(l->db_path);
    l->db_path[0] = '\0';
}

/* Follow `ring` into a new live database. */
static int start_follow(struct gv_live *l, const char *ring, char *err, size_t n)
{
    if (ring_follow_open(ring, &l->follow, err, n))
        return -1;
    snprintf(l->ring, sizeof l->ring, "%s", ring);
    if (make_temp(l->db_path, sizeof l->db_path)) {
        snprintf(err, n, "cannot make a temporary file: %s", strerror(errno));
        l->db_path[0] = '\0';
        drop_follow(l);
        return -1;
    }
    if (tdb_live_open(l->db_path, &l->db, err, n)) {
        drop_follow(l);
        return -1;
    }
    return 0;
}

static void take_events(void *ctx, uint32_t tid, const struct ring_follow_event *ev, size_t n)
{
    struct gv_live *l = ctx;
    for (size_t i = 0; i < n && !l->oom; i++)
        if (tdb_live_add(l->db, tid, &ev[i].ev, ev[i].py_stack))
            l->oom = true;
}

static const char *name_of(void *ctx, uint32_t tid)
{
    return ring_follow_name(ctx, tid);
}

static const struct trace_py_stack *py_stack_of(void *ctx, uint32_t raw)
{
    return ring_follow_py_stack(ctx, raw);
}

int gv_live_refresh(struct gv_live *l, char *err, size_t n)
{
    char ring[PATH_MAX];
    if (l->fixed)
        snprintf(ring, sizeof ring, "%s", l->ring);
    else if (proc_ring_path(l->pid, ring, sizeof ring, err, n))
        return -1;
    if (l->follow && strcmp(ring, l->ring) != 0)
        drop_follow(l); /* another ring (an exec): start over */
    if (!l->follow && start_follow(l, ring, err, n))
        return -1;
    l->oom = false;
    struct ring_follow_sink sink = {take_events, l};
    int r = ring_follow_poll(l->follow, &sink, err, n);
    if (r == 0 && l->oom) {
        snprintf(err, n, "out of memory following the ring");
        r = -1;
    }
    if (r == 0)
        r = tdb_live_commit(l->db, ring_follow_process(l->follow),
                            &(struct tdb_live_names){name_of, py_stack_of, l->follow}, err, n);
    struct tdb_view *v = NULL;
    if (r == 0) {
        char name[64];
        snprintf(name, sizeof name, "live pid %d", (int)l->pid);
        struct tdb_view_options opt = {.name = name, .no_build = true};
        v = tdb_view_open(l->db_path, &opt, err, n);
    }
    if (!v) {
        drop_follow(l);
        return -1;
    }
    if (l->view) {
        tdb_view_close(l->view);
        if (strcmp(l->view_path, l->db_path) != 0)
            remove_db(l->view_path);
    }
    l->view = v;
    snprintf(l->view_path, sizeof l->view_path, "%s", l->db_path);
    return 0;
}

static struct gv_live *open_live(const char *ring, pid_t pid, char *err, size_t n)
{
    struct gv_live *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    l->pid = pid;
    if (ring) {
        l->fixed = true;
        if ((size_t)snprintf(l->ring, sizeof l->ring, "%s", ring) >= sizeof l->ring) {
            snprintf(err, n, "ring path too long");
            free(l);
            return NULL;
        }
    }
    if (gv_live_refresh(l, err, n)) {
        gv_live_close(l);
        return NULL;
    }
    return l;
}

struct gv_live *gv_live_open(pid_t pid, char *err, size_t n)
{
    return open_live(NULL, pid, err, n);
}

struct gv_live *gv_live_open_ring(const char *ring, pid_t pid, char *err, size_t n)
{
    return open_live(ring, pid, err, n);
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
    drop_follow(l);
    if (l->view) {
        tdb_view_close(l->view);
        remove_db(l->view_path);
    }
    free(l);
}
