/*
 * report_png.c — the report's charts, drawn with the project's renderer
 * (viewer/render.h: its font, fills and palette, so they look like gilview's
 * pictures) and written by its libpng writer (viewer/png_io.h). See
 * report_png.h.
 *
 * Per process: a title, each GIL's utilisation over the run (share of each
 * bin the GIL was held, in the renderer's "held" green), and a grid of the
 * threads' wait-latency histograms on a log time axis (100 ns to 10 s, in
 * the "waiting" red) with a count axis, and the switch interval as a blue
 * line drawn over the bars: a convoy shows as a hump at or beyond it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "png_io.h"
#include "render.h"
#include "timefmt.h"
#include "report.h"
#include "report_png.h"

#define IMG_W 1000
#define MARGIN 16
#define TITLE_H 30
#define UTIL_LABEL_H 20
#define UTIL_H 90
#define AXIS_H 22
#define SECTION_H 24
#define HIST_COLS 2
#define HIST_W ((IMG_W - 2 * MARGIN - (HIST_COLS - 1) * MARGIN) / HIST_COLS)
#define HIST_AXIS_W 44 /* count labels, left of each histogram's plot */
#define HIST_LABEL_H 20
#define HIST_H 90
#define HIST_GAP 30
#define HIST_BINS 80
#define HIST_LO 2.0  /* log10(100 ns) */
#define HIST_HI 10.0 /* log10(10 s) */
#define MAX_THREADS 32

#define C_TEXT 0xff202020u
#define C_DIM 0xff707070u
#define C_FRAME 0xffb0b0b0u
#define C_GRID 0x30000000u
#define C_INTERVAL 0xff1f77b4u

struct canvas {
    struct render *r;
    struct render_image img;
    uint32_t held, waiting;
};

static void text(struct canvas *c, int x, int y, uint32_t color, const char *s)
{
    render_text(c->r, &c->img, x, y, color, s);
}

static void frame(struct canvas *c, int x, int y, int w, int h)
{
    render_fill(&c->img, x, y, w, 1, C_FRAME);
    render_fill(&c->img, x, y + h - 1, w, 1, C_FRAME);
    render_fill(&c->img, x, y, 1, h, C_FRAME);
    render_fill(&c->img, x + w - 1, y, 1, h, C_FRAME);
}

static const char *base_name(const char *path)
{
    const char *s = path ? strrchr(path, '/') : NULL;
    return s ? s + 1 : path ? path : "?";
}

/* Threads with waits, most time waited first, at most MAX_THREADS. */
static size_t waiting_threads(const struct report_process *r, const struct report_thread **out)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].wait.count)
            out[n++] = &r->threads[i];
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && out[k]->waited_ns > out[k - 1]->waited_ns; k--) {
            const struct report_thread *t = out[k];
            out[k] = out[k - 1];
            out[k - 1] = t;
        }
    return n;
}

static int gils_drawn(const struct report_process *r)
{
    int n = 0;
    for (size_t g = 0; g < r->ngils; g++)
        n += r->gils[g].holds > 0;
    return n;
}

static int process_height(const struct report_process *r)
{
    size_t nthreads = 0;
    for (size_t i = 0; i < r->nthreads; i++)
        nthreads += r->threads[i].wait.count > 0;
    size_t shown = nthreads < MAX_THREADS ? nthreads : MAX_THREADS;
    int rows = (int)((shown + HIST_COLS - 1) / HIST_COLS);
    return TITLE_H + gils_drawn(r) * (UTIL_LABEL_H + UTIL_H + AXIS_H) + SECTION_H +
           (rows ? rows * (HIST_LABEL_H + HIST_H + HIST_GAP) : SECTION_H) + MARGIN;
}

static void utilisation(struct canvas *c, const struct report_process *r, const struct report_gil *g, int y)
{
    char label[160], d[32];
    timefmt_duration(d, sizeof d, (double)r->duration_ns);
    snprintf(label, sizeof label, "GIL %u%s: held %.1f%% of the run, over time", g->index,
             g->subinterpreter ? " (subinterpreter)" : "",
             r->duration_ns > 0 ? 100.0 * (double)g->held_ns / (double)r->duration_ns : 0.0);
    text(c, MARGIN, y + 14, C_TEXT, label);
    y += UTIL_LABEL_H;
    int x0 = MARGIN + 40, w = IMG_W - x0 - MARGIN;
    frame(c, x0, y, w, UTIL_H);
    render_fill(&c->img, x0 + 1, y + UTIL_H / 2, w - 2, 1, C_GRID);
    for (size_t k = 0; k < g->bins; k++) {
        int a = x0 + 1 + (int)((double)k * (w - 2) / (double)g->bins);
        int b = x0 + 1 + (int)((double)(k + 1) * (w - 2) / (double)g->bins);
        int h = (int)lround(g->utilisation[k] * (UTIL_H - 2));
        render_fill(&c->img, a, y + UTIL_H - 1 - h, b - a, h, c->held);
    }
    text(c, MARGIN, y + 12, C_DIM, "100%");
    text(c, MARGIN + 16, y + UTIL_H, C_DIM, "0%");
    text(c, x0, y + UTIL_H + 15, C_DIM, "0");
    text(c, x0 + w - render_text_width(c->r, d), y + UTIL_H + 15, C_DIM, d);
}

