/*
 * report_whatif.c — the what-if replay of a trace's GIL demands under
 * another policy. See report_whatif.h for the model.
 */
#include "report_whatif.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "trace_intervals.h"
#include "../shim/experiment_spec.h"
#include "report.h"

/* A thread's demands. */
struct job {
    int64_t cpu_ns;
    int64_t gap_ns; /* after it: until it wants the GIL again (-1: none, the thread ends) */
};

struct demand {
    int64_t first_want;
    size_t njobs, cap;
    struct job *jobs;
    /* collecting */
    int64_t want;      /* when it began wanting the hold to come (-1: unknown) */
    int64_t last_end;  /* end of its last hold (-1: none yet) */
    bool last_forced;
    struct whatif_thread *out;
    struct times *releases, *acquires; /* every hold's end; every wait's end */
    bool *oom;
};

/* A growing list of times. */
struct times {
    size_t n, cap;
    int64_t *v;
};

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 64;
    void *more = realloc(*v, c * size);
    if (!more)
        return false;
    *v = more;
    *cap = c;
    return true;
}

static void times_add(struct times *t, int64_t v, bool *oom)
{
    if (!grow((void **)&t->v, &t->cap, t->n, sizeof *t->v))
        *oom = true;
    else
        t->v[t->n++] = v;
}

/* ------------------------------------------------------------- policies */

static int parse_time(const char *s, int64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -1;
    double unit = 1e6;
    if (strcmp(end, "us") == 0)
        unit = 1e3;
    else if (strcmp(end, "s") == 0)
        unit = 1e9;
    else if (*end && strcmp(end, "ms") != 0)
        return -1;
    if (v * unit < 1e3 || v * unit > 1e10)
        return -1;
    *ns = (int64_t)(v * unit + 0.5);
    return 0;
}

int whatif_policy_parse(const char *spec, struct whatif_policy *out, char *why, size_t why_len)
{
    *out = (struct whatif_policy){0};
    char item[128];
    const char *p = spec;
    do {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item) {
            snprintf(why, why_len, "--what-if \"%s\" has an empty or overlong item", spec);
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        p += len;
        if (strcmp(item, "priority-gil") == 0) {
            out->priority = true;
        } else if (strncmp(item, "switch-interval=", 16) != 0 || parse_time(item + 16, &out->interval_ns)) {
            snprintf(why, why_len,
                     "--what-if wants priority-gil or switch-interval=TIME (1us to 10s: 1ms, 500us, 0.005s), "
                     "not \"%s\"",
                     item);
            return -1;
        }
    } while (*p++ == ',');
    return 0;
}

void whatif_policy_recorded(const char *label, struct whatif_policy *out)
{
    struct experiment_spec spec;
    char why[256];
    *out = (struct whatif_policy){0};
    if (label && experiment_spec_parse(label, &spec, why, sizeof why))
        out->priority = spec.priority; /* per-thread intervals are not replayed */
}

/* -------------------------------------------------------------- demands */

static void add_job(struct demand *d)
{
    if (!grow((void **)&d->jobs, &d->cap, d->njobs, sizeof *d->jobs))
        *d->oom = true;
    else
        d->jobs[d->njobs++] = (struct job){0, -1};
}

static void on_wait(void *ctx, const struct trace_wait *w)
{
    struct demand *d = ctx;
    int64_t len = w->end_ns - w->start_ns;
    d->want = w->start_ns;
    if (w->open)
        return;
    times_add(d->acquires, w->end_ns, d->oom);
    if (len > 0) {
        d->out->recorded.waits++;
        d->out->recorded.wait_ns += len;
        if (len > d->out->recorded.wait_max_ns)
            d->out->recorded.wait_max_ns = len;
    }
}

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct demand *d = ctx;
    int64_t want = d->want >= 0 && d->want <= h->start_ns ? d->want : h->start_ns;
    d->want = -1;
    if (d->last_end < 0) {
        d->first_want = want;
        add_job(d);
    } else if (!d->last_forced) {
        d->jobs[d->njobs - 1].gap_ns = want - d->last_end;
        add_job(d);
    }
    if (*d->oom)
        return;
    d->jobs[d->njobs - 1].cpu_ns += h->end_ns - h->start_ns;
    d->last_end = h->end_ns;
    d->last_forced = h->forced && !h->open;
    if (!h->open)
        times_add(d->releases, h->end_ns, d->oom);
}

