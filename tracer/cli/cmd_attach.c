/*
 * cmd_attach.c — `giltrace attach PID`: trace every GIL event of a running
 * CPython for a while, then leave it exactly as it was.
 *
 * Order of work:
 *   1. check the options and the output;
 *   2. with attach_live.h (shared with `giltrace top --attach`): check the
 *      target (tracer/attach/attach_target.h refuses what cannot work, in
 *      one line), make the private ring directory, owned by the target's
 *      user, and
 *   3. start the session (attach_session.h): the target is paused for a few
 *      milliseconds while a thread loads the library and redirects the
 *      interpreter's lock calls;
 *   4. wait for the duration, Ctrl-C (SIGINT), SIGTERM/SIGHUP, or the
 *      target's exit;
 *   5. stop the session (another pause of a few milliseconds);
 *   6. turn the ring into the database, as `giltrace run` does.
 * Signals that would end giltrace are held from step 2 to the end and read
 * from a signalfd, so a Ctrl-C during the attach only shortens the trace;
 * SIGPIPE is ignored.
 * Even SIGKILL at any moment leaves a target that runs on unharmed
 * (attach_call.h); if it lands between 3 and 5 the library keeps recording
 * into a ring nobody reads (its directory is left behind) until the next
 * attach takes the session over.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ring_clock.h"
#include "../attach/attach_session.h"
#include "../attach/attach_target.h"
#include "../attach/attach_threads.h"
#include "attach_live.h"
#include "cli.h"
#include "output_file.h"
#include "shim_locate.h"
#include "cli_trace_output.h"
#include "cli_trace_output.h"

static const char usage[] =
    "usage: giltrace attach PID [options]\n"
    "\n"
    "Trace every GIL event of the running CPython (3.7 or later) PID for a while,\n"
    "then detach and leave it exactly as it was; write the events into an SQLite\n"
    "trace database like giltrace run's. The process is paused for a few\n"
    "milliseconds when the tracer is loaded into it and again when it detaches.\n"
    "Needs the rights of a debugger over PID (root, CAP_SYS_PTRACE, or the same\n"
    "user where kernel.yama.ptrace_scope allows it).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE     trace database to write (default: trace.db)\n"
    "  -f, --force           replace FILE if it exists (a regular file or a symlink)\n"
    "  -d, --duration TIME   how long to trace: 10s, 500ms, 2m, 1.5 (seconds);\n"
    "                        0 means until Ctrl-C (default: 10s)\n"
    "      --buffer-mb N     ring size in MiB, 1..65536 (default: 256); events\n"
    "                        beyond it are counted as lost\n"
    "      --ring-dir DIR    where the private ring directory is made\n"
    "                        (default: /dev/shm, else $TMPDIR, else /tmp)\n"
    "      --py-stacks       record the Python stack of every GIL release and of\n"
    "                        every wait's start (Python 3.7-3.15; giltrace report\n"
    "                        lists the sites)\n"
    "  -q, --quiet           print no summary (warnings are still printed)\n"
    "  -h, --help            show this help\n"
    "\n"
    "Ctrl-C, SIGTERM or the process's exit end the trace early. The trace has\n"
    "no native stacks and no thread names: giltrace run gathers those as\n"
    "threads start.\n";

enum { OPT_PY_STACKS = TRACE_OPT_END, OPT_EXPERIMENT };

struct attach_options {
    struct cli_trace_output_options out;
    pid_t pid;
    double duration_s;
    bool py_stacks;
};

/* "10s", "500ms", "2m", "1h", "1.5" (seconds). */
static bool parse_duration(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !isfinite(v) || v < 0)
        return false;
    double scale = strcmp(end, "") == 0 || strcmp(end, "s") == 0 ? 1
                   : strcmp(end, "ms") == 0                      ? 1e-3
                   : strcmp(end, "m") == 0                       ? 60
                   : strcmp(end, "h") == 0                       ? 3600
                                                                 : -1;
    if (scale < 0 || v * scale > 1e7)
        return false;
    *out = v * scale;
    return true;
}

static int parse_options(int argc, char **argv, struct attach_options *o)
{
    static const struct option longopts[] = {
        {"duration", required_argument, NULL, 'd'}, {"py-stacks", no_argument, NULL, OPT_PY_STACKS},
        {"experiment", required_argument, NULL, OPT_EXPERIMENT}, TRACE_OUTPUT_LONGOPTS, {NULL, 0, NULL, 0}};
    cli_trace_output_defaults(&o->out);
    o->duration_s = 10;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "d:" TRACE_OUTPUT_SHORTOPTS, longopts, NULL)) != -1) {
        if (c == 'd') {
            if (!parse_duration(optarg, &o->duration_s))
                return cli_usage_error("attach", "--duration wants a time such as 10s, 500ms or 2m, not \"%s\"",
                                       optarg);
            continue;
        }
        if (c == OPT_PY_STACKS) {
            o->py_stacks = true;
            continue;
        }
        if (c == OPT_EXPERIMENT) /* known, to say why it is refused */
            return cli_usage_error("attach", "--experiment is giltrace run's alone: attach never changes the "
                                             "scheduling of a program that is already running");
        int r = cli_trace_output_option("attach", usage, c, argv, &o->out);
        if (r >= 0)
            return r;
    }
    uint64_t v;
    if (optind >= argc)
        return cli_usage_error("attach", "no process id given");
    if (optind + 1 < argc)
        return cli_usage_error("attach", "one process id only, not \"%s\"", argv[optind + 1]);
    if (!cli_parse_u64(argv[optind], 1, INT32_MAX, &v))
        return cli_usage_error("attach", "\"%s\" is not a process id", argv[optind]);
    if (!*o->out.file.output)
        return cli_usage_error("attach", "--output is empty");
    o->pid = (pid_t)v;
    return -1;
}

