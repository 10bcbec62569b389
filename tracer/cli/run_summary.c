/*
 * run_summary.c — the end-of-run summary. See run_summary.h.
 */
#include "run_summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "trace_figures.h"
#include "cli.h"
#include "experiment_label.h"
#include "human.h"
#include "report.h"

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "?";
}

void run_summary_warnings(const struct cli_trace_set *s)
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
            human_count(n, sizeof n, p->lost_events);
            cli_warn("pid %d: %s events were lost because its ring was full; use a larger --buffer-mb",
                     p->pid, n);
        }
        if (p->chunks_missing) {
            char used[32];
            human_count(n, sizeof n, p->chunks_missing);
            human_count(used, sizeof used, p->chunks_used);
            cli_warn("pid %d: its ring file was cut short: %s of its %s chunks are missing, and their events "
                     "with them", p->pid, n, used);
        }
        if (p->dropped_records) {
            human_count(n, sizeof n, p->dropped_records);
            cli_warn("pid %d: %s torn or invalid records were dropped", p->pid, n);
        }
    }
}

void run_summary_print(FILE *out, const struct cli_trace_set *s, const char *db_path, uint64_t db_bytes)
{
    uint64_t events = cli_trace_set_event_count(s);
    size_t threads = 0;
    for (size_t i = 0; i < s->count; i++)
        threads += s->procs[i].thread_count;
    char ev[32], size[32];
    human_count(ev, sizeof ev, events);
    human_bytes(size, sizeof size, db_bytes);
    fprintf(out, "giltrace: %s: %s GIL events from %zu process%s, %zu thread%s (%s", db_path, ev, s->count,
            s->count == 1 ? "" : "es", threads, threads == 1 ? "" : "s", size);
    if (events)
        fprintf(out, ", %.1f bytes/event", (double)db_bytes / (double)events);
    fprintf(out, ")\n");
    if (s->experiment)
        experiment_label_print(out, s->experiment);
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
        human_ns(lifetime, sizeof lifetime, life);
        const char *version = p->python_version ? p->python_version : "?";
        fprintf(out, "  pid %d  %s  Python %.*s  GIL: %s  switch interval: %s  ran %s\n", p->pid,
                base_name(p->exe), (int)strcspn(version, " "), version,
                kinds[p->gil_kind < 4 ? p->gil_kind : 0], interval, lifetime);
        if (p->thread_count == 0)
            continue;
        /* the report's own figures (report_compute), shares of each thread's life */
        struct report_process r;
        if (report_compute(p, NULL, &r)) {
            fprintf(out, "    (out of memory: no per-thread figures; giltrace report has them)\n");
            continue;
        }
        fprintf(out, "    %-10s %-20s %8s %8s %10s %8s %14s\n", "tid", "name", "held", "waited", "acquires", "forced",
                "longest wait");
        for (size_t k = 0; k < r.nthreads; k++) {
            const struct report_thread *t = &r.threads[k];
            int64_t thread_life = trace_life_ns(t->first_ns, t->end_ns);
            char longest[32];
            human_ns(longest, sizeof longest, t->wait.max);
            fprintf(out, "    %-10u %-20.20s %7.1f%% %7.1f%% %10" PRIu64 " %8" PRIu64 " %14s\n", t->tid,
                    t->name ? t->name : "-", 100.0 * trace_share(t->held_ns, thread_life),
                    100.0 * trace_share(t->waited_ns, thread_life), t->acquires, t->releases_forced, longest);
        }
        report_free(&r);
    }
}
