/*
 * top_view.c — one frame of `giltrace top` as text. See top_view.h.
 */
#include "top_view.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "human.h"

struct sort_def {
    char key;
    const char *name;
    const char *column;
};

static const struct sort_def sorts[TOP_SORT_COUNT] = {
    [TOP_SORT_HELD_1S] = {'h', "held1s", "HELD1s"},   [TOP_SORT_HELD] = {'H', "held", "HELD"},
    [TOP_SORT_WAIT_1S] = {'w', "wait1s", "WAIT1s"},   [TOP_SORT_WAIT] = {'W', "wait", "WAIT"},
    [TOP_SORT_WAITS] = {'r', "waits", "WAITS/s"},     [TOP_SORT_FORCED] = {'f', "forced", "FORCED/s"},
    [TOP_SORT_LONGEST] = {'l', "longest", "LONGEST"}, [TOP_SORT_TID] = {'t', "tid", "TID"},
    [TOP_SORT_NAME] = {'n', "name", "NAME"},
};

const char top_sort_help[] = "h held1s, H held, w wait1s, W wait, r waits, f forced, l longest, t tid, n name";

bool top_sort_parse(const char *name, enum top_sort *out)
{
    for (int i = 0; i < TOP_SORT_COUNT; i++)
        if (strcmp(sorts[i].name, name) == 0) {
            *out = (enum top_sort)i;
            return true;
        }
    return false;
}

bool top_sort_key(int key, enum top_sort *out)
{
    for (int i = 0; i < TOP_SORT_COUNT; i++)
        if (sorts[i].key == key) {
            *out = (enum top_sort)i;
            return true;
        }
    return false;
}

static enum top_sort sort_by;

static int cmp_double(double a, double b)
{
    return a < b ? 1 : a > b ? -1 : 0; /* largest first */
}

static int cmp_rows(const void *pa, const void *pb)
{
    const struct top_row *a = pa, *b = pb;
    int c = 0;
    switch (sort_by) {
    case TOP_SORT_HELD_1S: c = cmp_double(a->held_share_1s, b->held_share_1s); break;
    case TOP_SORT_HELD: c = cmp_double(a->held_share, b->held_share); break;
    case TOP_SORT_WAIT_1S: c = cmp_double(a->waited_share_1s, b->waited_share_1s); break;
    case TOP_SORT_WAIT: c = cmp_double(a->waited_share, b->waited_share); break;
    case TOP_SORT_WAITS: c = cmp_double(a->waits_per_s, b->waits_per_s); break;
    case TOP_SORT_FORCED: c = cmp_double(a->forced_per_s, b->forced_per_s); break;
    case TOP_SORT_LONGEST: c = cmp_double((double)a->longest_wait_ns, (double)b->longest_wait_ns); break;
    case TOP_SORT_NAME: c = strcmp(a->name ? a->name : "~", b->name ? b->name : "~"); break;
    default: break;
    }
    return c ? c : a->tid < b->tid ? -1 : a->tid > b->tid;
}

static void header(FILE *out, struct ring_follow *f, size_t nthreads)
{
    const struct trace_process *p = ring_follow_process(f);
    char cmd[120], dur[32], lost[32];
    human_command(cmd, sizeof cmd, p->exe, (const char *const *)p->argv, p->argc, 60);
    human_ns(dur, sizeof dur, p->end_ns - p->start_ns);
    human_count(lost, sizeof lost, p->lost_events + p->overwritten_events);
    char ver[16] = "?";
    if (p->python_version && p->python_version[0])
        snprintf(ver, sizeof ver, "%.*s", (int)strcspn(p->python_version, " "), p->python_version);
    fprintf(out, "giltrace top - pid %d%s  %s", (int)p->pid, p->exited ? " (exited)" : "", cmd);
    fprintf(out, "\nPython %s, switch interval ", ver);
    if (p->switch_interval_us > 0)
        fprintf(out, "%" PRId64 " us", p->switch_interval_us);
    else
        fprintf(out, "unknown");
    fprintf(out, ", %zu threads, traced for %s, %s events lost\n\n", nthreads, dur, lost);
}

static void site_lines(FILE *out, struct ring_follow *f, struct top_figures *t, bool waits, size_t max)
{
    struct top_site *s = calloc(max ? max : 1, sizeof *s);
    size_t n = s ? top_figures_sites(t, f, waits, s, max) : 0;
    if (n)
        fprintf(out, "\n%s\n", waits ? "  WAITS  WAITED     wait site (where waits began)"
                                     : "  RELEASES  FORCED  release site");
    for (size_t i = 0; i < n; i++) {
        char a[32], b[32];
        human_count(a, sizeof a, s[i].count);
        if (waits) {
            human_ns(b, sizeof b, s[i].ns);
            fprintf(out, "  %5s  %-10s %s\n", a, b, s[i].label);
        } else {
            human_count(b, sizeof b, s[i].forced);
            fprintf(out, "  %8s  %6s  %s\n", a, b, s[i].label);
        }
    }
    free(s);
}

void top_view_frame(FILE *out, struct ring_follow *f, struct top_figures *t, enum top_sort sort, size_t max_threads,
                    size_t sites)
{
    size_t n;
    const struct top_row *rows = top_figures_rows(t, &n);
    struct top_row *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) {
        fprintf(out, "out of memory\n");
        return;
    }
    memcpy(sorted, rows, n * sizeof *sorted);
    sort_by = sort;
    qsort(sorted, n, sizeof *sorted, cmp_rows);
    header(out, f, n);
    /* the sorted column is marked with '*' */
    char col[TOP_SORT_COUNT][16];
    for (int i = 0; i < TOP_SORT_COUNT; i++)
        snprintf(col[i], sizeof col[i], "%s%s", i == (int)sort ? "*" : "", sorts[i].column);
    fprintf(out, "%8s %-20s %7s %7s %7s %7s %8s %9s %9s  %s\n", col[TOP_SORT_TID], col[TOP_SORT_NAME],
            col[TOP_SORT_HELD_1S], col[TOP_SORT_HELD], col[TOP_SORT_WAIT_1S], col[TOP_SORT_WAIT], col[TOP_SORT_WAITS],
            col[TOP_SORT_FORCED], col[TOP_SORT_LONGEST], "CONVOY");
    for (size_t i = 0; i < n && (!max_threads || i < max_threads); i++) {
        const struct top_row *r = &sorted[i];
        char longest[32], convoy[32];
        human_ns(longest, sizeof longest, r->longest_wait_ns);
        snprintf(convoy, sizeof convoy, "%s%" PRIu64, r->convoy ? "YES " : "", r->convoys);
        fprintf(out, "%8" PRIu32 " %-20.20s %6.1f%% %6.1f%% %6.1f%% %6.1f%% %8.1f %9.1f %9s  %s\n", r->tid,
                r->name ? r->name : "-", 100 * r->held_share_1s, 100 * r->held_share, 100 * r->waited_share_1s,
                100 * r->waited_share, r->waits_per_s, r->forced_per_s, longest, convoy);
    }
    if (max_threads && n > max_threads)
        fprintf(out, "  ... %zu more threads\n", n - max_threads);
    free(sorted);
    if (sites) {
        site_lines(out, f, t, false, sites);
        site_lines(out, f, t, true, sites);
    }
}
