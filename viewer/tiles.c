/*
 * tiles.c — exporting the tile pyramid with every core. See tiles.h.
 *
 * Work is cut into tile columns (z, x): a worker draws the whole 256 px
 * wide strip of lanes once (every lane's pixels come from one summary
 * read), then cuts it into 256-row tiles. Workers take columns from a
 * shared counter, each with its own view of the trace.
 *
 * A tile that adds no detail to its parent (it equals, pixel for pixel, the
 * parent's half stretched twice as wide) is not written: a viewer draws the
 * nearest written ancestor stretched, which gives the same pixels, since by
 * induction every skipped tile equals its ancestor stretched. Deep inside
 * long holds and waits, and wherever events are sparser than pixels, whole
 * subtrees are skipped. What each tile is goes in a manifest (tiles.h).
 */
#include "tiles.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "progress_bar.h"
#include "ring_clock.h"

#define DEDUP_SLOTS 4096
#define BATCH 16

void tiles_geometry(const struct tdb_view *v, const struct render_layout *l, int max_zoom, struct tiles_geometry *g)
{
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    double len = (double)(s1 > s0 ? s1 - s0 : 1);
    double span = TILE_SIZE;
    while (span < len)
        span *= 2;
    g->t0 = (double)s0;
    g->span = span;
    g->height = l->height;
    g->rows = (l->height + TILE_SIZE - 1) / TILE_SIZE;
    if (g->rows < 1)
        g->rows = 1;
    if (max_zoom < 0) {
        max_zoom = 0;
        while (max_zoom < 14 && span / TILE_SIZE / ldexp(1.0, max_zoom + 1) >= 1.0)
            max_zoom++;
    }
    g->max_zoom = max_zoom;
}

double tiles_ns_per_px(const struct tiles_geometry *g, int z)
{
    return ldexp(g->span / TILE_SIZE, -z);
}

int64_t tiles_columns(const struct tdb_view *v, const struct tiles_geometry *g, int z)
{
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    double len = (double)(s1 > s0 ? s1 - s0 : 1);
    double per = tiles_ns_per_px(g, z) * TILE_SIZE;
    int64_t n = (int64_t)ceil(len / per);
    int64_t max = INT64_C(1) << z;
    return n < 1 ? 1 : n > max ? max : n;
}

/* Tiles whose every row is one colour, written once: key = the 256 row colours. */
struct dedup {
    pthread_mutex_t lock;
    struct dedup_entry {
        uint8_t key[TILE_SIZE];
        char *path;
    } *slots;
    size_t used;
};

struct job {
    struct tdb_view *view;
    const struct render_layout *layout;
    const struct tiles_options *opt;
    struct tiles_geometry g;
    int64_t *zoom_start; /* first unit of each zoom level */
    int64_t units;
    atomic_llong next;
    atomic_llong done, written, empty, linked, skipped, bytes;
    atomic_int failed;
    char *state;         /* TILE_* per (unit, row): unit * rows + y */
    pthread_mutex_t err_lock;
    char err[512];
    struct dedup dedup;
};

static void job_fail(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void job_fail(struct job *j, const char *fmt, ...)
{
    pthread_mutex_lock(&j->err_lock);
    if (!atomic_load(&j->failed)) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(j->err, sizeof j->err, fmt, ap);
        va_end(ap);
        atomic_store(&j->failed, 1);
    }
    pthread_mutex_unlock(&j->err_lock);
}

/* A private folder at `path`; one that exists must be a real folder (not
 * a symlink to one). */
static int make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0)
        return 0;
    struct stat st;
    if (errno != EEXIST || lstat(path, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = S_ISLNK(st.st_mode) ? ELOOP : ENOTDIR;
        return -1;
    }
    return 0;
}

static uint64_t hash_key(const uint8_t *k)
{
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < TILE_SIZE; i++)
        h = (h ^ k[i]) * 1099511628211ull;
    return h;
}

/* If an identical row-constant tile was written, link `path` to it and
 * return 1; else remember `path` for this key (when there is room) and return 0. */
