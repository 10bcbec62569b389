/*
 * trace_gen.c — synthetic traces. See trace_gen.h.
 *
 * The patterns copy the event sequences real traces show (see a
 * `giltrace run` of two counting threads): timings are drawn from a
 * seeded generator, so a seed always gives the same trace.
 */
#include "trace_gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fmt_error.h"
#include "ring.h"
#include "tdb_write.h"

/* splitmix64: small, fast, good enough for timings. */
static uint64_t next_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int64_t rand_between(uint64_t *s, int64_t lo, int64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + (int64_t)(next_rand(s) % (uint64_t)(hi - lo + 1));
}

int trace_gen_pattern_from_name(const char *name)
{
    if (strcmp(name, "pingpong") == 0)
        return TRACE_GEN_PINGPONG;
    if (strcmp(name, "convoy") == 0)
        return TRACE_GEN_CONVOY;
    if (strcmp(name, "random") == 0)
        return TRACE_GEN_RANDOM;
    return -1;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int trace_gen_process_init(struct trace_process *p, int32_t pid, int64_t start_ns, int64_t end_ns)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->ppid = 1;
    p->exe = strdup("/usr/bin/python3");
    p->argv = calloc(2, sizeof *p->argv);
    p->python_version = strdup("3.11.7 (synthetic)");
    p->gils = calloc(1, sizeof *p->gils);
    if (!p->exe || !p->argv || !p->python_version || !p->gils) {
        trace_process_free(p);
        return -1;
    }
    p->argv[0] = strdup("python3");
    p->argv[1] = strdup("synthetic.py");
    p->argc = 2;
    p->python_hexversion = 0x030b07f0;
    p->gil_kind = RING_GIL_CONDVAR;
    p->switch_interval_us = 5000;
    p->start_ns = start_ns;
    p->end_ns = end_ns;
    p->exited = true;
    p->gil_count = 1;
    p->gils[0] = (struct trace_gil){.index = 0, .kind = RING_GIL_CONDVAR, .address = 0x7f0000001000ull};
    return 0;
}

struct trace_thread *trace_gen_thread(struct trace_process *p, uint32_t tid, const char *name)
{
    struct trace_thread *v = realloc(p->threads, (p->thread_count + 1) * sizeof *v);
    if (!v)
        return NULL;
    p->threads = v;
    struct trace_thread *t = &v[p->thread_count++];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    t->name = dup_or_null(name);
    return t;
}

static int add_event(struct trace_thread *t, int64_t ts, unsigned kind, unsigned cpu)
{
    size_t n = t->count;
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) { /* grow at 0, 16, 32, 64, ... */
        size_t cap = n < 16 ? 16 : 2 * n;
        struct trace_event *e = realloc(t->events, cap * sizeof *e);
        if (!e)
            return -1;
        t->events = e;
    }
    if (n > 0 && ts < t->events[n - 1].ts_ns)
        ts = t->events[n - 1].ts_ns;
    t->events[n] = (struct trace_event){.ts_ns = ts, .kind = (uint8_t)kind, .gil = 0, .cpu = (uint16_t)cpu};
    t->count = n + 1;
    return 0;
}

int trace_gen_event(struct trace_thread *t, int64_t ts_ns, unsigned kind)
{
    return add_event(t, ts_ns, kind, 0);
}

static int64_t last_ts(const struct trace_thread *t)
{
    return t->count ? t->events[t->count - 1].ts_ns : INT64_MIN;
}

