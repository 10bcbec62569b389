/*
 * test_attach_call.c — a thread of another process made to call a function
 * (tracer/attach/attach_call.h) comes back exactly as it was.
 *
 * The target is a fork of this program, so its functions are at the same
 * addresses. Its threads block in system calls holding known values:
 *   A  in read(2) (-ERESTARTSYS) with patterns in ymm8-15 (xmm8-15 without
 *      AVX) and r12-r15, a blocked SIGUSR2 and an alternate signal stack;
 *   B  in a relative 1 s clock_nanosleep (-ERESTART_RESTARTBLOCK): a call
 *      there is refused, and stopping it does not cut its sleep short;
 *   C  in read(2), for a call whose tracer is SIGKILLed halfway;
 *   D  in a futex wait with an absolute deadline (-ERESTART_RESTARTBLOCK,
 *      as every GIL waiter), which is issued again after the call.
 * When they wake, A and C check that their read got the byte (no EINTR)
 * and that registers, signal mask and altstack are what they were; B that
 * its sleep returned 0 after 1 s; D that its wait timed out, at the
 * deadline, and not with EINTR.
 * Exits 77 where ptrace is not allowed.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../tracer/attach/attach_call.h"
#include "../../tracer/attach/attach_elf.h"
#include "../../tracer/attach/attach_maps.h"
#include "../../tracer/attach/attach_target.h"
#include "../../tracer/attach/attach_threads.h"
#include "check.h"

#define SKIP 77

/* What a call leaves behind, in the target's copy of this global. */
struct victim {
    int32_t done; /* set last: the flag */
    int32_t calls;
    pid_t tid;
    uint64_t token; /* read from the data copied below the thread's stack */
    uint64_t arg2;
};

static struct victim victim;
static int report_fd; /* child -> parent lines */

static void say(const char *line)
{
    (void)!write(report_fd, line, strlen(line));
}

__attribute__((noinline)) void victim_call(const uint64_t *token, uint64_t arg2)
{
    victim.calls++;
    victim.tid = (pid_t)syscall(SYS_gettid);
    victim.token = *token;
    victim.arg2 = arg2;
    __atomic_store_n(&victim.done, 1, __ATOMIC_RELEASE);
}

/* A call that makes system calls and lasts: its tracer dies meanwhile. */
__attribute__((noinline)) void victim_slow(const uint64_t *token, uint64_t arg2)
{
    say("in-slow-call\n");
    struct timespec t = {0, 300 * 1000000};
    while (nanosleep(&t, &t) != 0 && errno == EINTR)
        ;
    victim_call(token, arg2);
}

/* Registers a thread loads before blocking in read(2) and checks after. */
struct regs_image {
    uint8_t vec[8][32]; /* ymm8-15, or xmm8-15 in the first 16 bytes */
    uint64_t gpr[4];    /* r12-r15 */
};

