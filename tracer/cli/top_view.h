/*
 * top_view.h — one frame of `giltrace top` as text: a header naming the
 * process, a table of its threads sorted by one column, and its most
 * telling release and wait sites. The same text is drawn in the terminal
 * (ncurses) and printed by --once.
 */
#ifndef GILTRACE_TOP_VIEW_H
#define GILTRACE_TOP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ring_follow.h"
#include "top_figures.h"

enum top_sort {
    TOP_SORT_HELD_1S, TOP_SORT_HELD, TOP_SORT_WAIT_1S, TOP_SORT_WAIT, TOP_SORT_WAITS, TOP_SORT_FORCED,
    TOP_SORT_LONGEST, TOP_SORT_TID, TOP_SORT_NAME, TOP_SORT_COUNT
};

/* The sort named `name` (as --sort takes it); false when there is none. */
bool top_sort_parse(const char *name, enum top_sort *out);

/* The sort key `key` (a keypress) selects; false when it selects none. */
bool top_sort_key(int key, enum top_sort *out);

/* The keys and names of the sorts, for --help and the frame's last line. */
extern const char top_sort_help[];

/* Write one frame of `f`'s process with figures `t` to `out`, threads
 * sorted by `sort`, at most `max_threads` of them (0: all), `sites` sites
 * of each kind. */
void top_view_frame(FILE *out, struct ring_follow *f, struct top_figures *t, enum top_sort sort, size_t max_threads,
                    size_t sites);

#endif
