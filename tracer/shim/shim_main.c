/*
 * shim_main.c — the shim's life cycle inside a traced process: start (find
 * the interpreter, read the environment, create the ring), fork, and exit
 * (mark the ring finished; in env-only mode, write the database).
 *
 * In a process that is not a CPython the constructor returns after one
 * dlsym and the shim stays inert: no file, no output, every wrapper on its
 * fast path; only a dlopen looks again, once it has loaded something, in
 * case it brought libpython (an embedder). Any problem makes the process
 * run untraced, with one line on stderr saying why.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gil.h"
#include "gil_experiment.h"
#include "py_names.h"
#include "py_stack.h"
#include "python_probe.h"
#include "rec_clock.h"
#include "recorder.h"
#include "ring_writer.h"
#include "shim_config.h"
#include "shim_exec.h"
#include "shim_real.h"
#include "shim_thread.h"
#include "stack_modules.h"
#include "stack_unwind.h"
#include "text_util.h"
#include "thread_start.h"

#define SHIM_EXPORT __attribute__((visibility("default")))

/* The entry point of libgiltrace-writer.so (formats/tdb/ring_dump.h). */
typedef int (*dump_ring_fn)(const char *ring_path, const char *db_path, char *err, size_t err_len);

static struct shim_config config;
static struct python_info py;
static int finished;

static void say(const char *a, const char *b)
{
    char line[1024];
    struct text_buf t = text_buf_init(line, sizeof line);
    text_buf_str(&t, "giltrace: ");
    text_buf_str(&t, a);
    text_buf_str(&t, b);
    text_buf_str(&t, "\n");
    (void)!write(2, line, t.len);
}

static void after_fork_child(void)
{
    uint32_t parent_tid = shim_self.tid;
    shim_thread_reset(&shim_self);
    ring_writer_forget_parent();
    gil_registry_after_fork_child();
    stack_modules_after_fork_child();
    py_names_after_fork_child(parent_tid, shim_thread_tid(&shim_self));
    __atomic_store_n(&finished, 0, __ATOMIC_RELAXED);
}

/* Whether the process may still turn into a Python: not one when the
 * constructor ran, but an embedder (uWSGI's python3 plugin, mod_wsgi) may
 * dlopen libpython later. */
enum { PYTHON_UNDECIDED, PYTHON_AWAITED, PYTHON_DECIDED };
static int python_state;

/* GILTRACE_EXPERIMENT: honoured under giltrace run only (which labels the
 * trace), on a condvar GIL; else the process is traced without it, with
 * one line saying so. A spec giltrace run passed on is valid (it checked). */
static void start_experiment(void)
{
    const char *spec = getenv("GILTRACE_EXPERIMENT");
    char why[512];
    if (!spec || !*spec)
        return;
    if (config.mode != SHIM_MODE_RUN)
        say("GILTRACE_EXPERIMENT is honoured only under giltrace run --experiment (which labels the trace); ",
            "tracing this process without it");
    else if (py.hexversion >> 24 == 2)
        say("--experiment: Python 2's GIL is a semaphore, with no timed wait to shorten; ",
            "tracing this process without the experiment");
    else if (!gil_experiment_parse(spec, why, sizeof why))
        say(why, "; tracing this process without the experiment");
    else {
        gil_experiment_enable();
        gil_experiment_thread_named(&shim_self, "MainThread");
    }
}

