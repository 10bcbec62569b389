/*
 * render_frame.c — composing a whole frame: ruler, labels, lane area,
 * overlays, legend and status line. See render.h.
 */
#include "render.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_text.h"
#include "timefmt.h"

#define C_CHROME 0xfff4f4f4u
#define C_RULER 0xffe8e8e8u
#define C_LINE 0xffb0b0b0u
#define C_TEXT 0xff202020u
#define C_TEXT2 0xff606060u
#define C_HEADER_BAND 0xffe2e6eeu
#define C_SELECT 0x402060ffu
#define C_HIGHLIGHT 0xff000000u
#define C_CURSOR 0x90000000u
#define C_PANEL 0xf0ffffffu

struct render {
    struct render_font *font;
    struct render_lanes *lanes;
    uint8_t *idx;
    size_t idx_cap;
};

struct render *render_new(const char *font_path, char *err, size_t n)
{
    if (!font_path)
        font_path = getenv("GILVIEW_FONT");
    if (!font_path || !*font_path)
        font_path = RENDER_DEFAULT_FONT;
    struct render *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    r->font = render_font_open(font_path, RENDER_FONT_PX, err, n);
    if (!r->font)
        goto fail_font;
    r->lanes = render_lanes_new();
    if (!r->lanes) {
        snprintf(err, n, "out of memory");
        goto fail_lanes;
    }
    return r;

fail_lanes:
    render_font_close(r->font);
fail_font:
    free(r);
    return NULL;
}

void render_free(struct render *r)
{
    if (!r)
        return;
    render_lanes_free(r->lanes);
    render_font_close(r->font);
    free(r->idx);
    free(r);
}

void render_lane_rect(int w, int h, int *x, int *y, int *lw, int *lh)
{
    *x = RENDER_LABEL_W;
    *y = RENDER_RULER_H;
    *lw = w > RENDER_LABEL_W ? w - RENDER_LABEL_W : 0;
    int rest = h - RENDER_RULER_H - RENDER_LEGEND_H - RENDER_STATUS_H;
    *lh = rest > 0 ? rest : 0;
}

struct render_window render_fit(const struct tdb_view *v, int width)
{
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    if (s1 <= s0)
        s1 = s0 + 1000;
    struct render_window w = {.t0 = (double)s0, .ns_per_px = (double)(s1 - s0) / (width > 0 ? width : 1)};
    return w;
}

void render_fill(struct render_image *img, int x, int y, int w, int h, uint32_t argb)
{
    int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    int x1 = x + w > img->w ? img->w : x + w, y1 = y + h > img->h ? img->h : y + h;
    unsigned a = argb >> 24, ia = 255 - a;
    for (int yy = y0; yy < y1; yy++) {
        uint32_t *row = img->px + (size_t)yy * (size_t)img->stride;
        for (int xx = x0; xx < x1; xx++) {
            if (a == 255) {
                row[xx] = argb;
                continue;
            }
            uint32_t d = row[xx];
            unsigned r = (((argb >> 16) & 0xff) * a + ((d >> 16) & 0xff) * ia + 127) / 255;
            unsigned g = (((argb >> 8) & 0xff) * a + ((d >> 8) & 0xff) * ia + 127) / 255;
            unsigned b = ((argb & 0xff) * a + (d & 0xff) * ia + 127) / 255;
            row[xx] = 0xff000000u | r << 16 | g << 8 | b;
        }
    }
}

int render_text_width(struct render *r, const char *s)
{
    return render_font_width(r->font, s, -1);
}

void render_text(struct render *r, struct render_image *img, int x, int y, uint32_t argb, const char *s)
{
    render_font_draw(r->font, img, x, y, argb, s);
}

/* `s` cut to fit `max_w` pixels, with an ellipsis if cut; control
 * characters (a newline in a command line) shown as spaces. */
