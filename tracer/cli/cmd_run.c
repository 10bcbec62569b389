/*
 * cmd_run.c — `giltrace run`: run a command with the shim preloaded into it
 * and every process it starts, wait for the whole process tree, and turn the
 * rings its Python processes left in a private directory into one trace.
 *
 * Order of work, so that nothing is lost and nothing is half-done:
 *   1. check the options and that the output can be written (a temporary
 *      file beside it), before the command starts;
 *   2. make the private ring directory (0700) and become the subreaper of
 *      the tree, so orphaned descendants are waited for too;
 *   3. run the command; Ctrl-C reaches it, not us; SIGTERM/SIGHUP are passed on;
 *   4. read the rings (also of processes that died), write the database under
 *      the temporary name and rename it into place;
 *   5. remove the rings, print the summary, exit with the command's status.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shim/experiment_spec.h"
#include "cli.h"
#include "output_file.h"
#include "shim_locate.h"
#include "shim_share.h"
#include "cli_trace_output.h"
#include "trigger_watch.h"

static const char usage[] =
    "usage: giltrace run [options] -- COMMAND [ARGS...]\n"
    "\n"
    "Run COMMAND with the GIL tracer preloaded into it and into every process it\n"
    "starts; when all of them have exited, write every GIL event of every Python\n"
    "process among them into one SQLite trace database. The exit status is\n"
    "COMMAND's (128+N if a signal N killed it).\n"
    "\n"
    "When COMMAND exits but processes it started still run (daemons, detached\n"
    "children), giltrace says which and waits for them; a second Ctrl-C stops\n"
    "waiting and writes the trace of what was recorded so far (they go on).\n"
    "The FILE is created with mode 0600.\n"
    "\n"
    "options:\n"
    "  -o, --output FILE     trace database to write (default: trace.db)\n"
    "  -f, --force           replace FILE if it exists (a regular file or a symlink)\n"
    "      --buffer-mb N     ring size per process in MiB, 1..65536 (default: 256);\n"
    "                        events beyond it are counted as lost\n"
    "      --ring-mode MODE  append (default): once a process's ring is full, its\n"
    "                        later events are counted as lost; overwrite: a flight\n"
    "                        recorder keeping each process's last --buffer-mb\n"
    "      --trigger-wait-ms N  when a thread waits more than N ms for a GIL, write\n"
    "                        a snapshot of its process's ring (FILE.trigger-K.db)\n"
    "                        while the program goes on\n"
    "      --ring-dir DIR    where the private ring directory is made\n"
    "                        (default: /dev/shm, else $TMPDIR, else /tmp)\n"
    "      --stacks          record the native and the Python stack of every GIL\n"
    "                        release and of every wait's start (giltrace report\n"
    "                        lists the sites; Python 3.6-3.15)\n"
    "      --py-stacks       record the Python stacks only (cheaper: no native\n"
    "                        unwinding)\n"
    "      --stacks-mb N     stack table per process in MiB, 1..1024 (default: 16);\n"
    "                        stacks beyond it are counted as lost\n"
    "      --experiment SPEC  run the program under a GIL scheduling experiment\n"
    "                        (never on by default; labelled in the summary, the\n"
    "                        trace's meta and giltrace report; CPython 3.2+):\n"
    "                        priority-gil: a thread that gave the GIL up\n"
    "                        voluntarily (I/O) and wants it back asks the holder\n"
    "                        to drop it at once, not after the switch interval;\n"
    "                        switch-interval=WHO:MS[,WHO:MS...]: thread WHO (a tid\n"
    "                        or a Python thread name, MainThread for the main\n"
    "                        thread) waits MS ms (0..10000) before asking;\n"
    "                        both: priority-gil,switch-interval=...\n"
    "  -q, --quiet           print no summary (warnings are still printed)\n"
    "  -h, --help            show this help\n"
    "\n"
    "The trace's views (processes, threads, events, holds, waits) are described\n"
    "in formats/tdb/SCHEMA.md; query them with sqlite3.\n";

struct run_options {
    struct cli_trace_output_options out;
    const char *ring_mode;
    uint32_t trigger_wait_ms;
    bool stacks;
    bool py_stacks;
    uint32_t stacks_mb;
    const char *experiment; /* NULL: none */
    char **command;
};

