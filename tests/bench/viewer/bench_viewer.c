/*
 * bench_viewer.c — the viewer's figures beside its goals, on a synthetic
 * trace of 10^8 events (generated once, then reused): frame render time at
 * whole-trace, mid and nanosecond zoom, time to open, viewer peak memory,
 * summary build rate, tile export rate and bytes per tile, and the PNG
 * encoder settings that tiles use. Prints figures; asserts nothing.
 *
 *   bench_viewer [--quick] [--events N] [--trace PATH] [--jobs N] [--max-zoom Z]
 *
 * --quick (what the test suite runs, so this keeps building and working)
 * uses 2*10^5 events and few repetitions.
 */
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <png.h>

#include "png_io.h"
#include "render.h"
#include "ring_clock.h"
#include "tdb_summary.h"
#include "tdb_view.h"
#include "tiles.h"
#include "trace_gen.h"

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU time of the whole process (all threads), user + system. */
static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, const char *err)
{
    fprintf(stderr, "bench_viewer: %s: %s\n", what, err);
    exit(1);
}

static void row(const char *what, const char *value, const char *goal, int ok)
{
    printf("  %-46s %16s   %-18s %s\n", what, value, goal, ok < 0 ? "" : ok ? "ok" : "MISSED");
}

static struct trace_gen_options gen_options(uint64_t events)
{
    struct trace_gen_options o = {.pattern = TRACE_GEN_PINGPONG, .events = events, .threads = 4, .processes = 2,
                                  .seed = 42};
    return o;
}

/* The benchmark trace: reused when a previous run left it (a trace given
 * with --trace is always used as it is). */
static void ensure_trace(const char *path, uint64_t events, int given)
{
    char err[512];
    if (access(path, R_OK) == 0) {
        printf("trace: opening %s (building its summaries if they are missing)...\n", path);
        fflush(stdout);
    }
    struct tdb_view *v = access(path, R_OK) == 0 ? tdb_view_open(path, NULL, err, sizeof err) : NULL;
    if (v) {
        uint64_t have = tdb_view_event_count(v);
        tdb_view_close(v);
        if (given || (have >= events && have < events + events / 100 + 100)) {
            printf("trace: %s (%llu events, reused)\n", path, (unsigned long long)have);
            return;
        }
    }
    printf("trace: generating %s with %llu events (once; later runs reuse it)...\n", path,
           (unsigned long long)events);
    fflush(stdout);
    struct trace_gen_options o = gen_options(events);
    double t = ring_clock_monotonic_s();
    uint64_t n;
    if (trace_gen_write(path, &o, &n, err, sizeof err))
        die("generate", err);
    printf("trace: %llu events written in %.1f s (writer and dump-time summaries together)\n",
           (unsigned long long)n, ring_clock_monotonic_s() - t);
}

/* ---- summary build rates ---- */

static int count_chunk(void *ctx, int level, int64_t chunk, int s, int e, uint32_t nrec, const uint8_t *blob,
                       size_t len)
{
    (void)level, (void)chunk, (void)s, (void)e, (void)nrec, (void)blob;
    *(uint64_t *)ctx += len;
    return 0;
}

/* The dump path: the builder fed from memory, as the writer feeds it. */
static void bench_build_memory(uint64_t events, double *rate, double *bytes_per_event)
{
    struct trace_gen_options o = gen_options(events);
    o.processes = 1;
    struct trace_process p;
    if (trace_gen_process(&o, 0, &p))
        die("generate", "out of memory");
    uint64_t n = 0, bytes = 0;
    double t = ring_clock_monotonic_s();
    for (size_t i = 0; i < p.thread_count; i++) {
        const struct trace_thread *th = &p.threads[i];
        if (!th->count)
            continue;
        struct tdb_sum_builder *b = tdb_sum_builder_new((int64_t)i, th->count, th->events[0].ts_ns,
                                                        th->events[th->count - 1].ts_ns, p.end_ns, count_chunk, &bytes);
        for (size_t k = 0; k < th->count; k++)
            tdb_sum_builder_event(b, th->events[k].ts_ns, (int64_t)th->events[k].kind | (int64_t)(th->events[k].cpu + 1) << 4);
        struct tdb_lane_summary ls;
        const struct tdb_wait_span *w;
        size_t nw;
        tdb_sum_builder_finish(b, &ls, &w, &nw);
        tdb_sum_builder_free(b);
        n += th->count;
    }
    double el = ring_clock_monotonic_s() - t;
    trace_process_free(&p);
    *rate = (double)n / el;
    *bytes_per_event = (double)bytes / (double)n;
}

