/*
 * test_render_repeat.c — the same window rendered twice is identical, by
 * the same renderer and view (warm caches) and by fresh ones; and a window
 * that shares pixels with another (shifted by whole pixels, power-of-two
 * width) draws those pixels identically.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "render.h"
#include "render_open.h"
#include "trace_gen.h"

static void frame(struct render *r, struct tdb_view *v, const struct render_window *w, struct render_image *img)
{
    struct render_layout l;
    CHECK(render_layout_init(&l, v) == 0);
    CHECK(render_frame(r, v, &l, w, NULL, NULL, img) == 0);
    render_layout_free(&l);
}

int main(void)
{
    char path[] = "/tmp/test-render-repeat-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct trace_gen_options o = {.pattern = TRACE_GEN_PINGPONG, .events = 200000, .threads = 3, .processes = 2,
                                  .seed = 5, .interval_ns = 200000};
    char err[256];
    CHECK(trace_gen_write(path, &o, NULL, err, sizeof err) == 0);
    struct render *r = render_open_or_skip();
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    int W = 1100, H = 300;
    size_t bytes = (size_t)W * H * 4;
    struct render_image a = {malloc(bytes), W, H, W}, b = {malloc(bytes), W, H, W};
    int lx, ly, lw, lh;
    render_lane_rect(W, H, &lx, &ly, &lw, &lh);
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    struct render_window wins[] = {
        render_fit(v, lw),
        {(double)s0 + (double)(s1 - s0) / 3, (double)(s1 - s0) / 3000 / lw, 0},
        {(double)s0 + (double)(s1 - s0) / 2, 1.0 / 8, 0},
    };
    for (size_t k = 0; k < sizeof wins / sizeof *wins; k++) {
        frame(r, v, &wins[k], &a);
        frame(r, v, &wins[k], &b);
        CHECK(memcmp(a.px, b.px, bytes) == 0);
        /* a fresh view and renderer */
        struct render *r2 = render_new(NULL, err, sizeof err);
        struct tdb_view *v2 = tdb_view_open(path, NULL, err, sizeof err);
        CHECK(r2 && v2);
        frame(r2, v2, &wins[k], &b);
        CHECK(memcmp(a.px, b.px, bytes) == 0);
        tdb_view_close(v2);
        render_free(r2);
    }
    /* shifted by 100 whole pixels of a power-of-two width: the shared lane
     * pixels are the same */
    double w = 1 << 14, t0 = (double)s0 + 1234 * w;
    struct render_window p = {t0, w, 0}, q = {t0 + 100 * w, w, 0};
    frame(r, v, &p, &a);
    frame(r, v, &q, &b);
    for (int y = ly; y < ly + lh; y++)
        CHECK(memcmp(a.px + (size_t)y * W + lx + 100, b.px + (size_t)y * W + lx, (size_t)(lw - 100) * 4) == 0);
    free(a.px);
    free(b.px);
    tdb_view_close(v);
    render_free(r);
    unlink(path);
    printf("ok\n");
    return 0;
}
