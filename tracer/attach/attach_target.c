/*
 * attach_target.c — inspecting a process before attaching. See
 * attach_target.h.
 */
#include "attach_target.h"

#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "search.h"
#include "../shim/attach_abi.h"
#include "attach_threads.h"

/* glibc's __restore_rt (x86-64): mov $__NR_rt_sigreturn, %rax; syscall. */
static const uint8_t restore_rt_code[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};

/* Functions of libc that take locks dlopen also needs (malloc arenas, the
 * loader's locks, the thread-stack list, atfork) or that run while holding
 * them, plus stdio, whose locks a hijacked thread would carry into the
 * call. A thread stopped with any of them on its stack is not used. */
static const char *const denied_patterns[] = {
    "malloc*", "__libc_*alloc*", "calloc", "realloc*", "free", "__libc_free", "cfree", "*memalign", "aligned_alloc",
    "valloc", "pvalloc", "mallinfo*", "mallopt", "dl*", "_dl_*", "__libc_dl*", "fork", "vfork", "_Fork", "__fork",
    "pthread_create", "pthread_exit", "exit", "quick_exit", "__cxa_finalize", "__cxa_atexit", "atexit", "on_exit",
    "backtrace*", "fopen*", "fdopen", "freopen*", "fclose", "fflush*", "fputs*", "fputc*", "fwrite*", "fread*",
    "fgets*", "getline", "getdelim", "puts", "putchar", "*printf", "*printf_chk", "*scanf", "setvbuf", "popen",
    "pclose", "_IO_*",
};

static int refuse(char *err, size_t n, const struct attach_target *t, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(char *err, size_t n, const struct attach_target *t, const char *fmt, ...)
{
    int used = snprintf(err, n, "process %d (%s) ", (int)t->pid, t->comm);
    va_list ap;
    va_start(ap, fmt);
    if (used >= 0 && (size_t)used < n)
        vsnprintf(err + used, n - (size_t)used, fmt, ap);
    va_end(ap);
    return -1;
}

/* Name, State, TracerPid, Uid, Gid and shadow-stack use from /proc/PID/status. */
struct status {
    char state;
    int tracer;
    bool shadow_stack;
};

static bool read_status(struct attach_target *t, struct status *s)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/status", (int)t->pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    memset(s, 0, sizeof *s);
    unsigned long ids[4];
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "Name: %63[^\n]", t->comm) == 1)
            continue;
        if (sscanf(line, "State: %c", &s->state) == 1 || sscanf(line, "TracerPid: %d", &s->tracer) == 1)
            continue;
        if (sscanf(line, "Uid: %lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) == 4)
            t->uid = (uid_t)ids[1];
        else if (sscanf(line, "Gid: %lu %lu %lu %lu", &ids[0], &ids[1], &ids[2], &ids[3]) == 4)
            t->gid = (gid_t)ids[1];
        else if (strncmp(line, "x86_Thread_features:", 20) == 0 && strstr(line, "shstk"))
            s->shadow_stack = true;
    }
    fclose(f);
    return true;
}

static void comm_of(pid_t pid, char *out, size_t cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/comm", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f || !fgets(out, (int)cap, f))
        snprintf(out, cap, "?");
    else
        out[strcspn(out, "\n")] = '\0';
    if (f)
        fclose(f);
}

static bool same_mount_namespace(pid_t pid)
{
    char path[64];
    struct stat a, b;
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)pid);
    if (stat(path, &a) != 0 || stat("/proc/self/ns/mnt", &b) != 0)
        return true; /* cannot tell: let the attach itself find out */
    return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* "3.6" from ".../libpython3.6m.so.1.0" or ".../python2.7", for messages. */
static void version_from_name(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *p = strstr(base, "python");
    int major, minor;
    if (p && sscanf(p + 6, "%d.%d", &major, &minor) == 2)
        snprintf(out, cap, "%d.%d", major, minor);
    else
        snprintf(out, cap, "older than 3.7");
}

static void add_denied(void *ctx, const struct attach_symbol *s)
{
    struct attach_target *t = ctx;
    for (size_t i = 0; i < sizeof denied_patterns / sizeof denied_patterns[0]; i++) {
        if (fnmatch(denied_patterns[i], s->name, 0) != 0)
            continue;
        struct attach_range *grown = realloc(t->deny, (t->deny_count + 1) * sizeof *grown);
        if (!grown)
            return;
        t->deny = grown;
        t->deny[t->deny_count++] = (struct attach_range){s->addr, s->addr + s->size, s->name};
        return;
    }
}

