/*
 * report_stacks.c — release and wait sites from native stacks. See
 * report_stacks.h.
 */
#include "report_stacks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "trace_intervals.h"

/* qsort, for arrays that may be empty (and NULL). */
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(v, n, size, cmp);
}

static const char *const gil_machinery[] = {
    "drop_gil", "drop_gil_impl", "take_gil", "PyEval_SaveThread", "PyEval_RestoreThread", "PyEval_AcquireThread",
    "PyEval_ReleaseThread", "PyEval_AcquireLock", "PyEval_ReleaseLock", "_PyEval_AcquireLock",
    "_PyEval_ReleaseLock", "PyThread_acquire_lock", "PyThread_acquire_lock_timed", "PyThread_release_lock",
    "PyGILState_Ensure", "PyGILState_Release", "_PyThreadState_Attach", "_PyThreadState_Detach",
    "PyThreadState_DeleteCurrent", "_PyThreadState_DeleteCurrent", "_Py_HandlePending", "handle_eval_breaker",
    "eval_frame_handle_pending", "_PyEval_HandlePending", "detach_thread", "attach_thread",
    "_PyThreadState_Swap", "PyEval_InitThreads", "pthread_cond_signal", "pthread_cond_timedwait",
    "pthread_mutex_lock", "sem_post", "sem_wait", "sem_trywait",
};

int report_frame_is_gil_machinery(const char *symbol)
{
    if (!symbol)
        return 0;
    for (size_t i = 0; i < sizeof gil_machinery / sizeof gil_machinery[0]; i++)
        if (strcmp(symbol, gil_machinery[i]) == 0)
            return 1;
    /* compiler clones: drop_gil.lto_priv.0, take_gil.constprop.0 ... */
    const char *dot = strchr(symbol, '.');
    if (dot && dot != symbol) {
        size_t n = (size_t)(dot - symbol);
        for (size_t i = 0; i < sizeof gil_machinery / sizeof gil_machinery[0]; i++)
            if (strlen(gil_machinery[i]) == n && strncmp(symbol, gil_machinery[i], n) == 0)
                return 1;
    }
    return 0;
}

int report_stack_label_frame(const struct trace_stack *s)
{
    for (uint32_t i = 0; i < s->depth; i++)
        if (s->frames[i].symbol && !report_frame_is_gil_machinery(s->frames[i].symbol))
            return (int)i;
    return s->depth ? 0 : -1;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

void report_frame_text(const struct trace_process *p, const struct trace_frame *f, char *buf, size_t cap)
{
    if (f->symbol)
        snprintf(buf, cap, "%s", f->symbol);
    else if (f->module >= 0 && (size_t)f->module < p->module_count)
        snprintf(buf, cap, "%s+0x%" PRIx64, base_name(p->modules[f->module].path),
                 f->address - p->modules[f->module].bias);
    else
        snprintf(buf, cap, "0x%" PRIx64, f->address);
}

/* Sites being gathered: one per label. */
struct site_acc {
    struct report_site *v;
    size_t n, cap;
    int32_t *of_stack; /* site index of each stack id, -1 until looked up */
};

static struct report_site *site_for(struct site_acc *a, const struct trace_process *p, uint32_t stack)
{
    if (a->of_stack[stack] >= 0)
        return &a->v[a->of_stack[stack]];
    const struct trace_stack *s = &p->stacks[stack - 1];
    int k = report_stack_label_frame(s);
    char label[512] = "(empty stack)";
    if (k >= 0)
        report_frame_text(p, &s->frames[k], label, sizeof label);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i].label, label) == 0) {
            a->of_stack[stack] = (int32_t)i;
            return &a->v[i];
        }
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct report_site *more = realloc(a->v, cap * sizeof *more);
        if (!more)
            return NULL;
        a->v = more;
        a->cap = cap;
    }
    char *copy = strdup(label);
    if (!copy)
        return NULL;
    a->v[a->n] = (struct report_site){.stack = stack, .label = copy};
    a->of_stack[stack] = (int32_t)a->n;
    return &a->v[a->n++];
}

static int by_count(const void *a, const void *b)
{
    const struct report_site *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->label, y->label);
}

static int by_wait(const void *a, const void *b)
{
    const struct report_site *x = a, *y = b;
    if (x->wait_ns != y->wait_ns)
        return x->wait_ns > y->wait_ns ? -1 : 1;
    return strcmp(x->label, y->label);
}

static void keep(struct site_acc *a, size_t max, struct report_site **out, size_t *n)
{
    for (size_t i = max; i < a->n; i++)
        free((char *)a->v[i].label);
    *n = a->n < max ? a->n : max;
    *out = a->v;
    if (*n == 0) {
        free(a->v);
        *out = NULL;
    }
}

