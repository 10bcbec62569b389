/*
 * report_py.c — Python release sites, wait sites, blame by Python line and
 * folded stacks. See report_py.h.
 */
#include "report_py.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "search.h"
#include "trace_intervals.h"
#include "human.h"

/* The stack of the event of `t` at `ts` of kind `kind`, 0 when it has none. */
struct mark_key {
    const struct trace_thread *t;
    int64_t ts;
};

/* Is Python mark i's event at or after ts (search_first)? */
static bool mark_from(const void *ctx, size_t i)
{
    const struct mark_key *c = ctx;
    return c->t->events[c->t->py_marks[i].event].ts_ns >= c->ts;
}

static uint32_t stack_at(const struct trace_thread *t, int64_t ts, unsigned kind)
{
    size_t lo = search_first(t->py_mark_count, mark_from, &(struct mark_key){t, ts});
    for (; lo < t->py_mark_count && t->events[t->py_marks[lo].event].ts_ns == ts; lo++)
        if (t->events[t->py_marks[lo].event].kind == kind)
            return t->py_marks[lo].stack;
    return 0;
}

/* Sites: one per (code object, line) of an innermost frame; site 0 is "no
 * Python frame". */
struct sites {
    size_t n;
    struct report_py_site *v;
    uint32_t *of_stack; /* [stack id] -> site */
};