uintptr_t attach_target_restore_rt(const struct attach_elf *libc)
{
    return attach_elf_find_code(libc, restore_rt_code, sizeof restore_rt_code);
}

static int by_address(const void *a, const void *b)
{
    const struct attach_range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

struct addr_key {
    const struct attach_target *t;
    uintptr_t addr;
};

/* Does denied range i start above addr (search_first)? */
static bool range_after(const void *ctx, size_t i)
{
    const struct addr_key *c = ctx;
    return c->t->deny[i].lo > c->addr;
}

const struct attach_range *attach_target_denied(const struct attach_target *t, uintptr_t addr)
{
    /* just past the last range starting at or below addr */
    size_t lo = search_first(t->deny_count, range_after, &(struct addr_key){t, addr});
    for (size_t i = lo; i-- > 0 && t->deny[i].lo + 65536 > addr;) /* aliases may nest: look back a little */
        if (addr < t->deny[i].hi)
            return &t->deny[i];
    return NULL;
}

/* Why no glibc is mapped: a static or musl program, or one still starting. */
static int no_glibc(struct attach_target *t, char *err, size_t n)
{
    char exe[64], why[256];
    struct attach_elf e;
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)t->pid);
    bool dynamic = attach_elf_open_file(exe, &e, why, sizeof why) == 0 && attach_elf_dynamic(&e);
    attach_elf_close(&e);
    if (attach_maps_object(&t->maps, "ld-musl*", &t->ldso))
        return refuse(err, n, t, "uses musl, not glibc; attach can only load a library into a glibc program (use "
                                 "giltrace run)");
    if (dynamic)
        return refuse(err, n, t, "has not loaded its C library yet (it is just starting); try again in a moment");
    return refuse(err, n, t, "is statically linked; attach can only load a library into a glibc program (use "
                             "giltrace run)");
}

/* dlopen, the trampoline and the denied ranges, from libc's file. */
static int read_libc(struct attach_target *t, char *err, size_t n)
{
    char why[512];
    if (attach_elf_open(&t->libc, &t->libc_elf, why, sizeof why))
        return refuse(err, n, t, "cannot be inspected: %s", why);
    t->dlopen = attach_elf_symbol(&t->libc_elf, "dlopen");
    if (!t->dlopen)
        return refuse(err, n, t, "uses a glibc older than 2.34, whose libc has no dlopen; attach needs glibc 2.34 "
                                 "or later (use giltrace run)");
    t->restore_rt = attach_target_restore_rt(&t->libc_elf);
    if (!t->restore_rt)
        return refuse(err, n, t, "uses a libc (%s) whose signal return code giltrace cannot find; use giltrace run",
                      t->libc.path);
    attach_elf_functions(&t->libc_elf, add_denied, t);
    qsort(t->deny, t->deny_count, sizeof *t->deny, by_address);
    return 0;
}

/* The interpreter: a libpython, else the executable. */
static int read_python(struct attach_target *t, char *err, size_t n)
{
    char exe[4096], why[512];
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)t->pid);
    ssize_t len = readlink(link, exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = '\0';
    if (!attach_maps_object(&t->maps, "libpython*.so*", &t->python) &&
        !attach_maps_object_at(&t->maps, exe, &t->python))
        return refuse(err, n, t, "has not mapped its executable %s yet (it is just starting); try again in a "
                                 "moment", exe);
    struct attach_elf e;
    if (attach_elf_open(&t->python, &e, why, sizeof why))
        return refuse(err, n, t, "cannot be inspected: %s", why);
    bool python = attach_elf_symbol(&e, "Py_GetVersion") != 0;
    bool runtime = attach_elf_symbol(&e, "_PyRuntime") != 0;
    attach_elf_close(&e);
    if (!python)
        return refuse(err, n, t, "is not a CPython: it defines no Py_GetVersion");
    if (!runtime) {
        char v[32];
        version_from_name(t->python.path, v, sizeof v);
        return refuse(err, n, t, "runs Python %s: attach needs 3.7 or later, whose GIL can be found while it runs; "
                                 "trace it from its start with giltrace run", v);
    }
    return 0;
}

