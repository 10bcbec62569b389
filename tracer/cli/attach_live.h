/*
 * attach_live.h — a `giltrace attach` session held open while a command
 * runs: inspect the target, make its private ring directory (owned by the
 * target's user), load the tracer into it, and later detach and remove the
 * directory. `giltrace attach` records for a duration; `giltrace top
 * --attach` follows the ring live until it quits. The caller holds SIGCHLD
 * blocked from attach_live_start() to attach_live_stop(): ptrace stops are
 * waited for through it.
 */
#ifndef GILTRACE_ATTACH_LIVE_H
#define GILTRACE_ATTACH_LIVE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../attach/attach_session.h"
#include "../attach/attach_target.h"

/* The request to start or stop a session, for `buffer_mb` MiB of ring in
 * `ring_dir`, with Python stacks or not. */
void attach_live_request(struct attach_request *req, const char *ring_dir, uint32_t buffer_mb, bool py_stacks);

/* What the library's refusal in `req` means for the user, in one line. */
void attach_live_explain(const struct attach_target *t, const struct attach_request *req);

struct attach_live {
    struct attach_target target;
    char ring_dir[PATH_MAX];
    uint32_t buffer_mb;
    bool py_stacks, started;
    struct attach_request req; /* the library's answer to the start */
    struct attach_stats st;    /* of the last start or stop */
};

/* Attach to `pid` with a ring of `buffer_mb` MiB in a new directory under
 * `ring_base` (NULL: the default). Returns 0, or the exit status after one
 * line on stderr saying why: 2 when giltrace cannot set up (no attach
 * library, no ring directory), 1 when the target cannot be traced. Nothing
 * is left behind then. */
int attach_live_start(struct attach_live *a, pid_t pid, const char *ring_base, uint32_t buffer_mb, bool py_stacks);

/* Detach. Returns 0 when detached (a->st then holds the pause), 1 when
 * the target has exited (nothing to detach), or -1 after one line on
 * stderr when the detach failed (the target goes on recording until its
 * ring is full or the next attach). */
int attach_live_detach(struct attach_live *a);

/* Free `a`, removing its ring directory unless `keep_ring_dir`. */
void attach_live_free(struct attach_live *a, bool keep_ring_dir);

#endif
