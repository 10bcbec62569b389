/*
 * progress.c — the progress bar. See progress.h.
 */
#include "progress.h"
#include "../../formats/ring_clock.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define SHOW_AFTER_NS 500000000ull
#define REDRAW_NS 100000000ull

void progress_start(struct progress *p, const char *label, uint64_t total)
{
    p->label = label;
    p->total = total ? total : 1;
    p->started_ns = ring_clock_monotonic_ns();
    p->last_draw_ns = 0;
    p->tty = isatty(2);
    p->drawn = false;
}

void progress_update(struct progress *p, uint64_t done)
{
    if (!p->tty)
        return;
    uint64_t now = ring_clock_monotonic_ns();
    if (now - p->started_ns < SHOW_AFTER_NS || now - p->last_draw_ns < REDRAW_NS)
        return;
    p->last_draw_ns = now;
    double frac = (double)done / (double)p->total;
    if (frac > 1)
        frac = 1;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%%", p->label, bar, (int)(frac * 100));
    fflush(stderr);
    p->drawn = true;
}

void progress_done(struct progress *p)
{
    if (p->drawn)
        fprintf(stderr, "\r%*s\r", 60, "");
    p->drawn = false;
}
