/*
 * report_text.c — `giltrace report` as text for people. See report.h.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "trace_figures.h"
#include "human.h"
#include "report.h"
#include "report_py.h"
#include "report_stacks.h"

static double pct(int64_t part, int64_t whole)
{
    return 100.0 * trace_share(part, whole);
}

/* "tid name", cut to `width` columns. */
static void thread_label(const struct report_thread *t, char *buf, size_t cap, int width)
{
    snprintf(buf, cap, "%u %s", t->tid, t->name ? t->name : "");
    if ((int)strlen(buf) > width && width > 3)
        strcpy(buf + width - 3, "...");
}

static void ns(char *buf, size_t cap, int64_t v)
{
    human_ns(buf, cap, v);
}

static void print_header(FILE *out, const struct report_process *r)
{
    const struct trace_process *p = r->p;
    static const char *const kinds[] = {"unknown", "condvar", "semaphore", "none"};
    const char *version = p->python_version ? p->python_version : "?";
    fprintf(out, "pid %d", p->pid);
    if (p->ppid)
        fprintf(out, " (parent %d)", p->ppid);
    char command[256];
    human_command(command, sizeof command, p->exe, (const char *const *)p->argv, p->argc, 100);
    fprintf(out, "  %s", command);
    fprintf(out, "\n  Python %.*s  GIL: %s", (int)strcspn(version, " "), version,
            kinds[p->gil_kind < 4 ? p->gil_kind : 0]);
    if (p->switch_interval_us >= 0)
        fprintf(out, "  switch interval: %" PRId64 " us", p->switch_interval_us);
    char d[32], ev[32];
    ns(d, sizeof d, r->duration_ns);
    human_count(ev, sizeof ev, trace_process_event_count(p));
    fprintf(out, "  ran %s  %s events\n", d, ev);
    if (p->lost_events) {
        human_count(ev, sizeof ev, p->lost_events);
        fprintf(out, "  warning: %s events were lost (ring full); figures undercount\n", ev);
    }
    if (p->overwritten_events) {
        human_count(ev, sizeof ev, p->overwritten_events);
        fprintf(out, "  note: %s older events were overwritten (flight recorder): the figures cover the last ones\n",
                ev);
    }
    if (p->lost_stacks) {
        human_count(ev, sizeof ev, p->lost_stacks);
        fprintf(out, "  warning: %s stacks were not kept (stack table full or not unwindable)\n", ev);
    }
}

static void print_gils(FILE *out, const struct report_process *r)
{
    for (size_t g = 0; g < r->ngils; g++) {
        const struct report_gil *gl = &r->gils[g];
        if (gl->holds == 0)
            continue;
        fprintf(out, "  GIL %u%s: held %.1f%% of the run; %" PRIu64 " handoffs (%.1f/s)", gl->index,
                gl->subinterpreter ? " (subinterpreter)" : "", pct(gl->held_ns, r->duration_ns), gl->handoffs,
                trace_per_s(gl->handoffs, r->duration_ns));
        if (gl->forced_observable)
            fprintf(out, ", %" PRIu64 " forced releases (%.1f/s)", gl->forced_releases,
                    trace_per_s(gl->forced_releases, r->duration_ns));
        fputc('\n', out);
        if (gl->handoff.count) {
            char a[32], b[32], c[32], d[32];
            ns(a, sizeof a, histogram_quantile(&gl->handoff, 0.5));
            ns(b, sizeof b, histogram_quantile(&gl->handoff, 0.9));
            ns(c, sizeof c, histogram_quantile(&gl->handoff, 0.99));
            ns(d, sizeof d, gl->handoff.max);
            fprintf(out, "    handoff latency (release with a thread waiting -> next acquire): p50 %s  p90 %s  p99 %s"
                         "  max %s\n",
                    a, b, c, d);
        }
        /* utilisation over time, 60 columns */
        static const char ramp[] = " .:-=+*#%@";
        char line[64];
        size_t cols = gl->bins < 60 ? gl->bins : 60;
        for (size_t c = 0; c < cols; c++) {
            size_t a = c * gl->bins / cols, b = (c + 1) * gl->bins / cols;
            double sum = 0;
            for (size_t k = a; k < b; k++)
                sum += gl->utilisation[k];
            double u = b > a ? sum / (double)(b - a) : 0;
            int level = (int)(u * 9 + 0.5);
            line[c] = ramp[level < 0 ? 0 : level > 9 ? 9 : level];
        }
        line[cols] = '\0';
        fprintf(out, "    held over time |%s|\n", line);
    }
}

