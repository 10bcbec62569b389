/*
 * progress.h — a one-line progress bar on stderr for long work, shown only
 * when stderr is a terminal and the work has lasted long enough to matter.
 */
#ifndef GILTRACE_PROGRESS_H
#define GILTRACE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
    const char *label;
    uint64_t total;
    uint64_t started_ns;
    uint64_t last_draw_ns;
    bool tty;
    bool drawn;
};

void progress_start(struct progress *p, const char *label, uint64_t total);
void progress_update(struct progress *p, uint64_t done);
/* Clear the bar (if one was drawn). */
void progress_done(struct progress *p);

#endif
