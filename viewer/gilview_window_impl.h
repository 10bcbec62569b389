/*
 * gilview_window_impl.h — what the gilview_window*.c files share: the
 * window's state and the actions input leads to. Not for other files.
 */
#ifndef GILTRACE_GILVIEW_WINDOW_IMPL_H
#define GILTRACE_GILVIEW_WINDOW_IMPL_H

#include <SDL.h>
#include <stdbool.h>
#include <stdint.h>

#include "gilview.h"

#define MIN_NS_PER_PX (1.0 / 64) /* 64 pixels per nanosecond */
#define ZOOM_STEP 1.25
#define MAX_PANEL 64

struct win {
    SDL_Window *sdl;
    struct tdb_view *v;
    struct render *r;
    struct render_layout layout;
    const struct gv_window_options *opt;
    struct render_image img;
    struct render_window view;
    int w, h;
    bool redraw, quit;
    /* mouse */
    int mx, my;
    bool mouse_in;
    bool dragging;
    int drag_x, drag_y, drag_scroll;
    double drag_t0;
    bool selecting, has_sel;
    double sel_a, sel_b;
    /* panels */
    bool help;
    char *panel_text[MAX_PANEL];
    const char *panel[MAX_PANEL];
    size_t panel_lines;
    bool stats_shown;
    /* longest waits */
    size_t wait_next;
    bool highlight;
    struct tdb_wait_span hl;
    char status[600];
    bool status_sticky; /* keep the status line until the mouse moves over lanes */
    int shots;
    /* --live */
    uint32_t refresh_ms; /* time until the next refresh */
};

/* Empty the text panel (statistics, help). */
void gv_window_clear_panel(struct win *w);

/* Where the lanes are drawn in the window, in pixels. */
void gv_window_lane_rect(const struct win *w, int *lx, int *ly, int *lw, int *lh);

/* Keep the view's zoom and position within the trace (at most 4x its
 * width, at least 64 pixels per ns). */
void gv_window_clamp_view(struct win *w);

/* Zoom by `factor` (below 1: in), keeping the time under lane pixel `px`
 * in place (outside the lanes: the middle). */
void gv_window_zoom_at(struct win *w, int px, double factor);

/* Zoom to fit the whole trace, keeping the vertical scroll. */
void gv_window_fit(struct win *w);

/* Range statistics of the selection, one line per lane. */
void gv_window_show_stats(struct win *w);

/* The status line for what is under the mouse. */
void gv_window_hover(struct win *w);

/* Show the next (dir > 0) or previous longest wait of the trace. */
void gv_window_jump_to_wait(struct win *w, int dir);

/* Follow the window's new size; 0, or -1 out of memory. */
int gv_window_resize(struct win *w);

/* Draw a frame and present it. */
void gv_window_draw(struct win *w);

/* Write the frame as the next free gilview-NNN.png of the save folder. */
void gv_window_save_screenshot(struct win *w);

/* Act on one SDL event (keys, mouse, window). */
void gv_window_on_event(struct win *w, const SDL_Event *e);

#endif