static long read_holding(int fd, char *byte, const struct regs_image *in, struct regs_image *out, bool avx)
{
    long ret;
    if (avx)
        __asm__ volatile("vmovdqu 0(%[in]), %%ymm8\n\tvmovdqu 32(%[in]), %%ymm9\n\t"
                         "vmovdqu 64(%[in]), %%ymm10\n\tvmovdqu 96(%[in]), %%ymm11\n\t"
                         "vmovdqu 128(%[in]), %%ymm12\n\tvmovdqu 160(%[in]), %%ymm13\n\t"
                         "vmovdqu 192(%[in]), %%ymm14\n\tvmovdqu 224(%[in]), %%ymm15\n\t"
                         "mov 256(%[in]), %%r12\n\tmov 264(%[in]), %%r13\n\t"
                         "mov 272(%[in]), %%r14\n\tmov 280(%[in]), %%r15\n\t"
                         "syscall\n\t"
                         "vmovdqu %%ymm8, 0(%[out])\n\tvmovdqu %%ymm9, 32(%[out])\n\t"
                         "vmovdqu %%ymm10, 64(%[out])\n\tvmovdqu %%ymm11, 96(%[out])\n\t"
                         "vmovdqu %%ymm12, 128(%[out])\n\tvmovdqu %%ymm13, 160(%[out])\n\t"
                         "vmovdqu %%ymm14, 192(%[out])\n\tvmovdqu %%ymm15, 224(%[out])\n\t"
                         "mov %%r12, 256(%[out])\n\tmov %%r13, 264(%[out])\n\t"
                         "mov %%r14, 272(%[out])\n\tmov %%r15, 280(%[out])\n\t"
                         "vzeroupper"
                         : "=a"(ret)
                         : "a"((long)SYS_read), "D"((long)fd), "S"(byte), "d"(1L), [in] "r"(in), [out] "r"(out)
                         : "rcx", "r11", "r12", "r13", "r14", "r15", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                           "xmm13", "xmm14", "xmm15", "memory");
    else
        __asm__ volatile("movdqu 0(%[in]), %%xmm8\n\tmovdqu 32(%[in]), %%xmm9\n\t"
                         "movdqu 64(%[in]), %%xmm10\n\tmovdqu 96(%[in]), %%xmm11\n\t"
                         "movdqu 128(%[in]), %%xmm12\n\tmovdqu 160(%[in]), %%xmm13\n\t"
                         "movdqu 192(%[in]), %%xmm14\n\tmovdqu 224(%[in]), %%xmm15\n\t"
                         "mov 256(%[in]), %%r12\n\tmov 264(%[in]), %%r13\n\t"
                         "mov 272(%[in]), %%r14\n\tmov 280(%[in]), %%r15\n\t"
                         "syscall\n\t"
                         "movdqu %%xmm8, 0(%[out])\n\tmovdqu %%xmm9, 32(%[out])\n\t"
                         "movdqu %%xmm10, 64(%[out])\n\tmovdqu %%xmm11, 96(%[out])\n\t"
                         "movdqu %%xmm12, 128(%[out])\n\tmovdqu %%xmm13, 160(%[out])\n\t"
                         "movdqu %%xmm14, 192(%[out])\n\tmovdqu %%xmm15, 224(%[out])\n\t"
                         "mov %%r12, 256(%[out])\n\tmov %%r13, 264(%[out])\n\t"
                         "mov %%r14, 272(%[out])\n\tmov %%r15, 280(%[out])"
                         : "=a"(ret)
                         : "a"((long)SYS_read), "D"((long)fd), "S"(byte), "d"(1L), [in] "r"(in), [out] "r"(out)
                         : "rcx", "r11", "r12", "r13", "r14", "r15", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
                           "xmm13", "xmm14", "xmm15", "memory");
    return ret;
}

struct reader {
    int fd;
    const char *name;
};

/* Signal sets compared signal by signal: beyond the kernel's 64 bits a
 * sigset_t holds whatever the C library left there. */
static bool same_signals(const sigset_t *a, const sigset_t *b)
{
    for (int sig = 1; sig <= 64; sig++)
        if (sigismember(a, sig) != sigismember(b, sig))
            return false;
    return true;
}

static void *reader_thread(void *arg)
{
    const struct reader *r = arg;
    bool avx = __builtin_cpu_supports("avx");
    struct regs_image in, out;
    for (size_t i = 0; i < sizeof in; i++)
        ((uint8_t *)&in)[i] = (uint8_t)(i * 7 + 3);
    memset(&out, 0, sizeof out);
    sigset_t usr2, mask_before, mask_after;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &usr2, NULL);
    pthread_sigmask(SIG_BLOCK, NULL, &mask_before);
    static char altstack[3][65536];
    stack_t ss = {.ss_sp = altstack[r->name[0] - 'A'], .ss_size = sizeof altstack[0]}, ss_after, ss_before;
    sigaltstack(&ss, &ss_before);

    char byte = 0;
    long got;
    while ((got = read_holding(r->fd, &byte, &in, &out, avx)) == -EINTR)
        say("EINTR\n"); /* would be a bug: reported, and the parent fails the test */

    pthread_sigmask(SIG_BLOCK, NULL, &mask_after);
    sigaltstack(NULL, &ss_after);
    bool vec_ok = true;
    for (int k = 0; k < 8; k++)
        vec_ok &= memcmp(in.vec[k], out.vec[k], avx ? 32 : 16) == 0;
    char line[256];
    snprintf(line, sizeof line, "%s read=%ld byte=%c vec=%d gpr=%d mask=%d altstack=%d\n", r->name, got, byte,
             vec_ok, memcmp(in.gpr, out.gpr, sizeof in.gpr) == 0, same_signals(&mask_before, &mask_after),
             ss_after.ss_sp == ss.ss_sp && ss_after.ss_size == ss.ss_size && !(ss_after.ss_flags & SS_DISABLE));
    say(line);
    sigaltstack(&ss_before, NULL); /* the one the thread had (AddressSanitizer frees its own) */
    return NULL;
}

