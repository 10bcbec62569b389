/*
 * gilview_window.c — the interactive timeline: an SDL2 window showing the
 * renderer's frames, with zoom at the cursor, pan, zoom to fit, range
 * statistics, hover details, the longest waits one after another, a help
 * overlay, and F12 screenshots (the keys and mouse: gilview_window_input.c).
 * Frames are drawn only when something changed; every frame comes from the
 * summaries, so its cost does not grow with the trace.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "event_kind.h"
#include "png_io.h"
#include "ring_clock.h"
#include "timefmt.h"
#include "trace_figures.h"
#include "gilview_window_impl.h"

static const char *const help_lines[] = {
    "gilview — keys and mouse",
    "",
    "wheel, + / −\tzoom in / out at the cursor",
    "drag, ← →\tpan in time (drag also scrolls lanes)",
    "shift-wheel, ↑ ↓, PgUp PgDn\tscroll lanes",
    "f, Home, 0\tzoom to fit the whole trace",
    "shift-drag or right-drag\tselect a time range: per-thread statistics",
    "w / shift-w\tjump to the next / previous longest wait",
    "hover\tthe hold, wait or event under the cursor, and with Python",
    "\tstacks, the line where the hold ended or the wait began",
    "F12, s\tsave a screenshot (PNG) in the --save-dir",
    "? or h\tthis help",
    "Esc\tclose the panel or selection; again to quit",
    "q\tquit",
    "",
    "green = holds the GIL  ·  red = waits for it  ·  white = not asking",
};

void gv_window_clear_panel(struct win *w)
{
    for (size_t i = 0; i < w->panel_lines; i++)
        free(w->panel_text[i]);
    w->panel_lines = 0;
    w->stats_shown = false;
}

static void panel_add(struct win *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void panel_add(struct win *w, const char *fmt, ...)
{
    if (w->panel_lines >= MAX_PANEL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (!s)
        return;
    w->panel_text[w->panel_lines] = s;
    w->panel[w->panel_lines++] = s;
}

void gv_window_lane_rect(const struct win *w, int *lx, int *ly, int *lw, int *lh)
{
    render_lane_rect(w->w, w->h, lx, ly, lw, lh);
}

void gv_window_clamp_view(struct win *w)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    struct render_window fit = render_fit(w->v, lw > 0 ? lw : 1);
    double max_w = fit.ns_per_px * 4;
    if (w->view.ns_per_px < MIN_NS_PER_PX)
        w->view.ns_per_px = MIN_NS_PER_PX;
    if (w->view.ns_per_px > max_w)
        w->view.ns_per_px = max_w;
    /* keep some of the trace in sight */
    double span = fit.ns_per_px * lw, width = w->view.ns_per_px * lw;
    double lo = fit.t0 - width * 0.9, hi = fit.t0 + span - width * 0.1;
    if (w->view.t0 < lo)
        w->view.t0 = lo;
    if (w->view.t0 > hi)
        w->view.t0 = hi;
    int max_scroll = w->layout.height - lh;
    if (w->view.y_scroll > max_scroll)
        w->view.y_scroll = max_scroll;
    if (w->view.y_scroll < 0)
        w->view.y_scroll = 0;
}

void gv_window_zoom_at(struct win *w, int px, double factor)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    if (px < 0 || px >= lw)
        px = lw / 2;
    double t = w->view.t0 + px * w->view.ns_per_px;
    w->view.ns_per_px *= factor;
    gv_window_clamp_view(w);
    w->view.t0 = t - px * w->view.ns_per_px;
    gv_window_clamp_view(w);
    w->redraw = true;
}

void gv_window_fit(struct win *w)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    int y = w->view.y_scroll;
    w->view = render_fit(w->v, lw > 0 ? lw : 1);
    w->view.y_scroll = y;
    gv_window_clamp_view(w);
    w->redraw = true;
}

