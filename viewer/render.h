/*
 * render.h — the renderer: (trace view, time window, lanes, size) -> pixels.
 * It knows nothing of SDL, PNG or the tracer; the window (gilview), the
 * headless screenshots and the tile pyramid all draw through it, so they
 * show the same picture.
 *
 * Visual language (after Beazley): one lane per thread and GIL, grouped by
 * process; time runs left to right. In a lane's bar, green = holds the GIL,
 * red = waits for it (BUSY until ACQUIRE), white = not asking (I/O, sleep,
 * C code). A pixel over several states blends them by their fractions,
 * quantised to sixteenths, and a state present at all gets at least one
 * sixteenth, so zooming out never hides anything. Marks above the bar:
 * TIMEOUT (orange) / DROP_REQUEST (blue) on the top row, RETRY (dark red)
 * below it; under the bar, FORCED_SWITCH (purple) or GIL_DISABLED/ENABLED
 * (grey). A mark is 3 px wide, centred on its event's pixel.
 *
 * A frame is: a time ruler on top, lane labels on the left, the lane area,
 * a legend and a status line at the bottom. The lane area is drawn from a
 * fixed palette (render_palette), so it can be stored as palette PNGs, and
 * it contains nothing but lane pixels, so tiles of it stitch together into
 * exactly the lane area of a screenshot.
 */
#ifndef GILTRACE_RENDER_H
#define GILTRACE_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tdb_view.h"

/* Frame geometry, in pixels. */
#define RENDER_LABEL_W 220  /* lane labels, left */
#define RENDER_RULER_H 32   /* time ruler, top */
#define RENDER_LEGEND_H 22
#define RENDER_STATUS_H 20
#define RENDER_FONT_PX 12

/* Lane-area geometry: a process header row, then its lanes. */
#define RENDER_TOP_GAP 4
#define RENDER_HEADER_H 20
#define RENDER_LANE_H 26
#define RENDER_MARK_TOP_Y 0   /* rows 0-2: TIMEOUT / DROP_REQUEST */
#define RENDER_MARK_RETRY_Y 3 /* rows 3-5: RETRY */
#define RENDER_BAR_Y 6        /* rows 6-19: the state bar */
#define RENDER_BAR_H 14
#define RENDER_MARK_BOT_Y 20  /* rows 20-22: FORCED_SWITCH / toggles */
#define RENDER_MARK_H 3       /* marks are 3 px wide too, centred on their event's pixel */

/* ---- palette ---- */

enum {
    RENDER_PAL_BG = 0,     /* white: not asking, and the lane area's background */
    RENDER_PAL_BLEND0 = 1, /* 153 blends of (held, waiting) sixteenths */
    RENDER_PAL_RETRY = 154,
    RENDER_PAL_TIMEOUT,
    RENDER_PAL_DROP,
    RENDER_PAL_FORCED,
    RENDER_PAL_TOGGLE,
    RENDER_PAL_COUNT
};

/* The palette as 0xAARRGGBB. */
extern const uint32_t *render_palette(void);

/* The palette index of a pixel holding `held` and waiting `wait` of its
 * time (fractions; their sum is clamped to 1). */
uint8_t render_blend_index(float held, float wait);

/* Sixteenths of held and waiting time that palette index `i` stands for
 * (both 0 for non-blend entries). */
void render_blend_parts(uint8_t i, int *held16, int *wait16);

/* ---- layout ---- */

struct render_layout {
    size_t nlanes, nprocs;
    int *lane_y;   /* top of each lane in lane-area rows */
    int *header_y; /* top of each process's header row */
    int height;    /* lane-area rows in all */
};

/* Layout of every lane of `v`. Returns 0, or -1 when out of memory. */
int render_layout_init(struct render_layout *l, const struct tdb_view *v);
void render_layout_free(struct render_layout *l);

/* A lane's label as every picture shows it: "tid  name  (GIL n)", the name
 * and the GIL only when there are. */
void render_lane_label(const struct tdb_view_lane *ln, char *buf, size_t cap);

/* The lane at lane-area row y, or -1 (headers and gaps are no lane). */
long render_layout_lane_at(const struct render_layout *l, int y);

/* ---- drawing the lane area ---- */

struct render_lanes; /* per-thread scratch for lane drawing */
struct render_lanes *render_lanes_new(void);
void render_lanes_free(struct render_lanes *rl);

/* Draw lane-area rows [y0, y0 + height) of the window (t0, ns_per_px,
 * `width` pixels) as palette indices into out (row stride `stride`
 * bytes). Rows outside any lane are RENDER_PAL_BG. Returns 0, or -1 on a
 * database error (tdb_view_error(v) says which). */
int render_lanes_indexed(struct render_lanes *rl, struct tdb_view *v, const struct render_layout *l, double t0,
                         double ns_per_px, int width, int y0, int height, uint8_t *out, size_t stride);

/* ---- frames ---- */

struct render_image {
    uint32_t *px; /* 0xAARRGGBB (SDL's ARGB8888 on little-endian) */
    int w, h;
    int stride;   /* in pixels */
};

struct render_window {
    double t0;        /* time (trace ns) at the lane area's left edge */
    double ns_per_px; /* width of one pixel */
    int y_scroll;     /* lane-area rows scrolled off the top */
};

/* Overlays the interactive window adds; all optional. */
struct render_overlay {
    bool selection;                /* a selected time range */
    double sel_t0, sel_t1;
    bool highlight;                /* a framed interval on a lane (a wait jumped to) */
    size_t hl_lane;
    double hl_t0, hl_t1;
    int cursor_x;                  /* vertical cursor line in the lane area, -1: none */
    const char *const *panel;      /* lines of a panel (statistics, help); NULL: none */
    size_t panel_lines;
    bool panel_centered;           /* centre it (help) rather than top-right */
};

struct render;

/* A renderer with the font at `font_path` (NULL: RENDER_DEFAULT_FONT or
 * $GILVIEW_FONT). Returns NULL with one line in `err` (e.g. the font is
 * missing: install fonts-dejavu-core). */
struct render *render_new(const char *font_path, char *err, size_t err_len);
void render_free(struct render *r);

/* The lane area of an image of w x h: x, y, width, height. */
void render_lane_rect(int w, int h, int *x, int *y, int *lw, int *lh);

/* Draw a whole frame of view `v` (whose layout `l` is) into `img`.
 * `status` is the status line's text (NULL: a description of the window).
 * Returns 0, or -1 on a database error (the lanes are then blank and the
 * status line names the error). */
int render_frame(struct render *r, struct tdb_view *v, const struct render_layout *l,
                 const struct render_window *win, const struct render_overlay *ov, const char *status,
                 struct render_image *img);

/* The window that shows the whole trace in a lane area `width` pixels wide. */
struct render_window render_fit(const struct tdb_view *v, int width);

/* Text helpers for overlays drawn by callers: width of `s` in pixels, and
 * drawing it with its baseline at y. */
int render_text_width(struct render *r, const char *s);
void render_text(struct render *r, struct render_image *img, int x, int y, uint32_t argb, const char *s);
/* Fill a rectangle, blending `argb`'s alpha. */
void render_fill(struct render_image *img, int x, int y, int w, int h, uint32_t argb);

#endif