/* First open of an old trace: from the event table, into a scratch database. */
static double bench_build_db(const char *path, uint64_t *events)
{
    char tmp[] = "/tmp/bench-viewer-sum-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0)
        die("mkstemp", "failed");
    close(fd);
    sqlite3 *db;
    /* read-write only so that the attached scratch database can be written */
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        die("open", sqlite3_errmsg(db));
    sqlite3_exec(db, "PRAGMA cache_size = -65536", NULL, NULL, NULL);
    char *sql = sqlite3_mprintf("ATTACH %Q AS sum; PRAGMA sum.journal_mode = OFF;", tmp);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_free(sql);
    char err[512];
    double t = ring_clock_monotonic_s();
    if (tdb_summary_build(db, "sum", NULL, NULL, err, sizeof err))
        die("build", err);
    double el = ring_clock_monotonic_s() - t;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "SELECT sum(events) FROM sum.summary_lane", -1, &st, NULL);
    sqlite3_step(st);
    *events = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(tmp);
    return (double)*events / el;
}

/* ---- frames ---- */

struct zoom {
    const char *name;
    double t0, w;
};

static void make_zooms(struct tdb_view *v, int lw, struct zoom z[4])
{
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    double span = (double)(s1 - s0), mid = (double)s0 + span / 2;
    z[0] = (struct zoom){"whole trace", (double)s0, span / lw};
    z[1] = (struct zoom){"mid (1/1000 of the trace)", mid - span / 2000, span / 1000 / lw};
    z[2] = (struct zoom){"nanoseconds (2 µs across)", mid - 1000, 2000.0 / lw};
    /* the most raw events a frame reads: just below the busiest lane's base level */
    int base = 60;
    for (size_t i = 0; i < tdb_view_lane_count(v); i++)
        if (tdb_view_lane(v, i)->sum.base_level < base)
            base = tdb_view_lane(v, i)->sum.base_level;
    double w = ldexp(1.0, base) * 0.999;
    z[3] = (struct zoom){"raw-event threshold (worst case)", mid - w * lw / 2, w};
}

static void frame_times(struct render *r, struct tdb_view *v, const struct render_layout *l, struct render_image *img,
                        const struct zoom *z, int reps, double *cold, double *med)
{
    int lx, ly, lw, lh;
    render_lane_rect(img->w, img->h, &lx, &ly, &lw, &lh);
    double *t = malloc((size_t)reps * sizeof *t);
    struct render_window win = {z->t0, z->w, 0};
    double a = ring_clock_monotonic_s();
    render_frame(r, v, l, &win, NULL, NULL, img);
    *cold = ring_clock_monotonic_s() - a;
    for (int i = 0; i < reps; i++) {
        win.t0 = z->t0 + (double)(i + 1) * 3 * z->w; /* panning 3 px a frame: new columns every frame */
        a = ring_clock_monotonic_s();
        if (render_frame(r, v, l, &win, NULL, NULL, img))
            die("render", tdb_view_error(v));
        t[i] = ring_clock_monotonic_s() - a;
    }
    *med = median(t, reps);
    free(t);
}

/* ---- peak memory of a viewer session, in a child process ---- */

static long viewer_peak_kb(const char *path, int w, int h, int reps)
{
    pid_t pid = fork();
    if (pid == 0) {
        char err[512];
        struct render *r = render_new(NULL, err, sizeof err);
        struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
        if (!r || !v)
            _exit(1);
        struct render_layout l;
        render_layout_init(&l, v);
        struct render_image img = {malloc((size_t)w * (size_t)h * 4), w, h, w};
        int lx, ly, lw, lh;
        render_lane_rect(w, h, &lx, &ly, &lw, &lh);
        struct zoom z[4];
        make_zooms(v, lw, z);
        for (int k = 0; k < 4; k++) {
            double c, m;
            frame_times(r, v, &l, &img, &z[k], reps, &c, &m);
        }
        /* zoom through every level, as someone exploring would */
        struct render_window win = {z[0].t0, z[0].w, 0};
        while (win.ns_per_px > 1.0 / 64) {
            render_frame(r, v, &l, &win, NULL, NULL, &img);
            win.t0 += win.ns_per_px * lw * 0.375;
            win.ns_per_px /= 2;
        }
        _exit(0);
    }
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -1;
    return ru.ru_maxrss;
}

