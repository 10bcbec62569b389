/*
 * render_lanes.c — the lane area as palette indices: for each lane in the
 * requested rows, its pixel columns (tdb_view_columns) become the state
 * bar's blend and the mark rows. See render.h for the picture.
 */
#include "render.h"

#include <stdlib.h>
#include <string.h>

/* A column's mark colours: top row, retry row, bottom row. */
struct marks {
    uint8_t top, retry, bottom;
};

static struct marks marks_of(const struct tdb_column *c)
{
    struct marks m = {RENDER_PAL_BG, RENDER_PAL_BG, RENDER_PAL_BG};
    if (c->n[TDB_N_DROP])
        m.top = RENDER_PAL_DROP;
    else if (c->n[TDB_N_TIMEOUT])
        m.top = RENDER_PAL_TIMEOUT;
    if (c->n[TDB_N_RETRY])
        m.retry = RENDER_PAL_RETRY;
    if (c->n[TDB_N_FORCED])
        m.bottom = RENDER_PAL_FORCED;
    else if (c->n[TDB_N_TOGGLE])
        m.bottom = RENDER_PAL_TOGGLE;
    return m;
}

struct render_lanes {
    struct tdb_column *cols;
    struct marks *marks;
    uint8_t *rows; /* a lane's bar and mark rows, `cap` bytes each */
    int cap;
};

struct render_lanes *render_lanes_new(void)
{
    return calloc(1, sizeof(struct render_lanes));
}

void render_lanes_free(struct render_lanes *rl)
{
    if (!rl)
        return;
    free(rl->cols);
    free(rl->marks);
    free(rl->rows);
    free(rl);
}

/* A mark row's colour at a pixel: its own mark, else a neighbour's (marks
 * are 3 px wide); the more telling colour wins where they meet. */
static uint8_t widen(uint8_t left, uint8_t self, uint8_t right)
{
    if (self != RENDER_PAL_BG)
        return self;
    return left > right ? left : right; /* palette order: RETRY < TIMEOUT < DROP < FORCED */
}

int render_lanes_indexed(struct render_lanes *rl, struct tdb_view *v, const struct render_layout *l, double t0,
                         double w, int width, int y0, int height, uint8_t *out, size_t stride)
{
    for (int y = 0; y < height; y++)
        memset(out + (size_t)y * stride, RENDER_PAL_BG, (size_t)width);
    if (width <= 0 || height <= 0)
        return 0;
    if (rl->cap < width + 2) {
        struct tdb_column *c = realloc(rl->cols, (size_t)(width + 2) * sizeof *c);
        if (c)
            rl->cols = c;
        struct marks *m = realloc(rl->marks, (size_t)(width + 2) * sizeof *m);
        if (m)
            rl->marks = m;
        uint8_t *r = realloc(rl->rows, 4 * (size_t)(width + 2));
        if (r)
            rl->rows = r;
        if (!c || !m || !r)
            return -1;
        rl->cap = width + 2;
    }
    int rc = 0;
    /* first lane that reaches row y0 */
    size_t first = 0;
    while (first < l->nlanes && l->lane_y[first] + RENDER_LANE_H <= y0)
        first++;
    for (size_t i = first; i < l->nlanes && l->lane_y[i] < y0 + height; i++) {
        /* one extra column each side: marks spill over by a pixel */
        if (tdb_view_columns(v, i, t0 - w, w, width + 2, rl->cols) != 0) {
            rc = -1;
            continue;
        }
        for (int x = 0; x < width + 2; x++)
            rl->marks[x] = marks_of(&rl->cols[x]);
        /* the lane's rows: a bar row and three mark rows, each filled once,
         * then copied into every row of its band */
        uint8_t *bar = rl->rows, *top = bar + width, *retry = top + width, *bottom = retry + width;
        float last_h = -1, last_w = -1;
        uint8_t b = RENDER_PAL_BG;
        for (int x = 0; x < width; x++) {
            const struct tdb_column *c = &rl->cols[x + 1];
            if (c->held != last_h || c->wait != last_w) {
                b = render_blend_index(c->held, c->wait);
                last_h = c->held;
                last_w = c->wait;
            }
            bar[x] = b;
            const struct marks *m = &rl->marks[x + 1], *ml = &rl->marks[x], *mr = &rl->marks[x + 2];
            top[x] = widen(ml->top, m->top, mr->top);
            retry[x] = widen(ml->retry, m->retry, mr->retry);
            bottom[x] = widen(ml->bottom, m->bottom, mr->bottom);
        }
        int ly = l->lane_y[i];
        int r0 = y0 > ly ? y0 - ly : 0, r1 = y0 + height - ly < RENDER_LANE_H ? y0 + height - ly : RENDER_LANE_H;
        for (int row = r0; row < r1; row++) {
            const uint8_t *src = NULL;
            if (row >= RENDER_BAR_Y && row < RENDER_BAR_Y + RENDER_BAR_H)
                src = bar;
            else if (row >= RENDER_MARK_TOP_Y && row < RENDER_MARK_TOP_Y + RENDER_MARK_H)
                src = top;
            else if (row >= RENDER_MARK_RETRY_Y && row < RENDER_MARK_RETRY_Y + RENDER_MARK_H)
                src = retry;
            else if (row >= RENDER_MARK_BOT_Y && row < RENDER_MARK_BOT_Y + RENDER_MARK_H)
                src = bottom;
            if (src)
                memcpy(out + (size_t)(ly + row - y0) * stride, src, (size_t)width);
        }
    }
    return rc;
}
