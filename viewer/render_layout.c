/*
 * render_layout.c — where each process header and lane sits in the lane
 * area. One function for the window, the screenshots and the tiles, so
 * their rows line up. See render.h.
 */
#include "render.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include "search.h"

int render_layout_init(struct render_layout *l, const struct tdb_view *v)
{
    memset(l, 0, sizeof *l);
    l->nlanes = tdb_view_lane_count(v);
    l->nprocs = tdb_view_process_count(v);
    l->lane_y = calloc(l->nlanes ? l->nlanes : 1, sizeof *l->lane_y);
    l->header_y = calloc(l->nprocs ? l->nprocs : 1, sizeof *l->header_y);
    if (!l->lane_y || !l->header_y) {
        render_layout_free(l);
        return -1;
    }
    int y = RENDER_TOP_GAP;
    for (size_t p = 0; p < l->nprocs; p++) {
        const struct tdb_view_process *pr = tdb_view_process(v, p);
        l->header_y[p] = y;
        if (pr->lane_count == 0) {
            l->header_y[p] = -1;
            continue;
        }
        y += RENDER_HEADER_H;
        for (size_t i = pr->first_lane; i < pr->first_lane + pr->lane_count; i++) {
            l->lane_y[i] = y;
            y += RENDER_LANE_H;
        }
    }
    l->height = y + RENDER_TOP_GAP;
    return 0;
}

void render_layout_free(struct render_layout *l)
{
    free(l->lane_y);
    free(l->header_y);
    memset(l, 0, sizeof *l);
}

struct below_ctx {
    const struct render_layout *l;
    int y;
};

/* Does lane i end below y? */
static bool lane_ends_below(const void *ctx, size_t i)
{
    const struct below_ctx *c = ctx;
    return c->l->lane_y[i] + RENDER_LANE_H > c->y;
}

long render_layout_lane_at(const struct render_layout *l, int y)
{
    /* lanes are in increasing y */
    size_t lo = search_first(l->nlanes, lane_ends_below, &(struct below_ctx){l, y});
    if (lo < l->nlanes && y >= l->lane_y[lo] && y < l->lane_y[lo] + RENDER_LANE_H)
        return (long)lo;
    return -1;
}

void render_lane_label(const struct tdb_view_lane *ln, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%u", ln->tid);
    if (ln->name && (size_t)n < cap)
        n += snprintf(buf + n, cap - (size_t)n, "  %s", ln->name);
    if (ln->gil && (size_t)n < cap)
        snprintf(buf + n, cap - (size_t)n, "  (GIL %u)", ln->gil);
}
