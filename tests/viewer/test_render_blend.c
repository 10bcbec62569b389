/*
 * test_render_blend.c — a zoomed-out pixel over a 50/50 mix of holding and
 * waiting shows the blend of green and red (8/16 each), a 25/75 mix its
 * own blend, and a state present for a sliver of a pixel still shows
 * (nothing is hidden by zooming out).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "render.h"
#include "render_open.h"
#include "ring.h"
#include "trace_gen.h"

#define BASE 1000000000LL
#define US 1000LL
#define MS 1000000LL

int main(void)
{
    /* quantisation rules first */
    int h, w;
    render_blend_parts(render_blend_index(0.5f, 0.5f), &h, &w);
    CHECK(h == 8 && w == 8);
    render_blend_parts(render_blend_index(0.25f, 0.75f), &h, &w);
    CHECK(h == 4 && w == 12);
    render_blend_parts(render_blend_index(1, 0), &h, &w);
    CHECK(h == 16 && w == 0);
    render_blend_parts(render_blend_index(0.0001f, 0), &h, &w);
    CHECK(h == 1 && w == 0); /* a sliver still shows */
    render_blend_parts(render_blend_index(0.9999f, 0.0001f), &h, &w);
    CHECK(h == 15 && w == 1);
    CHECK(render_blend_index(0, 0) == RENDER_PAL_BG);

    /* a trace: thread 1 alternates 1 us held / 1 us waiting for 20 ms;
     * thread 2 alternates 1 us held / 3 us waiting; thread 3 holds for
     * 2 us once in the middle and is idle otherwise */
    char path[] = "/tmp/test-render-blend-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct trace_process p;
    CHECK(trace_gen_process_init(&p, 9, BASE, BASE + 21 * MS) == 0);
    struct trace_thread *t = trace_gen_thread(&p, 91, "half");
    for (int64_t s = 0; s < 20 * MS; s += 2 * US) {
        CHECK(trace_gen_event(t, BASE + s, RING_EV_ACQUIRE) == 0);
        CHECK(trace_gen_event(t, BASE + s + US, RING_EV_RELEASE) == 0);
        CHECK(trace_gen_event(t, BASE + s + US, RING_EV_BUSY) == 0);
    }
    CHECK(trace_gen_event(t, BASE + 20 * MS, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(t, BASE + 20 * MS, RING_EV_RELEASE) == 0);
    t = trace_gen_thread(&p, 92, "quarter");
    for (int64_t s = 0; s < 20 * MS; s += 4 * US) {
        CHECK(trace_gen_event(t, BASE + s, RING_EV_ACQUIRE) == 0);
        CHECK(trace_gen_event(t, BASE + s + US, RING_EV_RELEASE) == 0);
        CHECK(trace_gen_event(t, BASE + s + US, RING_EV_BUSY) == 0);
    }
    CHECK(trace_gen_event(t, BASE + 20 * MS, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(t, BASE + 20 * MS, RING_EV_RELEASE) == 0);
    t = trace_gen_thread(&p, 93, "sliver");
    CHECK(trace_gen_event(t, BASE + 10 * MS + 500 * US, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_event(t, BASE + 10 * MS + 502 * US, RING_EV_RELEASE) == 0);
    char err[256];
    CHECK(trace_gen_write_processes(path, &p, 1, err, sizeof err) == 0);
    trace_process_free(&p);

    struct render *r = render_open_or_skip();
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    struct render_layout l;
    CHECK(render_layout_init(&l, v) == 0);
    int W = RENDER_LABEL_W + 500, H = RENDER_RULER_H + l.height + RENDER_LEGEND_H + RENDER_STATUS_H;
    struct render_image img = {calloc((size_t)W * H, 4), W, H, W};
    int lx, ly, lw, lh;
    render_lane_rect(W, H, &lx, &ly, &lw, &lh);
    /* 20 ms over 500 px: 40 us per pixel, 20 periods of thread 1 in each */
    struct render_window win = {0, 20.0 * MS / lw, 0};
    CHECK(!tdb_view_is_raw(v, 0, win.ns_per_px)); /* zoomed out: drawn from summaries */
    CHECK(render_frame(r, v, &l, &win, NULL, NULL, &img) == 0);
    const uint32_t *pal = render_palette();
    uint32_t half = pal[render_blend_index(0.5f, 0.5f)], quarter = pal[render_blend_index(0.25f, 0.75f)];
    /* the blend really is between green and red */
    uint32_t g = pal[render_blend_index(1, 0)], rd = pal[render_blend_index(0, 1)];
    for (int k = 0; k < 3; k++) {
        int sh = 16 - 8 * k;
        int mid = (int)((g >> sh & 0xff) + (rd >> sh & 0xff) + 1) / 2;
        CHECK(abs((int)(half >> sh & 0xff) - mid) <= 1);
    }
    int sliver_px = -1;
    for (size_t i = 0; i < 3; i++) {
        const struct tdb_view_lane *ln = tdb_view_lane(v, i);
        int y = ly + l.lane_y[i] + RENDER_BAR_Y + RENDER_BAR_H / 2;
        for (int x = 2; x < lw - 2; x++) {
            uint32_t c = img.px[(size_t)y * (size_t)W + (size_t)(lx + x)];
            if (ln->tid == 91)
                CHECK(c == half);
            else if (ln->tid == 92)
                CHECK(c == quarter);
            else if (c != pal[RENDER_PAL_BG]) {
                CHECK(sliver_px < 0);
                sliver_px = x;
                int sh, sw;
                for (int e = RENDER_PAL_BLEND0; e < RENDER_PAL_RETRY; e++)
                    if (pal[e] == c) {
                        render_blend_parts((uint8_t)e, &sh, &sw);
                        CHECK(sh == 1 && sw == 0); /* 2 us of 40: shown as 1/16 green */
                    }
            }
        }
    }
    CHECK(sliver_px == (int)(10.5 * MS / win.ns_per_px)); /* the sliver shows, in its pixel */

    free(img.px);
    render_layout_free(&l);
    tdb_view_close(v);
    render_free(r);
    unlink(path);
    printf("ok\n");
    return 0;
}