static void *futex_thread(void *arg)
{
    (void)arg;
    static uint32_t word;
    struct timespec deadline, now;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 2;
    long r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG, 0, &deadline, NULL,
                     FUTEX_BITSET_MATCH_ANY);
    int e = errno;
    clock_gettime(CLOCK_MONOTONIC, &now);
    bool on_time = now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
    char line[128];
    snprintf(line, sizeof line, "D futex=%s on_time=%d\n", r == -1 && e == ETIMEDOUT ? "ETIMEDOUT" : strerror(e),
             on_time);
    say(line);
    return NULL;
}

static void *sleeper_thread(void *arg)
{
    (void)arg;
    struct timespec t0, t1, want = {5, 0}; /* long enough for every step before it under a loaded ASan build */
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &want, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    char line[128];
    snprintf(line, sizeof line, "B sleep=%d long_enough=%d\n", r, ms >= 5000);
    say(line);
    return NULL;
}

/* The target: threads A, B, C, D; waits for them. */
static void run_target(int fd_a, int fd_c)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    static struct reader a = {0, "A"}, c = {0, "C"};
    a.fd = fd_a;
    c.fd = fd_c;
    pthread_t t[4];
    pthread_create(&t[0], NULL, reader_thread, &a);
    pthread_create(&t[1], NULL, sleeper_thread, NULL);
    pthread_create(&t[2], NULL, reader_thread, &c);
    pthread_create(&t[3], NULL, futex_thread, NULL);
    say("ready\n");
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

/* Read one line from the target. */
static void expect_line(FILE *f, char *line, size_t cap)
{
    CHECK(fgets(line, (int)cap, f) != NULL);
    fprintf(stderr, "target: %s", line);
}

/* A thread of the target (not `other`) blocked in system call `nr` (or
 * `nr2`). */
static pid_t thread_in_syscall(pid_t pid, long nr, long nr2, pid_t other)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
    for (int tries = 0; tries < 5000; tries++) {
        DIR *d = opendir(dir);
        struct dirent *de;
        pid_t found = 0;
        while (d && !found && (de = readdir(d))) {
            pid_t tid = (pid_t)atoi(de->d_name);
            char path[96], buf[256];
            snprintf(path, sizeof path, "%s/%d/syscall", dir, (int)tid);
            FILE *f = tid > 0 && tid != other ? fopen(path, "re") : NULL;
            long n = f && fgets(buf, sizeof buf, f) ? strtol(buf, NULL, 10) : -2;
            if (n == nr || n == nr2)
                found = tid;
            if (f)
                fclose(f);
        }
        if (d)
            closedir(d);
        if (found)
            return found;
        usleep(1000);
    }
    return 0;
}

static struct attach_call_limits limits_for(pid_t pid)
{
    struct attach_maps maps;
    struct attach_object libc;
    struct attach_elf e;
    char err[256];
    CHECK(attach_maps_read(pid, &maps) == 0);
    CHECK(attach_maps_object(&maps, "libc.so.6", &libc));
    CHECK(attach_elf_open(&libc, &e, err, sizeof err) == 0);
    struct attach_call_limits lim = {.restore_rt = attach_target_restore_rt(&e), .valve_ms = 5000, .limit_ms = 10000};
    attach_elf_close(&e);
    attach_maps_free(&maps);
    CHECK(lim.restore_rt != 0);
    return lim;
}

/* The target's copy of `victim`: reset it, or read it. */
static void victim_io(pid_t pid, struct victim *v, bool write)
{
    struct iovec local = {v, sizeof *v}, remote = {&victim, sizeof *v};
    ssize_t n = write ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
                      : process_vm_readv(pid, &local, 1, &remote, 1, 0);
    CHECK(n == (ssize_t)sizeof *v);
}

/* Stop the target and make thread `tid` call `fn(&token copied to its
 * stack, token + 1)`, waiting for the return or for victim.done. Returns
 * what attach_call_run did (errno set), with what the call left in `v`. */
static int call_on(pid_t pid, pid_t tid, void (*fn)(const uint64_t *, uint64_t), bool until_flag, uint64_t token,
                   struct victim *v)
{
    struct attach_call_limits lim = limits_for(pid);
    struct attach_threads set;
    char err[512];
    CHECK(attach_threads_stop(pid, 2000, &set, err, sizeof err) == 0);
    struct attach_thread *th = attach_threads_find(&set, tid);
    CHECK(th && th->stopped && th->interrupted);
    memset(v, 0, sizeof *v);
    victim_io(pid, v, true);
    struct attach_call call = {.name = "victim_call", .fn = (uintptr_t)fn, .stack_data = &token,
                               .stack_len = sizeof token, .arg2 = token + 1,
                               .flag = until_flag ? (uintptr_t)&victim.done : 0};
    bool released = false;
    int r = attach_call_run(&set, th, &call, &lim, &released, err, sizeof err);
    int e = errno;
    if (r)
        fprintf(stderr, "call: %s\n", err);
    CHECK(!released);
    victim_io(pid, v, false);
    attach_threads_release(&set, 0);
    CHECK(attach_threads_pause(&set) > 0);
    attach_threads_free(&set);
    errno = e;
    return r;
}