static int i64_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The median time from the last release before an acquire that ended a
 * wait to that acquire (0 when there is none). Sorts both lists. */
static int64_t median_handoff(struct times *rel, struct times *acq, bool *oom)
{
    if (rel->n == 0 || acq->n == 0)
        return 0;
    qsort(rel->v, rel->n, sizeof *rel->v, i64_cmp);
    struct times lat = {0};
    for (size_t i = 0; i < acq->n; i++) {
        size_t lo = 0, hi = rel->n; /* first release > acquire */
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (rel->v[mid] <= acq->v[i])
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0)
            times_add(&lat, acq->v[i] - rel->v[lo - 1], oom);
    }
    int64_t m = 0;
    if (lat.n) {
        qsort(lat.v, lat.n, sizeof *lat.v, i64_cmp);
        m = lat.v[lat.n / 2];
    }
    free(lat.v);
    return m;
}

/* ------------------------------------------------------------- the replay */

enum sim_state { SIM_IDLE, SIM_WAITING, SIM_HOLDING, SIM_DONE };

struct sim_thread {
    const struct demand *d;
    enum sim_state state;
    size_t job;
    int64_t remaining;   /* CPU left in the current job */
    int64_t next_want;   /* SIM_IDLE: when it wants the GIL */
    int64_t wait_start, next_timeout;
    bool switch_seen;    /* a switch happened since its timed wait began */
    bool voluntary;      /* its last release was voluntary */
    struct whatif_figures *fig;
};

struct sim {
    struct sim_thread *th;
    size_t n;
    int64_t interval, handoff;
    bool priority;
    ptrdiff_t holder;    /* -1: nobody */
    int64_t hold_start;  /* may lie ahead: the handoff in flight */
};

static int64_t sim_interval(const struct sim *s, const struct sim_thread *t, bool first)
{
    if (s->priority && t->voluntary)
        return first ? 0 : (int64_t)EXPERIMENT_PRIORITY_RETRY_US * 1000;
    return s->interval;
}

static void sim_acquire(struct sim *s, size_t i, int64_t at)
{
    struct sim_thread *t = &s->th[i];
    if (t->state == SIM_WAITING) {
        int64_t w = at - t->wait_start;
        if (w > 0) {
            t->fig->waits++;
            t->fig->wait_ns += w;
            if (w > t->fig->wait_max_ns)
                t->fig->wait_max_ns = w;
        }
    }
    t->state = SIM_HOLDING;
    s->holder = (ptrdiff_t)i;
    s->hold_start = at;
    for (size_t k = 0; k < s->n; k++)
        if (s->th[k].state == SIM_WAITING)
            s->th[k].switch_seen = true;
}

/* The GIL is let go at `now`: to the longest waiter other than `not`. */
static void sim_release(struct sim *s, int64_t now, ptrdiff_t not)
{
    s->holder = -1;
    ptrdiff_t best = -1;
    for (size_t k = 0; k < s->n; k++)
        if (s->th[k].state == SIM_WAITING && (ptrdiff_t)k != not &&
            (best < 0 || s->th[k].wait_start < s->th[best].wait_start))
            best = (ptrdiff_t)k;
    if (best < 0 && not >= 0 && s->th[not].state == SIM_WAITING)
        best = not;
    if (best >= 0)
        sim_acquire(s, (size_t)best, now + s->handoff);
}

static void sim_want(struct sim *s, size_t i, int64_t now)
{
    struct sim_thread *t = &s->th[i];
    t->state = SIM_WAITING;
    t->wait_start = now;
    t->switch_seen = false;
    t->next_timeout = now + sim_interval(s, t, true);
    if (s->holder < 0)
        sim_acquire(s, i, now);
}