static int by_key(const void *a, const void *b)
{
    const struct report_py_site *x = a, *y = b;
    if (x->code != y->code)
        return x->code < y->code ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

static int sites_init(struct sites *s, const struct trace_process *p)
{
    s->v = calloc(p->py_stack_count + 1, sizeof *s->v);
    s->of_stack = calloc(p->py_stack_count + 1, sizeof *s->of_stack);
    if (!s->v || !s->of_stack)
        return -1;
    s->v[0] = (struct report_py_site){.code = 0, .line = -1};
    size_t n = 1;
    for (size_t i = 0; i < p->py_stack_count; i++) {
        const struct trace_py_stack *st = &p->py_stacks[i];
        if (st->depth)
            s->v[n++] = (struct report_py_site){.code = st->frames[0].code, .line = st->frames[0].line};
    }
    if (n > 2)
        qsort(s->v + 1, n - 1, sizeof *s->v, by_key);
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (u == 1 || by_key(&s->v[u - 1], &s->v[i]) != 0)
            s->v[u++] = s->v[i];
    s->n = u;
    for (size_t i = 0; i < p->py_stack_count; i++) {
        const struct trace_py_stack *st = &p->py_stacks[i];
        if (!st->depth)
            continue;
        struct report_py_site key = {.code = st->frames[0].code, .line = st->frames[0].line};
        const struct report_py_site *at = bsearch(&key, s->v + 1, u - 1, sizeof key, by_key);
        s->of_stack[i + 1] = (uint32_t)(at - s->v);
    }
    return 0;
}

static void sites_free(struct sites *s)
{
    free(s->v);
    free(s->of_stack);
}

/* A copy of the `max` first sites of `s` (site 0 included only if `with_none`)
 * by `cmp`. */
static struct report_py_site *keep(const struct sites *s, int (*cmp)(const void *, const void *), size_t max,
                                   bool with_none, size_t *n)
{
    struct report_py_site *v = malloc((s->n ? s->n : 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    for (size_t i = with_none ? 0 : 1; i < s->n; i++)
        if (s->v[i].count)
            v[k++] = s->v[i];
    if (k > 1)
        qsort(v, k, sizeof *v, cmp);
    *n = k < max ? k : max;
    return v;
}

static int by_count(const void *a, const void *b)
{
    const struct report_py_site *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return by_key(a, b);
}

static int by_ns(const void *a, const void *b)
{
    const struct report_py_site *x = a, *y = b;
    if (x->ns != y->ns)
        return x->ns > y->ns ? -1 : 1;
    return by_key(a, b);
}

/* A hold or wait of one GIL, for blame. */
struct span {
    int64_t start, end;
    uint32_t thread; /* index into p->threads */
    uint32_t site;
};

struct spans {
    size_t n, cap;
    struct span *v;
    bool failed;
};

static void spans_add(struct spans *s, struct span x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct span *more = realloc(s->v, cap * sizeof *more);
        if (!more) {
            s->failed = true;
            return;
        }
        s->v = more;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

/* What the interval walk of one thread fills in. */
struct walk {
    const struct trace_thread *t;
    uint32_t thread;
    struct sites *release, *wait;
    const uint32_t *of_stack;
    struct spans *holds, *waits;
};

static void on_hold(void *ctx, const struct trace_hold *h)
{
    struct walk *w = ctx;
    uint32_t stack = h->open ? 0 : stack_at(w->t, h->end_ns, RING_EV_RELEASE);
    uint32_t site = w->of_stack[stack];
    if (stack) {
        w->release->v[site].count++;
        w->release->v[site].forced += h->forced;
    }
    if (!h->open) /* a hold the trace saw no end of has no RELEASE to blame */
        spans_add(w->holds, (struct span){h->start_ns, h->end_ns, w->thread, site});
}

static void on_wait(void *ctx, const struct trace_wait *x)
{
    struct walk *w = ctx;
    uint32_t stack = stack_at(w->t, x->start_ns, RING_EV_BUSY);
    if (stack) {
        struct report_py_site *s = &w->wait->v[w->of_stack[stack]];
        int64_t d = x->end_ns - x->start_ns;
        s->count++;
        s->ns += d;
        if (d > s->max_ns)
            s->max_ns = d;
    }
    spans_add(w->waits, (struct span){x->start_ns, x->end_ns, w->thread, 0});
}

static int by_start(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

/* Charge each wait's overlap with other threads' holds to the holds' sites. */
struct span_key {
    const struct spans *s;
    int64_t t;
};

/* Does span i end after t (search_first)? */
static bool hold_ends_after(const void *ctx, size_t i)
{
    const struct span_key *c = ctx;
    return c->s->v[i].end > c->t;
}

static void blame(struct spans *holds, const struct spans *waits, struct sites *out)
{
    if (holds->n > 1)
        qsort(holds->v, holds->n, sizeof *holds->v, by_start);
    for (size_t i = 0; i < waits->n; i++) {
        const struct span *w = &waits->v[i];
        size_t lo = search_first(holds->n, hold_ends_after, &(struct span_key){holds, w->start});
        for (size_t k = lo; k < holds->n && holds->v[k].start < w->end; k++) {
            const struct span *h = &holds->v[k];
            int64_t from = h->start > w->start ? h->start : w->start, to = h->end < w->end ? h->end : w->end;
            if (h->thread == w->thread || to <= from)
                continue;
            out->v[h->site].count++;
            out->v[h->site].ns += to - from;
        }
    }
}

int report_py_compute(const struct trace_process *p, size_t max_sites, struct report_py *out)
{
    memset(out, 0, sizeof *out);
    if (!p->py_stacks_recorded)
        return 0;
    if (max_sites == 0)
        max_sites = 10;
    struct sites rel = {0}, wait = {0}, bl = {0};
    struct spans holds = {0}, waits = {0};
    int rc = sites_init(&rel, p) || sites_init(&wait, p) || sites_init(&bl, p) ? -1 : 0;
    for (size_t i = 0; i < p->thread_count; i++)
        out->stacked_events += p->threads[i].py_mark_count;
    unsigned ngils = p->gil_count ? (unsigned)p->gil_count : 1;
    for (unsigned g = 0; g < ngils && rc == 0; g++) {
        int64_t *drops;
        ptrdiff_t nd = trace_drop_requests(p, g, &drops);
        if (nd < 0) {
            rc = -1;
            break;
        }
        holds.n = waits.n = 0;
        for (size_t i = 0; i < p->thread_count; i++) {
            struct walk w = {&p->threads[i], (uint32_t)i, &rel, &wait, rel.of_stack, &holds, &waits};
            struct trace_interval_sink sink = {on_hold, on_wait, &w};
            trace_intervals(p, &p->threads[i], g, drops, (size_t)nd, &sink);
        }
        free(drops);
        if (holds.failed || waits.failed)
            rc = -1;
        else
            blame(&holds, &waits, &bl);
    }
    free(holds.v);
    free(waits.v);
    if (rc == 0) {
        out->release = keep(&rel, by_count, max_sites, false, &out->nrelease);
        out->wait = keep(&wait, by_ns, max_sites, false, &out->nwait);
        out->blame = keep(&bl, by_ns, max_sites, true, &out->nblame);
        if (!out->release || !out->wait || !out->blame)
            rc = -1;
    }
    sites_free(&rel);
    sites_free(&wait);
    sites_free(&bl);
    if (rc)
        report_py_free(out);
    return rc;
}

void report_py_free(struct report_py *r)
{
    free(r->release);
    free(r->wait);
    free(r->blame);
    memset(r, 0, sizeof *r);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const struct trace_py_code *code_of(const struct trace_process *p, uint32_t code)
{
    return code && code <= p->py_code_count ? &p->py_codes[code - 1] : NULL;
}

void report_py_site_text(const struct trace_process *p, uint32_t code, int32_t line, bool full_path, char *buf,
                      size_t cap)
{
    const struct trace_py_code *c = code_of(p, code);
    if (!c) {
        snprintf(buf, cap, "%s", code ? "[unknown code]" : "[no Python frame]");
        return;
    }
    const char *file = full_path ? c->filename : base_name(c->filename);
    if (line >= 0)
        snprintf(buf, cap, "%s (%s:%d)", c->qualname, file, line);
    else
        snprintf(buf, cap, "%s (%s)", c->qualname, file);
}

void report_py_text(FILE *out, const struct trace_process *p, size_t max_sites)
{
    if (!p->py_stacks_recorded)
        return;
    struct report_py r;
    if (report_py_compute(p, max_sites, &r)) {
        fprintf(out, "\n  Python sites: out of memory\n");
        return;
    }
    char site[512], a[32], b[32];
    fprintf(out, "\n  Python release sites (innermost Python frame at each RELEASE; %" PRIu64
                 " events had a Python stack, %" PRIu64 " could not be kept):\n",
            r.stacked_events, p->lost_py_stacks);
    if (r.nrelease == 0)
        fprintf(out, "    none recorded\n");
    else
        fprintf(out, "    %10s %8s  %s\n", "releases", "forced", "site");
    for (size_t i = 0; i < r.nrelease; i++) {
        report_py_site_text(p, r.release[i].code, r.release[i].line, false, site, sizeof site);
        fprintf(out, "    %10" PRIu64 " %8" PRIu64 "  %s\n", r.release[i].count, r.release[i].forced, site);
    }
    fprintf(out, "\n  where waits begin in Python (innermost Python frame at each BUSY):\n");
    if (r.nwait == 0)
        fprintf(out, "    none recorded\n");
    else
        fprintf(out, "    %10s %10s %10s  %s\n", "waits", "total", "longest", "site");
    for (size_t i = 0; i < r.nwait; i++) {
        report_py_site_text(p, r.wait[i].code, r.wait[i].line, false, site, sizeof site);
        human_ns(a, sizeof a, r.wait[i].ns);
        human_ns(b, sizeof b, r.wait[i].max_ns);
        fprintf(out, "    %10" PRIu64 " %10s %10s  %s\n", r.wait[i].count, a, b, site);
    }
    fprintf(out, "\n  blame by Python line (others' waits, charged to the line at the RELEASE that ended each\n"
                 "  hold they waited on):\n");
    if (r.nblame == 0)
        fprintf(out, "    none recorded\n");
    else
        fprintf(out, "    %10s %10s  %s\n", "others", "holds", "site");
    for (size_t i = 0; i < r.nblame; i++) {
        report_py_site_text(p, r.blame[i].code, r.blame[i].line, false, site, sizeof site);
        human_ns(a, sizeof a, r.blame[i].ns);
        fprintf(out, "    %10s %10" PRIu64 "  %s\n", a, r.blame[i].count, site);
    }
    report_py_free(&r);
}

static json_t *site_json(const struct trace_process *p, const struct report_py_site *s, const char *count_key,
                         const char *ns_key)
{
    const struct trace_py_code *c = code_of(p, s->code);
    json_t *o = json_object();
    json_object_set_new(o, "function", c ? json_string(c->qualname) : json_null());
    json_object_set_new(o, "filename", c ? json_string(c->filename) : json_null());
    json_object_set_new(o, "line", s->line >= 0 ? json_integer(s->line) : json_null());
    json_object_set_new(o, count_key, json_integer((json_int_t)s->count));
    if (ns_key)
        json_object_set_new(o, ns_key, json_integer((json_int_t)s->ns));
    return o;
}

json_t *report_py_json(const struct trace_process *p, size_t max_sites)
{
    struct report_py r;
    if (!p->py_stacks_recorded || report_py_compute(p, max_sites, &r))
        return NULL;
    json_t *rel = json_array(), *wait = json_array(), *bl = json_array();
    for (size_t i = 0; i < r.nrelease; i++) {
        json_t *o = site_json(p, &r.release[i], "releases", NULL);
        json_object_set_new(o, "forced", json_integer((json_int_t)r.release[i].forced));
        json_array_append_new(rel, o);
    }
    for (size_t i = 0; i < r.nwait; i++) {
        json_t *o = site_json(p, &r.wait[i], "waits", "wait_ns");
        json_object_set_new(o, "longest_ns", json_integer((json_int_t)r.wait[i].max_ns));
        json_array_append_new(wait, o);
    }
    for (size_t i = 0; i < r.nblame; i++)
        json_array_append_new(bl, site_json(p, &r.blame[i], "holds", "ns"));
    json_t *o = json_pack("{s:I,s:I,s:o,s:o,s:o}", "stacked_events", (json_int_t)r.stacked_events, "lost_stacks",
                          (json_int_t)p->lost_py_stacks, "release", rel, "wait", wait, "blame", bl);
    report_py_free(&r);
    return o;
}

/* Weights of folded stacks: [stack id] (0: no Python frame). */
struct fold {
    int64_t *ns;
    bool waits;
    const struct trace_thread *t; /* the thread being walked */
};

static void fold_hold(void *ctx, const struct trace_hold *h)
{
    struct fold *f = ctx;
    if (!f->waits)
        f->ns[h->open ? 0 : stack_at(f->t, h->end_ns, RING_EV_RELEASE)] += h->end_ns - h->start_ns;
}

static void fold_wait(void *ctx, const struct trace_wait *w)
{
    struct fold *f = ctx;
    if (f->waits)
        f->ns[stack_at(f->t, w->start_ns, RING_EV_BUSY)] += w->end_ns - w->start_ns;
}

int report_py_folded(FILE *out, const struct trace_process *p, bool waits)
{
    struct fold f = {calloc(p->py_stack_count + 1, sizeof(int64_t)), waits, NULL};
    if (!f.ns)
        return -1;
    unsigned ngils = p->gil_count ? (unsigned)p->gil_count : 1;
    for (unsigned g = 0; g < ngils; g++) {
        int64_t *drops;
        ptrdiff_t nd = trace_drop_requests(p, g, &drops);
        if (nd < 0) {
            free(f.ns);
            return -1;
        }
        struct trace_interval_sink sink = {fold_hold, fold_wait, &f};
        for (size_t i = 0; i < p->thread_count; i++) {
            f.t = &p->threads[i];
            trace_intervals(p, &p->threads[i], g, drops, (size_t)nd, &sink);
        }
        free(drops);
    }
    char frame[512];
    for (size_t s = 0; s <= p->py_stack_count; s++) {
        if (f.ns[s] <= 0)
            continue;
        if (s == 0) {
            fprintf(out, "[no Python frame] %" PRId64 "\n", f.ns[s]);
            continue;
        }
        const struct trace_py_stack *st = &p->py_stacks[s - 1];
        for (uint32_t k = st->depth; k-- > 0;) {
            report_py_site_text(p, st->frames[k].code, st->frames[k].line, false, frame, sizeof frame);
            for (char *c = frame; *c; c++)
                if (*c == ';')
                    *c = ','; /* ';' separates frames */
            fprintf(out, "%s%s", frame, k ? ";" : "");
        }
        fprintf(out, " %" PRId64 "\n", f.ns[s]);
    }
    free(f.ns);
    return ferror(out) ? -1 : 0;
}

bool report_py_stack_text(const struct trace_process *p, const struct trace_thread *t, int64_t ts_ns,
                          unsigned kind, char *buf, size_t cap)
{
    uint32_t stack = stack_at(t, ts_ns, kind);
    if (cap)
        buf[0] = '\0';
    if (!stack || stack > p->py_stack_count || cap == 0)
        return false;
    const struct trace_py_stack *st = &p->py_stacks[stack - 1];
    size_t len = 0;
    for (uint32_t k = 0; k < st->depth && len + 1 < cap; k++) {
        char frame[512];
        report_py_site_text(p, st->frames[k].code, st->frames[k].line, false, frame, sizeof frame);
        int n = snprintf(buf + len, cap - len, "%s%s", k ? " < " : "", frame);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    return true;
}