/* Range statistics of the selection, one line per lane. */
void gv_window_show_stats(struct win *w)
{
    gv_window_clear_panel(w);
    double a = fmin(w->sel_a, w->sel_b), b = fmax(w->sel_a, w->sel_b);
    char ta[32], tb[32], d[32];
    timefmt_duration(ta, sizeof ta, a);
    timefmt_duration(tb, sizeof tb, b);
    timefmt_duration(d, sizeof d, b - a);
    panel_add(w, "%s … %s  (%s)", ta, tb, d);
    panel_add(w, "thread\theld\twaiting\tacquires\tlongest wait");
    for (size_t i = 0; i < tdb_view_lane_count(w->v) && w->panel_lines < MAX_PANEL - 1; i++) {
        struct tdb_range_stats s;
        if (tdb_view_stats(w->v, i, a, b, &s)) {
            panel_add(w, "error: %s", tdb_view_error(w->v));
            break;
        }
        char label[200], lw[32];
        render_lane_label(tdb_view_lane(w->v, i), label, sizeof label);
        if (s.longest_wait_ns > 0)
            timefmt_duration(lw, sizeof lw, (double)s.longest_wait_ns);
        else
            snprintf(lw, sizeof lw, "–");
        /* shares of the lane's life within the selection, as the report's are of a thread's life */
        double life = tdb_view_life_within(w->v, i, a, b);
        panel_add(w, "%s\t%.1f%%\t%.1f%%\t%llu\t%s", label, 100.0 * trace_share((int64_t)s.held_ns, (int64_t)life),
                  100.0 * trace_share((int64_t)s.wait_ns, (int64_t)life), (unsigned long long)s.n[TDB_N_ACQUIRE], lw);
    }
    if (tdb_view_lane_count(w->v) + 2 > MAX_PANEL)
        panel_add(w, "… (more lanes than fit)");
    w->stats_shown = true;
}

void gv_window_hover(struct win *w)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    int x = w->mx - lx, y = w->my - ly;
    if (x < 0 || x >= lw || y < 0 || y >= lh) {
        if (!w->status_sticky)
            w->status[0] = '\0';
        return;
    }
    w->status_sticky = false;
    long lane = render_layout_lane_at(&w->layout, y + w->view.y_scroll);
    double t = w->view.t0 + (x + 0.5) * w->view.ns_per_px;
    char tt[32];
    timefmt_duration(tt, sizeof tt, t);
    if (lane < 0) {
        snprintf(w->status, sizeof w->status, "%s  ·  ? for help", tt);
        return;
    }
    char label[200];
    render_lane_label(tdb_view_lane(w->v, (size_t)lane), label, sizeof label);
    struct tdb_probe p;
    if (tdb_view_probe(w->v, (size_t)lane, t, w->view.ns_per_px, &p)) {
        snprintf(w->status, sizeof w->status, "error: %s", tdb_view_error(w->v));
        return;
    }
    int n = snprintf(w->status, sizeof w->status, "%s  ·  %s  ·  ", label, tt);
    size_t cap = sizeof w->status - (size_t)n;
    char *s = w->status + n;
    if (p.raw) {
        char a[32], b[32], d[32];
        timefmt_duration(a, sizeof a, (double)p.start_t);
        timefmt_duration(b, sizeof b, (double)p.end_t);
        timefmt_duration(d, sizeof d, (double)(p.end_t - p.start_t));
        const char *what = p.state & TDB_STATE_HELD ? "holds the GIL" : p.state & TDB_STATE_WAIT ? "waits for the GIL"
                                                                                                : "not asking";
        int k = snprintf(s, cap, "%s %s → %s (%s)", what, a, b, d);
        char site[300];
        bool held = p.state & TDB_STATE_HELD, waiting = p.state & TDB_STATE_WAIT;
        if ((held || waiting) && k > 0 && (size_t)k < cap &&
            tdb_view_py_site(w->v, (size_t)lane, held ? p.end_t : p.start_t, site, sizeof site)) {
            int m = snprintf(s + k, cap - (size_t)k, "  ·  %s %s", held ? "released at" : "began at", site);
            if (m > 0)
                k += m;
        }
        if (p.has_event && k > 0 && (size_t)k < cap) {
            char et[32];
            timefmt_duration(et, sizeof et, (double)p.event_t);
            const char *kn = event_kind_name(p.event_kind);
            if (p.event_cpu >= 0)
                snprintf(s + k, cap - (size_t)k, "  ·  %s at %s on CPU %d", kn ? kn : "?", et, p.event_cpu);
            else
                snprintf(s + k, cap - (size_t)k, "  ·  %s at %s", kn ? kn : "?", et);
        }
    } else {
        char pw[32];
        timefmt_duration(pw, sizeof pw, w->view.ns_per_px);
        snprintf(s, cap, "this pixel (%s): held %.0f%%, waiting %.0f%%, %u events: %u acquires, %u retries, "
                         "%u timeouts, %u drop requests, %u forced switches",
                 pw, 100.0 * p.col.held, 100.0 * p.col.wait, p.col.n[TDB_N_EVENTS], p.col.n[TDB_N_ACQUIRE],
                 p.col.n[TDB_N_RETRY], p.col.n[TDB_N_TIMEOUT], p.col.n[TDB_N_DROP], p.col.n[TDB_N_FORCED]);
    }
}

