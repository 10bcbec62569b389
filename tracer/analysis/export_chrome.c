/*
 * export_chrome.c — Trace Event Format JSON. See export_chrome.h.
 *
 * Events are written one JSON object at a time (each built and escaped by
 * jansson), so a large trace never sits in memory as one JSON tree. Slices
 * are begin/end pairs: a slice's end and the next one's begin are written
 * from the same integer nanosecond, so they are the same decimal text and
 * the same double in any reader (complete events' ts + dur, added in
 * floating point, can land past the next slice's start and nest it).
 */
#include "export_chrome.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_kind.h"
#include "ring.h"
#include "trace_intervals.h"
#include "report.h"
#include "report_py.h"
#include "report_stacks.h"

#define PROGRESS_EVERY 65536u
#define COUNTER_BINS 1000 /* utilisation samples per GIL */

struct writer {
    FILE *out;
    int64_t base_ns;
    uint64_t count;
    uint64_t flows; /* flow ids given */
    uint64_t done, total, next_progress; /* trace events read, for progress */
    const struct export_chrome_options *o;
    int failed;
};

static double us(const struct writer *w, int64_t t)
{
    return (double)(t - w->base_ns) / 1000.0;
}

static void progress(struct writer *w, uint64_t events)
{
    w->done += events;
    if (w->o && w->o->progress && w->done >= w->next_progress) {
        w->o->progress(w->o->progress_ctx, w->done, w->total);
        w->next_progress = w->done + PROGRESS_EVERY;
    }
}

/* Write one event object (consumed). */
static void emit(struct writer *w, json_t *ev)
{
    if (!ev) {
        w->failed = 1;
        return;
    }
    if (w->count++ && fputs(",\n", w->out) == EOF)
        w->failed = 1;
    if (json_dumpf(ev, w->out, JSON_COMPACT | JSON_REAL_PRECISION(15)) != 0)
        w->failed = 1;
    json_decref(ev);
}

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "?";
}

/* One interval of a lane, as a slice. */
struct slice {
    int64_t start, end;
    bool hold, open, forced;
    uint32_t retries, timeouts;
};

/* A hold of a GIL on some track, for the handoff arrows. */
struct hold_at {
    int64_t start, end;
    int64_t track;
};

struct vec {
    void *v;
    size_t n, cap;
};

static void *push(struct vec *x, size_t size)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? 2 * x->cap : 256;
        void *more = realloc(x->v, cap * size);
        if (!more)
            return NULL;
        x->v = more;
        x->cap = cap;
    }
    return (char *)x->v + size * x->n++;
}

struct lane {
    struct vec slices; /* struct slice */
    bool oom;
};

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct lane *l = ctx;
    struct slice *s = push(&l->slices, sizeof *s);
    if (!s) {
        l->oom = true;
        return;
    }
    *s = (struct slice){.start = h->start_ns, .end = h->end_ns, .hold = true, .open = h->open, .forced = h->forced};
}

static void on_wait(void *ctx, const struct trace_wait *wt)
{
    struct lane *l = ctx;
    struct slice *s = push(&l->slices, sizeof *s);
    if (!s) {
        l->oom = true;
        return;
    }
    *s = (struct slice){
        .start = wt->start_ns, .end = wt->end_ns, .open = wt->open, .retries = wt->retries, .timeouts = wt->timeouts};
}