static int dedup_link(struct dedup *d, const uint8_t *key, const char *path)
{
    uint64_t h = hash_key(key);
    int r = 0;
    pthread_mutex_lock(&d->lock);
    for (size_t probe = 0; probe < DEDUP_SLOTS; probe++) {
        struct dedup_entry *e = &d->slots[(h + probe) % DEDUP_SLOTS];
        if (!e->path) {
            if (d->used < DEDUP_SLOTS / 2) {
                memcpy(e->key, key, TILE_SIZE);
                e->path = strdup(path);
                d->used++;
            }
            break;
        }
        if (memcmp(e->key, key, TILE_SIZE) == 0) {
            r = link(e->path, path) == 0 ? 1 : 0;
            break;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* Does tile `px` (TILE_SIZE rows of `stride` bytes) equal its parent's
 * half (`half` 0: left, 1: right) stretched twice as wide? */
static bool same_as_parent(const uint8_t *px, const uint8_t *parent, size_t stride, int half)
{
    for (int r = 0; r < TILE_SIZE; r++) {
        const uint8_t *row = px + (size_t)r * stride, *prow = parent + (size_t)r * stride + half * TILE_SIZE / 2;
        for (int c = 0; c < TILE_SIZE; c++)
            if (row[c] != prow[c / 2])
                return false;
    }
    return true;
}

/* Write tile (z, x, y) as DIR/z/x_y.png; returns its TILE_* state, or -1
 * on failure (job_fail said why). */
static int write_tile(struct job *j, const uint8_t *px, size_t stride, int z, int64_t x, int y)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%d/%lld_%d.png", j->opt->dir, z, (long long)x, y);
    /* one pass: which colours occur, and is every row one colour? */
    bool constant = true;
    uint8_t key[TILE_SIZE], used[256] = {0};
    for (int r = 0; r < TILE_SIZE; r++) {
        const uint8_t *row = px + (size_t)r * stride;
        key[r] = row[0];
        if (memcmp(row, row + 1, TILE_SIZE - 1) == 0) { /* one colour: most rows */
            used[row[0]] = 1;
            continue;
        }
        constant = false;
        for (int c = 0; c < TILE_SIZE; c++)
            used[row[c]] = 1;
    }
    bool empty = true;
    for (int i = 1; i < 256 && empty; i++)
        empty = !used[i];
    if (empty) {
        atomic_fetch_add(&j->empty, 1);
        return TILE_WHITE;
    }
    /* an earlier set's file is replaced, not written into: it may be a link
     * shared with other tiles, or a symlink */
    if (j->opt->replace && unlink(path) != 0 && errno != ENOENT) {
        job_fail(j, "cannot replace %s: %s", path, strerror(errno));
        return -1;
    }
    if (constant && dedup_link(&j->dedup, key, path)) {
        atomic_fetch_add(&j->linked, 1);
        return TILE_FILE;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        job_fail(j, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    char err[256];
    int rc = png_io_write_indexed(f, px, TILE_SIZE, TILE_SIZE, stride, render_palette(), used, &j->opt->png, err,
                               sizeof err);
    long size = ftell(f);
    if (fclose(f) != 0 || rc != 0) {
        job_fail(j, "cannot write %s: %s", path, rc ? err : strerror(errno));
        return -1;
    }
    atomic_fetch_add(&j->written, 1);
    atomic_fetch_add(&j->bytes, size > 0 ? size : 0);
    return TILE_FILE;
}

/* Draw the strip of column (z, x) into `strip`. */
static int draw_strip(struct job *j, struct render_lanes *rl, struct tdb_view *v, int z, int64_t x, uint8_t *strip)
{
    double w = tiles_ns_per_px(&j->g, z);
    double t0 = j->g.t0 + (double)x * TILE_SIZE * w;
    if (render_lanes_indexed(rl, v, j->layout, t0, w, TILE_SIZE, 0, j->g.rows * TILE_SIZE, strip, TILE_SIZE)) {
        job_fail(j, "%s", tdb_view_error(v));
        return -1;
    }
    return 0;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    char err[512];
    struct tdb_view *v = tdb_view_reopen(j->view, err, sizeof err);
    struct render_lanes *rl = render_lanes_new();
    size_t rows = (size_t)j->g.rows * TILE_SIZE;
    uint8_t *strip = malloc(rows * TILE_SIZE), *parent = malloc(rows * TILE_SIZE);
    int parent_z = -1;
    int64_t parent_x = -1;
    if (!v || !rl || !strip || !parent) {
        job_fail(j, "%s", v ? "out of memory" : err);
        goto out;
    }
    int64_t u = 0, batch_end = 0;
    while (!atomic_load(&j->failed)) {
        /* consecutive columns share summary chunks and parents: take them in batches */
        if (u >= batch_end) {
            u = atomic_fetch_add(&j->next, BATCH);
            batch_end = u + BATCH;
        }
        if (u >= j->units)
            break;
        int z = 0;
        while (z < j->g.max_zoom && u >= j->zoom_start[z + 1])
            z++;
        int64_t x = u - j->zoom_start[z];
        if (draw_strip(j, rl, v, z, x, strip))
            break;
        if (z > 0 && (parent_z != z - 1 || parent_x != x / 2)) {
            if (draw_strip(j, rl, v, z - 1, x / 2, parent))
                break;
            parent_z = z - 1;
            parent_x = x / 2;
        }
        for (int y = 0; y < j->g.rows; y++) {
            size_t off = (size_t)y * TILE_SIZE * TILE_SIZE;
            int st;
            if (z > 0 && same_as_parent(strip + off, parent + off, TILE_SIZE, (int)(x & 1))) {
                st = TILE_PARENT;
                atomic_fetch_add(&j->skipped, 1);
            } else {
                st = write_tile(j, strip + off, TILE_SIZE, z, x, y);
            }
            if (st < 0)
                break;
            j->state[(size_t)u * (size_t)j->g.rows + (size_t)y] = (char)st;
        }
        atomic_fetch_add(&j->done, 1);
        u++;
    }
out:
    free(strip);
    free(parent);
    render_lanes_free(rl);
    tdb_view_close(v);
    return NULL;
}

static void show_progress(struct job *j, struct progress_bar *bar, double started)
{
    long long tiles = atomic_load(&j->written) + atomic_load(&j->linked);
    double el = ring_clock_monotonic_s() - started;
    char note[64];
    snprintf(note, sizeof note, "%lld tiles  %.0f tiles/s", tiles, el > 0 ? (double)tiles / el : 0.0);
    progress_bar_update(bar, (uint64_t)atomic_load(&j->done), 0, note);
}

int tiles_export(struct tdb_view *v, const struct tiles_options *o, struct tiles_result *res, char *err, size_t n)
{
    memset(res, 0, sizeof *res);
    struct render_layout l;
    if (render_layout_init(&l, v)) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        render_layout_free(&l);
        snprintf(err, n, "out of memory");
        return -1;
    }
    j->view = v;
    j->layout = &l;
    j->opt = o;
    tiles_geometry(v, &l, o->max_zoom, &j->g);
    pthread_mutex_init(&j->err_lock, NULL);
    pthread_mutex_init(&j->dedup.lock, NULL);
    j->dedup.slots = calloc(DEDUP_SLOTS, sizeof *j->dedup.slots);
    j->zoom_start = calloc((size_t)j->g.max_zoom + 2, sizeof *j->zoom_start);
    int rc = -1;
    pthread_t *threads = NULL;
    if (!j->dedup.slots || !j->zoom_start) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    for (int z = 0; z <= j->g.max_zoom; z++)
        j->zoom_start[z + 1] = j->zoom_start[z] + tiles_columns(v, &j->g, z);
    j->units = j->zoom_start[j->g.max_zoom + 1];
    j->state = calloc((size_t)j->units * (size_t)j->g.rows, 1);
    if (!j->state) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    if (make_dir(o->dir)) {
        snprintf(err, n, "cannot create %s: %s", o->dir, strerror(errno));
        goto out;
    }
    for (int z = 0; z <= j->g.max_zoom; z++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%d", o->dir, z);
        if (make_dir(dir)) {
            snprintf(err, n, "cannot create %s: %s", dir, strerror(errno));
            goto out;
        }
    }
    int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if (jobs > 256)
        jobs = 256;
    threads = calloc((size_t)jobs, sizeof *threads);
    if (!threads) {
        snprintf(err, n, "out of memory");
        goto out;
    }
    double started = ring_clock_monotonic_s();
    int started_threads = 0;
    for (int i = 0; i < jobs; i++) {
        if (pthread_create(&threads[i], NULL, worker, j) != 0)
            break;
        started_threads++;
    }
    if (started_threads == 0) {
        snprintf(err, n, "cannot start worker threads");
        goto out;
    }
    if (o->progress) {
        struct progress_bar bar;
        progress_bar_start(&bar, "gilview tiles:", (uint64_t)j->units);
        while (atomic_load(&j->done) < j->units && !atomic_load(&j->failed)) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            show_progress(j, &bar, started);
        }
        progress_bar_done(&bar);
    }
    for (int i = 0; i < started_threads; i++)
        pthread_join(threads[i], NULL);
    res->seconds = ring_clock_monotonic_s() - started;
    if (atomic_load(&j->failed)) {
        snprintf(err, n, "%s", j->err);
        goto out;
    }
    if (tiles_write_html(o->dir, v, &l, &j->g, j->state, err, n))
        goto out;
    res->written = (uint64_t)atomic_load(&j->written);
    res->empty = (uint64_t)atomic_load(&j->empty);
    res->linked = (uint64_t)atomic_load(&j->linked);
    res->skipped = (uint64_t)atomic_load(&j->skipped);
    res->bytes = (uint64_t)atomic_load(&j->bytes);
    res->units = (uint64_t)j->units;
    res->geometry = j->g;
    rc = 0;
out:
    free(threads);
    if (j->dedup.slots)
        for (size_t i = 0; i < DEDUP_SLOTS; i++)
            free(j->dedup.slots[i].path);
    free(j->dedup.slots);
    free(j->zoom_start);
    free(j->state);
    pthread_mutex_destroy(&j->err_lock);
    pthread_mutex_destroy(&j->dedup.lock);
    free(j);
    render_layout_free(&l);
    return rc;
}
