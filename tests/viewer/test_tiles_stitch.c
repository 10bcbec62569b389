/*
 * test_tiles_stitch.c — `gilview tiles` writes 256x256 palette PNGs that
 * libpng reads back; the tiles of one zoom level, stitched together, equal
 * the lane area of `gilview --screenshot` of the same window, pixel for
 * pixel (at a zoomed-out level drawn from summaries and at the deepest,
 * drawn from raw events), where a tile the manifest (G.state in index.html)
 * marks as adding no detail is drawn from its nearest written ancestor,
 * stretched, as the page draws it; tiles with nothing on them and tiles
 * that add no detail are not written.
 *
 * usage: test_tiles_stitch GILVIEW
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "png_io.h"
#include "render.h"
#include "run.h"
#include "tiles.h"
#include "trace_gen.h"

static const char *gilview;
static char dir[] = "/tmp/test-tiles-XXXXXX";
static json_t *manifest; /* G of index.html */
static int stretched;    /* tiles not written, drawn from an ancestor, not white */

/* G, the JSON that index.html assigns to `var G`. */
static json_t *load_manifest(const char *index)
{
    FILE *f = fopen(index, "rb");
    CHECK(f);
    static char page[1 << 22];
    size_t n = fread(page, 1, sizeof page - 1, f);
    fclose(f);
    page[n] = '\0';
    char *a = strstr(page, "var G = "), *b = a ? strstr(a, ";</script>") : NULL;
    CHECK(a && b);
    *b = '\0';
    json_error_t e;
    json_t *g = json_loads(a + 8, 0, &e);
    CHECK(g);
    return g;
}

static char tile_state(int z, int64_t x, int y)
{
    const char *s = json_string_value(json_array_get(json_object_get(manifest, "state"), (size_t)z));
    int rows = (int)json_integer_value(json_object_get(manifest, "rows"));
    CHECK(s && (size_t)(x * rows + y) < strlen(s));
    return s[x * rows + y];
}

/* Pixel (i, j) of tile (z, x, y) as the page draws it: the tile's own PNG,
 * white, or its nearest written ancestor's pixel, stretched. */
static uint32_t tile_pixel(int z, int64_t x, int y, int i, int j)
{
    static char loaded[700];
    static uint32_t *px;
    int64_t col = x * TILE_SIZE + i; /* in pixels of zoom z */
    for (; z >= 0; z--, x /= 2, col /= 2) {
        char st = tile_state(z, x, y);
        if (st == TILE_WHITE)
            return render_palette()[RENDER_PAL_BG];
        if (st == TILE_PARENT)
            continue;
        CHECK(st == TILE_FILE);
        char tile[700];
        snprintf(tile, sizeof tile, "%s/%d/%lld_%d.png", dir, z, (long long)x, y);
        if (strcmp(tile, loaded) != 0) {
            free(px);
            int tw, th;
            char e[256];
            CHECK(png_io_read_argb(tile, &px, &tw, &th, e, sizeof e) == 0);
            CHECK(tw == TILE_SIZE && th == TILE_SIZE);
            snprintf(loaded, sizeof loaded, "%s", tile);
        }
        return px[j * TILE_SIZE + (int)(col - x * TILE_SIZE)];
    }
    CHECK(!"zoom 0 is never TILE_PARENT");
    return 0;
}