static void print_threads(FILE *out, const struct report_process *r)
{
    fprintf(out, "\n  %-28s %10s %7s %7s %8s %9s %7s %6s %6s %7s\n", "thread", "life", "held", "waited", "acquires",
            "voluntary", "forced", "busy", "retry", "timeout");
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct report_thread *t = &r->threads[i];
        char label[64], life[32];
        thread_label(t, label, sizeof label, 28);
        int64_t l = trace_life_ns(t->first_ns, t->end_ns);
        ns(life, sizeof life, l);
        fprintf(out, "  %-28s %10s %6.1f%% %6.1f%% %8" PRIu64 " %9" PRIu64 " %7" PRIu64 " %6" PRIu64 " %6" PRIu64
                     " %7" PRIu64 "\n",
                label, life, pct(t->held_ns, l), pct(t->waited_ns, l), t->acquires, t->releases_voluntary,
                t->releases_forced, t->events[RING_EV_BUSY], t->events[RING_EV_RETRY], t->events[RING_EV_TIMEOUT]);
    }
    fprintf(out, "\n  %-28s %8s %10s %10s %10s %10s %10s\n", "wait latency", "waits", "p50", "p90", "p99", "max",
            "total");
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct report_thread *t = &r->threads[i];
        if (t->wait.count == 0)
            continue;
        char label[64], a[32], b[32], c[32], d[32], e[32];
        thread_label(t, label, sizeof label, 28);
        ns(a, sizeof a, histogram_quantile(&t->wait, 0.5));
        ns(b, sizeof b, histogram_quantile(&t->wait, 0.9));
        ns(c, sizeof c, histogram_quantile(&t->wait, 0.99));
        ns(d, sizeof d, t->wait.max);
        ns(e, sizeof e, t->waited_ns);
        fprintf(out, "  %-28s %8" PRIu64 " %10s %10s %10s %10s %10s\n", label, t->wait.count, a, b, c, d, e);
    }
}

static int by_ns(const void *a, const void *b)
{
    const struct report_blame *x = a, *y = b;
    return x->ns > y->ns ? -1 : x->ns < y->ns;
}

static void print_blame(FILE *out, const struct report_process *r)
{
    bool any = false;
    for (size_t i = 0; i < r->nblame;) {
        /* the entries of one waiter, largest first */
        size_t j = i;
        while (j < r->nblame && r->blame[j].waiter == r->blame[i].waiter)
            j++;
        struct report_blame top[4];
        size_t ntop = 0;
        struct report_blame *row = malloc((j - i) * sizeof *row);
        if (row) {
            memcpy(row, &r->blame[i], (j - i) * sizeof *row);
            qsort(row, j - i, sizeof *row, by_ns);
            ntop = j - i < 4 ? j - i : 4;
            memcpy(top, row, ntop * sizeof *top);
            free(row);
        }
        const struct report_thread *t = &r->threads[r->blame[i].waiter];
        i = j;
        if (!ntop || t->waited_ns == 0)
            continue;
        if (!any)
            fprintf(out, "\n  blame: while each thread waited, who held the GIL\n");
        any = true;
        char label[64], total[32];
        thread_label(t, label, sizeof label, 28);
        ns(total, sizeof total, t->waited_ns);
        fprintf(out, "  %-28s %10s:", label, total);
        for (size_t k = 0; k < ntop; k++) {
            if (top[k].holder == r->nthreads)
                fprintf(out, "%s nobody (GIL free) %.1f%%", k ? "," : "", pct(top[k].ns, t->waited_ns));
            else {
                char holder[64];
                thread_label(&r->threads[top[k].holder], holder, sizeof holder, 24);
                fprintf(out, "%s %s %.1f%%", k ? "," : "", holder, pct(top[k].ns, t->waited_ns));
            }
        }
        fputc('\n', out);
    }
    if (!any)
        fprintf(out, "\n  blame: no thread waited for the GIL\n");
}

