/*
 * test_view_lanes.c — every GIL of every process gets its lanes: one per
 * thread and GIL, grouped by process (in the order processes were
 * written), a process's main GIL first, threads in order of appearance;
 * the layout gives each process a header row and each lane its rows, and
 * each lane is drawn where the layout puts it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "render.h"
#include "render_open.h"
#include "ring.h"
#include "trace_gen.h"

#define BASE 2000000000LL

static void hold(struct trace_thread *t, unsigned gil, int64_t a, int64_t b)
{
    struct trace_event e1 = {.ts_ns = BASE + a, .kind = RING_EV_ACQUIRE, .gil = (uint8_t)gil, .cpu = 0};
    struct trace_event e2 = {.ts_ns = BASE + b, .kind = RING_EV_RELEASE, .gil = (uint8_t)gil, .cpu = 0};
    CHECK(trace_gen_event(t, e1.ts_ns, RING_EV_ACQUIRE) == 0);
    t->events[t->count - 1] = e1;
    CHECK(trace_gen_event(t, e2.ts_ns, RING_EV_RELEASE) == 0);
    t->events[t->count - 1] = e2;
}

int main(void)
{
    char path[] = "/tmp/test-lanes-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    struct trace_process p[2];
    /* process 300: main thread on GIL 0; a subinterpreter thread on GIL 1
     * that also takes GIL 0 once; a late thread */
    CHECK(trace_gen_process_init(&p[0], 300, BASE, BASE + 10000000) == 0);
    struct trace_thread *t = trace_gen_thread(&p[0], 300, "MainThread");
    hold(t, 0, 1000, 2000000);
    t = trace_gen_thread(&p[0], 301, "sub");
    hold(t, 1, 500000, 3000000);
    hold(t, 0, 4000000, 5000000);
    t = trace_gen_thread(&p[0], 302, NULL);
    hold(t, 0, 6000000, 7000000);
    /* process 200 (written second, smaller pid) */
    CHECK(trace_gen_process_init(&p[1], 200, BASE + 100, BASE + 9000000) == 0);
    t = trace_gen_thread(&p[1], 201, "worker");
    hold(t, 0, 8000000, 8500000);
    char err[256];
    CHECK(trace_gen_write_processes(path, p, 2, err, sizeof err) == 0);
    trace_process_free(&p[0]);
    trace_process_free(&p[1]);

    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    CHECK_EQ_INT(tdb_view_process_count(v), 2);
    CHECK_EQ_INT(tdb_view_process(v, 0)->pid, 300);
    CHECK_EQ_INT(tdb_view_process(v, 1)->pid, 200);
    CHECK_EQ_INT(tdb_view_lane_count(v), 5);
    static const struct {
        uint32_t tid;
        unsigned gil;
        const char *name;
    } want[] = {{300, 0, "MainThread"}, {301, 0, "sub"}, {302, 0, NULL}, {301, 1, "sub"}, {201, 0, "worker"}};
    for (size_t i = 0; i < 5; i++) {
        const struct tdb_view_lane *l = tdb_view_lane(v, i);
        CHECK_EQ_INT(l->tid, want[i].tid);
        CHECK_EQ_INT(l->gil, want[i].gil);
        if (want[i].name)
            CHECK_STR(l->name, want[i].name);
        else
            CHECK(l->name == NULL);
        CHECK_EQ_INT(l->process, i < 4 ? 0 : 1);
    }
    CHECK_EQ_INT(tdb_view_process(v, 0)->first_lane, 0);
    CHECK_EQ_INT(tdb_view_process(v, 0)->lane_count, 4);
    CHECK_EQ_INT(tdb_view_process(v, 1)->first_lane, 4);
    CHECK_STR(tdb_view_process(v, 0)->command, "python3 synthetic.py");

    struct render_layout l;
    CHECK(render_layout_init(&l, v) == 0);
    CHECK_EQ_INT(l.header_y[0], RENDER_TOP_GAP);
    CHECK_EQ_INT(l.lane_y[0], RENDER_TOP_GAP + RENDER_HEADER_H);
    CHECK_EQ_INT(l.lane_y[3], RENDER_TOP_GAP + RENDER_HEADER_H + 3 * RENDER_LANE_H);
    CHECK_EQ_INT(l.header_y[1], l.lane_y[3] + RENDER_LANE_H);
    CHECK_EQ_INT(l.lane_y[4], l.header_y[1] + RENDER_HEADER_H);
    CHECK_EQ_INT(l.height, l.lane_y[4] + RENDER_LANE_H + RENDER_TOP_GAP);
    CHECK_EQ_INT(render_layout_lane_at(&l, l.lane_y[3] + 5), 3);
    CHECK_EQ_INT(render_layout_lane_at(&l, l.header_y[1] + 2), -1);

    /* each lane's green where its holds are: the subinterpreter lane from 0.5 to 3 ms */
    struct render *r = render_open_or_skip();
    int W = RENDER_LABEL_W + 1000, H = RENDER_RULER_H + l.height + RENDER_LEGEND_H + RENDER_STATUS_H;
    struct render_image img = {calloc((size_t)W * H, 4), W, H, W};
    struct render_window win = {0, 10000, 0}; /* 10 us a pixel: 10 ms across */
    CHECK(render_frame(r, v, &l, &win, NULL, NULL, &img) == 0);
    uint32_t green = render_palette()[render_blend_index(1, 0)], white = render_palette()[RENDER_PAL_BG];
    int y = RENDER_RULER_H + l.lane_y[3] + RENDER_BAR_Y + 5;
    for (int x = 0; x < 1000; x++) {
        uint32_t c = img.px[(size_t)y * (size_t)W + (size_t)(RENDER_LABEL_W + x)];
        if (x > 50 && x < 300)
            CHECK(c == green);
        else if (x < 49 || x > 301)
            CHECK(c == white);
    }
    free(img.px);
    render_free(r);
    render_layout_free(&l);
    tdb_view_close(v);
    unlink(path);
    printf("ok\n");
    return 0;
}