/* Start tracing the interpreter `py` that was found in the process. */
static void start_tracing(void)
{
    char why[1024];
    if (!shim_config_read(&config, why, sizeof why)) {
        if (why[0])
            say(why, "");
        return;
    }
    if (config.mode == SHIM_MODE_OFF) {
        say("libgiltrace.so is preloaded but neither GILTRACE_OUTPUT nor GILTRACE_RUN_DIR is set; ",
            "running untraced (set GILTRACE_OUTPUT=/path/trace-%p.db)");
        return;
    }

    rec_clock_setup();
    /* 3.7+ creates its GIL in Py_Initialize: it must be identified. Older
     * interpreters create it when a second thread starts, if ever. */
    uint32_t kind = py.free_threaded               ? RING_GIL_NONE
                    : py.hexversion >= 0x03070000 ? RING_GIL_UNKNOWN
                    : py.hexversion >> 24 == 2     ? RING_GIL_SEMAPHORE
                                                   : RING_GIL_CONDVAR;
    ring_writer_set_gil_kind(kind);
    struct ring_writer_identity id = {.python_hexversion = py.hexversion};
    text_copy(id.python_version, sizeof id.python_version, py.version);
    struct ring_writer_config rc = {
        .dir = config.ring_dir,
        .size_mb = config.size_mb,
        .mode = config.ring_mode,
        .trigger_wait_ms = config.trigger_wait_ms,
        .stacks_mb = config.stacks_mb,
    };
    ring_writer_configure(&rc, &id);
    if (!ring_writer_open(true, why, sizeof why)) {
        say(why, "; running untraced");
        return;
    }
    if (why[0])
        say(why, ""); /* a smaller ring than asked: the file system is short of room */
    gil_unlock_hooked = true; /* the exported pthread_mutex_unlock interposes */
    start_experiment();
    gil_registry_start(&py);
    pthread_atfork(NULL, NULL, after_fork_child);
    stack_unwind_init();
    shim_self.stack_top = stack_unwind_main_top();
    if (config.native_stacks) {
        stack_modules_refresh();
        __atomic_store_n(&rec_stacks_on, true, __ATOMIC_RELEASE);
    }
    if (config.py_stacks)
        py_stack_init(&py);
    bool names = py_names_init(&py);
    if (names) /* the main thread's ident, for interpreters without native ids */
        py_names_thread_started((uintptr_t)pthread_self(), shim_thread_tid(&shim_self), "");
    thread_start_enable(names, config.native_stacks);
    if (py.free_threaded)
        gil_note_free_threaded();
}

static void dump_env_output(const char *ring_path);

/* Where an image of this pid that exec'd leaves its ring in env-only mode. */
static bool exec_ring_path(const struct shim_config *c, char *out, size_t cap)
{
    struct text_buf b = text_buf_init(out, cap);
    text_buf_str(&b, c->ring_dir);
    text_buf_str(&b, "/");
    text_buf_u64(&b, (uint64_t)getpid());
    text_buf_str(&b, ".exec.ring");
    return !b.overflow;
}

/* Env-only mode: the image of this pid before an exec left its ring; write
 * it to this process's output now, whatever this image is. Silent unless
 * there is one and it cannot be written. */
static void take_over_exec_ring(void)
{
    const char *output = getenv("GILTRACE_OUTPUT");
    const char *run_dir = getenv("GILTRACE_RUN_DIR");
    if (!output || !*output || (run_dir && *run_dir))
        return;
    int saved_errno = errno;
    char why[1024], path[4200];
    struct stat st;
    if (shim_config_look(&config, why, sizeof why) && config.mode == SHIM_MODE_ENV &&
        exec_ring_path(&config, path, sizeof path) && lstat(path, &st) == 0 && S_ISREG(st.st_mode))
        dump_env_output(path);
    errno = saved_errno;
}

__attribute__((constructor(101))) static void shim_start(void)
{
    shim_real_resolve();
    take_over_exec_ring();
    if (!python_probe(&py)) {
        __atomic_store_n(&python_state, PYTHON_AWAITED, __ATOMIC_RELEASE);
        return;
    }
    __atomic_store_n(&python_state, PYTHON_DECIDED, __ATOMIC_RELEASE);
    start_tracing();
}

typedef void *(*dlopen_fn)(const char *, int);

static dlopen_fn real_dlopen(void)
{
    static dlopen_fn fn;
    dlopen_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
    if (!f) {
        f = (dlopen_fn)dlsym(RTLD_NEXT, "dlopen");
        __atomic_store_n(&fn, f, __ATOMIC_RELEASE);
    }
    return f;
}

/* A process that was no Python at start may load libpython now: look for
 * it after each dlopen that loaded something, until it is found. glibc's
 * dlopen searches the calling object's RPATH/RUNPATH for a bare name and
 * expands $ORIGIN against it: such calls go straight on (a tail call, so
 * glibc still sees the program's caller) and are not looked after. The
 * dlopen's result, errno and dlerror() state are the program's. */
