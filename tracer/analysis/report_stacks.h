/*
 * report_stacks.h — where the GIL is released and where waits for it begin,
 * from the native stacks recorded with `giltrace run --stacks`.
 *
 * Each stack gets a label: its innermost frame that has a name and is not
 * part of the GIL's own machinery (drop_gil, take_gil, PyEval_SaveThread,
 * PyEval_RestoreThread, PyThread locks...), e.g. "pysleep", "time.sleep",
 * "sock_recv" or "_PyEval_EvalFrameDefault" (the eval loop dropping the GIL
 * on request). Sites are stacks grouped by label.
 */
#ifndef GILTRACE_REPORT_STACKS_H
#define GILTRACE_REPORT_STACKS_H

#include <stddef.h>

#include "report.h"

/* Fill r->release_sites and r->wait_sites (at most `max_sites` each, 0:
 * 10) from the process's stacks; nothing when it has none. Returns 0, or
 * -1 when out of memory. */
int report_stack_sites(struct report_process *r, size_t max_sites);

void report_sites_free(struct report_process *r);

/* The frame that labels stack `s` (see above), or -1 when it has none. */
int report_stack_label_frame(const struct trace_stack *s);

/* "symbol" or "module+0xoffset" or "0xaddress" for one frame, into buf. */
void report_frame_text(const struct trace_process *p, const struct trace_frame *f, char *buf, size_t cap);

/* True for frames of the GIL's own machinery. */
int report_frame_is_gil_machinery(const char *symbol);

#endif