static void text_fit(struct render *r, struct render_image *img, int x, int y, int max_w, uint32_t c, const char *s)
{
    char clean[512];
    size_t k = 0;
    for (; s[k] && k < sizeof clean - 1; k++)
        clean[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? ' ' : s[k];
    clean[k] = '\0';
    s = clean;
    int ell;
    int n = render_font_fit(r->font, s, max_w, &ell);
    char buf[512];
    if (n > (int)sizeof buf - 4)
        n = (int)sizeof buf - 4;
    memcpy(buf, s, (size_t)n);
    buf[n] = '\0';
    if (ell)
        strcat(buf, "…");
    render_font_draw(r->font, img, x, y, c, buf);
}

/* A sub-image: the rectangle (x, y, w, h) of img, clipped. */
static struct render_image sub_image(struct render_image *img, int x, int y, int w, int h)
{
    if (x < 0) {
        w += x;
        x = 0;
    }
    if (y < 0) {
        h += y;
        y = 0;
    }
    if (x + w > img->w)
        w = img->w - x;
    if (y + h > img->h)
        h = img->h - y;
    struct render_image s = {img->px + (size_t)(y > 0 ? y : 0) * (size_t)img->stride + (size_t)(x > 0 ? x : 0),
                             w > 0 ? w : 0, h > 0 ? h : 0, img->stride};
    return s;
}

static void draw_lane_area(struct render *r, struct tdb_view *v, const struct render_layout *l,
                           const struct render_window *win, struct render_image *img, int lx, int ly, int lw,
                           int lh, int *failed)
{
    if (lw <= 0 || lh <= 0)
        return;
    size_t need = (size_t)lw * (size_t)lh;
    if (r->idx_cap < need) {
        uint8_t *p = realloc(r->idx, need);
        if (!p) {
            *failed = 1;
            return;
        }
        r->idx = p;
        r->idx_cap = need;
    }
    if (render_lanes_indexed(r->lanes, v, l, win->t0, win->ns_per_px, lw, win->y_scroll, lh, r->idx, (size_t)lw))
        *failed = 1;
    const uint32_t *pal = render_palette();
    for (int y = 0; y < lh && ly + y < img->h; y++) {
        uint32_t *row = img->px + (size_t)(ly + y) * (size_t)img->stride + lx;
        const uint8_t *src = r->idx + (size_t)y * (size_t)lw;
        for (int x = 0; x < lw && lx + x < img->w; x++)
            row[x] = pal[src[x]];
    }
}

static void draw_ruler(struct render *r, const struct render_window *win, struct render_image *img, int lx, int lw)
{
    render_fill(img, 0, 0, img->w, RENDER_RULER_H, C_RULER);
    render_fill(img, 0, RENDER_RULER_H - 1, img->w, 1, C_LINE);
    double w = win->ns_per_px;
    double step = timefmt_tick_step(w, 100);
    double minor = step / 5;
    double anchor = timefmt_anchor(win->t0, step);
    struct render_image ruler = sub_image(img, lx, 0, lw, RENDER_RULER_H);
    double t_end = win->t0 + lw * w;
    double first = ceil(win->t0 / minor) * minor;
    for (int k = 0; k < 10000; k++) {
        double t = first + k * minor;
        if (t > t_end)
            break;
        int x = (int)floor((t - win->t0) / w);
        bool major = fabs(remainder(t, step)) < minor / 2;
        int len = major ? 10 : 4;
        render_fill(&ruler, x, RENDER_RULER_H - 1 - len, 1, len, C_LINE);
        if (major) {
            char buf[64];
            timefmt_tick(buf, sizeof buf, t - anchor, step);
            if (anchor != 0 && t - anchor > 0) {
                memmove(buf + 1, buf, strlen(buf) + 1);
                buf[0] = '+';
            }
            int tw = render_font_width(r->font, buf, -1);
            int tx = x - tw / 2;
            if (tx < 3)
                tx = 3;
            if (tx + tw <= lw - 3)
                render_font_draw(r->font, &ruler, tx, 15, C_TEXT, buf);
        }
    }
    char corner[96];
    if (anchor != 0) {
        char a[48];
        double big = step * 1000;
        int dec = 0;
        while (dec < 9 && big < 1e9 / pow(10, dec))
            dec++;
        snprintf(a, sizeof a, "%.*f s", dec, anchor / 1e9);
        snprintf(corner, sizeof corner, "from %s", a);
    } else {
        snprintf(corner, sizeof corner, "time since start");
    }
    struct render_image left = sub_image(img, 0, 0, RENDER_LABEL_W - 4, RENDER_RULER_H);
    text_fit(r, &left, 8, 20, RENDER_LABEL_W - 12, C_TEXT2, corner);
}

static void draw_labels(struct render *r, const struct tdb_view *v, const struct render_layout *l,
                        const struct render_window *win, struct render_image *img, int ly, int lh)
{
    struct render_image col = sub_image(img, 0, ly, RENDER_LABEL_W, lh);
    render_fill(img, RENDER_LABEL_W - 1, ly, 1, lh, C_LINE);
    for (size_t p = 0; p < l->nprocs; p++) {
        int y = l->header_y[p] - win->y_scroll;
        if (l->header_y[p] < 0 || y + RENDER_HEADER_H < 0 || y > lh)
            continue;
        const struct tdb_view_process *pr = tdb_view_process(v, p);
        char buf[512];
        const char *cmd = pr->command ? pr->command : pr->exe ? pr->exe : "";
        /* the program's base name and its arguments */
        const char *space = strchr(cmd, ' '), *slash = cmd;
        for (const char *q = cmd; *q && (!space || q < space); q++)
            if (*q == '/')
                slash = q + 1;
        snprintf(buf, sizeof buf, "pid %d  %s", pr->pid, slash);
        render_fill(&col, 0, y, RENDER_LABEL_W - 1, RENDER_HEADER_H - 2, C_HEADER_BAND);
        text_fit(r, &col, 6, y + 14, RENDER_LABEL_W - 12, C_TEXT, buf);
    }
    for (size_t i = 0; i < l->nlanes; i++) {
        int y = l->lane_y[i] - win->y_scroll;
        if (y + RENDER_LANE_H < 0 || y > lh)
            continue;
        char buf[300];
        render_lane_label(tdb_view_lane(v, i), buf, sizeof buf);
        text_fit(r, &col, 14, y + RENDER_BAR_Y + 11, RENDER_LABEL_W - 20, C_TEXT, buf);
    }
}

static void swatch(struct render *r, struct render_image *img, int *x, int y, uint32_t c, int w, int h, int dy,
                   const char *label)
{
    render_fill(img, *x, y + dy, w, h, c);
    *x += w + 5;
    *x = render_font_draw(r->font, img, *x, y + 13, C_TEXT, label) + 16;
}

static void draw_legend(struct render *r, struct render_image *img, int y)
{
    render_fill(img, 0, y, img->w, 1, C_LINE);
    const uint32_t *pal = render_palette();
    int x = 8;
    swatch(r, img, &x, y + 2, pal[render_blend_index(1, 0)], 16, 10, 4, "holds the GIL");
    swatch(r, img, &x, y + 2, pal[render_blend_index(0, 1)], 16, 10, 4, "waits for it");
    swatch(r, img, &x, y + 2, pal[render_blend_index(0.5f, 0.5f)], 16, 10, 4, "both in one pixel");
    swatch(r, img, &x, y + 2, pal[RENDER_PAL_RETRY], 3, 10, 4, "retry");
    swatch(r, img, &x, y + 2, pal[RENDER_PAL_TIMEOUT], 3, 10, 4, "timeout");
    swatch(r, img, &x, y + 2, pal[RENDER_PAL_DROP], 3, 10, 4, "drop request");
    swatch(r, img, &x, y + 2, pal[RENDER_PAL_FORCED], 3, 10, 4, "forced switch");
}

static void default_status(const struct tdb_view *v, const struct render_window *win, int lw, char *buf, size_t cap)
{
    const char *name = tdb_view_name(v);
    char a[32], b[32], px[32];
    timefmt_duration(a, sizeof a, win->t0);
    timefmt_duration(b, sizeof b, lw * win->ns_per_px);
    timefmt_duration(px, sizeof px, win->ns_per_px);
    snprintf(buf, cap, "%s  ·  %zu process%s, %zu lane%s, %llu events  ·  from %s, %s wide  ·  %s per pixel",
             name, tdb_view_process_count(v), tdb_view_process_count(v) == 1 ? "" : "es",
             tdb_view_lane_count(v), tdb_view_lane_count(v) == 1 ? "" : "s",
             (unsigned long long)tdb_view_event_count(v), a, b, px);
}

/* Cells of a panel line, split at tabs. */
static int split_cells(const char *line, const char *cells[8], int lens[8])
{
    int n = 0;
    const char *p = line;
    while (n < 8) {
        const char *tab = strchr(p, '\t');
        cells[n] = p;
        lens[n] = tab ? (int)(tab - p) : (int)strlen(p);
        n++;
        if (!tab)
            break;
        p = tab + 1;
    }
    return n;
}

static void draw_panel(struct render *r, struct render_image *img, const struct render_overlay *ov, int lx, int ly,
                       int lw, int lh)
{
    /* tab-separated cells line up in columns */
    int colw[8] = {0}, single = 0;
    for (size_t i = 0; i < ov->panel_lines; i++) {
        const char *cells[8];
        int lens[8];
        int n = split_cells(ov->panel[i], cells, lens);
        for (int k = 0; k < n; k++) {
            int tw = render_font_width(r->font, cells[k], lens[k]);
            if (n == 1) {
                if (tw > single)
                    single = tw;
            } else if (tw > colw[k]) {
                colw[k] = tw;
            }
        }
    }
    const int gap = 18;
    int w = 0;
    for (int k = 0; k < 8; k++)
        w += colw[k] ? colw[k] + gap : 0;
    if (single > w)
        w = single;
    int line_h = 16;
    int bw = w + 24, bh = (int)ov->panel_lines * line_h + 16;
    /* a centred panel too tall for the lane area (help in a short window)
     * is centred on the whole frame instead, over the ruler and legend */
    bool over_frame = ov->panel_centered && bh > lh;
    int x = ov->panel_centered ? lx + (lw - bw) / 2 : lx + lw - bw - 10;
    int y = over_frame ? (img->h - bh) / 2 : ov->panel_centered ? ly + (lh - bh) / 2 : ly + 10;
    if (x < 0)
        x = 0;
    if (y < 0)
        y = 0;
    render_fill(img, x, y, bw, bh, C_PANEL);
    render_fill(img, x, y, bw, 1, C_LINE);
    render_fill(img, x, y + bh - 1, bw, 1, C_LINE);
    render_fill(img, x, y, 1, bh, C_LINE);
    render_fill(img, x + bw - 1, y, 1, bh, C_LINE);
    for (size_t i = 0; i < ov->panel_lines; i++) {
        const char *cells[8];
        int lens[8];
        int n = split_cells(ov->panel[i], cells, lens);
        int cx = x + 12;
        for (int k = 0; k < n; k++) {
            char buf[256];
            int len = lens[k] < (int)sizeof buf - 1 ? lens[k] : (int)sizeof buf - 1;
            memcpy(buf, cells[k], (size_t)len);
            buf[len] = '\0';
            render_font_draw(r->font, img, cx, y + 8 + 12 + (int)i * line_h, i == 0 ? C_TEXT : C_TEXT, buf);
            cx += colw[k] + gap;
        }
    }
}

static void draw_overlays(const struct render_layout *l, const struct render_window *win,
                          const struct render_overlay *ov, struct render_image *img, int lx, int ly, int lw, int lh)
{
    struct render_image area = sub_image(img, lx, ly, lw, lh);
    double w = win->ns_per_px;
    if (ov->selection) {
        double a = ov->sel_t0 < ov->sel_t1 ? ov->sel_t0 : ov->sel_t1, b = ov->sel_t0 < ov->sel_t1 ? ov->sel_t1 : ov->sel_t0;
        int x0 = (int)floor((a - win->t0) / w), x1 = (int)ceil((b - win->t0) / w);
        if (x1 <= x0)
            x1 = x0 + 1;
        render_fill(&area, x0, 0, x1 - x0, lh, C_SELECT);
        render_fill(&area, x0, 0, 1, lh, 0xff2060ffu);
        render_fill(&area, x1 - 1, 0, 1, lh, 0xff2060ffu);
    }
    if (ov->highlight && ov->hl_lane < l->nlanes) {
        int x0 = (int)floor((ov->hl_t0 - win->t0) / w) - 2, x1 = (int)ceil((ov->hl_t1 - win->t0) / w) + 2;
        int y0 = l->lane_y[ov->hl_lane] - win->y_scroll, y1 = y0 + RENDER_LANE_H;
        render_fill(&area, x0, y0, x1 - x0, 2, C_HIGHLIGHT);
        render_fill(&area, x0, y1 - 2, x1 - x0, 2, C_HIGHLIGHT);
        render_fill(&area, x0, y0, 2, y1 - y0, C_HIGHLIGHT);
        render_fill(&area, x1 - 2, y0, 2, y1 - y0, C_HIGHLIGHT);
    }
    if (ov->cursor_x >= 0)
        render_fill(&area, ov->cursor_x, 0, 1, lh, C_CURSOR);
}

int render_frame(struct render *r, struct tdb_view *v, const struct render_layout *l, const struct render_window *win,
                 const struct render_overlay *ov, const char *status, struct render_image *img)
{
    int lx, ly, lw, lh;
    render_lane_rect(img->w, img->h, &lx, &ly, &lw, &lh);
    render_fill(img, 0, 0, img->w, img->h, C_CHROME);
    int failed = 0;
    draw_lane_area(r, v, l, win, img, lx, ly, lw, lh, &failed);
    if (l->nlanes == 0 && lw > 0 && lh > 0) {
        const char *msg = "no GIL events in this trace";
        render_fill(img, lx, ly, lw, lh, 0xffffffffu);
        render_font_draw(r->font, img, lx + (lw - render_font_width(r->font, msg, -1)) / 2, ly + lh / 2, C_TEXT2, msg);
    }
    if (ov)
        draw_overlays(l, win, ov, img, lx, ly, lw, lh);
    draw_ruler(r, win, img, lx, lw);
    draw_labels(r, v, l, win, img, ly, lh);
    int y = img->h - RENDER_LEGEND_H - RENDER_STATUS_H;
    if (y >= ly)
        draw_legend(r, img, y);
    char buf[512];
    if (failed)
        snprintf(buf, sizeof buf, "error: %s", tdb_view_error(v));
    else if (!status)
        default_status(v, win, lw, buf, sizeof buf);
    else
        snprintf(buf, sizeof buf, "%s", status);
    struct render_image st = sub_image(img, 0, img->h - RENDER_STATUS_H, img->w, RENDER_STATUS_H);
    render_fill(&st, 0, 0, st.w, st.h, C_RULER);
    text_fit(r, &st, 8, 14, img->w - 16, failed ? 0xffb00000u : C_TEXT, buf);
    /* panels last, so that nothing of the frame covers them */
    if (ov && ov->panel && ov->panel_lines)
        draw_panel(r, img, ov, lx, ly, lw, lh);
    return failed ? -1 : 0;
}
