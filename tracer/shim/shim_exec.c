/*
 * shim_exec.c — the exec family, interposed so that the image that execs
 * ends its trace first (shim_exec.h). glibc's execv, execvp and friends call
 * its internal execve, so each is wrapped, not execve alone. The wrappers
 * call the real function with the caller's arguments unchanged; errno is the
 * real function's.
 */
#include <dlfcn.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include "shim_exec.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

extern char **environ;

/* The next definitions (libc's), looked up when the shim loads: a vfork
 * child, which shares its parent's memory while other threads of the parent
 * run on, must not be the one to call dlsym (the loader's locks). A call
 * before the constructor looks up its own. */
enum { REAL_EXECVE, REAL_EXECV, REAL_EXECVP, REAL_EXECVPE, REAL_FEXECVE, REAL_COUNT };
static const char *const real_names[REAL_COUNT] = {"execve", "execv", "execvp", "execvpe", "fexecve"};
static void *real_fns[REAL_COUNT];

static void *real(int which)
{
    void *f = __atomic_load_n(&real_fns[which], __ATOMIC_ACQUIRE);
    if (!f) {
        f = dlsym(RTLD_NEXT, real_names[which]);
        __atomic_store_n(&real_fns[which], f, __ATOMIC_RELEASE);
    }
    return f;
}

__attribute__((constructor(101))) static void shim_exec_resolve(void)
{
    for (int i = 0; i < REAL_COUNT; i++)
        real(i);
}

/* Call the real function `which` as `call`, with the trace ended before and
 * resumed if it returns (the exec failed). */
#define EXEC_VIA(which, type, envp, call)                                                                            \
    do {                                                                                                             \
        type fn = (type)real(which);                                                                                 \
        bool begun = shim_exec_begin(envp);                                                                          \
        int r = call;                                                                                                \
        if (begun)                                                                                                   \
            shim_exec_failed();                                                                                      \
        return r;                                                                                                    \
    } while (0)

typedef int (*execve_fn)(const char *, char *const[], char *const[]);
typedef int (*execv_fn)(const char *, char *const[]);
typedef int (*fexecve_fn)(int, char *const[], char *const[]);

SHIM_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    EXEC_VIA(REAL_EXECVE, execve_fn, envp, fn(path, argv, envp));
}

SHIM_EXPORT int execv(const char *path, char *const argv[])
{
    EXEC_VIA(REAL_EXECV, execv_fn, environ, fn(path, argv));
}

SHIM_EXPORT int execvp(const char *file, char *const argv[])
{
    EXEC_VIA(REAL_EXECVP, execv_fn, environ, fn(file, argv));
}

SHIM_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    EXEC_VIA(REAL_EXECVPE, execve_fn, envp, fn(file, argv, envp));
}

SHIM_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    EXEC_VIA(REAL_FEXECVE, fexecve_fn, envp, fn(fd, argv, envp));
}

/* execl, execlp, execle: their arguments as an argv on the stack (and
 * execle's envp after the NULL), then the v-form above. */
#define ARGV_FROM_VA(arg, argv, with_envp, envp_out)                                                                 \
    size_t argc = 1;                                                                                                 \
    va_list ap;                                                                                                      \
    va_start(ap, arg);                                                                                               \
    while (va_arg(ap, const char *))                                                                                 \
        argc++;                                                                                                      \
    va_end(ap);                                                                                                      \
    const char *argv[argc + 1];                                                                                      \
    argv[0] = arg;                                                                                                   \
    va_start(ap, arg);                                                                                               \
    for (size_t i = 1; i <= argc; i++)                                                                               \
        argv[i] = va_arg(ap, const char *);                                                                          \
    envp_out = with_envp ? va_arg(ap, char *const *) : NULL;                                                         \
    va_end(ap)

SHIM_EXPORT int execl(const char *path, const char *arg, ...)
{
    char *const *unused;
    ARGV_FROM_VA(arg, argv, false, unused);
    (void)unused;
    return execv(path, (char *const *)argv);
}

SHIM_EXPORT int execlp(const char *file, const char *arg, ...)
{
    char *const *unused;
    ARGV_FROM_VA(arg, argv, false, unused);
    (void)unused;
    return execvp(file, (char *const *)argv);
}

SHIM_EXPORT int execle(const char *path, const char *arg, ...)
{
    char *const *envp;
    ARGV_FROM_VA(arg, argv, true, envp);
    return execve(path, (char *const *)argv, envp);
}