enum { OPT_RING_MODE = TRACE_OPT_END, OPT_TRIGGER_WAIT_MS, OPT_STACKS, OPT_STACKS_MB, OPT_PY_STACKS, OPT_EXPERIMENT };

static int parse_options(int argc, char **argv, struct run_options *o)
{
    static const struct option longopts[] = {
        TRACE_OUTPUT_LONGOPTS,
        {"ring-mode", required_argument, NULL, OPT_RING_MODE},
        {"trigger-wait-ms", required_argument, NULL, OPT_TRIGGER_WAIT_MS},
        {"stacks", no_argument, NULL, OPT_STACKS},
        {"stacks-mb", required_argument, NULL, OPT_STACKS_MB},
        {"py-stacks", no_argument, NULL, OPT_PY_STACKS},
        {"experiment", required_argument, NULL, OPT_EXPERIMENT},
        {NULL, 0, NULL, 0},
    };
    *o = (struct run_options){.ring_mode = "append", .stacks_mb = 16};
    cli_trace_output_defaults(&o->out);
    opterr = 0;
    optind = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "+" TRACE_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        switch (c) {
        case OPT_RING_MODE:
            if (strcmp(optarg, "append") != 0 && strcmp(optarg, "overwrite") != 0)
                return cli_usage_error("run", "--ring-mode is append or overwrite, not \"%s\"", optarg);
            o->ring_mode = optarg;
            break;
        case OPT_TRIGGER_WAIT_MS:
            if (!cli_parse_u64(optarg, 1, 3600000, &v))
                return cli_usage_error("run", "--trigger-wait-ms wants a number of ms from 1 to 3600000, not \"%s\"",
                                       optarg);
            o->trigger_wait_ms = (uint32_t)v;
            break;
        case OPT_STACKS:
            o->stacks = true;
            break;
        case OPT_PY_STACKS:
            o->py_stacks = true;
            break;
        case OPT_EXPERIMENT: {
            struct experiment_spec spec;
            char why[512];
            if (o->experiment)
                return cli_usage_error("run", "one --experiment at a time (join them with commas)");
            if (!experiment_spec_parse(optarg, &spec, why, sizeof why))
                return cli_usage_error("run", "--experiment: %s", why);
            o->experiment = optarg;
            break;
        }
        case OPT_STACKS_MB:
            if (!cli_parse_u64(optarg, 1, 1024, &v))
                return cli_usage_error("run", "--stacks-mb wants a size in MiB from 1 to 1024, not \"%s\"", optarg);
            o->stacks_mb = (uint32_t)v;
            o->stacks = true;
            break;
        default: {
            int r = cli_trace_output_option("run", usage, c, argv, &o->out);
            if (r >= 0)
                return r;
        }
        }
    }
    if (optind >= argc)
        return cli_usage_error("run", "no command given (put it after --)");
    if (!*o->out.file.output)
        return cli_usage_error("run", "--output is empty");
    o->command = argv + optind;
    return -1;
}

