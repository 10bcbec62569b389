/*
 * tiles.h — the PNG tile pyramid of a trace: DIR/z/x_y.png (one folder per
 * zoom level), 256x256 palette PNGs of the lane area, where zoom scales
 * time only (zoom z is 2^z tiles across the trace) and lanes keep the
 * height they have in the window, so y counts 256-row bands of lanes.
 *
 * Only tiles that add detail are written. Each tile is one of (the
 * manifest, G.state in DIR/index.html: per zoom a string with one
 * character per tile, index x * rows + y):
 *   TILE_FILE   '1' written, DIR/z/x_y.png (tiles whose every row is one
 *               colour are written once and hard-linked);
 *   TILE_WHITE  '2' nothing drawn on it (white), not written;
 *   TILE_PARENT '0' equal to its parent (z-1, x/2, y)'s left (x even) or
 *               right half stretched twice as wide: not written; draw the
 *               parent's half, which may itself be TILE_PARENT.
 * Zoom 0 is never TILE_PARENT. DIR/index.html browses the pyramid
 * (tiles_html.c).
 *
 * Pixel x of tile (z, x) covers the same time as pixel x*256+x of a window
 * with t0 = geometry.t0 and ns_per_px = tiles_ns_per_px(z): both are
 * powers of two, so tiles stitch into exactly the lane area of a screenshot
 * of that window.
 */
#ifndef GILTRACE_TILES_H
#define GILTRACE_TILES_H

#include <stdbool.h>
#include <stdint.h>

#include "png_io.h"
#include "render.h"

#define TILE_SIZE 256

enum tiles_state { TILE_PARENT = '0', TILE_FILE = '1', TILE_WHITE = '2' };

struct tiles_geometry {
    double t0;     /* trace time at x = 0 (the trace's start) */
    double span;   /* ns across zoom 0's single tile: a power of two >= the trace's length */
    int rows;      /* tile rows: ceil(lane-area height / 256) */
    int height;    /* lane-area height in pixels */
    int max_zoom;  /* deepest zoom level */
};

/* The pyramid's geometry for view `v` laid out as `l`; max_zoom < 0 picks
 * the default (at most 2^14 tiles across, pixels no finer than 1 ns). */
void tiles_geometry(const struct tdb_view *v, const struct render_layout *l, int max_zoom, struct tiles_geometry *g);

/* ns per pixel at zoom z. */
double tiles_ns_per_px(const struct tiles_geometry *g, int z);

/* Tile columns at zoom z that reach into the trace. */
int64_t tiles_columns(const struct tdb_view *v, const struct tiles_geometry *g, int z);

struct tiles_options {
    const char *dir;
    int max_zoom;   /* < 0: default */
    int jobs;       /* threads; 0: one per online CPU */
    bool progress;  /* progress bar on stderr */
    bool replace;   /* dir may hold an earlier tile set: replace its files (unlink, then create) */
    struct png_tile_options png;
};

struct tiles_result {
    uint64_t written, empty, linked, skipped, units; /* skipped: TILE_PARENT ones */
    uint64_t bytes;  /* of the PNGs written (links not counted) */
    double seconds;
    struct tiles_geometry geometry;
};

/* Export the pyramid of `v` into o->dir (created if missing) and write
 * its index.html: folders 0700, files 0600, never through a symlink (a
 * folder or file that is one is an error). Whether o->dir may be written at
 * all (exists, holds files) is the caller's to decide. Returns 0, or -1 with
 * one line in `err`. */
int tiles_export(struct tdb_view *v, const struct tiles_options *o, struct tiles_result *res, char *err,
                 size_t err_len);

/* Write DIR/index.html for the pyramid (tiles_html.c); `state` holds the
 * tiles_state of every tile, zoom by zoom, column by column, row by row. */
int tiles_write_html(const char *dir, const struct tdb_view *v, const struct render_layout *l,
                     const struct tiles_geometry *g, const char *state, char *err, size_t err_len);

#endif
