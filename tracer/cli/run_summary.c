/*
 * run_summary.c — the end-of-run summary. See run_summary.h.
 */
#include "run_summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../formats/ring.h"
#include "../../formats/trace_intervals.h"
#include "cli.h"

struct thread_totals {
    int64_t held_ns, waited_ns, longest_wait_ns;
    uint64_t holds, forced;
};

static void add_hold(void *ctx, const struct trace_hold *h)
{
    struct thread_totals *t = ctx;
    t->held_ns += h->end_ns - h->start_ns;
    t->holds++;
    t->forced += h->forced;
}

static void add_wait(void *ctx, const struct trace_wait *w)
{
    struct thread_totals *t = ctx;
    int64_t d = w->end_ns - w->start_ns;
    t->waited_ns += d;
    if (d > t->longest_wait_ns)
        t->longest_wait_ns = d;
}

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "?";
}

void run_summary_warnings(const struct trace_set *s)
{
    for (size_t i = 0; i < s->count; i++) {
        const struct trace_process *p = &s->procs[i];
        char n[32];
        if (p->gil_kind == RING_GIL_UNKNOWN) {
            const char *v = p->python_version ? p->python_version : "?";
            cli_warn("pid %d (%s, Python %.*s): its GIL was not identified, so it ran untraced", p->pid,
                     base_name(p->exe), (int)strcspn(v, " "), v);
        }
        if (p->lost_events) {
            cli_format_count(n, sizeof n, p->lost_events);
            cli_warn("pid %d: %s events were lost because its ring was full; use a larger --buffer-mb",
                     p->pid, n);
        }
        if (p->chunks_missing) {
            char used[32];
            cli_format_count(n, sizeof n, p->chunks_missing);
            cli_format_count(used, sizeof used, p->chunks_used);
            cli_warn("pid %d: its ring file was cut short: %s of its %s chunks are missing, and their events "
                     "with them", p->pid, n, used);
        }
        if (p->dropped_records) {
            cli_format_count(n, sizeof n, p->dropped_records);
            cli_warn("pid %d: %s torn or invalid records were dropped", p->pid, n);
        }
    }
}

void run_summary_print(FILE *out, const struct trace_set *s, const char *db_path, uint64_t db_bytes)
{
    uint64_t events = trace_set_event_count(s);
    size_t threads = 0;
    for (size_t i = 0; i < s->count; i++)
        threads += s->procs[i].thread_count;
    char ev[32], size[32];
    cli_format_count(ev, sizeof ev, events);
    cli_format_bytes(size, sizeof size, db_bytes);
    fprintf(out, "giltrace: %s: %s GIL events from %zu process%s, %zu thread%s (%s", db_path, ev, s->count,
            s->count == 1 ? "" : "es", threads, threads == 1 ? "" : "s", size);
    if (events)
        fprintf(out, ", %.1f bytes/event", (double)db_bytes / (double)events);
    fprintf(out, ")\n");
    if (s->count == 0)
        fprintf(out, "giltrace: no Python process ran under the tracer\n");

    for (size_t i = 0; i < s->count; i++) {
        const struct trace_process *p = &s->procs[i];
        int64_t life = p->end_ns - p->start_ns;
        char interval[32] = "-";
        if (p->switch_interval_us >= 0)
            snprintf(interval, sizeof interval, "%" PRId64 " us", p->switch_interval_us);
        static const char *const kinds[] = {"unknown", "condvar", "semaphore", "none"};
        char lifetime[32];
        cli_format_ns(lifetime, sizeof lifetime, life);
        const char *version = p->python_version ? p->python_version : "?";
        fprintf(out, "  pid %d  %s  Python %.*s  GIL: %s  switch interval: %s  ran %s\n", p->pid,
                base_name(p->exe), (int)strcspn(version, " "), version,
                kinds[p->gil_kind < 4 ? p->gil_kind : 0], interval, lifetime);
        if (p->thread_count == 0)
            continue;
        fprintf(out, "    %-10s %8s %8s %10s %8s %14s\n", "tid", "held", "waited", "acquires", "forced",
                "longest wait");
        size_t ngil = p->gil_count ? p->gil_count : 1;
        int64_t *drops[RING_MAX_GILS] = {0};
        size_t ndrops[RING_MAX_GILS] = {0};
        for (size_t g = 0; g < ngil && g < RING_MAX_GILS; g++) {
            ptrdiff_t nd = trace_drop_requests(p, (unsigned)g, &drops[g]);
            ndrops[g] = nd > 0 ? (size_t)nd : 0;
        }
        for (size_t k = 0; k < p->thread_count; k++) {
            const struct trace_thread *t = &p->threads[k];
            struct thread_totals tot = {0};
            struct trace_interval_sink sink = {add_hold, add_wait, &tot};
            for (size_t g = 0; g < ngil && g < RING_MAX_GILS; g++)
                trace_intervals(p, t, (unsigned)g, drops[g], ndrops[g], &sink);
            char longest[32];
            cli_format_ns(longest, sizeof longest, tot.longest_wait_ns);
            double denom = life > 0 ? (double)life : 1;
            fprintf(out, "    %-10u %7.1f%% %7.1f%% %10" PRIu64 " %8" PRIu64 " %14s\n", t->tid,
                    100.0 * (double)tot.held_ns / denom, 100.0 * (double)tot.waited_ns / denom, tot.holds,
                    tot.forced, longest);
        }
        for (size_t g = 0; g < ngil && g < RING_MAX_GILS; g++)
            free(drops[g]);
    }
}