/* What the walker's sink needs while one thread's lane is walked. */
struct walk_ctx {
    const struct trace_process *p;
    const struct trace_thread *t;
    struct site_acc *rel, *wait;
    int rc;
};

/* The stack of event `k` of the thread walked, or 0 when it has none. */
static uint32_t stack_of(const struct walk_ctx *c, size_t k)
{
    uint32_t s = c->t->events[k].stack;
    return s && s <= c->p->stack_count ? s : 0;
}

/* A hold that a RELEASE with a stack ended: its site's forced releases. */
static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct walk_ctx *c = ctx;
    if (c->rc || h->open || c->t->events[h->end_event].kind != RING_EV_RELEASE || !stack_of(c, h->end_event))
        return;
    struct report_site *s = site_for(c->rel, c->p, stack_of(c, h->end_event));
    if (!s)
        c->rc = -1;
    else
        s->forced += h->forced;
}

/* A wait whose BUSY has a stack: its site's waits. */
static void on_wait(void *ctx, const struct trace_wait *w)
{
    struct walk_ctx *c = ctx;
    uint32_t stack = stack_of(c, w->start_event);
    if (c->rc || !stack)
        return;
    struct report_site *s = site_for(c->wait, c->p, stack);
    if (!s) {
        c->rc = -1;
        return;
    }
    int64_t d = w->end_ns - w->start_ns;
    s->count++;
    s->wait_ns += d;
    if (d > s->wait_max_ns)
        s->wait_max_ns = d;
}

/* Every RELEASE of GIL `gil` with a stack counts at its site, whether or
 * not the trace saw the hold it ends begin. */
static int count_releases(struct walk_ctx *c, unsigned gil)
{
    for (size_t k = 0; k < c->t->count; k++) {
        const struct trace_event *e = &c->t->events[k];
        if (e->gil != gil || e->kind != RING_EV_RELEASE || !stack_of(c, k))
            continue;
        struct report_site *s = site_for(c->rel, c->p, e->stack);
        if (!s)
            return -1;
        s->count++;
    }
    return 0;
}

int report_stack_sites(struct report_process *r, size_t max_sites)
{
    const struct trace_process *p = r->p;
    r->have_stacks = p->stacks_recorded;
    if (p->stack_count == 0)
        return 0;
    if (max_sites == 0)
        max_sites = 10;
    struct site_acc rel = {0}, wait = {0};
    rel.of_stack = malloc((p->stack_count + 1) * sizeof *rel.of_stack);
    wait.of_stack = malloc((p->stack_count + 1) * sizeof *wait.of_stack);
    int rc = rel.of_stack && wait.of_stack ? 0 : -1;
    for (size_t i = 0; rc == 0 && i <= p->stack_count; i++)
        rel.of_stack[i] = wait.of_stack[i] = -1;
    for (unsigned g = 0; g < r->ngils && rc == 0; g++) {
        int64_t *drops;
        ptrdiff_t nd = trace_drop_requests(p, g, &drops);
        if (nd < 0) {
            rc = -1;
            break;
        }
        for (size_t i = 0; i < p->thread_count && rc == 0; i++) {
            struct walk_ctx c = {.p = p, .t = &p->threads[i], .rel = &rel, .wait = &wait};
            const struct trace_interval_sink sink = {on_hold, on_wait, &c};
            trace_intervals(p, c.t, g, drops, (size_t)nd, &sink);
            rc = c.rc ? c.rc : count_releases(&c, g);
        }
        free(drops);
    }
    free(rel.of_stack);
    free(wait.of_stack);
    if (rc) {
        for (size_t i = 0; i < rel.n; i++)
            free((char *)rel.v[i].label);
        for (size_t i = 0; i < wait.n; i++)
            free((char *)wait.v[i].label);
        free(rel.v);
        free(wait.v);
        return -1;
    }
    sort_n(rel.v, rel.n, sizeof *rel.v, by_count);
    sort_n(wait.v, wait.n, sizeof *wait.v, by_wait);
    keep(&rel, max_sites, &r->release_sites, &r->nrelease_sites);
    keep(&wait, max_sites, &r->wait_sites, &r->nwait_sites);
    return 0;
}

void report_sites_free(struct report_process *r)
{
    for (size_t i = 0; i < r->nrelease_sites; i++)
        free((char *)r->release_sites[i].label);
    for (size_t i = 0; i < r->nwait_sites; i++)
        free((char *)r->wait_sites[i].label);
    free(r->release_sites);
    free(r->wait_sites);
    r->release_sites = r->wait_sites = NULL;
    r->nrelease_sites = r->nwait_sites = 0;
}