void gv_window_jump_to_wait(struct win *w, int dir)
{
    size_t n;
    const struct tdb_wait_span *ws = tdb_view_longest_waits(w->v, &n);
    if (n == 0) {
        snprintf(w->status, sizeof w->status, "this trace has no waits");
        w->status_sticky = true;
        w->redraw = true;
        return;
    }
    size_t i;
    if (dir > 0)
        i = w->highlight ? (w->wait_next + 1) % n : 0;
    else
        i = w->highlight ? (w->wait_next + n - 1) % n : 0;
    w->wait_next = i;
    const struct tdb_wait_span *s = &ws[i];
    w->hl = *s;
    w->highlight = true;
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    double len = (double)(s->end_t - s->start_t), width = fmax(len * 3, 2000);
    w->view.ns_per_px = width / (lw > 0 ? lw : 1);
    w->view.t0 = (double)s->start_t + len / 2 - width / 2;
    int y = w->layout.lane_y[s->lane];
    if (y < w->view.y_scroll || y + RENDER_LANE_H > w->view.y_scroll + lh)
        w->view.y_scroll = y - lh / 2;
    gv_window_clamp_view(w);
    char label[200], d[32], at[32];
    render_lane_label(tdb_view_lane(w->v, (size_t)s->lane), label, sizeof label);
    timefmt_duration(d, sizeof d, len);
    timefmt_duration(at, sizeof at, (double)s->start_t);
    snprintf(w->status, sizeof w->status,
             "longest wait #%zu of %zu: %s waited %s from %s (%u retries, %u timeouts)  ·  w: next", i + 1, n,
             label, d, at, s->retries, s->timeouts);
    w->status_sticky = true;
    w->redraw = true;
}

int gv_window_resize(struct win *w)
{
    SDL_GetWindowSize(w->sdl, &w->w, &w->h);
    if (w->w < 1)
        w->w = 1;
    if (w->h < 1)
        w->h = 1;
    uint32_t *px = realloc(w->img.px, (size_t)w->w * (size_t)w->h * sizeof *px);
    if (!px)
        return -1;
    w->img = (struct render_image){px, w->w, w->h, w->w};
    gv_window_clamp_view(w);
    w->redraw = true;
    return 0;
}

/* --live: swap in a view of what the process has recorded by now. A window
 * whose right edge was at the end of the trace keeps following the end;
 * refreshes are spaced three times their own cost, 0.5 s at least. */
static void live_refresh(struct win *w)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    int64_t s0, s1;
    tdb_view_span(w->v, &s0, &s1);
    bool following = w->view.t0 + w->view.ns_per_px * (lw + 1) >= (double)s1; /* within a pixel */
    uint64_t a = ring_clock_monotonic_ns();
    char err[512];
    if (gv_live_refresh(w->opt->live, err, sizeof err)) {
        snprintf(w->status, sizeof w->status, "pid %d: %s; showing what it had recorded",
                 (int)gv_live_pid(w->opt->live), err);
        w->status_sticky = true;
        w->refresh_ms = 2000;
        w->redraw = true;
        return;
    }
    double cost_ms = (double)(ring_clock_monotonic_ns() - a) / 1e6;
    w->refresh_ms = cost_ms * 3 > 500 ? (uint32_t)(cost_ms * 3) : 500;
    w->v = gv_live_view(w->opt->live);
    render_layout_free(&w->layout);
    if (render_layout_init(&w->layout, w->v)) {
        w->quit = true;
        return;
    }
    w->wait_next = 0;
    w->highlight = false;
    if (following) {
        tdb_view_span(w->v, &s0, &s1);
        w->view.t0 = (double)s1 - w->view.ns_per_px * lw;
    }
    gv_window_clamp_view(w);
    w->redraw = true;
}