/* Round-robin forced switches among all threads. */
static int gen_pingpong(struct trace_process *p, uint64_t budget, int64_t interval, uint64_t *rng)
{
    size_t nt = p->thread_count;
    int64_t t = p->start_ns + 100000;
    size_t holder = 0;
    if (add_event(&p->threads[0], t, RING_EV_ACQUIRE, 0))
        return -1;
    for (size_t i = 1; i < nt; i++)
        if (add_event(&p->threads[i], t + (int64_t)i * 15000, RING_EV_BUSY, (unsigned)i % 2))
            return -1;
    uint64_t events = nt;
    while (events < budget) {
        size_t next = (holder + 1) % nt;
        struct trace_thread *h = &p->threads[holder], *w = &p->threads[next];
        int64_t timeout = t + interval + rand_between(rng, 0, interval / 50);
        if (timeout < last_ts(w))
            timeout = last_ts(w) + 1000;
        /* the other waiters wake up now and then, and go back to sleep */
        for (size_t i = 0; i < nt; i++)
            if (i != holder && i != next && next_rand(rng) % 2 == 0) {
                if (add_event(&p->threads[i], rand_between(rng, t, timeout), RING_EV_RETRY, (unsigned)i % 2))
                    return -1;
                events++;
            }
        int64_t drop = timeout + rand_between(rng, 100, 2000);
        int64_t wake = drop + rand_between(rng, 500, 3000);
        int64_t rel = wake + rand_between(rng, 100, 4000);
        int64_t forced = rel + rand_between(rng, 5000, 25000);
        int64_t acq = forced + rand_between(rng, 10000, 60000);
        int64_t busy = acq + rand_between(rng, 20000, 80000);
        if (add_event(w, timeout, RING_EV_TIMEOUT, 1) || add_event(w, drop, RING_EV_DROP_REQUEST, 1) ||
            add_event(w, wake, RING_EV_RETRY, 1) || add_event(h, rel, RING_EV_RELEASE, 0) ||
            add_event(h, forced, RING_EV_FORCED_SWITCH, 0) || add_event(w, acq, RING_EV_ACQUIRE, 1) ||
            add_event(h, busy, RING_EV_BUSY, 0))
            return -1;
        events += 7;
        holder = next;
        t = acq;
    }
    return 0;
}

/* Thread 0 computes; the others take turns doing I/O and waiting a whole
 * interval to get the GIL back. */
static int gen_convoy(struct trace_process *p, uint64_t budget, int64_t interval, uint64_t *rng)
{
    size_t nt = p->thread_count;
    struct trace_thread *c = &p->threads[0];
    int64_t t = p->start_ns + 100000;
    if (add_event(c, t, RING_EV_ACQUIRE, 0))
        return -1;
    uint64_t events = 1;
    size_t io = 1;
    while (events < budget) {
        struct trace_thread *r = &p->threads[io];
        int64_t busy = t + rand_between(rng, 30000, 100000); /* the I/O finished */
        int64_t timeout = busy + interval;
        int64_t drop = timeout + rand_between(rng, 100, 1000);
        int64_t rel = drop + rand_between(rng, 1000, 4000);
        int64_t forced = rel + rand_between(rng, 3000, 8000);
        int64_t acq = forced + rand_between(rng, 5000, 20000);
        int64_t cbusy = acq + rand_between(rng, 10000, 30000);
        int64_t rrel = acq + rand_between(rng, 10000, 50000); /* a little Python, then I/O again */
        if (rrel <= cbusy)
            rrel = cbusy + 1000;
        int64_t cacq = rrel + rand_between(rng, 3000, 10000);
        if (add_event(r, busy, RING_EV_BUSY, 1) || add_event(r, timeout, RING_EV_TIMEOUT, 1) ||
            add_event(r, drop, RING_EV_DROP_REQUEST, 1) || add_event(c, rel, RING_EV_RELEASE, 0) ||
            add_event(c, forced, RING_EV_FORCED_SWITCH, 0) || add_event(r, acq, RING_EV_ACQUIRE, 1) ||
            add_event(c, cbusy, RING_EV_BUSY, 0) || add_event(r, rrel, RING_EV_RELEASE, 1) ||
            add_event(c, cacq, RING_EV_ACQUIRE, 0))
            return -1;
        events += 9;
        t = cacq;
        io = nt > 2 ? 1 + io % (nt - 1) : 1;
    }
    return 0;
}

static int gen_random(struct trace_process *p, uint64_t budget, uint64_t *rng)
{
    uint64_t per = budget / p->thread_count + 1;
    for (size_t i = 0; i < p->thread_count; i++) {
        int64_t t = p->start_ns + rand_between(rng, 0, 5000);
        uint64_t used = 0; /* (kind, cpu) pairs already at t: the event table's key forbids repeats */
        for (uint64_t k = 0; k < per; k++) {
            uint64_t r = next_rand(rng);
            int64_t step = 0;
            switch (r % 4) {
            case 0: break; /* same ns as the previous event */
            case 1: step = 1; break;
            case 2: step = (int64_t)(r >> 8) % 64; break;
            default: step = (int64_t)(r >> 8) % 20000; break;
            }
            unsigned kind = 1 + (unsigned)((r >> 40) % RING_EV_KIND_MAX);
            unsigned c5 = (unsigned)((r >> 50) % 5);
            uint64_t bit = 1ull << (kind * 5 + c5);
            if (step == 0 && (used & bit))
                step = 1;
            if (step) {
                t += step;
                used = 0;
            }
            used |= bit;
            if (add_event(&p->threads[i], t, kind, c5 == 4 ? RING_CPU_UNKNOWN : c5))
                return -1;
        }
    }
    return 0;
}

