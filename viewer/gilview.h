/*
 * gilview.h — what the parts of the gilview program share: its
 * subcommands, the interactive window, and the CLI's error style (one line
 * on stderr naming what is wrong and what to do).
 */
#ifndef GILTRACE_GILVIEW_H
#define GILTRACE_GILVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "render.h"
#include "tdb_view.h"

/* "gilview: <message>" on stderr. */
void gv_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Usage error: the message and a pointer to --help; returns 2. */
int gv_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Open a trace for viewing, with a progress bar on a terminal while its
 * summaries are built. NULL after printing why. */
struct tdb_view *gv_open_view(const char *path);

/* Parse "WxH". */
bool gv_parse_size(const char *s, int *w, int *h);

/* Parse "A:B" (times since the trace's start, either side may be empty)
 * against the trace span [s0, s1]. Returns NULL, or what is wrong with `s`
 * ("cannot parse ...", "... A before B") in a static string. */
const char *gv_parse_range(const char *s, double s0, double s1, double *a, double *b);

/* A subcommand: argv[0] is its name. Returns the exit status. */
int gv_cmd_tiles(int argc, char **argv);

/* Following a running traced process (gilview_live.c). */
struct gv_live;

/* Start following `pid`: its first view is ready on return. NULL with a
 * one-line reason (no such process, not traced, unreadable ring). */
struct gv_live *gv_live_open(pid_t pid, char *err, size_t err_len);

/* The same for the ring file at `ring` (of process `pid`), read where it
 * is instead of being looked up by pid: for benchmarks of the refresh. */
struct gv_live *gv_live_open_ring(const char *ring, pid_t pid, char *err, size_t err_len);

/* Replace the view with one of what the process has recorded by now.
 * Returns 0, or -1 with `err` (the process is gone...): the last view stays. */
int gv_live_refresh(struct gv_live *l, char *err, size_t err_len);

/* The current view (owned by `l`; replaced by each successful refresh). */
struct tdb_view *gv_live_view(const struct gv_live *l);
pid_t gv_live_pid(const struct gv_live *l);
void gv_live_close(struct gv_live *l);

struct gv_window_options {
    int width, height;        /* initial size */
    bool has_range;
    double range_a, range_b;  /* initial window */
    const char *save_dir;     /* where F12 screenshots go */
    struct gv_live *live;     /* follow a running process (NULL: a trace file) */
};

/* The interactive window. Returns the exit status. */
int gv_window_run(struct tdb_view *v, struct render *r, const struct gv_window_options *o);

#endif
