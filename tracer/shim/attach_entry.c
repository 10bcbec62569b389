/*
 * attach_entry.c — libgiltrace-attach.so's way in: the entry points that
 * `giltrace attach` calls inside a running CPython (attach_abi.h), and what
 * becomes of a session when the process forks or exits.
 *
 * It is the LD_PRELOAD shim's code reached another way: the interpreter's
 * GOT slots lead to the same wrappers (shim_intercept.c), which record
 * through the same path into the same ring file format. What differs is
 * only how a session starts and ends:
 *   - configuration comes in the request, not from the environment;
 *   - the GIL was created long ago: gil_locate.h finds it at once where it
 *     can, gil_midrun.h at its first call otherwise; whoever holds it at
 *     the start gets an ACQUIRE at that moment, recorded on its behalf;
 *   - the session ends with the calls put back and the ring released,
 *     while the process goes on; the library stays loaded.
 * Only the library's entry points are exported (attach.map): the wrappers
 * keep libc's names but interpose on nothing by name.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>

#include "ring.h"
#include "attach_abi.h"
#include "gil.h"
#include "gil_locate.h"
#include "gil_midrun.h"
#include "got_patch.h"
#include "py_stack.h"
#include "python_probe.h"
#include "rec_clock.h"
#include "recorder.h"
#include "ring_writer.h"
#include "shim_config.h"
#include "shim_real.h"
#include "shim_thread.h"
#include "text_util.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

static struct {
    bool active;
    int32_t tracer;
} session;

static bool atfork_registered;

/* Where the injector writes its request (attach_abi.h). */
SHIM_EXPORT struct attach_request giltrace_attach_request;

/* The interposed functions, reached through the interpreter's GOT. */
static const struct got_hook hooks[] = {
    {"pthread_mutex_lock", (void *)pthread_mutex_lock, (void **)&shim_real.mutex_lock},
    {"pthread_mutex_unlock", (void *)pthread_mutex_unlock, (void **)&shim_real.mutex_unlock},
    {"pthread_mutex_init", (void *)pthread_mutex_init, (void **)&shim_real.mutex_init},
    {"pthread_cond_init", (void *)pthread_cond_init, (void **)&shim_real.cond_init},
    {"pthread_cond_signal", (void *)pthread_cond_signal, (void **)&shim_real.cond_signal},
    {"pthread_cond_timedwait", (void *)pthread_cond_timedwait, (void **)&shim_real.cond_timedwait},
    {"sem_init", (void *)sem_init, (void **)&shim_real.sem_init},
    {"sem_wait", (void *)sem_wait, (void **)&shim_real.sem_wait},
    {"sem_trywait", (void *)sem_trywait, (void **)&shim_real.sem_trywait},
    {"sem_post", (void *)sem_post, (void **)&shim_real.sem_post},
};

static int answer(struct attach_request *req, int status, const char *a, const char *b)
{
    struct text_buf t = text_buf_init(req->message, sizeof req->message);
    text_buf_str(&t, a);
    text_buf_str(&t, b);
    __atomic_store_n(&req->status, status, __ATOMIC_RELEASE); /* the injector waits for this store */
    return status;
}

static bool request_ok(const struct attach_request *req)
{
    return req && req->magic == ATTACH_ABI_MAGIC && req->version == ATTACH_ABI_VERSION &&
           req->size == sizeof *req;
}

static bool tracer_alive(int32_t pid)
{
    int saved_errno = errno;
    bool alive = kill(pid, 0) == 0 || errno == EPERM;
    errno = saved_errno;
    return alive;
}

/* Record `kind` on GIL `gil` for thread `tid`, now, from another thread: a
 * chunk of its own, claimed before `tid` records anything in this session
 * (so it comes first in the thread's lane) and marked done at once. */
static void record_for(uint32_t tid, unsigned kind, unsigned gil)
{
    uint64_t seq;
    struct ring_chunk_header *chunk = ring_writer_claim_chunk(tid, &seq);
    if (!chunk) {
        ring_writer_count_lost(NULL, 1);
        return;
    }
    struct ring_record *r = ring_chunk_records(chunk);
    unsigned cpu;
    r->raw_ts = rec_clock_now(true, &cpu);
    __atomic_store_n(&r->tail, ring_record_tail(kind, gil, RING_CPU_UNKNOWN, ring_record_check(seq, 0)),
                     __ATOMIC_RELEASE);
    ring_writer_chunk_done(chunk);
}

static void end_session(void)
{
    got_patch_remove();
    __atomic_store_n(&gil_unlock_hooked, false, __ATOMIC_RELAXED);
    gil_midrun_stop();
    ring_writer_finish();
    ring_writer_release();
    session.active = false;
}

/* A fork child must not write into its parent's ring (a shared mapping):
 * it runs untraced, with its own copy of the GOT put back. */
static void after_fork_child(void)
{
    if (!session.active)
        return;
    got_patch_remove();
    __atomic_store_n(&gil_unlock_hooked, false, __ATOMIC_RELAXED);
    gil_midrun_stop();
    shim_thread_reset(&shim_self);
    ring_writer_release();
    session.active = false;
}

__attribute__((destructor)) static void at_exit(void)
{
    if (session.active)
        ring_writer_finish();
}

