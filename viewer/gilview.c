/*
 * gilview.c — the gilview program: the interactive timeline window, a
 * headless screenshot of the same picture, and the tiles subcommand.
 */
#include "gilview.h"

#include <getopt.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "png_io.h"
#include "progress_bar.h"
#include "timefmt.h"

#define DEFAULT_WIDTH 1400
#define MAX_HEIGHT 8192

void gv_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("gilview: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int gv_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "gilview%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see gilview%s%s --help\n", cmd ? " " : "", cmd ? cmd : "");
    va_end(ap);
    return 2;
}

static void on_build_progress(void *ctx, uint64_t done, uint64_t total)
{
    progress_bar_update(ctx, done, total, "events summarised");
}

struct tdb_view *gv_open_view(const char *path)
{
    struct progress_bar bar;
    progress_bar_start(&bar, "gilview: summarising", 0);
    struct tdb_view_options opt = {.progress = on_build_progress, .progress_ctx = &bar};
    char err[512];
    struct tdb_view *v = tdb_view_open(path, &opt, err, sizeof err);
    progress_bar_done(&bar);
    if (!v)
        gv_warn("%s", err);
    return v;
}

bool gv_parse_size(const char *s, int *w, int *h)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || (*end != 'x' && *end != 'X'))
        return false;
    const char *s2 = end + 1;
    long b = strtol(s2, &end, 10);
    if (end == s2 || *end || a < 64 || b < 64 || a > 16384 || b > 16384)
        return false;
    *w = (int)a;
    *h = (int)b;
    return true;
}

const char *gv_parse_range(const char *s, double s0, double s1, double *a, double *b)
{
    const char *colon = strchr(s, ':');
    if (!colon || strchr(colon + 1, ':'))
        return "cannot parse --range: it wants A:B, e.g. 10ms:20ms or 1.5s:";
    char left[64];
    size_t n = (size_t)(colon - s);
    if (n >= sizeof left)
        return "cannot parse --range: A is not a time (a number with ns, us, ms or s)";
    memcpy(left, s, n);
    left[n] = '\0';
    *a = s0;
    *b = s1;
    if (*left && !timefmt_parse(left, a))
        return "cannot parse --range: A is not a time (a number with ns, us, ms or s)";
    if (colon[1] && !timefmt_parse(colon + 1, b))
        return "cannot parse --range: B is not a time (a number with ns, us, ms or s)";
    return *b > *a ? NULL : "--range wants A:B with A before B, e.g. 10ms:20ms";
}

static void usage(FILE *f)
{
    fputs("usage: gilview [--size WxH] [--range A:B] trace.db\n"
          "       gilview --screenshot out.png [--size WxH] [--range A:B] trace.db\n"
          "       gilview --live PID [--screenshot out.png] [--size WxH]\n"
          "       gilview tiles trace.db -o DIR [--max-zoom Z] [--jobs N]\n"
          "\n"
          "Shows a giltrace trace as a timeline: one lane per thread and GIL, grouped by\n"
          "process; green = holds the GIL, red = waits for it, white = not asking.\n"
          "\n"
          "  --screenshot FILE  draw one picture into FILE (PNG, mode 0600) and exit; needs no\n"
          "                     display\n"
          "  --force            replace the --screenshot FILE if it exists\n"
          "  --size WxH         window or picture size (default 1400 wide, tall enough for every lane)\n"
          "  --range A:B        time window since the trace's start, with units ns, us, ms, s\n"
          "                     (e.g. 1.5s:1.6s or 0:250ms); either side may be left out\n"
          "  --save-dir DIR     where F12 saves screenshots of the window (default: .)\n"
          "  --live PID         follow a running traced process (giltrace run, env-only mode),\n"
          "                     redrawing as its events arrive; the window keeps showing the\n"
          "                     newest events while its right edge is at the end\n"
          "  --font FILE        TrueType font (default: DejaVu Sans; or $GILVIEW_FONT)\n"
          "  -h, --help, help   this help\n"
          "  --version          print the version\n"
          "\n"
          "In the window: wheel or +/- zooms at the cursor, drag or arrows pan, f fits the\n"
          "trace, shift-drag selects a range (statistics), w jumps to the next longest wait,\n"
          "? shows all keys.\n",
          f);
}