void gv_window_draw(struct win *w)
{
    struct render_overlay ov = {.cursor_x = -1};
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    if (w->has_sel || w->selecting) {
        ov.selection = true;
        ov.sel_t0 = w->sel_a;
        ov.sel_t1 = w->sel_b;
    }
    if (w->highlight) {
        ov.highlight = true;
        ov.hl_lane = (size_t)w->hl.lane;
        ov.hl_t0 = (double)w->hl.start_t;
        ov.hl_t1 = (double)w->hl.end_t;
    }
    if (w->mouse_in && w->mx >= lx && w->mx < lx + lw && w->my >= ly && w->my < ly + lh && !w->dragging)
        ov.cursor_x = w->mx - lx;
    if (w->help) {
        ov.panel = help_lines;
        ov.panel_lines = sizeof help_lines / sizeof *help_lines;
        ov.panel_centered = true;
    } else if (w->panel_lines) {
        ov.panel = w->panel;
        ov.panel_lines = w->panel_lines;
    }
    render_frame(w->r, w->v, &w->layout, &w->view, &ov, w->status[0] ? w->status : NULL, &w->img);
    SDL_Surface *s = SDL_GetWindowSurface(w->sdl);
    if (!s)
        return;
    if (SDL_MUSTLOCK(s))
        SDL_LockSurface(s);
    int cw = s->w < w->w ? s->w : w->w, ch = s->h < w->h ? s->h : w->h;
    SDL_ConvertPixels(cw, ch, SDL_PIXELFORMAT_ARGB8888, w->img.px, w->img.stride * 4, s->format->format, s->pixels,
                      s->pitch);
    if (SDL_MUSTLOCK(s))
        SDL_UnlockSurface(s);
    SDL_UpdateWindowSurface(w->sdl);
    w->redraw = false;
}

void gv_window_save_screenshot(struct win *w)
{
    char path[4200];
    struct stat st;
    do /* the next name not taken (an earlier session's are kept) */
        snprintf(path, sizeof path, "%s/gilview-%03d.png", w->opt->save_dir, ++w->shots);
    while (lstat(path, &st) == 0 && w->shots < 100000);
    char err[512];
    if (png_io_write_rgb(path, false, &w->img, err, sizeof err)) {
        snprintf(w->status, sizeof w->status, "cannot save: %s", err);
    } else {
        int lx, ly, lw, lh, x, y;
        gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
        SDL_GetWindowPosition(w->sdl, &x, &y);
        /* one line per screenshot on stdout: scripts (and the tests) read it */
        printf("saved %s range %.3f:%.3f size %dx%d lanes-at %d,%d\n", path, w->view.t0,
               w->view.t0 + lw * w->view.ns_per_px, w->w, w->h, lx, ly);
        fflush(stdout);
        snprintf(w->status, sizeof w->status, "saved %.500s", path);
    }
    w->status_sticky = true;
    w->redraw = true;
}

/* Is there a display to open a window on? SDL would otherwise fall back
 * to a driver that draws nowhere (KMSDRM on a machine without a console),
 * and the program would wait for input that never comes. So SDL is held to
 * the drivers the environment names (x11 for $DISPLAY, wayland for
 * $WAYLAND_DISPLAY); SDL_VIDEODRIVER set by the user is taken as is. */
static bool pick_video_driver(void)
{
    const char *drv = getenv("SDL_VIDEODRIVER");
    if (drv && *drv)
        return true;
    const char *x = getenv("DISPLAY"), *wl = getenv("WAYLAND_DISPLAY");
    bool has_x = x && *x, has_wl = wl && *wl;
    if (!has_x && !has_wl)
        return false;
    SDL_SetHint(SDL_HINT_VIDEODRIVER, has_wl && has_x ? "wayland,x11" : has_wl ? "wayland" : "x11");
    return true;
}

/* Opening the display can block for good (an X server that accepts the
 * connection and never answers, a remote host that drops packets): past
 * this many seconds gilview gives up with one line. */