static int slice_by_start(const void *a, const void *b)
{
    const struct slice *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static int hold_by_start(const void *a, const void *b)
{
    const struct hold_at *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Add to a slice's args the Python stack (traces with Python stacks) where
 * a hold ended (its RELEASE) or a wait began (its BUSY). */
static void with_python(json_t *args, const struct trace_process *p, const struct trace_thread *t,
                        const struct slice *s)
{
    char text[4096];
    if (!args || (s->hold && s->open))
        return;
    if (report_py_stack_text(p, t, s->hold ? s->end : s->start, s->hold ? RING_EV_RELEASE : RING_EV_BUSY, text,
                             sizeof text))
        json_object_set_new(args, s->hold ? "python_release" : "python_wait", json_string(text));
}

/* The slices of one lane as B/E pairs, in time order. A slice that would
 * begin inside the previous one (a thread asking for a GIL it holds, which
 * only a broken trace shows) begins at its end, so pairs always nest. */
static void emit_slices(struct writer *w, const struct trace_process *p, const struct trace_thread *t,
                        int64_t track, struct lane *l, struct vec *holds)
{
    struct slice *v = l->slices.v;
    if (l->slices.n > 1)
        qsort(v, l->slices.n, sizeof *v, slice_by_start);
    int64_t last_end = INT64_MIN;
    for (size_t i = 0; i < l->slices.n && !w->failed; i++) {
        struct slice s = v[i];
        if (s.start < last_end)
            s.start = last_end;
        if (s.end < s.start)
            continue;
        last_end = s.end;
        json_t *args = s.hold ? json_pack("{s:b,s:b}", "forced", s.forced && !s.open, "until_trace_end", s.open)
                              : json_pack("{s:i,s:i,s:b}", "retries", (int)s.retries, "timeouts", (int)s.timeouts,
                                          "until_trace_end", s.open);
        with_python(args, p, t, &v[i]);
        const char *name = s.hold ? "holds GIL" : "waits for GIL";
        emit(w, json_pack("{s:s,s:s,s:s,s:f,s:i,s:I,s:O}", "name", name, "cat", "gil", "ph", "B", "ts",
                          us(w, s.start), "pid", (int)p->pid, "tid", (json_int_t)track, "args", args));
        emit(w, json_pack("{s:s,s:s,s:s,s:f,s:i,s:I,s:o}", "name", name, "cat", "gil", "ph", "E", "ts", us(w, s.end),
                          "pid", (int)p->pid, "tid", (json_int_t)track, "args", args));
        if (s.hold) {
            struct hold_at *h = push(holds, sizeof *h);
            if (!h)
                w->failed = 1;
            else
                *h = (struct hold_at){s.start, s.end, track};
        }
    }
}

/* Handoff arrows of one GIL: from each hold to the next hold on that GIL
 * when another thread's (flow events bound to the two slices). */
static void emit_handoffs(struct writer *w, const struct trace_process *p, struct vec *holds)
{
    struct hold_at *h = holds->v;
    if (holds->n > 1)
        qsort(h, holds->n, sizeof *h, hold_by_start);
    for (size_t i = 1; i < holds->n && !w->failed; i++) {
        if (h[i].track == h[i - 1].track)
            continue;
        json_int_t id = (json_int_t)++w->flows;
        emit(w, json_pack("{s:s,s:s,s:s,s:I,s:f,s:i,s:I}", "name", "handoff", "cat", "gil.handoff", "ph", "s", "id",
                          id, "ts", us(w, h[i - 1].start), "pid", (int)p->pid, "tid", (json_int_t)h[i - 1].track));
        emit(w, json_pack("{s:s,s:s,s:s,s:s,s:I,s:f,s:i,s:I}", "name", "handoff", "cat", "gil.handoff", "ph", "f",
                          "bp", "e", "id", id, "ts", us(w, h[i].start), "pid", (int)p->pid, "tid",
                          (json_int_t)h[i].track));
    }
}

/* The stackFrames id of frame k of stack `stack` of process `pid`. */
static void frame_id(char *buf, size_t cap, int32_t pid, uint32_t stack, uint32_t k)
{
    snprintf(buf, cap, "%d.%u.%u", pid, stack, k);
}

static void instants(struct writer *w, const struct trace_process *p, const struct trace_thread *t, unsigned gil,
                     int64_t track)
{
    for (size_t k = 0; k < t->count && !w->failed; k++) {
        const struct trace_event *e = &t->events[k];
        if (e->gil != gil)
            continue;
        if (e->kind == RING_EV_ACQUIRE || e->kind == RING_EV_RELEASE || e->kind == RING_EV_BUSY) {
            if (e->stack && e->stack <= p->stack_count && p->stacks[e->stack - 1].depth > 0) {
                /* where this release/wait happened, as an instant with the site and its frames */
                const struct trace_stack *s = &p->stacks[e->stack - 1];
                int f = report_stack_label_frame(s);
                char site[512] = "", sf[64];
                if (f >= 0)
                    report_frame_text(p, &s->frames[f], site, sizeof site);
                frame_id(sf, sizeof sf, p->pid, e->stack, 0);
                emit(w, json_pack("{s:s,s:s,s:s,s:s,s:f,s:i,s:I,s:s,s:{s:s,s:i}}", "name",
                                  e->kind == RING_EV_RELEASE ? "release site" : "wait site", "cat", "gil.stack", "ph",
                                  "i", "s", "t", "ts", us(w, e->ts_ns), "pid", (int)p->pid, "tid", (json_int_t)track,
                                  "sf", sf, "args", "site", site, "stack", (int)e->stack));
            }
            continue;
        }
        const char *name = event_kind_name(e->kind);
        if (!name)
            continue;
        emit(w, json_pack("{s:s,s:s,s:s,s:s,s:f,s:i,s:I}", "name", name, "cat", "gil", "ph", "i", "s", "t", "ts",
                          us(w, e->ts_ns), "pid", (int)p->pid, "tid", (json_int_t)track));
    }
}

static void metadata(struct writer *w, const struct trace_process *p, const struct trace_thread *t, unsigned gil,
                     int64_t track, int sort)
{
    char name[512], unnamed[32];
    snprintf(unnamed, sizeof unnamed, "tid %u", t->tid);
    const char *n = t->name && *t->name ? t->name : unnamed;
    if (gil)
        snprintf(name, sizeof name, "%s [GIL %u]", n, gil);
    else
        snprintf(name, sizeof name, "%s", n);
    emit(w, json_pack("{s:s,s:s,s:i,s:I,s:{s:s}}", "name", "thread_name", "ph", "M", "pid", (int)p->pid, "tid",
                      (json_int_t)track, "args", "name", name));
    emit(w, json_pack("{s:s,s:s,s:i,s:I,s:{s:i}}", "name", "thread_sort_index", "ph", "M", "pid", (int)p->pid, "tid",
                      (json_int_t)track, "args", "sort_index", sort));
}

/* A counter track per GIL: the share of each of COUNTER_BINS bins of the
 * process's life the GIL was held (the report's utilisation_over_time). */
static void utilisation(struct writer *w, const struct trace_process *p)
{
    struct report_options ro = {.bins = COUNTER_BINS};
    struct report_process r;
    if (report_compute(p, &ro, &r)) {
        w->failed = 1;
        return;
    }
    for (size_t g = 0; g < r.ngils && !w->failed; g++) {
        const struct report_gil *gl = &r.gils[g];
        if (gl->holds == 0)
            continue;
        char name[64];
        snprintf(name, sizeof name, "GIL %u held", gl->index);
        for (size_t k = 0; k <= gl->bins && !w->failed; k++) {
            int64_t at = p->start_ns + (int64_t)k * gl->bin_ns;
            if (k == gl->bins)
                at = p->end_ns; /* back to 0 when the process ends */
            else if (at >= p->end_ns)
                continue;
            double v = k < gl->bins ? gl->utilisation[k] : 0;
            emit(w, json_pack("{s:s,s:s,s:s,s:f,s:i,s:{s:f}}", "name", name, "cat", "gil.utilisation", "ph", "C",
                              "ts", us(w, at), "pid", (int)p->pid, "args", "held", v));
        }
    }
    report_free(&r);
}

static void process(struct writer *w, const struct trace_process *p)
{
    char pname[1024];
    const char *script = p->argc > 1 ? p->argv[1] : "";
    snprintf(pname, sizeof pname, "%s%s%s", base_name(p->exe), *script ? " " : "", script);
    emit(w, json_pack("{s:s,s:s,s:i,s:i,s:{s:s}}", "name", "process_name", "ph", "M", "pid", (int)p->pid, "tid", 0,
                      "args", "name", pname));
    emit(w, json_pack("{s:s,s:s,s:i,s:i,s:{s:s}}", "name", "process_labels", "ph", "M", "pid", (int)p->pid, "tid", 0,
                      "args", "labels", p->python_version ? p->python_version : "?"));
    unsigned ngil = p->gil_count ? (unsigned)p->gil_count : 1;
    for (size_t k = 0; k < p->thread_count; k++)
        for (size_t e = 0; e < p->threads[k].count; e++)
            if ((unsigned)p->threads[k].events[e].gil + 1 > ngil)
                ngil = (unsigned)p->threads[k].events[e].gil + 1;
    for (unsigned g = 0; g < ngil && !w->failed; g++) {
        int64_t *drops;
        ptrdiff_t nd = trace_drop_requests(p, g, &drops);
        if (nd < 0) {
            w->failed = 1;
            break;
        }
        struct vec holds = {0};
        for (size_t k = 0; k < p->thread_count && !w->failed; k++) {
            const struct trace_thread *t = &p->threads[k];
            bool on_gil = false;
            for (size_t e = 0; e < t->count && !on_gil; e++)
                on_gil = t->events[e].gil == g;
            if (!on_gil)
                continue;
            int64_t track = export_chrome_track(t->tid, g);
            metadata(w, p, t, g, track, (int)(g * 100000 + k));
            struct lane l = {0};
            struct trace_interval_sink sink = {on_hold, on_wait, &l};
            trace_intervals(p, t, g, drops, (size_t)nd, &sink);
            if (l.oom)
                w->failed = 1;
            else
                emit_slices(w, p, t, track, &l, &holds);
            free(l.slices.v);
            instants(w, p, t, g, track);
            if (g == 0)
                progress(w, t->count);
        }
        if (!w->failed)
            emit_handoffs(w, p, &holds);
        free(holds.v);
        free(drops);
    }
    if (!w->failed)
        utilisation(w, p);
}

/* "stackFrames": every frame of every stack, its caller as its parent. */
static void stack_frames(struct writer *w, const struct trace_process *procs, size_t n)
{
    bool first = true;
    if (fputs(",\"stackFrames\":{", w->out) == EOF)
        w->failed = 1;
    for (size_t i = 0; i < n && !w->failed; i++) {
        const struct trace_process *p = &procs[i];
        for (size_t s = 0; s < p->stack_count && !w->failed; s++) {
            const struct trace_stack *st = &p->stacks[s];
            for (uint32_t k = 0; k < st->depth && !w->failed; k++) {
                char id[64], parent[64], text[512];
                frame_id(id, sizeof id, p->pid, (uint32_t)s + 1, k);
                frame_id(parent, sizeof parent, p->pid, (uint32_t)s + 1, k + 1);
                report_frame_text(p, &st->frames[k], text, sizeof text);
                const struct trace_frame *f = &st->frames[k];
                const char *module = f->module >= 0 && (size_t)f->module < p->module_count
                                         ? base_name(p->modules[f->module].path)
                                         : "?";
                json_t *frame = k + 1 < st->depth
                                    ? json_pack("{s:s,s:s,s:s}", "name", text, "category", module, "parent", parent)
                                    : json_pack("{s:s,s:s}", "name", text, "category", module);
                json_t *key = json_string(id);
                if (!frame || !key || fputs(first ? "\n" : ",\n", w->out) == EOF ||
                    json_dumpf(key, w->out, JSON_ENCODE_ANY) != 0 || fputc(':', w->out) == EOF ||
                    json_dumpf(frame, w->out, JSON_COMPACT) != 0)
                    w->failed = 1;
                first = false;
                json_decref(frame);
                json_decref(key);
            }
        }
    }
    if (fputs("}", w->out) == EOF)
        w->failed = 1;
}

int export_chrome(FILE *out, const struct trace_process *procs, size_t n, const char *db_path,
                  const struct export_chrome_options *o, uint64_t *events)
{
    struct writer w = {.out = out, .base_ns = n ? procs[0].start_ns : 0, .o = o};
    for (size_t i = 0; i < n; i++) {
        if (procs[i].start_ns < w.base_ns)
            w.base_ns = procs[i].start_ns;
        w.total += trace_process_event_count(&procs[i]);
    }
    if (fputs("{\"traceEvents\":[\n", out) == EOF)
        w.failed = 1;
    for (size_t i = 0; i < n && !w.failed; i++)
        process(&w, &procs[i]);
    if (!w.failed && fputs("\n],\"displayTimeUnit\":\"ns\"", out) == EOF)
        w.failed = 1;
    if (!w.failed)
        stack_frames(&w, procs, n);
    if (!w.failed) {
        json_t *other = json_pack("{s:s,s:s,s:s,s:I}", "source", "giltrace", "trace", db_path, "clock",
                                  "CLOCK_MONOTONIC", "base_ns", (json_int_t)w.base_ns);
        if (other && o && o->have_unix_offset)
            json_object_set_new(other, "base_unix_ns", json_integer((json_int_t)(w.base_ns + o->unix_minus_monotonic_ns)));
        char *text = other ? json_dumps(other, JSON_COMPACT) : NULL;
        if (!text || fprintf(out, ",\"otherData\":%s}\n", text) < 0)
            w.failed = 1;
        free(text);
        json_decref(other);
    }
    if (o && o->progress)
        o->progress(o->progress_ctx, w.done, w.total);
    *events = w.count;
    return w.failed ? -1 : 0;
}