static int screenshot(struct tdb_view *v, struct render *r, const char *out, bool force, int w, int h, bool has_range,
                      double a,
                      double b)
{
    struct render_layout l;
    if (render_layout_init(&l, v)) {
        gv_warn("out of memory");
        return 1;
    }
    if (h <= 0) {
        h = RENDER_RULER_H + l.height + RENDER_LEGEND_H + RENDER_STATUS_H;
        if (h < 160)
            h = 160;
        if (h > MAX_HEIGHT)
            h = MAX_HEIGHT;
    }
    struct render_image img = {malloc((size_t)w * (size_t)h * sizeof(uint32_t)), w, h, w};
    if (!img.px) {
        render_layout_free(&l);
        gv_warn("out of memory for a %dx%d picture", w, h);
        return 1;
    }
    int lx, ly, lw, lh;
    render_lane_rect(w, h, &lx, &ly, &lw, &lh);
    struct render_window win = render_fit(v, lw);
    if (has_range) {
        win.t0 = a;
        win.ns_per_px = (b - a) / (lw > 0 ? lw : 1);
    }
    int status = 0;
    if (render_frame(r, v, &l, &win, NULL, NULL, &img)) {
        gv_warn("%s", tdb_view_error(v));
        status = 1;
    }
    char err[512];
    if (status == 0 && png_io_write_rgb(out, force, &img, err, sizeof err)) {
        gv_warn("%s", err);
        status = 1;
    }
    if (status == 0 && l.nlanes == 0)
        gv_warn("%s has no GIL events; %s shows an empty timeline", tdb_view_path(v), out);
    free(img.px);
    render_layout_free(&l);
    return status;
}

int main(int argc, char **argv)
{
    /* every SQLite connection here belongs to one thread at a time (a view
     * per tile worker), so no locking inside SQLite: it costs ~10% of
     * reading raw events */
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (argc > 1 && strcmp(argv[1], "tiles") == 0)
        return gv_cmd_tiles(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }

    static const struct option opts[] = {
        {"screenshot", required_argument, NULL, 's'}, {"size", required_argument, NULL, 'z'},
        {"range", required_argument, NULL, 'r'},      {"font", required_argument, NULL, 'f'},
        {"save-dir", required_argument, NULL, 'd'},   {"live", required_argument, NULL, 'l'},
        {"force", no_argument, NULL, 'F'},            {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *shot = NULL, *range = NULL, *font = NULL, *save_dir = ".";
    long live_pid = 0;
    bool force = false;
    int w = 0, h = 0, c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            shot = optarg;
            break;
        case 'z':
            if (!gv_parse_size(optarg, &w, &h))
                return gv_usage_error(NULL, "--size wants WxH, each 64 to 16384 (got '%s')", optarg);
            break;
        case 'r':
            range = optarg;
            break;
        case 'f':
            font = optarg;
            break;
        case 'd':
            save_dir = optarg;
            break;
        case 'F':
            force = true;
            break;
        case 'l': {
            char *end;
            live_pid = strtol(optarg, &end, 10);
            if (end == optarg || *end || live_pid < 1 || live_pid > INT_MAX)
                return gv_usage_error(NULL, "--live wants the pid of a traced process (got '%s')", optarg);
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("gilview %s\n", GILTRACE_VERSION);
            return 0;
        default:
            return gv_usage_error(NULL, "unknown option");
        }
    }
    if (live_pid ? optind != argc : optind != argc - 1)
        return gv_usage_error(NULL, live_pid             ? "--live PID takes no trace file"
                                    : optind >= argc ? "which trace? give one trace.db"
                                                     : "give exactly one trace.db");
    char err[512];
    struct render *r = render_new(font, err, sizeof err);
    if (!r) {
        gv_warn("%s", err);
        return 1;
    }
    struct gv_live *live = NULL;
    struct tdb_view *v;
    if (live_pid) {
        live = gv_live_open((pid_t)live_pid, err, sizeof err);
        if (!live)
            gv_warn("%s", err);
        v = live ? gv_live_view(live) : NULL;
    } else {
        v = gv_open_view(argv[optind]);
    }
    if (!v) {
        render_free(r);
        return 1;
    }
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    double a = 0, b = 0;
    const char *range_err = range ? gv_parse_range(range, (double)s0, (double)(s1 > s0 ? s1 : s0 + 1000), &a, &b)
                                  : NULL;
    if (range_err) {
        live ? gv_live_close(live) : tdb_view_close(v);
        render_free(r);
        return gv_usage_error(NULL, "%s (got '%s')", range_err, range);
    }
    if (range && !live && (a >= (double)s1 || b <= (double)s0)) {
        char len[32];
        timefmt_duration(len, sizeof len, (double)(s1 - s0));
        gv_warn("--range %s lies outside the trace, which spans 0 to %s: the picture is empty", range, len);
    }
    int status;
    if (shot) {
        status = screenshot(v, r, shot, force, w ? w : DEFAULT_WIDTH, h, range != NULL, a, b);
    } else {
        struct gv_window_options wo = {w ? w : DEFAULT_WIDTH, h, range != NULL, a, b, save_dir, live};
        status = gv_window_run(v, r, &wo);
    }
    live ? gv_live_close(live) : tdb_view_close(v);
    render_free(r);
    return status;
}