static void print_convoys(FILE *out, const struct report_process *r)
{
    char th[32];
    ns(th, sizeof th, r->convoy_threshold_ns);
    fprintf(out, "\n  convoys (a voluntary release, then a wait of at least %s for the GIL back):%s\n", th,
            r->convoys ? "" : " none");
    for (size_t i = 0; i < r->nthreads; i++) {
        const struct report_thread *t = &r->threads[i];
        if (t->convoys == 0)
            continue;
        char label[64], total[32], max[32];
        thread_label(t, label, sizeof label, 28);
        ns(total, sizeof total, t->convoy_wait_ns);
        ns(max, sizeof max, t->convoy_max_ns);
        fprintf(out, "  %-28s %" PRIu64 " of %" PRIu64 " waits after a voluntary release, %s in all, longest %s%s\n",
                label, t->convoys, t->waits_after_voluntary, total, max,
                t->convoy ? "  <- convoy effect" : "");
    }
}

static void site_chain(const struct trace_process *p, const struct trace_stack *s, int from, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int k = from; k < (int)s->depth && k < from + 3; k++) {
        char f[256];
        report_frame_text(p, &s->frames[k], f, sizeof f);
        len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s", k > from ? " < " : "", f);
        if (len >= cap)
            break;
    }
}

static void print_sites(FILE *out, const struct report_process *r)
{
    const struct trace_process *p = r->p;
    if (!r->have_stacks)
        return;
    fprintf(out, "\n  top release sites (native stacks):\n");
    if (r->nrelease_sites == 0)
        fprintf(out, "    none recorded\n");
    else
        fprintf(out, "    %10s %8s  %-28s %s\n", "releases", "forced", "site", "innermost frames");
    for (size_t i = 0; i < r->nrelease_sites; i++) {
        const struct report_site *s = &r->release_sites[i];
        char chain[512];
        site_chain(p, &p->stacks[s->stack - 1], 0, chain, sizeof chain);
        fprintf(out, "    %10" PRIu64 " %8" PRIu64 "  %-28s %s\n", s->count, s->forced, s->label, chain);
    }
    fprintf(out, "\n  where waits begin (native stacks of BUSY):\n");
    if (r->nwait_sites == 0)
        fprintf(out, "    none recorded\n");
    else
        fprintf(out, "    %10s %10s %10s  %-28s %s\n", "waits", "total", "longest", "site", "innermost frames");
    for (size_t i = 0; i < r->nwait_sites; i++) {
        const struct report_site *s = &r->wait_sites[i];
        char chain[512], total[32], max[32];
        site_chain(p, &p->stacks[s->stack - 1], 0, chain, sizeof chain);
        ns(total, sizeof total, s->wait_ns);
        ns(max, sizeof max, s->wait_max_ns);
        fprintf(out, "    %10" PRIu64 " %10s %10s  %-28s %s\n", s->count, total, max, s->label, chain);
    }
}

void report_text(FILE *out, const struct report_process *procs, size_t n, const char *db_path)
{
    fprintf(out, "giltrace report: %s: %zu process%s\n", db_path, n, n == 1 ? "" : "es");
    for (size_t i = 0; i < n; i++) {
        const struct report_process *r = &procs[i];
        fputc('\n', out);
        print_header(out, r);
        if (r->nthreads == 0) {
            fprintf(out, "  no GIL events%s\n",
                    r->p->gil_kind == RING_GIL_UNKNOWN ? " (its GIL was not identified: it ran untraced)" : "");
            continue;
        }
        print_gils(out, r);
        print_threads(out, r);
        print_blame(out, r);
        print_convoys(out, r);
        print_sites(out, r);
        report_py_text(out, r->p, 10);
    }
}
