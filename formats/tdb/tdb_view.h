/*
 * tdb_view.h — a trace database opened for drawing: its processes and
 * lanes in display order, and per-pixel summaries of any time window that
 * cost O(pixels) per lane whatever the trace size (from the level-of-detail
 * summaries of tdb_summary.h), exact from raw events once the window is
 * narrow enough to show them one by one. The renderer and the viewers read
 * traces only through this API.
 *
 * Times are trace times: ns since meta.base_ns, as doubles where they
 * bound pixels (a pixel can be a fraction of a ns wide).
 *
 * Pixel i of a window (t0, ns_per_px) covers [t0 + i*ns_per_px,
 * t0 + (i+1)*ns_per_px). Its value depends only on that interval and the
 * pixel width, never on the rest of the window, so two windows that share a
 * pixel (a tile and a screenshot) draw it identically; exactly so when
 * ns_per_px is a power of two and t0 a multiple of it.
 *
 * A view reads only the summary tables (formats/tdb/SUMMARY.md), never the
 * event table, so it does not depend on how events are stored. It is used
 * by one thread at a time; tdb_view_reopen() gives another thread its own.
 */
#ifndef GILTRACE_TDB_VIEW_H
#define GILTRACE_TDB_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb_summary.h"

struct tdb_view;

struct tdb_view_process {
    int32_t pid;
    const char *exe;            /* may be NULL */
    const char *command;        /* argv joined by spaces; may be NULL */
    const char *python_version; /* may be NULL */
    const char *gil_kind;       /* "condvar", "semaphore", "none", "unknown" */
    int64_t start_t, end_t;
    int64_t switch_interval_us; /* -1 when unknown */
    uint64_t lost_events;
    size_t first_lane, lane_count; /* its lanes are consecutive */
};

struct tdb_view_lane {
    int64_t id; /* lane.id */
    int32_t pid;
    uint32_t tid;
    unsigned gil;     /* 0 = the process's main GIL */
    const char *name; /* Python thread name; NULL when the trace lacks it */
    size_t process;   /* index into the processes */
    struct tdb_lane_summary sum;
};

/* One pixel of one lane. */
struct tdb_column {
    float held, wait;    /* fractions of the pixel's time holding / waiting */
    uint32_t n[TDB_N_COUNTS];
    int64_t max_wait_ns; /* longest wait that ended in the pixel */
};

struct tdb_view_options {
    bool no_build;           /* fail instead of building missing summaries */
    tdb_summary_progress_fn progress; /* while building; may be NULL */
    void *progress_ctx;
    size_t cache_bytes;      /* decoded summary cache; 0: 64 MiB */
    const char *name;        /* what pictures call the trace; NULL: its file name */
};

/* Open `path` for drawing. If it lacks summaries they are built first and
 * stored in it, or, when it cannot be written, in a temporary database that
 * lives as long as the view. Returns NULL with one line in `err` on a
 * missing file, a file that is not a trace, a trace of a newer schema, or a
 * database error. */
struct tdb_view *tdb_view_open(const char *path, const struct tdb_view_options *opt, char *err, size_t err_len);

/* Another view of the same trace and summaries, for another thread. The
 * original must outlive it. Returns NULL with `err`. */
struct tdb_view *tdb_view_reopen(const struct tdb_view *v, char *err, size_t err_len);

void tdb_view_close(struct tdb_view *v);

const char *tdb_view_path(const struct tdb_view *v);

/* What pictures call the trace: options.name, else the file's base name. */
const char *tdb_view_name(const struct tdb_view *v);
int64_t tdb_view_base_ns(const struct tdb_view *v);
/* True when the summaries were built by this open (they were missing). */
bool tdb_view_built_summaries(const struct tdb_view *v);

size_t tdb_view_process_count(const struct tdb_view *v);
const struct tdb_view_process *tdb_view_process(const struct tdb_view *v, size_t i);
size_t tdb_view_lane_count(const struct tdb_view *v);
const struct tdb_view_lane *tdb_view_lane(const struct tdb_view *v, size_t i);
uint64_t tdb_view_event_count(const struct tdb_view *v);

/* The trace's time range: from the earliest process start or event to the
 * latest process end or lane end. [0, 0] for a trace without processes. */
void tdb_view_span(const struct tdb_view *v, int64_t *start_t, int64_t *end_t);

/* True when lane i at this pixel width is drawn from raw events. */
bool tdb_view_is_raw(const struct tdb_view *v, size_t lane, double ns_per_px);

/* Fill `out[0..n)` with pixel summaries of lane `lane` (index) for the
 * window (t0, ns_per_px). Returns 0, or -1 on a database error (the columns
 * are then zero) with the reason in tdb_view_error(). */
int tdb_view_columns(struct tdb_view *v, size_t lane, double t0, double ns_per_px, int n, struct tdb_column *out);

/* Statistics of lane `lane` over [t0, t1). */
struct tdb_range_stats {
    double held_ns, wait_ns;
    uint64_t n[TDB_N_COUNTS];
    int64_t longest_wait_ns; /* longest wait ending in the range */
};
int tdb_view_stats(struct tdb_view *v, size_t lane, double t0, double t1, struct tdb_range_stats *out);

/* How much of [t0, t1] lies in lane `lane`'s life (formats/model/trace_figures.h):
 * from its first event to its last, or to its end (its process's) when an
 * interval is still open then. The denominator of a selection's shares. */
double tdb_view_life_within(struct tdb_view *v, size_t lane, double t0, double t1);

/* What is under the cursor at time t of lane `lane`, at pixel width ns_per_px. */
struct tdb_probe {
    bool raw;            /* events are shown one by one at this zoom */
    /* raw: the interval containing t and the nearest event within 4 px */
    unsigned state;      /* TDB_STATE_* at t */
    int64_t start_t, end_t; /* of that state (hold, wait or idle stretch) */
    bool has_event;
    int64_t event_t;
    unsigned event_kind;
    int event_cpu;       /* -1 when unknown */
    /* always: the pixel's summary */
    struct tdb_column col;
};
int tdb_view_probe(struct tdb_view *v, size_t lane, double t, double ns_per_px, struct tdb_probe *out);

/* The longest waits of the whole trace, longest first (up to
 * TDB_SUMMARY_TOP_WAITS per lane). `lane` in the result is a lane index.
 * Valid until the view is closed. */
const struct tdb_wait_span *tdb_view_longest_waits(struct tdb_view *v, size_t *count);

/* The innermost Python frame ("function (file:line)") of lane `lane`'s
 * event at lane time `t` (a hold's end_t: its RELEASE; a wait's start_t:
 * its BUSY), for traces with Python stacks; false and "" otherwise. */
bool tdb_view_py_site(struct tdb_view *v, size_t lane, int64_t t, char *buf, size_t cap);

/* The last database error, for messages. */
const char *tdb_view_error(const struct tdb_view *v);

#endif