static void sim_finish_job(struct sim *s, size_t i, int64_t now)
{
    struct sim_thread *t = &s->th[i];
    const struct job *j = &t->d->jobs[t->job];
    t->voluntary = true;
    if (j->gap_ns < 0 || t->job + 1 >= t->d->njobs) {
        t->state = SIM_DONE;
        t->fig->span_ns = now - t->d->first_want;
    } else {
        t->state = SIM_IDLE;
        t->next_want = now + j->gap_ns;
        t->job++;
        t->remaining = t->d->jobs[t->job].cpu_ns;
    }
    sim_release(s, now, -1);
}

static void sim_timeout(struct sim *s, size_t i, int64_t now)
{
    struct sim_thread *t = &s->th[i];
    if (t->switch_seen || s->holder < 0 || now < s->hold_start) {
        t->switch_seen = false;
        t->next_timeout = now + sim_interval(s, t, false);
        return;
    }
    /* the drop request: the holder lets go at once and wants it back */
    struct sim_thread *h = &s->th[s->holder];
    size_t hi = (size_t)s->holder;
    h->remaining -= now - s->hold_start;
    h->voluntary = false;
    h->state = SIM_WAITING;
    h->wait_start = now;
    h->switch_seen = false;
    h->next_timeout = now + sim_interval(s, h, true);
    t->next_timeout = now + sim_interval(s, t, false);
    sim_release(s, now, (ptrdiff_t)hi);
}

/* Run until every thread is done. */
static void sim_run(struct sim *s)
{
    for (;;) {
        int64_t best = INT64_MAX;
        int what = -1; /* 0 finish, 1 want, 2 timeout */
        size_t who = 0;
        if (s->holder >= 0) {
            best = s->hold_start + s->th[s->holder].remaining;
            what = 0;
            who = (size_t)s->holder;
        }
        for (size_t k = 0; k < s->n; k++) {
            const struct sim_thread *t = &s->th[k];
            if (t->state == SIM_IDLE && t->next_want < best) {
                best = t->next_want;
                what = 1;
                who = k;
            } else if (t->state == SIM_WAITING && s->holder >= 0 && t->next_timeout < best) {
                best = t->next_timeout;
                what = 2;
                who = k;
            }
        }
        if (what < 0)
            return;
        if (what == 0)
            sim_finish_job(s, who, best);
        else if (what == 1)
            sim_want(s, who, best);
        else
            sim_timeout(s, who, best);
    }
}

static void replay(const struct demand *d, size_t n, const struct whatif_policy *pol, const struct whatif_result *r,
                   struct sim_thread *th, size_t which)
{
    struct sim s = {.th = th, .n = n, .interval = pol->interval_ns ? pol->interval_ns : r->interval_ns,
                    .handoff = r->handoff_ns, .priority = pol->priority, .holder = -1};
    for (size_t i = 0; i < n; i++) {
        struct whatif_thread *wt = &r->threads[i];
        th[i] = (struct sim_thread){.d = &d[i], .state = d[i].njobs ? SIM_IDLE : SIM_DONE,
                                    .next_want = d[i].first_want,
                                    .remaining = d[i].njobs ? d[i].jobs[0].cpu_ns : 0,
                                    .fig = which ? &wt->predicted : &wt->baseline};
    }
    sim_run(&s);
}