#define OPEN_TIMEOUT_S 10

static void on_open_timeout(int sig)
{
    (void)sig;
    static const char msg[] = "gilview: the display did not answer within 10 s; "
                              "check $DISPLAY, or use --screenshot out.png for a picture\n";
    ssize_t n = write(2, msg, sizeof msg - 1);
    (void)n;
    _exit(1);
}

int gv_window_run(struct tdb_view *v, struct render *r, const struct gv_window_options *o)
{
    if (!pick_video_driver()) {
        gv_warn("no display to open a window on ($DISPLAY is not set); use --screenshot out.png for a picture");
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_open_timeout}, old_sa;
    sigaction(SIGALRM, &sa, &old_sa);
    alarm(OPEN_TIMEOUT_S);
    if (SDL_Init(SDL_INIT_VIDEO) != 0) {
        alarm(0);
        sigaction(SIGALRM, &old_sa, NULL);
        const char *x = getenv("DISPLAY");
        gv_warn("cannot open a window on %s%s: %s; use --screenshot out.png for a picture",
                x && *x ? "DISPLAY=" : "the display", x && *x ? x : "", SDL_GetError());
        return 1;
    }
    struct win w = {.v = v, .r = r, .opt = o};
    int status = 1;
    if (render_layout_init(&w.layout, v)) {
        gv_warn("out of memory");
        goto fail_layout;
    }
    int h = o->height;
    if (h <= 0) {
        h = RENDER_RULER_H + w.layout.height + RENDER_LEGEND_H + RENDER_STATUS_H;
        if (h < 300)
            h = 300;
        if (h > 900)
            h = 900;
    }
    char title[512];
    const char *path = tdb_view_path(v), *slash = strrchr(path, '/');
    if (o->live)
        snprintf(title, sizeof title, "gilview — live pid %d", (int)gv_live_pid(o->live));
    else
        snprintf(title, sizeof title, "gilview — %s", slash ? slash + 1 : path);
    w.sdl = SDL_CreateWindow(title, SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, o->width, h,
                             SDL_WINDOW_RESIZABLE | SDL_WINDOW_SHOWN);
    alarm(0);
    sigaction(SIGALRM, &old_sa, NULL);
    if (!w.sdl) {
        gv_warn("cannot open a window: %s", SDL_GetError());
        goto fail_window;
    }
    SDL_SetWindowMinimumSize(w.sdl, RENDER_LABEL_W + 100, RENDER_RULER_H + RENDER_LEGEND_H + RENDER_STATUS_H + 40);
    if (gv_window_resize(&w)) {
        gv_warn("out of memory");
        goto fail_image;
    }
    gv_window_fit(&w);
    if (o->has_range) {
        int lx, ly, lw, lh;
        gv_window_lane_rect(&w, &lx, &ly, &lw, &lh);
        w.view.t0 = o->range_a;
        w.view.ns_per_px = (o->range_b - o->range_a) / (lw > 0 ? lw : 1);
        gv_window_clamp_view(&w);
    }
    w.refresh_ms = 500;
    uint32_t next_refresh = SDL_GetTicks() + w.refresh_ms;
    while (!w.quit) {
        if (o->live && (int32_t)(SDL_GetTicks() - next_refresh) >= 0) {
            live_refresh(&w);
            next_refresh = SDL_GetTicks() + w.refresh_ms;
        }
        if (w.redraw)
            gv_window_draw(&w);
        SDL_Event e;
        if (o->live) {
            int32_t wait = (int32_t)(next_refresh - SDL_GetTicks());
            if (!SDL_WaitEventTimeout(&e, wait > 0 ? wait : 0))
                continue;
        } else if (!SDL_WaitEvent(&e)) {
            break;
        }
        gv_window_on_event(&w, &e);
        while (!w.quit && SDL_PollEvent(&e))
            gv_window_on_event(&w, &e);
    }
    status = 0;
fail_image:
    free(w.img.px);
    SDL_DestroyWindow(w.sdl);
fail_window:
    gv_window_clear_panel(&w);
    render_layout_free(&w.layout);
fail_layout:
    alarm(0);
    sigaction(SIGALRM, &old_sa, NULL);
    SDL_Quit();
    return status;
}