/* Compare tiles (z, x0 .. x0+n-1, every row) with a screenshot of their window. */
static void compare(struct tdb_view *v, const struct tiles_geometry *g, int z, int64_t x0, int n, int *written,
                    int *missing)
{
    double w = tiles_ns_per_px(g, z);
    double a = g->t0 + (double)x0 * TILE_SIZE * w, b = a + (double)n * TILE_SIZE * w;
    char shot[600], size[64], range[128];
    snprintf(shot, sizeof shot, "%s/shot-%d.png", dir, z);
    int W = RENDER_LABEL_W + n * TILE_SIZE, H = RENDER_RULER_H + g->height + RENDER_LEGEND_H + RENDER_STATUS_H;
    snprintf(size, sizeof size, "%dx%d", W, H);
    snprintf(range, sizeof range, "%.17g:%.17g", a, b);
    char *argv[] = {(char *)gilview, "--force", "--screenshot", shot, "--size", size, "--range", range,
                    (char *)tdb_view_path(v), NULL};
    char *err;
    int rc = run_cmd(argv, NULL, &err);
    if (rc != 0)
        fprintf(stderr, "screenshot: %s", err);
    CHECK_EQ_INT(rc, 0);
    free(err);
    uint32_t *sp;
    int sw, sh;
    char e[256];
    CHECK(png_io_read_argb(shot, &sp, &sw, &sh, e, sizeof e) == 0);
    CHECK_EQ_INT(sw, W);
    CHECK_EQ_INT(sh, H);
    uint32_t white = render_palette()[RENDER_PAL_BG];
    for (int x = 0; x < n; x++)
        for (int y = 0; y < g->rows; y++) {
            char tile[700], st = tile_state(z, x0 + x, y);
            snprintf(tile, sizeof tile, "%s/%d/%lld_%d.png", dir, z, (long long)(x0 + x), y);
            CHECK((access(tile, F_OK) == 0) == (st == TILE_FILE)); /* written exactly when the manifest says */
            if (st == TILE_FILE) {
                /* a palette PNG: IHDR colour type 3 */
                FILE *f = fopen(tile, "rb");
                unsigned char hdr[26];
                CHECK(f && fread(hdr, 1, sizeof hdr, f) == sizeof hdr);
                fclose(f);
                CHECK_EQ_INT(hdr[25], 3);
                (*written)++;
            } else {
                (*missing)++;
            }
            bool any = false;
            for (int j = 0; j < TILE_SIZE; j++)
                for (int i = 0; i < TILE_SIZE; i++) {
                    uint32_t t = tile_pixel(z, x0 + x, y, i, j);
                    int row = y * TILE_SIZE + j;
                    uint32_t s = row < g->height ? sp[(size_t)(RENDER_RULER_H + row) * (size_t)W +
                                                      (size_t)(RENDER_LABEL_W + x * TILE_SIZE + i)]
                                                 : white;
                    if (t != s) {
                        fprintf(stderr, "zoom %d tile %lld/%d (%c) pixel (%d,%d): tile 0x%08x screenshot 0x%08x\n",
                                z, (long long)(x0 + x), y, st, i, j, t, s);
                        exit(1);
                    }
                    any = any || t != white;
                }
            if (st == TILE_WHITE)
                CHECK(!any);
            stretched += st == TILE_PARENT && any;
        }
    free(sp);
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    gilview = argv[1];
    CHECK(mkdtemp(dir));
    char path[600];
    snprintf(path, sizeof path, "%s/trace.db", dir);
    /* two processes of six threads each (two rows of tiles); the second
     * starts long after the first ends, so tiles between are empty */
    struct trace_gen_options o = {.pattern = TRACE_GEN_PINGPONG, .events = 30000, .threads = 6, .seed = 3,
                                  .interval_ns = 50000, .start_ns = 1000000000};
    struct trace_process p[3];
    CHECK(trace_gen_process(&o, 0, &p[0]) == 0);
    o.start_ns = p[0].end_ns + (p[0].end_ns - p[0].start_ns) * 3;
    o.pattern = TRACE_GEN_CONVOY;
    CHECK(trace_gen_process(&o, 1, &p[1]) == 0);
    /* a third, later: two threads taking turns every 100 ms, so deep tiles
     * inside one hold add no detail to their parents and are not written */
    struct trace_gen_options o3 = {.pattern = TRACE_GEN_PINGPONG, .events = 24, .threads = 2, .seed = 4,
                                   .interval_ns = 100000000, .start_ns = p[1].end_ns + 1000000};
    CHECK(trace_gen_process(&o3, 2, &p[2]) == 0);
    char err[256];
    CHECK(trace_gen_write_processes(path, p, 3, err, sizeof err) == 0);
    for (int i = 0; i < 3; i++)
        trace_process_free(&p[i]);

    char tiles_dir[600];
    snprintf(tiles_dir, sizeof tiles_dir, "%s", dir);
    /* the folder holds the trace too: --force */
    char *targv[] = {(char *)gilview, "tiles", path, "-o", tiles_dir, "--force", "--max-zoom", "7", "--jobs", "2",
                     NULL};
    char *out, *terr;
    int rc = run_cmd(targv, &out, &terr);
    if (rc != 0)
        fprintf(stderr, "tiles: %s", terr);
    CHECK_EQ_INT(rc, 0);
    CHECK(strstr(out, "tiles in"));
    free(out);
    free(terr);
    char index[700];
    snprintf(index, sizeof index, "%s/index.html", dir);
    CHECK(access(index, R_OK) == 0);
    manifest = load_manifest(index);

    struct tdb_view *v = tdb_view_open(path, NULL, err, sizeof err);
    CHECK(v);
    struct render_layout l;
    CHECK(render_layout_init(&l, v) == 0);
    struct tiles_geometry g;
    tiles_geometry(v, &l, 7, &g);
    CHECK(g.rows >= 2);
    int written = 0, missing = 0;
    /* zoom 3: the whole level, from summaries */
    CHECK(!tdb_view_is_raw(v, 0, tiles_ns_per_px(&g, 3)));
    compare(v, &g, 3, 0, (int)tiles_columns(v, &g, 3), &written, &missing);
    compare(v, &g, 5, 0, (int)tiles_columns(v, &g, 5), &written, &missing);
    /* zoom 7, the deepest: six columns across the first process's end, from raw events */
    CHECK(tdb_view_is_raw(v, 0, tiles_ns_per_px(&g, 7)));
    int64_t end_col = (int64_t)(((double)tdb_view_process(v, 0)->end_t - g.t0) / (TILE_SIZE * tiles_ns_per_px(&g, 7)));
    compare(v, &g, 7, end_col - 3, 6, &written, &missing);
    /* zoom 7 inside the third process's 100 ms turns */
    const struct tdb_view_process *third = tdb_view_process(v, 2);
    int64_t mid_col = (int64_t)(((double)(third->start_t + third->end_t) / 2 - g.t0) /
                                (TILE_SIZE * tiles_ns_per_px(&g, 7)));
    compare(v, &g, 7, mid_col - 4, 8, &written, &missing);
    CHECK(written > 4);
    CHECK(missing > 0); /* empty tiles and tiles that add no detail are not written */
    CHECK(stretched > 0); /* and some of those are drawn, from an ancestor */
    render_layout_free(&l);
    tdb_view_close(v);
    json_decref(manifest);
    char *rmv[] = {"/bin/rm", "-rf", dir, NULL};
    run_cmd(rmv, NULL, NULL);
    printf("ok: %d written tiles compared, %d more drawn from an ancestor (%d of them not white) or white\n",
           written, missing, stretched);
    return 0;
}
