/*
 * shim_config.h — what the environment asks of the shim in this process.
 *
 *   GILTRACE_RUN_DIR    set by `giltrace run`: private directory for ring
 *                       files; the parent turns them into the database.
 *   GILTRACE_OUTPUT     env-only mode: the database this process writes at
 *                       exit ("%p" becomes the pid, "%%" a percent sign).
 *   GILTRACE_RING_DIR   env-only mode: where rings live until then (default
 *                       /dev/shm/giltrace-UID, else $TMPDIR or /tmp).
 *   GILTRACE_BUFFER_MB  ring size per process, 1..65536 MiB (default 256);
 *                       at most half the free space of the ring directory's
 *                       file system (a smaller ring is said in one line).
 *   GILTRACE_RING_MODE  "append" (default: a full ring drops new events) or
 *                       "overwrite" (a flight recorder: keeps the last ones).
 *   GILTRACE_TRIGGER_WAIT_MS  under `giltrace run`: a GIL wait longer than
 *                       this many ms makes it write a snapshot of the ring.
 *   GILTRACE_STACKS     "1": record a native stack for each RELEASE and BUSY
 *                       (giltrace run --stacks); "0" or unset: no stacks.
 *   GILTRACE_PYSTACKS   "1": record the Python stack of each RELEASE and BUSY
 *                       (giltrace run --py-stacks, or --stacks); "0": not;
 *                       unset: as GILTRACE_STACKS.
 *   GILTRACE_STACKS_MB  the stack table per process, 1..1024 MiB (default 16).
 *   GILTRACE_EXPERIMENT giltrace run --experiment's SPEC (gil_experiment.h),
 *                       read by shim_main.c: honoured under giltrace run only.
 *
 * No path is trusted blindly: a ring directory must be a real directory
 * owned by this user and closed to everyone else.
 */
#ifndef GILTRACE_SHIM_CONFIG_H
#define GILTRACE_SHIM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum shim_mode {
    SHIM_MODE_OFF, /* neither variable set */
    SHIM_MODE_RUN, /* under `giltrace run` */
    SHIM_MODE_ENV  /* env-only: dump at exit */
};

struct shim_config {
    enum shim_mode mode;
    char ring_dir[4096];
    char output[4096]; /* absolute; may still contain %p */
    uint32_t size_mb;
    uint32_t ring_mode;       /* enum ring_mode */
    uint32_t trigger_wait_ms; /* 0 = none */
    uint32_t stacks_mb; /* 0: no stacks (neither kind) */
    bool native_stacks; /* GILTRACE_STACKS */
    bool py_stacks;     /* GILTRACE_PYSTACKS */
};

#define SHIM_STACKS_DEFAULT_MB 16u
#define SHIM_STACKS_MAX_MB 1024u

/* Read and check the environment. Returns false with a one-line reason in
 * `why` (naming the variable and what to do) if a value is unusable; the
 * process must then run untraced. `why` is empty when there is nothing to
 * tell the user: a process that became another user under giltrace run
 * (its run directory belongs to the user who started it) runs untraced
 * without a word on the program's stderr. May create the default env-only ring
 * directory (mode 0700). */
bool shim_config_read(struct shim_config *c, char *why, size_t why_len);

/* The same, making nothing: the default env-only ring directory is taken
 * only where it exists already (a process that may not be a Python looks
 * for what an earlier image left, and must leave no directory behind). */
bool shim_config_look(struct shim_config *c, char *why, size_t why_len);

/* Expand "%p" and "%%" in `pattern` for process `pid`. Returns false if
 * the result does not fit or the pattern has another %-sequence. */
bool shim_config_expand_output(const char *pattern, int pid, char *out, size_t cap);

/* True if `dir` is a directory (not a symlink) owned by the effective user
 * with no group/other permissions. */
bool shim_config_private_dir(const char *dir);

#endif