/* ---- tiles ---- */

static int rm_entry(const char *p, const struct stat *s, int flag, struct FTW *f)
{
    (void)s, (void)flag, (void)f;
    return remove(p);
}

struct png_trial {
    const char *name;
    struct png_tile_options o;
};

static void bench_png(struct tdb_view *v, int quick)
{
    struct render_layout l;
    render_layout_init(&l, v);
    struct tiles_geometry g;
    tiles_geometry(v, &l, -1, &g);
    struct render_lanes *rl = render_lanes_new();
    int samples = quick ? 8 : 96;
    size_t strip = (size_t)TILE_SIZE * TILE_SIZE;
    uint8_t *tiles = malloc(strip * (size_t)samples);
    int have = 0;
    /* tiles from shallow, middle and deep zoom levels, first row */
    for (int s = 0; s < samples; s++) {
        int z = g.max_zoom * (s % 3) / 2;
        int64_t cols = tiles_columns(v, &g, z);
        int64_t x = (int64_t)(((uint64_t)s * 2654435761u) % (uint64_t)cols);
        double w = tiles_ns_per_px(&g, z);
        if (render_lanes_indexed(rl, v, &l, g.t0 + (double)x * TILE_SIZE * w, w, TILE_SIZE, 0, TILE_SIZE,
                                 tiles + strip * (size_t)have, TILE_SIZE) == 0)
            have++;
    }
    static const struct png_trial trials[] = {
        {"level 1, default, up, window 1K, mem 2 (tiles)", {1, Z_DEFAULT_STRATEGY, PNG_FILTER_UP, 10, 2}},
        {"level 1, Z_RLE, up, window 1K, mem 2", {1, Z_RLE, PNG_FILTER_UP, 10, 2}},
        {"level 1, default, none, window 1K, mem 2", {1, Z_DEFAULT_STRATEGY, PNG_FILTER_NONE, 10, 2}},
        {"level 1, default, up, zlib's window and memory", {1, Z_DEFAULT_STRATEGY, PNG_FILTER_UP, 0, 0}},
        {"level 1, Z_RLE, none, zlib's window and memory", {1, Z_RLE, PNG_FILTER_NONE, 0, 0}},
        {"level 0 (stored), none, window 1K, mem 2", {0, Z_DEFAULT_STRATEGY, PNG_FILTER_NONE, 10, 2}},
        {"level 6, default, up, window 1K, mem 2", {6, Z_DEFAULT_STRATEGY, PNG_FILTER_UP, 10, 2}},
        {"level 6, default, all filters, zlib's defaults", {6, Z_DEFAULT_STRATEGY, PNG_ALL_FILTERS, 0, 0}},
        {"level 9, Z_FILTERED, all filters, zlib's defaults", {9, Z_FILTERED, PNG_ALL_FILTERS, 0, 0}},
    };
    printf("\nPNG encoding of %d sample tiles (palette, smallest bit depth):\n", have);
    printf("  %-46s %12s %12s\n", "zlib / filter", "CPU µs/tile", "bytes/tile");
    int ntrials = quick ? 3 : (int)(sizeof trials / sizeof *trials);
    for (int k = 0; k < ntrials; k++) {
        int reps = quick ? 1 : 5;
        double best = 1e9;
        size_t bytes = 0;
        for (int rep = 0; rep < reps; rep++) {
            bytes = 0;
            double t = thread_cpu();
            for (int i = 0; i < have; i++) {
                char *buf = NULL;
                size_t len = 0;
                FILE *f = open_memstream(&buf, &len);
                char err[256];
                png_io_write_indexed(f, tiles + strip * (size_t)i, TILE_SIZE, TILE_SIZE, TILE_SIZE, render_palette(),
                                  NULL, &trials[k].o, err, sizeof err);
                fclose(f);
                bytes += len;
                free(buf);
            }
            double el = (thread_cpu() - t) / (have ? have : 1);
            if (el < best)
                best = el;
        }
        printf("  %-46s %12.1f %12.0f\n", trials[k].name, best * 1e6, have ? (double)bytes / have : 0.0);
    }
    free(tiles);
    render_lanes_free(rl);
    render_layout_free(&l);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"quick", no_argument, NULL, 'q'},     {"events", required_argument, NULL, 'n'},
                                         {"trace", required_argument, NULL, 't'}, {"jobs", required_argument, NULL, 'j'},
                                         {"max-zoom", required_argument, NULL, 'z'}, {NULL, 0, NULL, 0}};
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD); /* as gilview does */
    int quick = 0, jobs = 0, max_zoom = -1, c;
    uint64_t events = 100000000;
    const char *trace = NULL;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'q': quick = 1; break;
        case 'n': events = (uint64_t)strtod(optarg, NULL); break;
        case 't': trace = optarg; break;
        case 'j': jobs = atoi(optarg); break;
        case 'z': max_zoom = atoi(optarg); break;
        default: return 2;
        }
    }
    if (quick && events == 100000000)
        events = 200000;
    char path[512];
    if (trace)
        snprintf(path, sizeof path, "%s", trace);
    else
        snprintf(path, sizeof path, "bench-viewer-%llu.db", (unsigned long long)events);
    int reps = quick ? 3 : 41;
    int W = 1600, H = 900;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    printf("bench_viewer%s: %ld CPUs; frames %dx%d; medians of %d frames\n", quick ? " (quick)" : "", cores, W, H, reps);

    ensure_trace(path, events, trace != NULL);
    char err[512], v1[64];

    /* summary build rates */
    double mem_rate, bpe;
    bench_build_memory(quick ? events : (events < 20000000 ? events : 20000000), &mem_rate, &bpe);
    uint64_t db_events = 0;
    double db_rate = bench_build_db(path, &db_events);

    /* open */
    double opens[7];
    int nopen = quick ? 3 : 7;
    for (int i = 0; i < nopen; i++) {
        double t = ring_clock_monotonic_s();
        struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
        if (!v)
            die("open", err);
        struct render_layout l;
        render_layout_init(&l, v);
        opens[i] = ring_clock_monotonic_s() - t;
        render_layout_free(&l);
        tdb_view_close(v);
    }
    double open_med = median(opens, nopen);

    /* frames */
    struct render *r = render_new(NULL, err, sizeof err);
    if (!r)
        die("render", err);
    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    if (!v)
        die("open", err);
    struct render_layout l;
    render_layout_init(&l, v);
    struct render_image img = {malloc((size_t)W * H * 4), W, H, W};
    int lx, ly, lw, lh;
    render_lane_rect(W, H, &lx, &ly, &lw, &lh);
    struct zoom z[4];
    make_zooms(v, lw, z);
    double cold[4], med[4];
    for (int k = 0; k < 4; k++)
        frame_times(r, v, &l, &img, &z[k], reps, &cold[k], &med[k]);

    long peak = viewer_peak_kb(path, W, H, quick ? 2 : 10);

    /* tiles: onto the disk (/tmp) and into memory (/dev/shm), wall and CPU time */
    struct tiles_result tr, tr_shm = {0};
    double cpu_disk = 0, cpu_shm = 0;
    int have_shm = access("/dev/shm", W_OK) == 0;
    for (int k = 0; k < 1 + have_shm; k++) {
        char dir[64];
        snprintf(dir, sizeof dir, "%s/bench-viewer-tiles-XXXXXX", k ? "/dev/shm" : "/tmp");
        if (!mkdtemp(dir))
            die("mkdtemp", dir);
        struct tiles_options to = {.dir = dir, .max_zoom = max_zoom >= 0 ? max_zoom : quick ? 5 : 12, .jobs = jobs,
                                   .png = png_tile_default};
        double c0 = cpu_seconds();
        if (tiles_export(v, &to, k ? &tr_shm : &tr, err, sizeof err))
            die("tiles", err);
        *(k ? &cpu_shm : &cpu_disk) = cpu_seconds() - c0;
        nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    uint64_t tiles = tr.written + tr.linked;

    printf("\n%llu events, %zu lanes in %zu processes\n", (unsigned long long)tdb_view_event_count(v),
           tdb_view_lane_count(v), tdb_view_process_count(v));
    printf("  %-46s %16s   %-18s\n", "figure", "median", "goal");
    for (int k = 0; k < 4; k++) {
        char what[96], val[64];
        snprintf(what, sizeof what, "frame: %s", z[k].name);
        snprintf(val, sizeof val, "%.2f ms", med[k] * 1e3);
        row(what, val, k < 3 ? "<= 16 ms" : "(no goal)", k < 3 ? med[k] <= 0.016 : -1);
        snprintf(what, sizeof what, "  first frame at that zoom (cold cache)");
        snprintf(val, sizeof val, "%.2f ms", cold[k] * 1e3);
        row(what, val, "", -1);
    }
    snprintf(v1, sizeof v1, "%.1f ms", open_med * 1e3);
    row("open the trace (summaries present)", v1, "<= 1 s", open_med <= 1.0);
    snprintf(v1, sizeof v1, "%.0f MB", peak / 1024.0);
    row("viewer peak memory (RSS, all zooms)", v1, "<= 300 MB", peak > 0 && peak / 1024.0 <= 300);
    snprintf(v1, sizeof v1, "%.1f M events/s", mem_rate / 1e6);
    row("summary build, at dump (from memory)", v1, ">= 10 M events/s", mem_rate >= 1e7);
    snprintf(v1, sizeof v1, "%.1f M events/s", db_rate / 1e6);
    row("summary build, first open (event table)", v1, "(no goal)", -1);
    snprintf(v1, sizeof v1, "%.2f B/event", bpe);
    row("summary size", v1, "", -1);
    snprintf(v1, sizeof v1, "%.0f tiles/s", tr.seconds > 0 ? (double)tiles / tr.seconds : 0);
    char goal[64];
    snprintf(goal, sizeof goal, ">= 5000 (%d jobs)", jobs ? jobs : (int)cores);
    row("tile export to disk (/tmp), wall clock", v1, goal, tiles / tr.seconds >= 5000);
    snprintf(v1, sizeof v1, "%.0f us", cpu_disk / (double)tiles * 1e6);
    row("  CPU time per tile (all threads)", v1, "", -1);
    snprintf(v1, sizeof v1, "%.0f tiles/s", (double)tiles / cpu_disk * (double)cores);
    row("  => with every CPU free", v1, "", -1);
    if (have_shm) {
        uint64_t t2 = tr_shm.written + tr_shm.linked;
        snprintf(v1, sizeof v1, "%.0f tiles/s", tr_shm.seconds > 0 ? (double)t2 / tr_shm.seconds : 0);
        row("tile export to memory (/dev/shm), wall clock", v1, goal, t2 / tr_shm.seconds >= 5000);
        snprintf(v1, sizeof v1, "%.0f us", cpu_shm / (double)t2 * 1e6);
        row("  CPU time per tile (all threads)", v1, "", -1);
        snprintf(v1, sizeof v1, "%.0f tiles/s", (double)t2 / cpu_shm * (double)cores);
        row("  => with every CPU free", v1, "", -1);
    }
    snprintf(v1, sizeof v1, "%.0f B", tr.written ? (double)tr.bytes / tr.written : 0);
    row("bytes per tile written", v1, "", -1);
    printf("  (tiles: zoom 0-%d, %llu tiles: %llu written, %llu identical linked, %llu empty skipped, %.2f s)\n",
           tr.geometry.max_zoom, (unsigned long long)tiles, (unsigned long long)tr.written,
           (unsigned long long)tr.linked, (unsigned long long)tr.empty, tr.seconds);
    bench_png(v, quick);

    free(img.px);
    render_layout_free(&l);
    tdb_view_close(v);
    render_free(r);
    if (quick && !trace)
        unlink(path);
    return 0;
}