static void call_ok(pid_t pid, pid_t tid, bool until_flag, uint64_t token)
{
    struct victim v;
    CHECK(call_on(pid, tid, victim_call, until_flag, token, &v) == 0);
    CHECK_EQ_INT(v.done, 1);
    CHECK_EQ_INT(v.calls, 1);
    CHECK_EQ_INT(v.tid, tid);
    CHECK(v.token == token && v.arg2 == token + 1);
}

/* A tracer of its own that starts victim_slow on `tid` and never returns:
 * the parent kills it in the middle of the call. */
static pid_t doomed_tracer(pid_t pid, pid_t tid)
{
    pid_t helper = fork();
    if (helper == 0) {
        struct attach_call_limits lim = limits_for(pid);
        struct attach_threads set;
        char err[512];
        if (attach_threads_stop(pid, 2000, &set, err, sizeof err) != 0)
            _exit(3);
        uint64_t token = 7;
        struct attach_call call = {.name = "victim_slow", .fn = (uintptr_t)victim_slow, .stack_data = &token,
                                   .stack_len = sizeof token, .arg2 = 8};
        bool released = false;
        attach_call_run(&set, attach_threads_find(&set, tid), &call, &lim, &released, err, sizeof err);
        _exit(4); /* not reached: killed during the call */
    }
    return helper;
}

int main(void)
{
    int report[2], pa[2], pc[2];
    CHECK(pipe(report) == 0 && pipe(pa) == 0 && pipe(pc) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        report_fd = report[1];
        run_target(pa[0], pc[0]);
    }
    close(report[1]);
    FILE *from_target = fdopen(report[0], "r");
    char line[256];
    expect_line(from_target, line, sizeof line);
    CHECK_STR(line, "ready\n");

    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
    struct attach_threads probe;
    char err[512];
    if (attach_threads_stop(pid, 2000, &probe, err, sizeof err) != 0) {
        printf("SKIP: ptrace is not allowed here (%s)\n", err);
        kill(pid, SIGKILL);
        return SKIP;
    }
    attach_threads_release(&probe, 0);
    attach_threads_free(&probe);

    /* The two readers are told apart by what they are told to read. */
    pid_t a = thread_in_syscall(pid, SYS_read, SYS_read, 0);
    pid_t b = thread_in_syscall(pid, SYS_clock_nanosleep, SYS_restart_syscall, 0);
    pid_t c = thread_in_syscall(pid, SYS_read, SYS_read, a);
    CHECK(a && b && c);

    pid_t d = thread_in_syscall(pid, SYS_futex, SYS_futex, 0);
    CHECK(d);
    call_ok(pid, a, false, 11); /* until its rt_sigreturn */
    call_ok(pid, a, true, 12);  /* until its flag */
    call_ok(pid, d, false, 13); /* a futex wait issued again */
    struct victim v;
    CHECK(call_on(pid, b, victim_call, false, 14, &v) == -1 && errno == EINVAL && v.calls == 0);

    pid_t helper = doomed_tracer(pid, c);
    expect_line(from_target, line, sizeof line);
    CHECK_STR(line, "in-slow-call\n");
    kill(helper, SIGKILL);
    waitpid(helper, NULL, 0);

    CHECK(write(pa[1], "a", 1) == 1);
    CHECK(write(pc[1], "c", 1) == 1);
    bool seen_a = false, seen_b = false, seen_c = false, seen_d = false;
    for (int i = 0; i < 4; i++) {
        expect_line(from_target, line, sizeof line);
        if (line[0] == 'A')
            seen_a = strcmp(line, "A read=1 byte=a vec=1 gpr=1 mask=1 altstack=1\n") == 0;
        else if (line[0] == 'B')
            seen_b = strcmp(line, "B sleep=0 long_enough=1\n") == 0;
        else if (line[0] == 'C')
            seen_c = strcmp(line, "C read=1 byte=c vec=1 gpr=1 mask=1 altstack=1\n") == 0;
        else if (line[0] == 'D')
            seen_d = strcmp(line, "D futex=ETIMEDOUT on_time=1\n") == 0;
    }
    CHECK(seen_a && seen_b && seen_c && seen_d);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return 0;
}
