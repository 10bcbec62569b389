/*
 * report_json.c — `giltrace report --json`, built with jansson. The shape is
 * documented in tracer/analysis/REPORT.md; "report_version" changes when it does.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "event_kind.h"
#include "ring.h"
#include "trace_figures.h"
#include "report.h"
#include "report_json.h"
#include "report_py.h"
#include "report_stacks.h"

#define REPORT_JSON_VERSION 1

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *ratio(int64_t part, int64_t whole)
{
    return json_real(trace_share(part, whole));
}

static json_t *rate(uint64_t n, int64_t ns)
{
    return json_real(trace_per_s(n, ns));
}

/* A GIL's forced releases (or their rate); null where none can be seen (2.7). */
static json_t *forced(const struct report_process *r, const struct report_gil *gl, bool per_s)
{
    if (!gl->forced_observable)
        return json_null();
    return per_s ? rate(gl->forced_releases, r->duration_ns) : json_integer((json_int_t)gl->forced_releases);
}

static json_t *latency(const struct histogram *h)
{
    json_t *buckets = json_array();
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        if (!h->bucket[i])
            continue;
        int64_t lo, hi;
        histogram_bucket_range(i, &lo, &hi);
        json_array_append_new(buckets, json_pack("[I,I,I]", (json_int_t)lo, (json_int_t)hi, (json_int_t)h->bucket[i]));
    }
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:f,s:o}", "count", (json_int_t)h->count, "min", (json_int_t)h->min,
                     "p50", (json_int_t)histogram_quantile(h, 0.5), "p90", (json_int_t)histogram_quantile(h, 0.9), "p99",
                     (json_int_t)histogram_quantile(h, 0.99), "max", (json_int_t)h->max, "mean",
                     h->count ? h->sum / (double)h->count : 0.0, "histogram", buckets);
}

static const char *gil_kind_name(uint32_t k)
{
    static const char *const kinds[] = {"unknown", "condvar", "semaphore", "none"};
    return kinds[k < 4 ? k : 0];
}

static json_t *gils_json(const struct report_process *r)
{
    json_t *a = json_array();
    for (size_t g = 0; g < r->ngils; g++) {
        const struct report_gil *gl = &r->gils[g];
        json_t *series = json_array();
        for (size_t k = 0; k < gl->bins; k++)
            json_array_append_new(series, json_real(gl->utilisation[k]));
        json_array_append_new(
            a, json_pack("{s:i,s:b,s:I,s:o,s:I,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:I,s:I,s:o}}", "gil", (int)gl->index,
                         "subinterpreter", gl->subinterpreter, "held_ns", (json_int_t)gl->held_ns, "utilisation",
                         ratio(gl->held_ns, r->duration_ns), "holds", (json_int_t)gl->holds, "handoffs",
                         (json_int_t)gl->handoffs, "handoffs_per_s", rate(gl->handoffs, r->duration_ns),
                         "forced_releases", forced(r, gl, false), "forced_releases_per_s", forced(r, gl, true),
                         /* the same figures under their report_version 1 names */
                         "forced_switches", forced(r, gl, false), "forced_switches_per_s", forced(r, gl, true),
                         "handoff_latency_ns", latency(&gl->handoff), "utilisation_over_time", "start_ns",
                         (json_int_t)r->p->start_ns, "bin_ns", (json_int_t)gl->bin_ns, "values", series));
    }
    return a;
}

static json_t *threads_json(const struct report_process *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct report_thread *t = &r->threads[i];
        int64_t life = trace_life_ns(t->first_ns, t->end_ns);
        json_t *events = json_object();
        for (unsigned k = 1; k <= RING_EV_KIND_MAX; k++)
            json_object_set_new(events, event_kind_name(k), json_integer((json_int_t)t->events[k]));
        json_array_append_new(
            a, json_pack("{s:I,s:o,s:I,s:I,s:I,s:I,s:o,s:I,s:o,s:I,s:{s:I,s:I},s:o,s:o,s:{s:I,s:I,s:I,s:I,s:b}}",
                         "tid", (json_int_t)t->tid, "name", str_or_null(t->name), "first_ns",
                         (json_int_t)t->first_ns, "end_ns", (json_int_t)t->end_ns, "life_ns", (json_int_t)life,
                         "held_ns", (json_int_t)t->held_ns, "held_share", ratio(t->held_ns, life), "waited_ns",
                         (json_int_t)t->waited_ns, "waited_share", ratio(t->waited_ns, life), "acquires",
                         (json_int_t)t->acquires, "releases", "voluntary", (json_int_t)t->releases_voluntary, "forced",
                         (json_int_t)t->releases_forced, "events", events, "wait_latency_ns", latency(&t->wait),
                         "convoy", "episodes", (json_int_t)t->convoys, "waits_after_voluntary_release",
                         (json_int_t)t->waits_after_voluntary, "wait_ns", (json_int_t)t->convoy_wait_ns,
                         "longest_ns", (json_int_t)t->convoy_max_ns, "flagged", t->convoy));
    }
    return a;
}

