/*
 * export_chrome.c — Trace Event Format JSON. See export_chrome.h.
 *
 * Events are written one JSON object at a time (each built and escaped by
 * jansson), so a large trace never sits in memory as one JSON tree.
 */
#include "export_chrome.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../formats/event_kind.h"
#include "../../formats/ring.h"
#include "../../formats/trace_intervals.h"
#include "report_py.h"
#include "report_stacks.h"

struct writer {
    FILE *out;
    int64_t base_ns;
    uint64_t count;
    int failed;
};

static double us(const struct writer *w, int64_t t)
{
    return (double)(t - w->base_ns) / 1000.0;
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

struct lane {
    struct writer *w;
    const struct trace_process *p;
    const struct trace_thread *t;
    int64_t track;
};

/* Add to a slice's args the Python stack of the event at `ts` (traces with
 * Python stacks): where a hold ended, where a wait began. */
static json_t *with_python(json_t *ev, const struct lane *l, const char *key, int64_t ts, unsigned kind)
{
    char text[4096];
    if (ev && report_py_stack_text(l->p, l->t, ts, kind, text, sizeof text))
        json_object_set_new(json_object_get(ev, "args"), key, json_string(text));
    return ev;
}

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct lane *l = ctx;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:f,s:f,s:i,s:I,s:{s:b,s:b}}", "name", "holds GIL", "cat", "gil", "ph", "X",
                           "ts", us(l->w, h->start_ns), "dur", (double)(h->end_ns - h->start_ns) / 1000.0, "pid",
                           (int)l->p->pid, "tid", (json_int_t)l->track, "args", "forced", h->forced, "until_trace_end",
                           h->open);
    emit(l->w, h->open ? ev : with_python(ev, l, "python_release", h->end_ns, RING_EV_RELEASE));
}

static void on_wait(void *ctx, const struct trace_wait *wt)
{
    struct lane *l = ctx;
    json_t *ev = json_pack("{s:s,s:s,s:s,s:f,s:f,s:i,s:I,s:{s:i,s:i,s:b}}", "name", "waits for GIL", "cat", "gil",
                           "ph", "X", "ts", us(l->w, wt->start_ns), "dur", (double)(wt->end_ns - wt->start_ns) / 1000.0,
                           "pid", (int)l->p->pid, "tid", (json_int_t)l->track, "args", "retries", (int)wt->retries,
                           "timeouts", (int)wt->timeouts, "until_trace_end", wt->open);
    emit(l->w, with_python(ev, l, "python_wait", wt->start_ns, RING_EV_BUSY));
}

static void instants(struct writer *w, const struct trace_process *p, const struct trace_thread *t, unsigned gil,
                     int64_t track)
{
    for (size_t k = 0; k < t->count && !w->failed; k++) {
        const struct trace_event *e = &t->events[k];
        if (e->gil != gil)
            continue;
        if (e->kind == RING_EV_ACQUIRE || e->kind == RING_EV_RELEASE || e->kind == RING_EV_BUSY) {
            if (e->stack && e->stack <= p->stack_count) {
                /* where this release/wait happened, as an instant with the site */
                const struct trace_stack *s = &p->stacks[e->stack - 1];
                int f = report_stack_label_frame(s);
                char site[512] = "";
                if (f >= 0)
                    report_frame_text(p, &s->frames[f], site, sizeof site);
                emit(w, json_pack("{s:s,s:s,s:s,s:s,s:f,s:i,s:I,s:{s:s,s:i}}", "name",
                                  e->kind == RING_EV_RELEASE ? "release site" : "wait site", "cat", "gil.stack", "ph",
                                  "i", "s", "t", "ts", us(w, e->ts_ns), "pid", (int)p->pid, "tid", (json_int_t)track,
                                  "args", "site", site, "stack", (int)e->stack));
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

int export_chrome(FILE *out, const struct trace_process *procs, size_t n, const char *db_path, uint64_t *events)
{
    struct writer w = {.out = out, .base_ns = n ? procs[0].start_ns : 0};
    for (size_t i = 0; i < n; i++)
        if (procs[i].start_ns < w.base_ns)
            w.base_ns = procs[i].start_ns;
    if (fputs("{\"traceEvents\":[\n", out) == EOF)
        w.failed = 1;
    for (size_t i = 0; i < n && !w.failed; i++) {
        const struct trace_process *p = &procs[i];
        char pname[1024];
        const char *script = p->argc > 1 ? p->argv[1] : "";
        snprintf(pname, sizeof pname, "%s%s%s", base_name(p->exe), *script ? " " : "", script);
        emit(&w, json_pack("{s:s,s:s,s:i,s:i,s:{s:s}}", "name", "process_name", "ph", "M", "pid", (int)p->pid, "tid", 0,
                           "args", "name", pname));
        emit(&w, json_pack("{s:s,s:s,s:i,s:i,s:{s:s}}", "name", "process_labels", "ph", "M", "pid", (int)p->pid, "tid",
                           0, "args", "labels", p->python_version ? p->python_version : "?"));
        unsigned ngil = p->gil_count ? (unsigned)p->gil_count : 1;
        for (size_t k = 0; k < p->thread_count; k++)
            for (size_t e = 0; e < p->threads[k].count; e++)
                if ((unsigned)p->threads[k].events[e].gil + 1 > ngil)
                    ngil = (unsigned)p->threads[k].events[e].gil + 1;
        for (unsigned g = 0; g < ngil && !w.failed; g++) {
            int64_t *drops;
            ptrdiff_t nd = trace_drop_requests(p, g, &drops);
            if (nd < 0) {
                w.failed = 1;
                break;
            }
            for (size_t k = 0; k < p->thread_count && !w.failed; k++) {
                const struct trace_thread *t = &p->threads[k];
                bool on_gil = false;
                for (size_t e = 0; e < t->count && !on_gil; e++)
                    on_gil = t->events[e].gil == g;
                if (!on_gil)
                    continue;
                int64_t track = export_chrome_track(t->tid, g);
                metadata(&w, p, t, g, track, (int)(g * 100000 + k));
                struct lane l = {.w = &w, .p = p, .t = t, .track = track};
                struct trace_interval_sink sink = {on_hold, on_wait, &l};
                trace_intervals(p, t, g, drops, (size_t)nd, &sink);
                instants(&w, p, t, g, track);
            }
            free(drops);
        }
    }
    if (!w.failed) {
        json_t *other = json_pack("{s:s,s:I,s:s,s:s}", "source", "giltrace", "base_ns", (json_int_t)w.base_ns, "trace",
                                  db_path, "clock", "CLOCK_MONOTONIC");
        char *text = other ? json_dumps(other, JSON_COMPACT) : NULL;
        if (!text || fprintf(out, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":%s}\n", text) < 0)
            w.failed = 1;
        free(text);
        json_decref(other);
    }
    *events = w.count;
    return w.failed ? -1 : 0;
}
