/*
 * attach_live.c — an attach session held open while a command runs. See
 * attach_live.h.
 */
#include "attach_live.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../attach/attach_threads.h"
#include "cli.h"
#include "shim_locate.h"
#include "cli_trace_output.h"

void attach_live_request(struct attach_request *req, const char *ring_dir, uint32_t buffer_mb, bool py_stacks)
{
    memset(req, 0, sizeof *req);
    req->magic = ATTACH_ABI_MAGIC;
    req->version = ATTACH_ABI_VERSION;
    req->size = sizeof *req;
    req->tracer_pid = getpid();
    req->buffer_mb = buffer_mb;
    req->flags = py_stacks ? ATTACH_FLAG_PY_STACKS : 0;
    snprintf(req->ring_dir, sizeof req->ring_dir, "%s", ring_dir);
}

void attach_live_explain(const struct attach_target *t, const struct attach_request *req)
{
    switch (req->status) {
    case ATTACH_ERR_BUSY:
        cli_warn("process %d (%s) is being traced by another giltrace attach (pid %d); wait for it to finish",
                 (int)t->pid, t->comm, (int)req->other_tracer);
        break;
    case ATTACH_ERR_VERSION:
        cli_warn("process %d (%s) runs %s: attach needs 3.7 or later; use giltrace run", (int)t->pid, t->comm,
                 req->message);
        break;
    case ATTACH_ERR_ABI:
        cli_warn("process %d (%s) has a giltrace library of another version loaded; attach with that giltrace",
                 (int)t->pid, t->comm);
        break;
    default:
        cli_warn("process %d (%s) could not start tracing: %s (status %d); nothing was changed", (int)t->pid, t->comm,
                 req->message, (int)req->status);
    }
}

int attach_live_start(struct attach_live *a, pid_t pid, const char *ring_base, uint32_t buffer_mb, bool py_stacks)
{
    memset(a, 0, sizeof *a);
    a->buffer_mb = buffer_mb;
    a->py_stacks = py_stacks;
    char lib[PATH_MAX], err[2048];
    if (shim_locate(SHIM_ATTACH_NAME, SHIM_ATTACH_ENV, lib, sizeof lib)) {
        cli_warn("cannot find %s beside the giltrace program; set %s to its path", SHIM_ATTACH_NAME,
                 SHIM_ATTACH_ENV);
        return 2;
    }
    if (attach_target_inspect(pid, lib, &a->target, err, sizeof err)) {
        cli_warn("%s", err);
        attach_target_free(&a->target);
        return 1;
    }
    if (cli_trace_output_ring_dir(ring_base, "attach", a->ring_dir, sizeof a->ring_dir)) {
        attach_target_free(&a->target);
        return 2;
    }
    if (geteuid() != a->target.uid && chown(a->ring_dir, a->target.uid, a->target.gid) != 0) {
        cli_warn("cannot give the ring directory to process %d's user: %s", (int)pid, strerror(errno));
        attach_live_free(a, false);
        return 2;
    }
    attach_live_request(&a->req, a->ring_dir, buffer_mb, py_stacks);
    if (attach_session_start(&a->target, &a->req, &a->st, err, sizeof err)) {
        cli_warn("%s", err);
        attach_live_free(a, false);
        return 1;
    }
    if (a->req.status != ATTACH_OK) {
        attach_live_explain(&a->target, &a->req);
        attach_live_free(a, false);
        return 1;
    }
    a->started = true;
    return 0;
}

int attach_live_detach(struct attach_live *a)
{
    if (!a->started || attach_process_gone(a->target.pid))
        return 1;
    struct attach_request req;
    char err[2048];
    attach_live_request(&req, a->ring_dir, a->buffer_mb, a->py_stacks);
    if (attach_session_stop(&a->target, &req, &a->st, err, sizeof err)) {
        if (attach_process_gone(a->target.pid))
            return 1; /* it exited meanwhile: the trace is complete */
        cli_warn("could not detach: %s; the process goes on traced until its ring is full or the next attach", err);
        return -1;
    }
    if (req.status != ATTACH_OK) {
        cli_warn("could not detach from process %d: %s", (int)a->target.pid, req.message);
        return -1;
    }
    a->started = false;
    return 0;
}

void attach_live_free(struct attach_live *a, bool keep_ring_dir)
{
    if (!keep_ring_dir)
        cli_trace_output_remove_ring_dir(a->ring_dir);
    attach_target_free(&a->target);
}