/* x of a duration on the histogram's log axis. */
static int hist_x(int x0, int w, double ns)
{
    double v = ns > 0 ? log10(ns) : HIST_LO;
    if (v < HIST_LO)
        v = HIST_LO;
    if (v > HIST_HI)
        v = HIST_HI;
    return x0 + (int)((v - HIST_LO) / (HIST_HI - HIST_LO) * (w - 1));
}

uint64_t report_png_count_top(uint64_t max)
{
    for (uint64_t decade = 1;; decade *= 10) {
        static const uint64_t steps[] = {1, 2, 5};
        for (size_t i = 0; i < 3; i++)
            if (steps[i] * decade >= max)
                return steps[i] * decade;
        if (decade > UINT64_MAX / 100)
            return max;
    }
}

static void histogram(struct canvas *c, const struct report_process *r, const struct report_thread *t, int x,
                      int y)
{
    char label[256], p50[32], p99[32], max[32];
    timefmt_duration(p50, sizeof p50, (double)histogram_quantile(&t->wait, 0.5));
    timefmt_duration(p99, sizeof p99, (double)histogram_quantile(&t->wait, 0.99));
    timefmt_duration(max, sizeof max, (double)t->wait.max);
    snprintf(label, sizeof label, "%u %s: %llu waits, p50 %s, p99 %s, max %s", t->tid, t->name ? t->name : "",
             (unsigned long long)t->wait.count, p50, p99, max);
    text(c, x, y + 14, C_TEXT, label);
    y += HIST_LABEL_H;
    /* the plot, right of the count axis */
    int px = x + HIST_AXIS_W, pw = HIST_W - HIST_AXIS_W;
    frame(c, px, y, pw, HIST_H);
    uint64_t bins[HIST_BINS] = {0}, tallest = 0;
    for (size_t i = 0; i < HISTOGRAM_BUCKETS; i++) {
        if (!t->wait.bucket[i])
            continue;
        int64_t lo, hi;
        histogram_bucket_range(i, &lo, &hi);
        double mid = ((double)lo + (double)hi) / 2;
        double v = mid > 0 ? log10(mid) : HIST_LO;
        int b = (int)((v - HIST_LO) / (HIST_HI - HIST_LO) * HIST_BINS);
        b = b < 0 ? 0 : b >= HIST_BINS ? HIST_BINS - 1 : b;
        bins[b] += t->wait.bucket[i];
        if (bins[b] > tallest)
            tallest = bins[b];
    }
    /* count axis: 0, half and the top, a 1-2-5 number of waits per bin */
    uint64_t top = report_png_count_top(tallest);
    for (int k = 0; k <= 2; k++) {
        char n[32];
        snprintf(n, sizeof n, "%llu", (unsigned long long)(top * (uint64_t)k / 2));
        if (k == 1 && top % 2)
            snprintf(n, sizeof n, "%.1f", (double)top / 2);
        int ty = y + HIST_H - 1 - k * (HIST_H - 2) / 2;
        if (k == 1)
            render_fill(&c->img, px + 1, ty, pw - 2, 1, C_GRID);
        render_fill(&c->img, px - 4, ty, 4, 1, C_FRAME);
        text(c, px - 6 - render_text_width(c->r, n), ty + (k == 2 ? 9 : k == 0 ? 0 : 4), C_DIM, n);
    }
    /* decades: 1 us, 1 ms, 1 s */
    static const struct {
        double ns;
        const char *label;
    } ticks[] = {{1e3, "1 us"}, {1e6, "1 ms"}, {1e9, "1 s"}};
    for (size_t k = 0; k < sizeof ticks / sizeof ticks[0]; k++) {
        int tx = hist_x(px, pw, ticks[k].ns);
        render_fill(&c->img, tx, y + 1, 1, HIST_H - 2, C_GRID);
        text(c, tx - render_text_width(c->r, ticks[k].label) / 2, y + HIST_H + 14, C_DIM, ticks[k].label);
    }
    /* the switch interval: 2 px of blue behind the bars (a convoy's bar
     * sits right on it and must stay whole), and marks outside the plot,
     * above and below it, that no bar can cover */
    if (r->convoy_threshold_ns > 0) {
        int ix = hist_x(px, pw, (double)r->convoy_threshold_ns);
        render_fill(&c->img, ix, y + 1, 2, HIST_H - 2, C_INTERVAL);
        render_fill(&c->img, ix - 1, y - 5, 4, 5, C_INTERVAL);
        render_fill(&c->img, ix - 1, y + HIST_H, 4, 5, C_INTERVAL);
    }
    for (int b = 0; b < HIST_BINS; b++) {
        if (!bins[b])
            continue;
        int a = px + 1 + b * (pw - 2) / HIST_BINS, e = px + 1 + (b + 1) * (pw - 2) / HIST_BINS;
        int h = (int)lround((double)bins[b] / (double)top * (HIST_H - 2));
        render_fill(&c->img, a, y + HIST_H - 1 - (h ? h : 1), e - a > 1 ? e - a - 1 : 1, h ? h : 1, c->waiting);
    }
}

