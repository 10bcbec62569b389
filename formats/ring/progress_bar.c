/*
 * progress_bar.c — the progress bar. See progress_bar.h.
 */
#include "progress_bar.h"

#include <stdio.h>
#include <unistd.h>

#include "ring_clock.h"

#define SHOW_AFTER_NS 500000000ull
#define REDRAW_NS 100000000ull
#define BAR_WIDTH 30

void progress_bar_start(struct progress_bar *p, const char *label, uint64_t total)
{
    *p = (struct progress_bar){.label = label, .total = total, .started_ns = ring_clock_monotonic_ns(),
                               .tty = isatty(2) == 1};
}

void progress_bar_update(struct progress_bar *p, uint64_t done, uint64_t total, const char *note)
{
    if (total)
        p->total = total;
    if (!p->tty)
        return;
    uint64_t now = ring_clock_monotonic_ns();
    if (now - p->started_ns < SHOW_AFTER_NS || now - p->last_draw_ns < REDRAW_NS)
        return;
    p->last_draw_ns = now;
    double frac = p->total ? (double)done / (double)p->total : 0;
    if (frac > 1)
        frac = 1;
    char bar[BAR_WIDTH + 1];
    int fill = (int)(frac * BAR_WIDTH);
    for (int i = 0; i < BAR_WIDTH; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    int len = fprintf(stderr, "\r%s [%s] %3d%%%s%s", p->label, bar, (int)(frac * 100), note ? "  " : "",
                      note ? note : "");
    if (len > 1 && len - 1 < p->drawn_len) /* clear what a longer line left */
        fprintf(stderr, "%*s", p->drawn_len - (len - 1), "");
    fflush(stderr);
    if (len - 1 > p->drawn_len)
        p->drawn_len = len - 1;
}

void progress_bar_done(struct progress_bar *p)
{
    if (p->drawn_len) {
        fprintf(stderr, "\r%*s\r", p->drawn_len, "");
        fflush(stderr);
    }
    p->drawn_len = 0;
}
