/*
 * test_gil_midrun.c — a GIL created before the shim was watching (as under
 * giltrace attach) is identified at its first use (tracer/shim/
 * gil_midrun.h), on the fake CPython GIL (tests/fake_cpython), each case in
 * a process of its own:
 *   wait    another thread holds it; a thread's timedwait(C, M) makes it
 *           known: that thread records BUSY first, the holder only its
 *           RELEASE (its ACQUIRE came before)
 *   drop    the holder's signal(C) in drop_gil: RELEASE first
 *   take    take_gil's signal(SC) under both mutexes: ACQUIRE first
 *   other   an ordinary condvar and mutex used the same way: never a GIL
 * The wrappers are the shim's own, linked into this program as LD_PRELOAD
 * would put them in front of libc.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "ring_read.h"
#include "../fake_cpython/fake_gil.h"
#include "../../tracer/shim/gil.h"
#include "../../tracer/shim/gil_midrun.h"
#include "../../tracer/shim/rec_clock.h"
#include "../../tracer/shim/ring_writer.h"
#include "check.h"

static char ring_dir[64];

/* Start watching as an attach does: the GIL exists already. */
static void start_midrun(void)
{
    struct python_info py = {.present = true,
                             .hexversion = 0x030b07f0,
                             .runtime_lo = (uintptr_t)&_PyRuntime,
                             .runtime_hi = (uintptr_t)(&_PyRuntime + 1)};
    rec_clock_setup();
    struct ring_writer_identity id = {.python_hexversion = py.hexversion};
    struct ring_writer_config config = {.dir = ring_dir, .size_mb = 4};
    ring_writer_configure(&config, &id);
    char why[256];
    CHECK(ring_writer_open(true, why, sizeof why));
    gil_registry_start(&py);
    gil_midrun_start(&py);
}

/* What was recorded: the kinds of thread `tid`'s events, in order. */
static void events_of(uint32_t tid, char *kinds, size_t cap)
{
    CHECK(ring_writer_finish());
    struct trace_process p;
    char err[256];
    CHECK(ring_read_file(ring_writer_path(), &p, err, sizeof err) == 0);
    kinds[0] = '\0';
    for (size_t i = 0; i < p.thread_count; i++) {
        if (p.threads[i].tid != tid)
            continue;
        for (size_t k = 0; k < p.threads[i].count && strlen(kinds) + 2 < cap; k++)
            strcat(kinds, (const char *[]){"?", "A", "R", "B", "r", "T", "D", "F", "-", "+"}[p.threads[i].events[k].kind]);
    }
    trace_process_free(&p);
}

static void check_main_gil(void)
{
    struct gil *g = gil_registry_main();
    CHECK(g != NULL);
    CHECK(g->mutex == (uintptr_t)&_PyRuntime.gil.mutex);
    CHECK(g->cond == (uintptr_t)&_PyRuntime.gil.cond && g->switch_mutex == (uintptr_t)&_PyRuntime.gil.switch_mutex);
    CHECK_EQ_INT(g->index, 0);
    CHECK_EQ_INT(gil_registry_count(), 1);
}

static uint32_t self_tid(void)
{
    return (uint32_t)gettid();
}

static uint32_t waiter_tid;

static void *waiter(void *arg)
{
    (void)arg;
    waiter_tid = self_tid();
    fake_gil_take(2);
    fake_gil_drop(2);
    return NULL;
}

static void case_wait(void)
{
    fake_gil_take(1); /* long ago */
    start_midrun();
    pthread_t t;
    pthread_create(&t, NULL, waiter, NULL);
    time_t give_up = time(NULL) + 30; /* a watchdog, not a timing: fail rather than hang */
    while (!gil_registry_main() && time(NULL) < give_up) /* the waiter's timedwait makes it known */
        sched_yield();
    CHECK(gil_registry_main() != NULL);
    unsigned long forced = fake_gil_counts.forced_paths;
    fake_gil_drop(1);
    /* the waiter's timed wait may run out first (a loaded machine): then
     * it asks, and the drop takes the forced-switch path */
    bool asked = fake_gil_counts.forced_paths != forced;
    pthread_join(t, NULL);
    check_main_gil();
    char mine[64], its[64];
    events_of(self_tid(), mine, sizeof mine);
    events_of(waiter_tid, its, sizeof its);
    CHECK_STR(mine, asked ? "RF" : "R");
    CHECK(its[0] == 'B' && strchr(its, 'A') && its[strlen(its) - 1] == 'R');
}

static void case_drop(void)
{
    fake_gil_take(1);
    start_midrun();
    fake_gil_drop(1);
    fake_gil_take(1);
    fake_gil_drop(1);
    check_main_gil();
    char mine[64];
    events_of(self_tid(), mine, sizeof mine);
    CHECK_STR(mine, "RAR");
}

static void case_take(void)
{
    start_midrun();
    fake_gil_take(1);
    fake_gil_drop(1);
    check_main_gil();
    char mine[64];
    events_of(self_tid(), mine, sizeof mine);
    CHECK_STR(mine, "AR");
}

static void case_other(void)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
    start_midrun();
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&m);
        struct timespec soon;
        clock_gettime(CLOCK_REALTIME, &soon);
        pthread_cond_timedwait(&c, &m, &soon);
        pthread_cond_signal(&c);
        pthread_mutex_unlock(&m);
    }
    CHECK_EQ_INT(gil_registry_count(), 0);
}

int main(void)
{
    snprintf(ring_dir, sizeof ring_dir, "/tmp/giltrace-midrun-XXXXXX");
    CHECK(mkdtemp(ring_dir) != NULL);
    void (*cases[])(void) = {case_wait, case_drop, case_take, case_other};
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            fake_gil_create(5000, 0); /* before anyone watches: create_gil()'s calls go unseen */
            cases[i]();
            _exit(0);
        }
        int status;
        CHECK(waitpid(pid, &status, 0) == pid);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", ring_dir);
    CHECK(system(cmd) == 0);
    CHECK_EQ_INT(failed, 0);
    return 0;
}
