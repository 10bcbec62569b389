/*
 * test_render_states.c — in a rendered frame, each lane is green exactly
 * where the thread held the GIL and red exactly where it waited (±1 px at
 * the edges), white elsewhere, both when zoomed in (raw events) and zoomed
 * out (summaries), and event marks sit on their event's pixel.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "render.h"
#include "render_open.h"
#include "ring.h"
#include "trace_gen.h"

#define BASE 5000000000LL
#define MS 1000000LL

struct span {
    int64_t a, b; /* trace time, [a, b) */
};

/* Thread 1: 50 periods of 20 ms: holds [0, 12) ms, waits [12, 20) ms, with
 * DROP_REQUESTs every 25 us while holding and RETRYs every 25 us while
 * waiting (many events, so summaries reach down to small buckets).
 * Thread 2: holds [300, 700) ms once, waits [700, 710) ms, then idle. */
static struct span holds1[50], waits1[50];
static const struct span holds2[] = {{300 * MS, 700 * MS}}, waits2[] = {{700 * MS, 710 * MS}};

static void make_trace(const char *path)
{
    struct trace_process p;
    CHECK(trace_gen_process_init(&p, 7, BASE, BASE + 1000 * MS + 5 * MS) == 0);
    struct trace_thread *t = trace_gen_thread(&p, 71, "worker-a");
    for (int k = 0; k < 50; k++) {
        int64_t s = (int64_t)k * 20 * MS;
        holds1[k] = (struct span){s, s + 12 * MS};
        waits1[k] = (struct span){s + 12 * MS, s + 20 * MS};
        CHECK(trace_gen_event(t, BASE + s, RING_EV_ACQUIRE) == 0);
        for (int64_t d = 25000; d < 12 * MS; d += 25000)
            CHECK(trace_gen_event(t, BASE + s + d, RING_EV_DROP_REQUEST) == 0);
        CHECK(trace_gen_event(t, BASE + s + 12 * MS, RING_EV_RELEASE) == 0);
        CHECK(trace_gen_event(t, BASE + s + 12 * MS + 1, RING_EV_BUSY) == 0);
        for (int64_t d = 12 * MS + 25000; d < 20 * MS; d += 25000)
            CHECK(trace_gen_event(t, BASE + s + d, RING_EV_RETRY) == 0);
    }
    CHECK(trace_gen_event(t, BASE + 1000 * MS, RING_EV_ACQUIRE) == 0); /* ends the last wait */
    CHECK(trace_gen_event(t, BASE + 1000 * MS, RING_EV_RELEASE) == 0);
    t = trace_gen_thread(&p, 72, "worker-b");
    CHECK(trace_gen_event(t, BASE + 300 * MS, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(t, BASE + 700 * MS, RING_EV_RELEASE) == 0);
    CHECK(trace_gen_event(t, BASE + 700 * MS, RING_EV_FORCED_SWITCH) == 0);
    CHECK(trace_gen_event(t, BASE + 700 * MS + 1, RING_EV_BUSY) == 0);
    CHECK(trace_gen_event(t, BASE + 710 * MS, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(t, BASE + 710 * MS, RING_EV_RELEASE) == 0);
    char err[256];
    if (trace_gen_write_processes(path, &p, 1, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    trace_process_free(&p);
}

static double overlap(const struct span *v, size_t n, double a, double b)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        double lo = fmax(a, (double)v[i].a), hi = fmin(b, (double)v[i].b);
        if (hi > lo)
            sum += hi - lo;
    }
    return sum;
}

enum truth { IDLE, HELD, WAIT, MIXED };

static enum truth truth_of(const struct span *h, size_t nh, const struct span *w, size_t nw, double a, double b)
{
    double fh = overlap(h, nh, a, b) / (b - a), fw = overlap(w, nw, a, b) / (b - a);
    if (fh == 1)
        return HELD;
    if (fw == 1)
        return WAIT;
    if (fh == 0 && fw == 0)
        return IDLE;
    return MIXED;
}

/* Check one lane's bar row against the truth, both ways, with ±1 px at edges. */
static int check_lane(const struct render_image *img, int lx, int y, int lw, const struct render_window *win,
                      const struct span *h, size_t nh, const struct span *w, size_t nw)
{
    const uint32_t *pal = render_palette();
    uint32_t green = pal[render_blend_index(1, 0)], red = pal[render_blend_index(0, 1)], white = pal[RENDER_PAL_BG];
    enum truth *t = calloc((size_t)lw, sizeof *t);
    for (int x = 0; x < lw; x++)
        t[x] = truth_of(h, nh, w, nw, win->t0 + x * win->ns_per_px, win->t0 + (x + 1) * win->ns_per_px);
    int bad = 0, pure = 0;
    for (int x = 0; x < lw; x++) {
        uint32_t c = img->px[(size_t)y * (size_t)img->stride + (size_t)(lx + x)];
        enum truth want = t[x];
        bool edge = (x > 0 && t[x - 1] != want) || (x + 1 < lw && t[x + 1] != want);
        uint32_t expect = want == HELD ? green : want == WAIT ? red : white;
        if (want != MIXED && !edge) {
            pure++;
            if (c != expect) {
                if (bad++ < 5)
                    fprintf(stderr, "x=%d (t=%.0f): 0x%08x, want 0x%08x\n", x, win->t0 + x * win->ns_per_px, c,
                            expect);
            }
        }
        /* a pure colour is never drawn more than 1 px away from its state */
        enum truth drawn = c == green ? HELD : c == red ? WAIT : c == white ? IDLE : MIXED;
        if (drawn != MIXED) {
            bool near = false;
            for (int d = -1; d <= 1; d++)
                if (x + d >= 0 && x + d < lw && (t[x + d] == drawn || t[x + d] == MIXED))
                    near = true;
            if (!near && bad++ < 5)
                fprintf(stderr, "x=%d: drawn state %d is more than 1 px from any such time\n", x, drawn);
        }
    }
    free(t);
    CHECK(pure > lw / 2); /* the check covered most of the lane */
    return bad;
}

int main(void)
{
    char path[] = "/tmp/test-render-states-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    make_trace(path);
    char err[256];
    struct render *r = render_open_or_skip();
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    struct render_layout l;
    CHECK(render_layout_init(&l, v) == 0);
    CHECK_EQ_INT(l.nlanes, 2);
    int W = 1220, H = RENDER_RULER_H + l.height + RENDER_LEGEND_H + RENDER_STATUS_H;
    struct render_image img = {calloc((size_t)W * H, 4), W, H, W};
    int lx, ly, lw, lh;
    render_lane_rect(W, H, &lx, &ly, &lw, &lh);
    CHECK_EQ_INT(lw, 1000);

    /* windows: the whole second (summaries), 100 ms, 20 ms and 1 ms (raw) */
    const struct render_window wins[] = {
        {0, 1000.0 * MS / 1000, 0},
        {-3.5 * MS, 1000.0 * MS / 1000, 0},
        {290 * MS, 100.0 * MS / 1000, 0},
        {695 * MS, 20.0 * MS / 1000, 0},
        {11.5 * MS, 1.0 * MS / 1000, 0},
    };
    int modes[2] = {0, 0};
    for (size_t k = 0; k < sizeof wins / sizeof *wins; k++) {
        const struct render_window *win = &wins[k];
        CHECK(render_frame(r, v, &l, win, NULL, NULL, &img) == 0);
        modes[tdb_view_is_raw(v, 0, win->ns_per_px)]++;
        int bad = 0;
        for (size_t i = 0; i < 2; i++) {
            const struct tdb_view_lane *ln = tdb_view_lane(v, i);
            int y = ly + l.lane_y[i] + RENDER_BAR_Y + RENDER_BAR_H / 2;
            if (ln->tid == 71)
                bad += check_lane(&img, lx, y, lw, win, holds1, 50, waits1, 50);
            else
                bad += check_lane(&img, lx, y, lw, win, holds2, 1, waits2, 1);
        }
        if (bad)
            fprintf(stderr, "window %zu (t0 %.0f, %.0f ns/px, %s): %d bad pixels\n", k, win->t0, win->ns_per_px,
                    tdb_view_is_raw(v, 0, win->ns_per_px) ? "raw" : "summary", bad);
        CHECK_EQ_INT(bad, 0);
    }
    CHECK(modes[0] >= 1 && modes[1] >= 1); /* both ways of drawing were checked */

    /* marks: the FORCED_SWITCH at 700 ms, zoomed in, sits on its pixel (3 px wide) */
    const struct render_window z = {699.5 * MS, 1.0 * MS / 1000, 0};
    CHECK(render_frame(r, v, &l, &z, NULL, NULL, &img) == 0);
    size_t lb = tdb_view_lane(v, 0)->tid == 72 ? 0 : 1;
    int y = ly + l.lane_y[lb] + RENDER_MARK_BOT_Y + 1;
    int px = (int)((700 * MS - z.t0) / z.ns_per_px);
    const uint32_t *pal = render_palette();
    for (int x = 0; x < lw; x++) {
        uint32_t c = img.px[(size_t)y * (size_t)W + (size_t)(lx + x)];
        if (abs(x - px) <= 1)
            CHECK(c == pal[RENDER_PAL_FORCED]);
        else
            CHECK(c == pal[RENDER_PAL_BG]);
    }
    /* a RETRY mark of lane a: at 12.25 ms in the 1 ms window at 11.5 ms */
    size_t la = 1 - lb;
    const struct render_window z2 = {11.5 * MS, 1.0 * MS / 1000, 0};
    CHECK(render_frame(r, v, &l, &z2, NULL, NULL, &img) == 0);
    y = ly + l.lane_y[la] + RENDER_MARK_RETRY_Y + 1;
    px = (int)((12.025 * MS - z2.t0) / z2.ns_per_px);
    CHECK(img.px[(size_t)y * (size_t)W + (size_t)(lx + px)] == pal[RENDER_PAL_RETRY]);
    CHECK(img.px[(size_t)y * (size_t)W + (size_t)(lx + px - 5)] == pal[RENDER_PAL_BG]);

    free(img.px);
    render_layout_free(&l);
    tdb_view_close(v);
    render_free(r);
    unlink(path);
    printf("ok\n");
    return 0;
}