int whatif_run(const struct trace_process *p, const struct whatif_policy *baseline, const struct whatif_policy *what,
               struct whatif_result *out)
{
    *out = (struct whatif_result){0};
    out->interval_ns = p->switch_interval_us > 0 ? p->switch_interval_us * 1000 : REPORT_DEFAULT_INTERVAL_NS;
    size_t n = p->thread_count;
    bool oom = false;
    struct times rel = {0}, acq = {0};
    struct demand *d = calloc(n ? n : 1, sizeof *d);
    struct sim_thread *th = calloc(n ? n : 1, sizeof *th);
    out->threads = calloc(n ? n : 1, sizeof *out->threads);
    int64_t *drops = NULL;
    ptrdiff_t nd = trace_drop_requests(p, 0, &drops);
    if (!d || !th || !out->threads || nd < 0)
        goto fail;
    out->nthreads = n;
    for (size_t i = 0; i < n && !oom; i++) {
        struct whatif_thread *wt = &out->threads[i];
        wt->tid = p->threads[i].tid;
        wt->name = p->threads[i].name;
        d[i] = (struct demand){.want = -1, .last_end = -1, .out = wt, .releases = &rel, .acquires = &acq,
                               .oom = &oom};
        struct trace_interval_sink sink = {on_hold, on_wait, &d[i]};
        trace_intervals(p, &p->threads[i], 0, drops, (size_t)nd, &sink);
        wt->jobs = d[i].njobs;
        for (size_t j = 0; j < d[i].njobs; j++) {
            wt->cpu_ns += d[i].jobs[j].cpu_ns;
            wt->gap_ns += d[i].jobs[j].gap_ns > 0 ? d[i].jobs[j].gap_ns : 0;
        }
        if (d[i].njobs)
            wt->recorded.span_ns = d[i].last_end - d[i].first_want;
    }
    out->handoff_ns = oom ? 0 : median_handoff(&rel, &acq, &oom);
    if (oom)
        goto fail;
    replay(d, n, baseline, out, th, 0);
    replay(d, n, what, out, th, 1);
    for (size_t i = 0; i < n; i++)
        free(d[i].jobs);
    free(d);
    free(th);
    free(drops);
    free(rel.v);
    free(acq.v);
    return 0;
fail:
    for (size_t i = 0; d && i < n; i++)
        free(d[i].jobs);
    free(d);
    free(th);
    free(drops);
    free(rel.v);
    free(acq.v);
    whatif_free(out);
    return -1;
}

void whatif_free(struct whatif_result *r)
{
    free(r->threads);
    *r = (struct whatif_result){0};
}

/* ----------------------------------------------------------------- text */

static void figures(FILE *out, const char *label, const struct whatif_figures *f, const struct whatif_figures *rec)
{
    fprintf(out, "      %-10s %9" PRIu64 " waits %10.3f ms waited (mean %9.1f us, max %8.3f ms)  span %9.3f ms",
            label, f->waits, (double)f->wait_ns / 1e6, f->waits ? (double)f->wait_ns / (double)f->waits / 1e3 : 0.0,
            (double)f->wait_max_ns / 1e6, (double)f->span_ns / 1e6);
    if (rec && rec->span_ns > 0 && f != rec)
        fprintf(out, " (x%.2f)", (double)f->span_ns / (double)rec->span_ns);
    fputc('\n', out);
}

void whatif_text(FILE *out, const struct trace_process *p, const struct whatif_result *r, const char *what_spec,
                 const char *recorded_label)
{
    fprintf(out, "\nWhat if (pid %d, main GIL): %s\n", p->pid, what_spec);
    fprintf(out,
            "  model: the recorded CPU bursts and I/O gaps replayed under the policy (switch interval %.3f ms, "
            "handoff %.1f us);\n  baseline: the same replay under the recorded policy (%s): how far the model is "
            "from what was recorded\n",
            (double)r->interval_ns / 1e6, (double)r->handoff_ns / 1e3,
            recorded_label ? recorded_label : "CPython's own");
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct whatif_thread *t = &r->threads[i];
        if (!t->jobs)
            continue;
        fprintf(out, "  tid %u %s: %" PRIu64 " job%s, %.3f ms CPU held, %.3f ms without the GIL", t->tid,
                t->name ? t->name : "-", t->jobs, t->jobs == 1 ? "" : "s", (double)t->cpu_ns / 1e6,
                (double)t->gap_ns / 1e6);
        if (t->jobs > 1)
            fprintf(out, "; round trip %.1f us recorded, %.1f us predicted", (double)t->recorded.span_ns /
                    (double)t->jobs / 1e3, (double)t->predicted.span_ns / (double)t->jobs / 1e3);
        fputc('\n', out);
        figures(out, "recorded", &t->recorded, &t->recorded);
        figures(out, "baseline", &t->baseline, &t->recorded);
        figures(out, "predicted", &t->predicted, &t->recorded);
    }
}