__attribute__((optimize("O2"))) /* the tail call above, in every build type */
SHIM_EXPORT void *dlopen(const char *file, int mode)
{
    if (__builtin_expect(__atomic_load_n(&python_state, __ATOMIC_ACQUIRE) != PYTHON_AWAITED, 1) || !file ||
        !strchr(file, '/') || strchr(file, '$'))
        return real_dlopen()(file, mode);
    void *h = real_dlopen()(file, mode);
    if (!h)
        return h; /* nothing new; dlerror() says why */
    int saved_errno = errno;
    int expect = PYTHON_AWAITED;
    struct python_info found;
    if (python_probe(&found) && __atomic_compare_exchange_n(&python_state, &expect, PYTHON_DECIDED, false,
                                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        py = found;
        start_tracing();
    }
    (void)dlerror(); /* the dlopen succeeded: no error is pending for the program */
    errno = saved_errno;
    return h;
}

/* Directory of this library, where libgiltrace-writer.so lives too. */
static bool own_directory(char *out, size_t cap)
{
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (!dladdr((void *)own_directory, &info) || !info.dli_fname || !text_copy(out, cap, info.dli_fname))
        return false;
    char *slash = strrchr(out, '/');
    if (!slash)
        return text_copy(out, cap, ".");
    *slash = '\0';
    return true;
}

static void dump_env_output(const char *ring_path)
{
    char db[4096], lib[4096], err[512];
    if (!shim_config_expand_output(config.output, getpid(), db, sizeof db)) {
        say("GILTRACE_OUTPUT cannot be expanded; ring kept at ", ring_path);
        return;
    }
    struct text_buf b = text_buf_init(lib, sizeof lib);
    if (own_directory(lib, sizeof lib)) {
        b.len = strlen(lib);
        text_buf_str(&b, "/libgiltrace-writer.so");
    }
    void *h = b.overflow || !lib[0] ? NULL : dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    dump_ring_fn dump = h ? (dump_ring_fn)dlsym(h, "giltrace_dump_ring") : NULL;
    if (!dump) {
        say("cannot load libgiltrace-writer.so beside libgiltrace.so; ring kept at ", ring_path);
        return;
    }
    if (dump(ring_path, db, err, sizeof err) != 0) {
        char line[1024];
        struct text_buf t = text_buf_init(line, sizeof line);
        text_buf_str(&t, err);
        text_buf_str(&t, "; ring kept at ");
        text_buf_str(&t, ring_path);
        text_buf_str(&t, " (giltrace recover can convert it)");
        say(line, "");
        return;
    }
    unlink(ring_path);
}

/* Whether `envp` has a NAME= entry. */
static bool env_has(char *const envp[], const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; envp && envp[i]; i++)
        if (strncmp(envp[i], name, len) == 0 && envp[i][len] == '=')
            return true;
    return false;
}

bool shim_exec_begin(char *const envp[])
{
    if (!ring_writer_owned_here())
        return false; /* a vfork child: the ring and this state are its parent's */
    if (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) || !ring_writer_tracing())
        return false;
    int saved_errno = errno;
    char path[4200];
    bool env = config.mode == SHIM_MODE_ENV && exec_ring_path(&config, path, sizeof path);
    if (rec_stacks_on)
        stack_modules_refresh(); /* objects loaded since, for naming frames */
    bool begun = ring_writer_exec_begin(env ? path : NULL);
    if (begun && env && !(env_has(envp, "LD_PRELOAD") && env_has(envp, "GILTRACE_OUTPUT"))) {
        char line[4400]; /* nothing will write the ring: giltrace recover can */
        struct text_buf t = text_buf_init(line, sizeof line);
        text_buf_str(&t, "an exec without LD_PRELOAD and GILTRACE_OUTPUT in its environment: this image's trace is"
                         " kept in ");
        text_buf_str(&t, ring_writer_path());
        text_buf_str(&t, " (giltrace recover can convert it)");
        say(line, "");
    }
    errno = saved_errno;
    return begun;
}

void shim_exec_failed(void)
{
    int saved_errno = errno;
    ring_writer_exec_failed();
    errno = saved_errno;
}

static void shim_finish(void)
{
    if (!ring_writer_owned_here())
        return; /* a vfork child: the ring and this state are its parent's */
    if (__atomic_exchange_n(&finished, 1, __ATOMIC_ACQ_REL))
        return;
    if (!ring_writer_tracing())
        return;
    if (rec_stacks_on)
        stack_modules_refresh(); /* objects loaded since, for naming frames */
    if (!ring_writer_finish())
        return;
    if (config.mode == SHIM_MODE_ENV) {
        char ring_path[4200];
        text_copy(ring_path, sizeof ring_path, ring_writer_path());
        dump_env_output(ring_path);
    }
}

__attribute__((destructor)) static void shim_stop(void)
{
    shim_finish();
}

/* os._exit() and a failed exec in a fork child end here, not in exit().
 * So does a failed exec in a vfork child (CPython 3.10+'s subprocess),
 * which shares its parent's memory: shim_finish leaves that alone. */
SHIM_EXPORT void _exit(int status)
{
    shim_finish();
    shim_real.exit_now(status);
}