static json_t *blame_json(const struct report_process *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->nblame; i++) {
        const struct report_blame *b = &r->blame[i];
        json_array_append_new(a, json_pack("{s:I,s:o,s:I}", "waiter", (json_int_t)r->threads[b->waiter].tid, "holder",
                                           b->holder == r->nthreads ? json_null()
                                                                    : json_integer((json_int_t)r->threads[b->holder].tid),
                                           "ns", (json_int_t)b->ns));
    }
    return a;
}

static json_t *frames_json(const struct trace_process *p, const struct trace_stack *s)
{
    json_t *a = json_array();
    for (uint32_t k = 0; k < s->depth; k++) {
        const struct trace_frame *f = &s->frames[k];
        const char *module = f->module >= 0 && (size_t)f->module < p->module_count ? p->modules[f->module].path : NULL;
        json_array_append_new(a, json_pack("{s:I,s:o,s:o,s:I}", "address", (json_int_t)f->address, "module",
                                           str_or_null(module), "symbol", str_or_null(f->symbol), "offset",
                                           (json_int_t)(f->symbol ? f->symbol_offset
                                                                  : module ? f->address - p->modules[f->module].bias
                                                                           : 0)));
    }
    return a;
}

static json_t *sites_json(const struct report_process *r, bool release)
{
    if (!r->have_stacks)
        return json_null();
    json_t *a = json_array();
    size_t n = release ? r->nrelease_sites : r->nwait_sites;
    const struct report_site *v = release ? r->release_sites : r->wait_sites;
    for (size_t i = 0; i < n; i++) {
        const struct report_site *s = &v[i];
        json_t *o = json_pack("{s:s,s:I,s:I,s:o}", "site", s->label, "stack", (json_int_t)s->stack,
                              release ? "releases" : "waits", (json_int_t)s->count, "frames",
                              frames_json(r->p, &r->p->stacks[s->stack - 1]));
        if (release)
            json_object_set_new(o, "forced", json_integer((json_int_t)s->forced));
        else {
            json_object_set_new(o, "wait_ns", json_integer((json_int_t)s->wait_ns));
            json_object_set_new(o, "longest_ns", json_integer((json_int_t)s->wait_max_ns));
        }
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *process_json(const struct report_process *r)
{
    const struct trace_process *p = r->p;
    json_t *argv = json_array();
    for (size_t i = 0; i < p->argc; i++)
        json_array_append_new(argv, json_string(p->argv[i]));
    json_t *o = json_pack("{s:i,s:i,s:o,s:o,s:o,s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:o}", "pid",
                     p->pid, "ppid", p->ppid, "exe", str_or_null(p->exe), "argv", argv, "python_version",
                     str_or_null(p->python_version), "gil", gil_kind_name(p->gil_kind), "switch_interval_us",
                     p->switch_interval_us >= 0 ? json_integer(p->switch_interval_us) : json_null(), "start_ns",
                     (json_int_t)p->start_ns, "end_ns", (json_int_t)p->end_ns, "duration_ns",
                     (json_int_t)r->duration_ns, "events", (json_int_t)trace_process_event_count(p), "lost_events",
                     (json_int_t)p->lost_events, "overwritten_events", (json_int_t)p->overwritten_events,
                     "lost_stacks", (json_int_t)p->lost_stacks, "convoy_threshold_ns",
                     (json_int_t)r->convoy_threshold_ns, "convoys", (json_int_t)r->convoys, "gils", gils_json(r),
                     "threads", threads_json(r), "blame", blame_json(r), "release_sites", sites_json(r, true),
                     "wait_sites", sites_json(r, false));
    json_t *py = report_py_json(p, 10);
    if (o && py)
        json_object_set_new(o, "python_sites", py);
    return o;
}

int report_json(FILE *out, const struct report_process *procs, size_t n, const char *db_path)
{
    json_t *ps = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ps, process_json(&procs[i]));
    json_t *root = json_pack("{s:i,s:s,s:o}", "report_version", REPORT_JSON_VERSION, "trace", db_path, "processes", ps);
    if (!root)
        return -1;
    int r = json_dumpf(root, out, JSON_INDENT(1) | JSON_REAL_PRECISION(6));
    fputc('\n', out);
    json_decref(root);
    return r;
}