/* Make the ring and find the GIL; false (answered) if either fails. */
static bool open_ring(struct attach_request *req, const struct python_info *py)
{
    if (req->ring_dir[sizeof req->ring_dir - 1] || !shim_config_private_dir(req->ring_dir)) {
        answer(req, ATTACH_ERR_RING, "the ring directory is not a private directory of the target's user", "");
        return false;
    }
    uint32_t mb = req->buffer_mb < RING_MIN_MB ? RING_MIN_MB : req->buffer_mb > RING_MAX_MB ? RING_MAX_MB : req->buffer_mb;
    rec_clock_setup();
    struct ring_writer_identity id = {.python_hexversion = py->hexversion};
    text_copy(id.python_version, sizeof id.python_version, py->version);
    ring_writer_set_gil_kind(py->free_threaded ? RING_GIL_NONE
                             : gil_registry_main() ? RING_GIL_CONDVAR
                                                   : RING_GIL_UNKNOWN);
    /* Append mode, no trigger, no native stacks: what `giltrace attach`
     * offers; Python stacks on request (they need the stack table). */
    struct ring_writer_config rc = {.dir = req->ring_dir, .size_mb = mb, .mode = RING_MODE_APPEND,
                                    .stacks_mb = req->flags & ATTACH_FLAG_PY_STACKS ? SHIM_STACKS_DEFAULT_MB : 0};
    ring_writer_configure(&rc, &id);
    char why[512];
    if (!ring_writer_open(true, why, sizeof why)) {
        answer(req, ATTACH_ERR_RING, why, "");
        return false;
    }
    return true;
}

SHIM_EXPORT int giltrace_attach_start(struct attach_request *req)
{
    if (!request_ok(req))
        return ATTACH_ERR_ABI;
    req->message[0] = '\0';
    if (session.active) {
        if (session.tracer != req->tracer_pid && tracer_alive(session.tracer)) {
            req->other_tracer = session.tracer;
            return answer(req, ATTACH_ERR_BUSY, "another giltrace is attached", "");
        }
        end_session(); /* its giltrace died without detaching */
    }
    shim_real_resolve();
    struct python_info py;
    if (!python_probe(&py))
        return answer(req, ATTACH_ERR_NOT_PYTHON, "Py_GetVersion is not defined in this process", "");
    req->hexversion = py.hexversion;
    if (py.hexversion < 0x03070000)
        return answer(req, ATTACH_ERR_VERSION, "Python ", py.version);
    if (!open_ring(req, &py))
        return req->status;

    gil_registry_start(&py);
    __atomic_store_n(&py_stacks_on, false, __ATOMIC_RELEASE); /* an earlier session's choice */
    if (req->flags & ATTACH_FLAG_PY_STACKS)
        py_stack_init(&py);
    __atomic_add_fetch(&shim_session, 1, __ATOMIC_RELEASE);
    req->gil_found = gil_locate_main(&py);
    req->gil_count = gil_registry_count();
    struct gil *main_gil = gil_registry_main();
    /* Holding the GIL's mutex, nobody takes or drops the GIL: who holds it
     * now and the calls redirected next form one consistent moment. */
    bool frozen = main_gil && gil_locate_freeze(main_gil);
    req->holder_tid = frozen ? gil_locate_holder(main_gil) : -1;
    if (req->holder_tid > 0)
        record_for((uint32_t)req->holder_tid, RING_EV_ACQUIRE, main_gil->index);
    if (py.free_threaded)
        gil_note_free_threaded();
    gil_midrun_start(&py);
    char why[256];
    /* Whether unlock(M) now reaches the shim: its real pointer is set only
     * where a slot was redirected. */
    int (*unlock_before)(pthread_mutex_t *) = shim_real.mutex_unlock;
    shim_real.mutex_unlock = NULL;
    int slots = got_patch_install((const void *)py.object_base, hooks, sizeof hooks / sizeof hooks[0], why,
                                  sizeof why);
    if (!shim_real.mutex_unlock)
        shim_real.mutex_unlock = unlock_before;
    else
        __atomic_store_n(&gil_unlock_hooked, true, __ATOMIC_RELAXED);
    if (frozen)
        gil_locate_thaw(main_gil);
    if (slots <= 0) {
        gil_midrun_stop();
        ring_writer_release();
        return slots < 0 ? answer(req, ATTACH_ERR_NO_SLOTS, why, "")
                         : answer(req, ATTACH_ERR_NO_SLOTS, "the interpreter imports no lock function to redirect", "");
    }
    req->slots = (uint32_t)slots;
    if (!atfork_registered && pthread_atfork(NULL, NULL, after_fork_child) == 0)
        atfork_registered = true;
    session.tracer = req->tracer_pid;
    session.active = true;
    return answer(req, ATTACH_OK, "", "");
}

SHIM_EXPORT int giltrace_attach_stop(struct attach_request *req)
{
    if (!request_ok(req))
        return ATTACH_ERR_ABI;
    req->message[0] = '\0';
    if (!session.active)
        return answer(req, ATTACH_ERR_NOT_ATTACHED, "no giltrace session is active in this process", "");
    if (session.tracer != req->tracer_pid && tracer_alive(session.tracer)) {
        req->other_tracer = session.tracer;
        return answer(req, ATTACH_ERR_BUSY, "the session belongs to another giltrace", "");
    }
    end_session();
    return answer(req, ATTACH_OK, "", "");
}
