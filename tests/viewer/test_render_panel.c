/*
 * test_render_panel.c — a centred panel (gilview's help) taller than the
 * lane area of a short frame (the default 300-px window of a trace with few
 * lanes) is drawn whole: its frame's top and bottom edges are both in the
 * picture, as far apart as its lines need, and nothing of the frame (ruler,
 * legend, status line) is drawn over them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "render.h"
#include "render_open.h"
#include "trace_gen.h"

#define EDGE 0xffb0b0b0u /* the panel's frame (C_LINE in render_frame.c) */

/* Length of the longest run of EDGE pixels in row y. */
static int edge_run(const struct render_image *img, int y)
{
    int best = 0, run = 0;
    for (int x = 0; x < img->w; x++) {
        run = img->px[(size_t)y * (size_t)img->stride + (size_t)x] == EDGE ? run + 1 : 0;
        if (run > best)
            best = run;
    }
    return best;
}

int main(void)
{
    char path[] = "/tmp/test-render-panel-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct trace_gen_options o = {.pattern = TRACE_GEN_PINGPONG, .events = 2000, .threads = 2, .processes = 1,
                                  .seed = 3, .interval_ns = 100000};
    char err[256];
    CHECK(trace_gen_write(path, &o, NULL, err, sizeof err) == 0);
    struct render *r = render_open_or_skip();
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    struct render_layout l;
    CHECK(render_layout_init(&l, v) == 0);

    static const char *const lines[] = {
        "title of the panel", "", "a\tone", "b\ttwo", "c\tthree", "d\tfour", "e\tfive", "f\tsix", "g\tseven",
        "h\teight", "i\tnine", "j\tten", "k\televen", "", "the last line of the panel",
    };
    const size_t n = sizeof lines / sizeof *lines;
    const int want_h = (int)n * 16 + 16; /* render_frame.c: 16 px a line, 8 px margins */
    int W = 1400, H = 300;
    struct render_image img = {malloc((size_t)W * H * 4), W, H, W};
    CHECK(img.px);
    int lx, ly, lw, lh;
    render_lane_rect(W, H, &lx, &ly, &lw, &lh);
    CHECK(lh < want_h); /* the case under test: the panel is taller than the lanes */
    struct render_window win = render_fit(v, lw);
    struct render_overlay ov = {.cursor_x = -1, .panel = lines, .panel_lines = n, .panel_centered = true};
    CHECK(render_frame(r, v, &l, &win, &ov, NULL, &img) == 0);

    /* the panel's top and bottom edges: rows with the same run of EDGE,
     * shorter than the ruler's full-width line */
    int top = -1, bottom = -1, width = 0;
    for (int y = 0; y < H; y++) {
        int run = edge_run(&img, y);
        if (run > 100 && run < W) {
            if (top < 0) {
                top = y;
                width = run;
            } else if (run == width) {
                bottom = y;
            }
        }
    }
    printf("frame %dx%d, lane area %d px tall; panel %d px wide from row %d to %d (%d px, needs %d)\n", W, H, lh,
           width, top, bottom, bottom - top + 1, want_h);
    CHECK(top >= 0 && bottom > top);
    CHECK(bottom - top + 1 == want_h);
    CHECK(bottom < H);

    free(img.px);
    render_layout_free(&l);
    tdb_view_close(v);
    render_free(r);
    unlink(path);
    return 0;
}
