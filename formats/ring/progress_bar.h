/*
 * progress_bar.h — the one progress bar of the tools (giltrace's dump and
 * export, gilview's summaries and tiles): one line on stderr, drawn only
 * when stderr is a terminal and the work has lasted long enough to matter
 * (half a second), redrawn at most every 100 ms, cleared when done.
 */
#ifndef GILTRACE_PROGRESS_BAR_H
#define GILTRACE_PROGRESS_BAR_H

#include <stdbool.h>
#include <stdint.h>

struct progress_bar {
    const char *label;
    uint64_t total;
    uint64_t started_ns;
    uint64_t last_draw_ns;
    int drawn_len; /* characters of the line last drawn; 0: nothing shown */
    bool tty;
};

/* Begin work of `total` units (0: unknown yet, see progress_bar_update);
 * `label` must outlive the bar. */
void progress_bar_start(struct progress_bar *p, const char *label, uint64_t total);

/* `done` units are done (of `total` when non-zero, which replaces the
 * total given at the start); `note` (may be NULL) follows the percentage.
 * Draws only when it is time to. */
void progress_bar_update(struct progress_bar *p, uint64_t done, uint64_t total, const char *note);

/* Clear the bar, if one was drawn. */
void progress_bar_done(struct progress_bar *p);

#endif