static int draw_process(struct canvas *c, const struct report_process *r, int y)
{
    const struct trace_process *p = r->p;
    char title[512];
    const char *v = p->python_version ? p->python_version : "?";
    snprintf(title, sizeof title, "pid %d  %s %s  (Python %.*s)", p->pid, base_name(p->exe), p->argc > 1 ? p->argv[1] : "",
             (int)strcspn(v, " "), v);
    text(c, MARGIN, y + 20, C_TEXT, title);
    y += TITLE_H;
    for (size_t g = 0; g < r->ngils; g++) {
        if (!r->gils[g].holds)
            continue;
        utilisation(c, r, &r->gils[g], y);
        y += UTIL_LABEL_H + UTIL_H + AXIS_H;
    }
    const struct report_thread **ts = malloc((r->nthreads ? r->nthreads : 1) * sizeof *ts);
    if (!ts)
        return -1;
    size_t n = waiting_threads(r, ts);
    char section[200], interval[32];
    timefmt_duration(interval, sizeof interval, (double)r->convoy_threshold_ns);
    snprintf(section, sizeof section, "wait latency per thread: waits per bin over a log time axis (blue: the %s switch interval)%s",
             interval, n > MAX_THREADS ? ", the 32 threads that waited longest" : "");
    text(c, MARGIN, y + 16, C_TEXT, n ? section : "no thread waited for the GIL");
    y += SECTION_H;
    size_t shown = n < MAX_THREADS ? n : MAX_THREADS;
    for (size_t i = 0; i < shown; i++) {
        int col = (int)(i % HIST_COLS), row = (int)(i / HIST_COLS);
        histogram(c, r, ts[i], MARGIN + col * (HIST_W + MARGIN), y + row * (HIST_LABEL_H + HIST_H + HIST_GAP));
    }
    free(ts);
    return 0;
}

int report_png(const char *path, bool force, const struct report_process *procs, size_t n, const char *db_path,
               char *err,
               size_t err_len)
{
    (void)db_path;
    struct canvas c = {0};
    c.r = render_new(NULL, err, err_len);
    if (!c.r)
        return -1;
    const uint32_t *pal = render_palette();
    c.held = pal[render_blend_index(1, 0)];
    c.waiting = pal[render_blend_index(0, 1)];
    int h = MARGIN;
    for (size_t i = 0; i < n; i++)
        h += process_height(&procs[i]);
    if (n == 0)
        h += TITLE_H;
    c.img = (struct render_image){.w = IMG_W, .h = h, .stride = IMG_W};
    c.img.px = malloc((size_t)IMG_W * (size_t)h * sizeof *c.img.px);
    int rc = c.img.px ? 0 : -1;
    if (rc == 0) {
        render_fill(&c.img, 0, 0, IMG_W, h, 0xffffffffu);
        int y = MARGIN / 2;
        if (n == 0)
            text(&c, MARGIN, y + 20, C_TEXT, "no traced process");
        for (size_t i = 0; i < n && rc == 0; i++) {
            rc = draw_process(&c, &procs[i], y);
            y += process_height(&procs[i]);
        }
    }
    if (rc)
        snprintf(err, err_len, "out of memory drawing %s", path);
    else
        rc = png_io_write_rgb(path, force, &c.img, err, err_len);
    free(c.img.px);
    render_free(c.r);
    return rc;
}
