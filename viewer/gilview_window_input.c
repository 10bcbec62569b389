/*
 * gilview_window_input.c — the window's keys and mouse, turned into the
 * actions of gilview_window.c.
 */

#include <math.h>

#include "gilview_window_impl.h"

static void on_key(struct win *w, const SDL_KeyboardEvent *k)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    int cursor = w->mouse_in ? w->mx - lx : -1;
    bool shift = k->keysym.mod & KMOD_SHIFT;
    switch (k->keysym.sym) {
    case SDLK_q:
        w->quit = true;
        break;
    case SDLK_ESCAPE:
        if (w->help || w->panel_lines || w->has_sel || w->highlight) {
            w->help = false;
            gv_window_clear_panel(w);
            w->has_sel = false;
            w->highlight = false;
            w->redraw = true;
        } else {
            w->quit = true;
        }
        break;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS:
        gv_window_zoom_at(w, cursor, 1 / ZOOM_STEP / ZOOM_STEP);
        break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        gv_window_zoom_at(w, cursor, ZOOM_STEP * ZOOM_STEP);
        break;
    case SDLK_LEFT:
        w->view.t0 -= lw / 8.0 * w->view.ns_per_px;
        gv_window_clamp_view(w);
        w->redraw = true;
        break;
    case SDLK_RIGHT:
        w->view.t0 += lw / 8.0 * w->view.ns_per_px;
        gv_window_clamp_view(w);
        w->redraw = true;
        break;
    case SDLK_UP:
    case SDLK_DOWN:
    case SDLK_PAGEUP:
    case SDLK_PAGEDOWN: {
        int d = k->keysym.sym == SDLK_UP || k->keysym.sym == SDLK_DOWN ? RENDER_LANE_H : lh - RENDER_LANE_H;
        w->view.y_scroll += k->keysym.sym == SDLK_UP || k->keysym.sym == SDLK_PAGEUP ? -d : d;
        gv_window_clamp_view(w);
        w->redraw = true;
        break;
    }
    case SDLK_f:
    case SDLK_HOME:
    case SDLK_0:
        gv_window_fit(w);
        break;
    case SDLK_w:
        gv_window_jump_to_wait(w, shift ? -1 : 1);
        break;
    case SDLK_h:
    case SDLK_SLASH:
    case SDLK_QUESTION:
    case SDLK_F1:
        w->help = !w->help;
        w->redraw = true;
        break;
    case SDLK_F12:
    case SDLK_s:
        gv_window_draw(w);
        gv_window_save_screenshot(w);
        break;
    default:
        break;
    }
}

void gv_window_on_event(struct win *w, const SDL_Event *e)
{
    int lx, ly, lw, lh;
    gv_window_lane_rect(w, &lx, &ly, &lw, &lh);
    switch (e->type) {
    case SDL_QUIT:
        w->quit = true;
        break;
    case SDL_WINDOWEVENT:
        if (e->window.event == SDL_WINDOWEVENT_SIZE_CHANGED || e->window.event == SDL_WINDOWEVENT_RESIZED) {
            if (gv_window_resize(w))
                w->quit = true;
        } else if (e->window.event == SDL_WINDOWEVENT_LEAVE) {
            w->mouse_in = false;
            w->redraw = true;
        } else if (e->window.event == SDL_WINDOWEVENT_EXPOSED) {
            w->redraw = true;
        }
        break;
    case SDL_KEYDOWN:
        on_key(w, &e->key);
        break;
    case SDL_MOUSEWHEEL: {
        SDL_Keymod mod = SDL_GetModState();
        if (mod & KMOD_SHIFT) {
            w->view.y_scroll -= e->wheel.y * RENDER_LANE_H;
            gv_window_clamp_view(w);
            w->redraw = true;
        } else if (e->wheel.y) {
            gv_window_zoom_at(w, w->mx - lx, pow(ZOOM_STEP, -e->wheel.y));
        }
        if (e->wheel.x) {
            w->view.t0 += e->wheel.x * lw / 16.0 * w->view.ns_per_px;
            gv_window_clamp_view(w);
            w->redraw = true;
        }
        break;
    }
    case SDL_MOUSEBUTTONDOWN: {
        w->mx = e->button.x;
        w->my = e->button.y;
        bool in_lanes = w->mx >= lx && w->mx < lx + lw && w->my >= ly && w->my < ly + lh;
        if (!in_lanes)
            break;
        double t = w->view.t0 + (w->mx - lx) * w->view.ns_per_px;
        if (e->button.button == SDL_BUTTON_RIGHT || (SDL_GetModState() & KMOD_SHIFT)) {
            w->selecting = true;
            w->has_sel = false;
            w->sel_a = w->sel_b = t;
        } else if (e->button.button == SDL_BUTTON_LEFT) {
            w->dragging = true;
            w->drag_x = w->mx;
            w->drag_y = w->my;
            w->drag_t0 = w->view.t0;
            w->drag_scroll = w->view.y_scroll;
        }
        w->redraw = true;
        break;
    }
    case SDL_MOUSEBUTTONUP:
        if (w->selecting) {
            w->selecting = false;
            w->has_sel = fabs(w->sel_b - w->sel_a) >= 2 * w->view.ns_per_px;
            if (w->has_sel)
                gv_window_show_stats(w);
            else
                gv_window_clear_panel(w);
        }
        w->dragging = false;
        w->redraw = true;
        break;
    case SDL_MOUSEMOTION:
        w->mx = e->motion.x;
        w->my = e->motion.y;
        w->mouse_in = true;
        if (w->dragging) {
            w->view.t0 = w->drag_t0 - (w->mx - w->drag_x) * w->view.ns_per_px;
            w->view.y_scroll = w->drag_scroll - (w->my - w->drag_y);
            gv_window_clamp_view(w);
        } else if (w->selecting) {
            w->sel_b = w->view.t0 + (w->mx - lx) * w->view.ns_per_px;
        } else {
            gv_window_hover(w);
        }
        w->redraw = true;
        break;
    default:
        break;
    }
}