static const char *how_found(uint32_t found)
{
    switch (found) {
    case ATTACH_GIL_KNOWN:
        return "known from an earlier attach";
    case ATTACH_GIL_DEBUG_OFFSETS:
        return "found through _PyRuntime.debug_offsets";
    case ATTACH_GIL_RUNTIME:
        return "found inside _PyRuntime";
    default:
        return "to be found at its first use";
    }
}

static void say_attached(const struct attach_options *o, const struct attach_request *req,
                         const struct attach_stats *st)
{
    if (o->out.file.quiet)
        return;
    char holder[48];
    if (req->holder_tid > 0)
        snprintf(holder, sizeof holder, "held by thread %d", (int)req->holder_tid);
    else
        snprintf(holder, sizeof holder, "%s", req->holder_tid == 0 ? "free" : "holder unknown");
    fprintf(stderr, "giltrace: attached to process %d (Python %u.%u) through thread %d, pausing it %.2f ms%s; "
                    "GIL %s, %s\n",
            (int)o->pid, req->hexversion >> 24, req->hexversion >> 16 & 0xff, (int)st->thread,
            (double)st->pause_ns / 1e6, st->rounds > 1 ? " (after waiting for a safe point)" : "",
            how_found(req->gil_found), holder);
    if (o->duration_s > 0)
        fprintf(stderr, "giltrace: tracing for %g s (Ctrl-C to stop)\n", o->duration_s);
    else
        fprintf(stderr, "giltrace: tracing until Ctrl-C\n");
}

/* Wait for the duration, a signal in `sigs`, or the target's end. Returns
 * true if the target has exited. */
static bool wait_for_end(pid_t pid, const sigset_t *sigs, double duration_s)
{
    int sfd = signalfd(-1, sigs, SFD_CLOEXEC);
    int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd fds[2] = {{sfd, POLLIN, 0}, {pfd, POLLIN, 0}};
    int64_t end = (int64_t)ring_clock_monotonic_ns() + (int64_t)(duration_s * 1e9);
    bool exited = pfd < 0 && errno == ESRCH;
    while (!exited) {
        int64_t left = end - (int64_t)ring_clock_monotonic_ns();
        if (duration_s > 0 && left <= 0)
            break;
        int r = poll(fds, 2, duration_s > 0 ? (int)((left + 999999) / 1000000) : -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 || fds[0].revents)
            break;
        exited = fds[1].revents != 0;
    }
    if (sfd >= 0)
        close(sfd);
    if (pfd >= 0)
        close(pfd);
    return exited;
}

/* Steps 4 and 5, on a target attached to. */
static void trace_target(struct attach_live *a, const struct attach_options *o, const sigset_t *sigs)
{
    say_attached(o, &a->req, &a->st);
    attach_test_point("tracing");
    int64_t began = (int64_t)ring_clock_monotonic_ns();
    pid_t pid = a->target.pid;
    if (wait_for_end(pid, sigs, o->duration_s) || attach_process_gone(pid)) {
        if (!o->out.file.quiet)
            fprintf(stderr, "giltrace: process %d exited after %.1f s of tracing\n", (int)pid,
                    (double)((int64_t)ring_clock_monotonic_ns() - began) / 1e9);
        return;
    }
    if (attach_live_detach(a) == 0 && !o->out.file.quiet)
        fprintf(stderr, "giltrace: detached from process %d after %.1f s, pausing it %.2f ms\n", (int)pid,
                (double)((int64_t)ring_clock_monotonic_ns() - began) / 1e9, (double)a->st.pause_ns / 1e6);
}

int cmd_attach(int argc, char **argv)
{
    struct attach_options o;
    int r = parse_options(argc, argv, &o);
    if (r >= 0)
        return r;

    /* Held from here on: read from a signalfd while tracing (SIGCHLD is how
     * ptrace stops are waited for). */
    sigset_t sigs, held;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    held = sigs;
    sigaddset(&held, SIGCHLD);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_BLOCK, &held, NULL);
    /* A closed stderr (giltrace attach ... 2>&1 | head) must not end us
     * between attach and detach. */
    signal(SIGPIPE, SIG_IGN);

    char tmp_output[PATH_MAX], ring_dir[PATH_MAX];
    if (output_file_begin(o.out.file.output, o.out.file.force, tmp_output, sizeof tmp_output))
        return 2;
    struct attach_live a;
    r = attach_live_start(&a, o.pid, o.out.ring_base, o.out.buffer_mb, o.py_stacks);
    if (r) {
        unlink(tmp_output);
        return r;
    }
    trace_target(&a, &o, &sigs);
    snprintf(ring_dir, sizeof ring_dir, "%s", a.ring_dir);
    attach_live_free(&a, true);
    char command[64];
    snprintf(command, sizeof command, "giltrace attach %d", (int)o.pid);
    return cli_trace_output_finish(ring_dir, tmp_output, o.out.file.output, o.out.file.force, command, NULL,
                               o.out.file.quiet)
               ? 1
               : 0;
}
