/*
 * experiment_label.h — the label of a trace recorded under giltrace run
 * --experiment: read from its meta table ("experiment"), and the loud line
 * the run summary and giltrace report print for it.
 */
#ifndef GILTRACE_EXPERIMENT_LABEL_H
#define GILTRACE_EXPERIMENT_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* The experiment trace `path` was recorded under, into `out`. Returns true
 * when it has one; false when it has none or cannot be read (giltrace report
 * says why when it loads the trace). */
bool experiment_label_read(const char *path, char *out, size_t cap);

/* The loud line: the run's GIL scheduling was changed by giltrace. */
void experiment_label_print(FILE *out, const char *spec);

#endif
