/*
 * attach_session.h — `giltrace attach`'s two moves on a running CPython:
 * start a session (stop every thread, choose a safe one, load the library
 * there if it is not loaded yet, call its start entry, let everything go)
 * and stop it (the same, with the stop entry, on any thread).
 *
 * Each move is tried in rounds: when no thread is at a safe point, every
 * thread is let go at once and the move is tried again a few milliseconds
 * later, until a bound; then it gives up without having changed anything.
 * The target's pause is the time all its threads were stopped in the round
 * that did the work.
 */
#ifndef GILTRACE_ATTACH_SESSION_H
#define GILTRACE_ATTACH_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../shim/attach_abi.h"
#include "attach_target.h"

struct attach_stats {
    int64_t pause_ns;  /* every thread stopped, in the round that did the work */
    unsigned rounds;   /* rounds it took */
    bool loaded;       /* the library was loaded by this move */
    pid_t thread;      /* the thread that made the calls */
};

/* Start a session described by `req` (its in-fields filled). Returns 0 when
 * the start entry ran: req->status and req->message are its verdict. Else
 * -1 with a one-line reason in `err`: the target is unchanged, except that
 * the library may be loaded (inert). */
int attach_session_start(struct attach_target *t, struct attach_request *req, struct attach_stats *st, char *err,
                         size_t err_len);

/* End the session: the same contract, with the stop entry. */
int attach_session_stop(struct attach_target *t, struct attach_request *req, struct attach_stats *st, char *err,
                        size_t err_len);

#endif
