/*
 * test_report_png_axes.c — the report's wait-latency histograms have a count
 * axis whose top is a 1-2-5 number at or above the tallest bin, and the
 * switch interval is marked above and below every histogram's plot, where
 * no bar can hide it (on a convoy the tallest bar sits right on it).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace_gen.h"
#include "report.h"
#include "report_png.h"
#include "png_io.h"
#include "check.h"

#define INTERVAL_BLUE 0xff1f77b4u

static void check_count_top(void)
{
    static const uint64_t cases[][2] = {{0, 1}, {1, 1}, {2, 2}, {3, 5}, {5, 5}, {6, 10}, {10, 10}, {11, 20},
                                        {199, 200}, {201, 500}, {501, 1000}, {123456, 200000}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint64_t got = report_png_count_top(cases[i][0]);
        printf("count axis top for a tallest bin of %llu: %llu\n", (unsigned long long)cases[i][0],
               (unsigned long long)got);
        CHECK(got == cases[i][1]);
    }
}

int main(void)
{
    check_count_top();

    struct trace_gen_options o = {.pattern = TRACE_GEN_CONVOY, .events = 4000, .threads = 3, .seed = 7};
    struct trace_process p;
    CHECK(trace_gen_process(&o, 0, &p) == 0);
    struct report_process r;
    CHECK(report_compute(&p, NULL, &r) == 0);
    size_t waited = 0;
    for (size_t i = 0; i < r.nthreads; i++)
        waited += r.threads[i].wait.count > 0;
    CHECK(waited >= 2);

    char png[] = "/tmp/giltrace-report-axes-XXXXXX";
    int fd = mkstemp(png);
    CHECK(fd >= 0);
    close(fd);
    char err[256];
    if (report_png(png, true, &r, 1, "gen.db", err, sizeof err) != 0) { /* over the mkstemp file */
        printf("SKIP: %s\n", err); /* only a missing font stops it */
        CHECK(strstr(err, "font") != NULL);
        unlink(png);
        return 77;
    }
    uint32_t *px;
    int w, h;
    CHECK(png_io_read_argb(png, &px, &w, &h, err, sizeof err) == 0);
    /* every mark is 4 px wide and 5 px tall, one above and one below each
     * histogram: 4 columns x 2 runs of exactly 5 blue pixels per histogram */
    long runs5 = 0;
    for (int x = 0; x < w; x++) {
        int run = 0;
        for (int y = 0; y <= h; y++) {
            bool blue = y < h && (px[(size_t)y * (size_t)w + (size_t)x] | 0xff000000u) == INTERVAL_BLUE;
            if (blue) {
                run++;
            } else {
                runs5 += run == 5;
                run = 0;
            }
        }
    }
    printf("%zu threads waited; %ld blue runs of 5 px (want %zu)\n", waited, runs5, 8 * waited);
    CHECK(runs5 == (long)(8 * waited));
    free(px);
    unlink(png);
    report_free(&r);
    trace_process_free(&p);
    return 0;
}
