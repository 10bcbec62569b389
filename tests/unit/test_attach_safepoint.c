/*
 * test_attach_safepoint.c — which thread giltrace attach may make call
 * dlopen (tracer/attach/attach_safepoint.h), on a target whose threads are
 * blocked in places where it must not:
 *   main  in ppoll with a signal mask of its own (the original is unknown)
 *   T1    inside dlopen, opening a FIFO nobody writes to (the loader's lock)
 *   T2    inside fgets on a pipe (a stdio lock)
 *   T3    in a relative nanosleep (a signal return cannot resume it)
 *   T4    in a plain read(2): the only good choice
 * and that any thread but main and T3 may run the stop entry. Exits 77
 * where ptrace is not allowed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tracer/attach/attach_safepoint.h"
#include "../../tracer/attach/attach_target.h"
#include "../../tracer/attach/attach_threads.h"
#include "check.h"

#define SKIP 77

static char fifo[64];
static int pipe_stdio[2], pipe_read[2], report[2];

static void *in_dlopen(void *arg)
{
    (void)arg;
    dlopen(fifo, RTLD_NOW);
    return NULL;
}

static void *in_fgets(void *arg)
{
    (void)arg;
    FILE *f = fdopen(pipe_stdio[0], "r");
    char line[16];
    if (f)
        (void)!fgets(line, sizeof line, f);
    return NULL;
}

static void *in_sleep(void *arg)
{
    (void)arg;
    struct timespec t = {60, 0};
    nanosleep(&t, NULL);
    return NULL;
}

static void *in_read(void *arg)
{
    (void)arg;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    (void)!write(report[1], &tid, sizeof tid);
    char c;
    (void)!read(pipe_read[0], &c, 1);
    return NULL;
}

static void run_target(void)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    pthread_t t;
    /* dlopen last: while it waits it holds the loader's locks, which
     * pthread_create needs too. */
    void *(*bodies[])(void *) = {in_fgets, in_sleep, in_read, in_dlopen};
    for (int i = 0; i < 4; i++)
        pthread_create(&t, NULL, bodies[i], NULL);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    for (;;)
        ppoll(NULL, 0, NULL, &mask);
}

/* Until every thread of `pid` sits in a system call. */
static void wait_all_blocked(pid_t pid, int threads)
{
    for (int tries = 0; tries < 5000; tries++) {
        int blocked = 0;
        for (pid_t tid = pid; tid < pid + 64; tid++) {
            char path[96], buf[64];
            snprintf(path, sizeof path, "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
            FILE *f = fopen(path, "re");
            if (!f)
                continue;
            if (fgets(buf, sizeof buf, f) && strncmp(buf, "running", 7) != 0 && strncmp(buf, "-1", 2) != 0)
                blocked++;
            fclose(f);
        }
        if (blocked == threads)
            return;
        usleep(1000);
    }
    CHECK(!"the target's threads did not all block");
}

static void remove_fifo(void)
{
    unlink(fifo);
}

int main(void)
{
    snprintf(fifo, sizeof fifo, "/tmp/giltrace-safepoint-%d", (int)getpid());
    CHECK(mkfifo(fifo, 0600) == 0);
    atexit(remove_fifo);
    CHECK(pipe(pipe_stdio) == 0 && pipe(pipe_read) == 0 && pipe(report) == 0);
    pid_t pid = fork();
    if (pid == 0)
        run_target();
    pid_t good;
    CHECK(read(report[0], &good, sizeof good) == sizeof good);
    wait_all_blocked(pid, 5);

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    struct attach_target t;
    struct attach_threads set;
    char err[512], why[2048];
    CHECK(attach_target_glibc(pid, &t, err, sizeof err) == 0);
    if (attach_threads_stop(pid, 2000, &set, err, sizeof err) != 0) {
        printf("SKIP: ptrace is not allowed here (%s)\n", err);
        kill(pid, SIGKILL);
        return SKIP;
    }
    CHECK_EQ_INT(set.count, 5);
    int i = attach_safepoint_choose(&set, &t, ATTACH_NEED_CLEAN_STACK, why, sizeof why);
    fprintf(stderr, "dlopen: thread %d\n", i >= 0 ? (int)set.t[i].tid : -1);
    CHECK(i >= 0 && set.t[i].tid == good);
    /* Without it, no thread will do, and each says why. */
    set.t[i].interrupted = false;
    CHECK(attach_safepoint_choose(&set, &t, ATTACH_NEED_CLEAN_STACK, why, sizeof why) == -1);
    set.t[i].interrupted = true;
    fprintf(stderr, "kept out: %s\n", why);
    CHECK(strstr(why, "in the dynamic loader") != NULL);
    CHECK(strstr(why, "inside fgets") != NULL || strstr(why, "inside _IO_") != NULL);
    CHECK(strstr(why, "temporary signal mask") != NULL);
    CHECK(strstr(why, "relative sleep") != NULL);

    i = attach_safepoint_choose(&set, &t, ATTACH_NEED_ANY, why, sizeof why);
    CHECK(i >= 0 && set.t[i].tid != pid);
    fprintf(stderr, "stop entry: thread %d\n", (int)set.t[i].tid);

    attach_threads_release(&set, 0);
    attach_threads_free(&set);
    attach_target_free(&t);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return 0;
}
