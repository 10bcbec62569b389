/*
 * attach_abi.h — the contract between `giltrace attach` (tracer/attach/) and
 * the library it loads into a running CPython (libgiltrace-attach.so,
 * tracer/shim/attach_entry.c).
 *
 * The injector writes a struct attach_request into the library's own
 * giltrace_attach_request and makes one of the target's threads call an
 * entry point with its address; the entry point fills in the results and
 * stores the status last, which is what the injector waits for. (Not on
 * the thread's stack: the thread takes that back as soon as it returns.)
 * All configuration travels in the request, never in the target's
 * environment. Only one giltrace at a time can be injecting: a second one
 * cannot ptrace the threads the first holds.
 *
 *   int giltrace_attach_start(struct attach_request *)
 *       Begin a session: create the ring in `ring_dir`, find the GIL, note who
 *       holds it, redirect the interpreter's lock calls to the shim. Runs
 *       with the target's other threads stopped by ptrace; it must not wait
 *       for anything another thread holds.
 *   int giltrace_attach_stop(struct attach_request *)
 *       End the session of `tracer_pid`: put the calls back, finish and
 *       release the ring. Takes no lock and allocates nothing, so it is safe
 *       from any instruction of any thread.
 *
 * The library is never unloaded (a thread may still be inside one of its
 * functions), so a later attach finds it loaded and calls the same entries.
 * Bump ATTACH_ABI_VERSION on any change to this file.
 */
#ifndef GILTRACE_ATTACH_ABI_H
#define GILTRACE_ATTACH_ABI_H

#include <stdint.h>

#define ATTACH_ABI_MAGIC 0x48435441544c4947ull /* "GILATTCH" */
#define ATTACH_ABI_VERSION 2u

#define ATTACH_ENTRY_START "giltrace_attach_start"
#define ATTACH_ENTRY_STOP "giltrace_attach_stop"
#define ATTACH_REQUEST "giltrace_attach_request"

enum attach_status {
    ATTACH_PENDING = -1,         /* set by the injector; the entry's last store replaces it */
    ATTACH_OK = 0,
    ATTACH_ERR_ABI = 1,          /* the request is of another version */
    ATTACH_ERR_BUSY = 2,         /* another giltrace (other_tracer) is attached */
    ATTACH_ERR_NOT_PYTHON = 3,   /* no Py_GetVersion in the process */
    ATTACH_ERR_VERSION = 4,      /* a Python older than 3.7 */
    ATTACH_ERR_RING = 5,         /* the ring could not be made: message */
    ATTACH_ERR_NO_SLOTS = 6,     /* the interpreter imports none of the functions */
    ATTACH_ERR_NOT_ATTACHED = 7  /* stop without a session */
};

/* How the main GIL was found at the start of a session. */
enum attach_gil_found {
    ATTACH_GIL_LATER = 0,         /* not yet: at its first condvar call */
    ATTACH_GIL_KNOWN = 1,         /* an earlier session found it */
    ATTACH_GIL_DEBUG_OFFSETS = 2, /* 3.13+: _PyRuntime.debug_offsets */
    ATTACH_GIL_RUNTIME = 3        /* its signature inside _PyRuntime */
};

#define ATTACH_FLAG_PY_STACKS 1u /* record Python stacks (giltrace attach --py-stacks) */

struct attach_request {
    uint64_t magic;   /* ATTACH_ABI_MAGIC */
    uint32_t version; /* ATTACH_ABI_VERSION */
    uint32_t size;    /* sizeof(struct attach_request) */

    /* In. */
    int32_t tracer_pid;  /* the giltrace process that owns the session */
    uint32_t buffer_mb;  /* ring size */
    uint32_t flags;      /* ATTACH_FLAG_* */
    uint32_t reserved;
    char ring_dir[4096]; /* private directory (0700) of the target's user */

    /* Out. */
    int32_t status;       /* enum attach_status, also the return value; stored last */
    int32_t other_tracer; /* ATTACH_ERR_BUSY: who is attached */
    uint32_t hexversion;  /* the interpreter's PY_VERSION_HEX */
    uint32_t gil_found;   /* enum attach_gil_found */
    uint32_t gil_count;   /* GILs known at the start (main + subinterpreters) */
    int32_t holder_tid;   /* thread holding the main GIL at the start; 0 none, -1 unknown */
    uint32_t slots;       /* GOT slots redirected */
    char message[512];    /* why, when status is not ATTACH_OK */
};

#endif