/* Prepend the shim to LD_PRELOAD and set the shim's variables. */
static int setup_child_environment(const char *shim, const char *run_dir, const struct run_options *o)
{
    const char *old = getenv("LD_PRELOAD");
    char *preload;
    if (asprintf(&preload, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "") < 0)
        return -1;
    char mb[16], trigger[16], stacks_mb[16];
    snprintf(mb, sizeof mb, "%u", o->out.buffer_mb);
    snprintf(trigger, sizeof trigger, "%u", o->trigger_wait_ms);
    snprintf(stacks_mb, sizeof stacks_mb, "%u", o->stacks_mb);
    int r = setenv("LD_PRELOAD", preload, 1) | setenv("GILTRACE_RUN_DIR", run_dir, 1) |
            setenv("GILTRACE_BUFFER_MB", mb, 1) | setenv("GILTRACE_RING_MODE", o->ring_mode, 1) |
            (o->trigger_wait_ms ? setenv("GILTRACE_TRIGGER_WAIT_MS", trigger, 1)
                                : unsetenv("GILTRACE_TRIGGER_WAIT_MS")) |
            setenv("GILTRACE_STACKS", o->stacks ? "1" : "0", 1) | setenv("GILTRACE_STACKS_MB", stacks_mb, 1) |
            setenv("GILTRACE_PYSTACKS", o->stacks || o->py_stacks ? "1" : "0", 1) |
            (o->experiment ? setenv("GILTRACE_EXPERIMENT", o->experiment, 1) : unsetenv("GILTRACE_EXPERIMENT")) |
            unsetenv("GILTRACE_OUTPUT");
    free(preload);
    return r;
}

static pid_t child_pid;

static void forward_signal(int sig)
{
    if (child_pid > 0)
        kill(child_pid, sig);
}

/* Start the command; report exec failure through a close-on-exec pipe.
 * Returns the pid, or -1 (already explained) if it could not be started. */
static pid_t start_command(char **command, const char *shim, const char *run_dir, const struct run_options *o,
                           const sigset_t *child_mask, int *exec_status)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        cli_warn("cannot start %s: %s", command[0], strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        cli_warn("cannot start %s: %s", command[0], strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(fds[0]);
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        sigprocmask(SIG_SETMASK, child_mask, NULL);
        int e = ENOMEM;
        if (setup_child_environment(shim, run_dir, o) == 0) {
            execvp(command[0], command);
            e = errno;
        }
        (void)!write(fds[1], &e, sizeof e);
        _exit(127);
    }
    close(fds[1]);
    int e = 0;
    ssize_t got;
    do
        got = read(fds[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(fds[0]);
    if (got == (ssize_t)sizeof e) {
        cli_warn("cannot run %s: %s", command[0], strerror(e));
        waitpid(pid, NULL, 0);
        *exec_status = e == ENOENT ? 127 : 126;
        return -1;
    }
    return pid;
}

/* Our children (the processes the command left running, reparented to us
 * as subreaper), one line: "pid 123 (sleep), pid 456 (python3)". */
static void list_children(char *out, size_t cap)
{
    out[0] = '\0';
    size_t len = 0;
    char path[64], stat[512];
    pid_t self = getpid();
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && len + 48 < cap) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (pid <= 0 || *end)
            continue;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t got = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[got] = '\0';
        /* pid (comm) state ppid ...: comm may hold spaces and parentheses */
        char *open = strchr(stat, '('), *close = strrchr(stat, ')');
        long ppid;
        if (!open || !close || sscanf(close + 1, " %*c %ld", &ppid) != 1 || ppid != self)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%spid %ld (%.*s)", len ? ", " : "", pid,
                                (int)(close - open - 1), open + 1);
    }
    closedir(d);
}

/* Wait for the command and every descendant we inherit as subreaper,
 * looking at the rings for triggers every 50 ms when `watch` is set.
 * SIGCHLD and SIGINT are blocked, and taken here with sigwaitinfo: a child's
 * end wakes us at once, and a Ctrl-C (the program's: giltrace only counts
 * them) cannot be lost between a check and the wait. Once the command has
 * exited, say which processes are still waited for; a second Ctrl-C then
 * stops waiting. Returns the command's exit status in shell terms. */