int trace_gen_process(const struct trace_gen_options *o, unsigned index, struct trace_process *out)
{
    unsigned nproc = o->processes ? o->processes : 1;
    unsigned nt = o->threads ? o->threads : 2;
    int64_t interval = o->interval_ns > 0 ? o->interval_ns : 5000000;
    int64_t start = (o->start_ns ? o->start_ns : 1000000000) + (int64_t)index * 1000000;
    uint64_t rng = o->seed * 0x2545f4914f6cdd1dull + index + 1;
    uint64_t budget = o->events / nproc;
    if (nt < 2 && o->pattern != TRACE_GEN_RANDOM)
        nt = 2;
    int32_t pid = 1000 + (int32_t)index * 100;
    if (trace_gen_process_init(out, pid, start, start))
        return -1;
    out->switch_interval_us = interval / 1000;
    out->threads = calloc(nt, sizeof *out->threads);
    if (!out->threads)
        goto fail;
    for (unsigned i = 0; i < nt; i++) {
        char name[32];
        if (i == 0)
            snprintf(name, sizeof name, "MainThread");
        else
            snprintf(name, sizeof name, "%s-%u", o->pattern == TRACE_GEN_CONVOY ? "io" : "worker", i);
        out->threads[i].tid = (uint32_t)pid + i;
        out->threads[i].name = strdup(name);
        out->thread_count++;
    }
    int rc = o->pattern == TRACE_GEN_PINGPONG ? gen_pingpong(out, budget, interval, &rng)
             : o->pattern == TRACE_GEN_CONVOY ? gen_convoy(out, budget, interval, &rng)
                                              : gen_random(out, budget, &rng);
    if (rc)
        goto fail;
    for (size_t i = 0; i < out->thread_count; i++)
        if (out->threads[i].count && last_ts(&out->threads[i]) > out->end_ns)
            out->end_ns = last_ts(&out->threads[i]);
    out->end_ns += 50000;
    return 0;
fail:
    trace_process_free(out);
    return -1;
}

struct gen_writer {
    struct tdb_writer *w;
    char tmp[4096];
    const char *path;
};

static int gen_open(struct gen_writer *g, const char *path, char *err, size_t n)
{
    g->path = path;
    if ((size_t)snprintf(g->tmp, sizeof g->tmp, "%s.tmp", path) >= sizeof g->tmp)
        return fmt_error(err, n, "%s: path too long", path);
    unlink(g->tmp);
    return tdb_writer_open(g->tmp, TDB_CREATE, &g->w, err, n);
}

static int gen_close(struct gen_writer *g, char *err, size_t n)
{
    if (tdb_writer_close(g->w, err, n)) {
        unlink(g->tmp);
        return -1;
    }
    if (rename(g->tmp, g->path) != 0) {
        unlink(g->tmp);
        return fmt_error(err, n, "cannot create %s", g->path);
    }
    return 0;
}

int trace_gen_write_processes(const char *path, const struct trace_process *procs, size_t np, char *err,
                              size_t n)
{
    struct gen_writer g;
    if (gen_open(&g, path, err, n))
        return -1;
    for (size_t i = 0; i < np; i++)
        if (tdb_writer_add_process(g.w, &procs[i], err, n)) {
            tdb_writer_abort(g.w);
            unlink(g.tmp);
            return -1;
        }
    return gen_close(&g, err, n);
}

int trace_gen_write(const char *path, const struct trace_gen_options *o, uint64_t *events_out, char *err,
                    size_t n)
{
    struct gen_writer g;
    uint64_t total = 0;
    if (gen_open(&g, path, err, n))
        return -1;
    if (tdb_writer_set_meta(g.w, "command", "trace_gen (synthetic trace)", err, n))
        goto fail;
    unsigned nproc = o->processes ? o->processes : 1;
    for (unsigned i = 0; i < nproc; i++) {
        struct trace_process p;
        if (trace_gen_process(o, i, &p)) {
            fmt_error(err, n, "out of memory generating a trace");
            goto fail;
        }
        total += trace_process_event_count(&p);
        int rc = tdb_writer_add_process(g.w, &p, err, n);
        trace_process_free(&p);
        if (rc)
            goto fail;
    }
    if (events_out)
        *events_out = total;
    return gen_close(&g, err, n);
fail:
    tdb_writer_abort(g.w);
    unlink(g.tmp);
    return -1;
}
