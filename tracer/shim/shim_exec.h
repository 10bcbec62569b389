/*
 * shim_exec.h — what the shim does around an exec of the traced process:
 * each image of a pid is traced as a process of its own.
 *
 * Before the exec, the image's ring gets its end (as at exit). Under
 * giltrace run it stays in the run directory, where the next image makes
 * <pid>-1.ring beside it. In env-only mode it is renamed <pid>.exec.ring,
 * and the next image's shim (a Python or not) writes it to its own
 * GILTRACE_OUTPUT as it starts; the next image's own trace is appended there
 * at its exit, so the output for the pid holds both. When the environment
 * the exec passes on cannot do that (no LD_PRELOAD or GILTRACE_OUTPUT), one
 * line names the ring that was left. If the exec fails, the ring runs on.
 */
#ifndef GILTRACE_SHIM_EXEC_H
#define GILTRACE_SHIM_EXEC_H

#include <stdbool.h>

/* Before an exec that passes `envp` to the new image. Only in the process
 * that made the ring (never in a vfork child). Preserves errno. Returns
 * true when shim_exec_failed() must follow a failed exec. */
bool shim_exec_begin(char *const envp[]);

/* The exec returned (it failed): tracing goes on. Preserves errno. */
void shim_exec_failed(void);

#endif