static int wait_for_tree(pid_t command_pid, const char *command, struct trigger_watch *watch)
{
    int result = 0, interrupts = 0;
    bool command_done = false, said = false;
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, SIGCHLD);
    sigaddset(&wake, SIGINT);
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid > 0) {
            if (pid == command_pid) {
                result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                command_done = true;
            }
            continue;
        }
        if (pid < 0 && errno == EINTR)
            continue;
        if (pid < 0)
            break; /* ECHILD: the whole tree is gone */
        if (command_done && !said) {
            char pids[1024];
            list_children(pids, sizeof pids);
            cli_warn("%s has exited; waiting for what it left running: %s (a second Ctrl-C stops waiting and "
                     "writes the trace)", command, pids[0] ? pids : "its descendants");
            said = true;
        }
        if (watch)
            trigger_watch_poll(watch);
        struct timespec tick = {0, 50000000};
        int sig = watch ? sigtimedwait(&wake, NULL, &tick) : sigwaitinfo(&wake, NULL);
        if (sig != SIGINT)
            continue;
        if (++interrupts >= 2 && command_done) {
            cli_warn("stopped waiting; what is still running is not traced further");
            break;
        }
        if (command_done)
            cli_warn("Ctrl-C once more to stop waiting and write the trace");
    }
    if (watch)
        trigger_watch_poll(watch); /* a trigger just before the end */
    return result;
}

static char *join_command(char **command)
{
    size_t len = 1;
    for (char **a = command; *a; a++)
        len += strlen(*a) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (char **a = command; *a; a++) {
        if (a != command)
            strcat(s, " ");
        strcat(s, *a);
    }
    return s;
}

int cmd_run(int argc, char **argv)
{
    struct run_options o;
    int r = parse_options(argc, argv, &o);
    if (r >= 0)
        return r;

    char found[PATH_MAX];
    if (shim_locate(SHIM_PRELOAD_NAME, SHIM_PRELOAD_ENV, found, sizeof found)) {
        cli_warn("cannot find " SHIM_PRELOAD_NAME " beside the giltrace program; set " SHIM_PRELOAD_ENV
                 " to its path");
        return 2;
    }
    char tmp_output[PATH_MAX];
    if (output_file_begin(o.out.file.output, o.out.file.force, tmp_output, sizeof tmp_output))
        return 2;

    char run_dir[PATH_MAX];
    if (cli_trace_output_ring_dir(o.out.ring_base, "run", run_dir, sizeof run_dir)) {
        unlink(tmp_output);
        return 2;
    }
    /* a process that becomes another user must be able to load the shim */
    char shim[PATH_MAX], shim_dir[PATH_MAX];
    shim_share(found, o.out.ring_base, shim, sizeof shim, shim_dir, sizeof shim_dir);
    prctl(PR_SET_CHILD_SUBREAPER, 1);

    /* Ctrl-C is the program's: ignored here, except that wait_for_tree
     * counts it (a blocked signal is kept pending even when ignored) */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    sigset_t blocked, old_mask; /* taken by wait_for_tree; the command gets old_mask */
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGCHLD);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, &old_mask);
    struct trigger_watch *watch = o.trigger_wait_ms ? trigger_watch_start(run_dir, o.out.file.output) : NULL;
    int exec_status = 0;
    child_pid = start_command(o.command, shim, run_dir, &o, &old_mask, &exec_status);
    if (child_pid < 0) {
        trigger_watch_stop(watch);
        unlink(tmp_output);
        cli_trace_output_remove_ring_dir(run_dir);
        shim_share_remove(shim_dir);
        return exec_status ? exec_status : 2;
    }
    signal(SIGTERM, forward_signal);
    signal(SIGHUP, forward_signal);
    int status = wait_for_tree(child_pid, o.command[0], watch);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    trigger_watch_stop(watch);
    shim_share_remove(shim_dir);

    char *command = join_command(o.command);
    r = cli_trace_output_finish(run_dir, tmp_output, o.out.file.output, o.out.file.force, command, o.experiment,
                            o.out.file.quiet);
    free(command);
    return r == 0 ? status : status ? status : 1;
}