/* The attach library: its entry points, and whether it is loaded already. */
static int read_lib(struct attach_target *t, char *err, size_t n)
{
    char why[512];
    struct attach_elf e;
    if (attach_elf_open_file(t->lib_path, &e, why, sizeof why)) {
        snprintf(err, n, "%s", why);
        return -1;
    }
    t->entry_start = attach_elf_symbol(&e, ATTACH_ENTRY_START);
    t->entry_stop = attach_elf_symbol(&e, ATTACH_ENTRY_STOP);
    t->request = attach_elf_symbol(&e, ATTACH_REQUEST);
    attach_elf_close(&e);
    if (!t->entry_start || !t->entry_stop || !t->request) {
        snprintf(err, n, "%s does not export the attach entry points", t->lib_path);
        return -1;
    }
    struct attach_object other;
    if (attach_maps_object(&t->maps, "libgiltrace-attach.so", &other) && strcmp(other.path, t->lib_path) != 0)
        return refuse(err, n, t, "has %s loaded by another giltrace; attach with that one (the library stays "
                                 "loaded until the process ends)", other.path);
    return 0;
}

int attach_target_refresh(struct attach_target *t)
{
    struct attach_maps maps;
    if (attach_maps_read(t->pid, &maps))
        return -1;
    /* Objects point into the old map's text: find them all in the new one
     * before it goes. */
    attach_maps_object_at(&maps, t->libc.path, &t->libc);
    attach_maps_object_at(&maps, t->ldso.path, &t->ldso);
    attach_maps_object_at(&maps, t->python.path, &t->python);
    t->lib_loaded = t->lib_path[0] && attach_maps_object_at(&maps, t->lib_path, &t->lib);
    attach_maps_free(&t->maps);
    t->maps = maps;
    return 0;
}

static void init(struct attach_target *t, pid_t pid)
{
    memset(t, 0, sizeof *t);
    t->pid = pid;
    t->libc_elf.fd = -1;
    snprintf(t->comm, sizeof t->comm, "?");
}

/* The map, glibc and the loader: what calls in the target need. */
static int read_glibc(struct attach_target *t, char *err, size_t n)
{
    if (attach_maps_read(t->pid, &t->maps)) {
        if (errno == EACCES || errno == EPERM) {
            attach_threads_explain_eperm(t->pid, t->uid, err, n); /* what ptrace would say too */
            return -1;
        }
        return refuse(err, n, t, "cannot be inspected: %s", strerror(errno));
    }
    if (!attach_maps_object(&t->maps, "libc.so.6", &t->libc))
        return no_glibc(t, err, n);
    if (!attach_maps_object(&t->maps, "ld-linux*.so*", &t->ldso))
        return refuse(err, n, t, "has no dynamic loader in its memory map; use giltrace run");
    return read_libc(t, err, n);
}

int attach_target_glibc(pid_t pid, struct attach_target *t, char *err, size_t n)
{
    init(t, pid);
    return read_glibc(t, err, n);
}

int attach_target_inspect(pid_t pid, const char *lib_path, struct attach_target *t, char *err, size_t n)
{
    init(t, pid);
    snprintf(t->lib_path, sizeof t->lib_path, "%s", lib_path);
    struct status st;
    if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH)) {
        snprintf(err, n, "no process %d", (int)pid);
        return -1;
    }
    if (pid == getpid())
        return refuse(err, n, t, "is giltrace itself");
    if (!read_status(t, &st))
        return refuse(err, n, t, "cannot be inspected: /proc/%d/status is not readable", (int)pid);
    if (st.state == 'Z' || st.state == 'X')
        return refuse(err, n, t, "has exited");
    if (st.tracer) {
        char tracer[64];
        comm_of(st.tracer, tracer, sizeof tracer);
        return refuse(err, n, t, "is already traced by process %d (%s); detach that debugger or tracer first",
                      st.tracer, tracer);
    }
    if (!same_mount_namespace(pid))
        return refuse(err, n, t, "is in another mount namespace (a container?): run giltrace attach inside it");
    if (st.shadow_stack)
        return refuse(err, n, t, "runs with a shadow stack (x86 CET), which attach cannot work with; use giltrace run");
    if (read_glibc(t, err, n))
        return -1;
    if (attach_maps_object(&t->maps, "libgiltrace.so", &t->lib))
        return refuse(err, n, t, "already runs with libgiltrace.so preloaded (giltrace run or GILTRACE_OUTPUT): it "
                                 "is being traced from its start already");
    if (read_python(t, err, n) || read_lib(t, err, n))
        return -1;
    t->lib_loaded = attach_maps_object_at(&t->maps, t->lib_path, &t->lib);
    return 0;
}

void attach_target_free(struct attach_target *t)
{
    attach_maps_free(&t->maps);
    attach_elf_close(&t->libc_elf);
    free(t->deny);
    t->deny = NULL;
    t->deny_count = 0;
}
