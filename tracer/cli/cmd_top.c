/*
 * cmd_top.c — `giltrace top PID`: a live view, refreshed each second, of
 * who holds and who waits for the GIL in a running traced process, in the
 * manner of `py-spy top`; --once prints one frame for scripts.
 *
 * The process's ring is found as `giltrace snapshot` finds it
 * (formats/proc_ring.h) and followed incrementally (formats/ring_follow.h):
 * each refresh reads only the events recorded since the last one into
 * running figures (top_figures.h); no database is written.
 * With --attach it attaches first as `giltrace attach` does (attach_live.h)
 * and detaches when it ends, on q, SIGINT, SIGTERM or SIGHUP alike.
 */
#include <curses.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proc_ring.h"
#include "ring.h"
#include "ring_clock.h"
#include "attach_live.h"
#include "cli.h"
#include "top_figures.h"
#include "top_view.h"

#define TOP_SITES 5

static const char usage[] =
    "usage: giltrace top PID [--once] [--sort KEY] [--attach [--py-stacks]]\n"
    "\n"
    "Show, refreshed each second, how the threads of the traced process PID\n"
    "share its GIL: per thread (with its name) the share of the last second and\n"
    "of the whole run it held the GIL and waited for it, its waits and forced\n"
    "releases per second in the last second, its longest wait of the last 10 s,\n"
    "its convoy episodes (YES: caught in a convoy, as giltrace report flags it),\n"
    "and, when the run records stacks, the top release and wait sites (Python\n"
    "frames where recorded, native ones otherwise). PID must run under giltrace\n"
    "run or in env-only mode; only the events recorded since the last refresh\n"
    "are read each time, and the process is neither stopped nor slowed.\n"
    "\n"
    "options:\n"
    "      --attach      attach to PID first, as giltrace attach does (a running\n"
    "                    CPython 3.7 or later, not traced yet; the rights of a\n"
    "                    debugger over it), and detach when top ends; the\n"
    "                    process is paused for a few milliseconds each time.\n"
    "                    Attached threads have no names and no native stacks\n"
    "      --py-stacks   with --attach: record Python stacks, for the sites\n"
    "      --once        print one frame as text and exit (for scripts); with\n"
    "                    --attach, of the first second\n"
    "  -s, --sort KEY    sort the threads by KEY: held1s (default), held, wait1s,\n"
    "                    wait, waits, forced, longest, tid or name\n"
    "  -h, --help        show this help\n"
    "\n"
    "keys: h held1s, H held, w wait1s, W wait, r waits, f forced, l longest,\n"
    "t tid, n name (sort by that column, marked with *); q quits.\n";

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

/* SIGINT, SIGTERM and SIGHUP end top as q does (and so detach). */
static void catch_stop_signals(void)
{
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Read what is new and bring the figures to now. */
static int top_refresh(struct ring_follow *f, struct top_figures *t)
{
    char err[512];
    struct ring_follow_sink sink = top_figures_sink(t);
    if (ring_follow_poll(f, &sink, err, sizeof err)) {
        cli_warn("%s", err);
        return -1;
    }
    const struct trace_process *p = ring_follow_process(f);
    if (top_figures_update(t, f, p->exited ? p->end_ns : (int64_t)ring_clock_monotonic_ns())) {
        cli_warn("out of memory");
        return -1;
    }
    return 0;
}

/* Draw a frame with curses, each line cut at the screen's width. */
static void draw(struct ring_follow *f, struct top_figures *t, enum top_sort sort)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    if (!m)
        return;
    int rows = LINES, cols = COLS;
    /* threads first (header 3 lines, column names 1, keys 1); the sites
     * (a title and a blank line each) get what is left, up to TOP_SITES */
    size_t nthreads, room = rows > 6 ? (size_t)(rows - 5) : 1;
    top_figures_rows(t, &nthreads);
    size_t max_threads = nthreads < room ? nthreads : room;
    size_t left = room - max_threads, sites = left > 4 ? (left - 4) / 2 : 0;
    top_view_frame(m, f, t, sort, max_threads < nthreads && max_threads > 1 ? max_threads - 1 : max_threads,
                   sites < TOP_SITES ? sites : TOP_SITES);
    fclose(m);
    erase();
    int y = 0;
    for (char *line = text; line && *line && y < rows - 1; y++) {
        char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);
        mvaddnstr(y, 0, line, (int)(n < (size_t)cols ? n : (size_t)cols));
        line = nl ? nl + 1 : line + n;
    }
    char keys[160];
    snprintf(keys, sizeof keys, "sort: %s; q quits", top_sort_help);
    attron(A_REVERSE);
    mvaddnstr(rows - 1, 0, keys, cols);
    attroff(A_REVERSE);
    refresh();
    free(text);
}

static int live(struct ring_follow *f, struct top_figures *t, enum top_sort sort)
{
    if (!newterm(NULL, stdout, stdin)) {
        cli_warn("top: cannot drive this terminal (TERM=%s); use --once", getenv("TERM") ? getenv("TERM") : "");
        return 1;
    }
    cbreak();
    noecho();
    curs_set(0);
    keypad(stdscr, TRUE);
    int64_t next = (int64_t)ring_clock_monotonic_ns() + 1000000000;
    draw(f, t, sort);
    int rc = 0;
    for (;;) {
        int64_t left = next - (int64_t)ring_clock_monotonic_ns();
        timeout(left > 0 ? (int)(left / 1000000) + 1 : 0);
        int ch = getch();
        if (ch == 'q' || ch == 'Q' || ch == 27 || stop_signal)
            break;
        if (ch == KEY_RESIZE || (ch != ERR && top_sort_key(ch, &sort))) {
            draw(f, t, sort);
            continue;
        }
        if ((int64_t)ring_clock_monotonic_ns() < next)
            continue;
        next += 1000000000;
        if (top_refresh(f, t)) {
            rc = 1;
            break;
        }
        draw(f, t, sort);
    }
    endwin();
    return rc;
}

/* Wait about a second, or less if a stop signal comes. */
static void pause_a_second(void)
{
    struct timespec ts = {1, 0};
    while (!stop_signal && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Find the ring of `pid`, follow it, and show it; the exit status. */
static int follow(pid_t pid, bool once, bool attached, enum top_sort sort)
{
    char ring[PATH_MAX], err[1024];
    if (proc_ring_path(pid, ring, sizeof ring, err, sizeof err)) {
        cli_warn("%s", err);
        return 1;
    }
    struct ring_follow *f;
    if (ring_follow_open(ring, &f, err, sizeof err)) {
        cli_warn("%s", err);
        return 1;
    }
    struct top_figures *t = top_figures_new();
    int rc = 1;
    if (!t)
        cli_warn("out of memory");
    else if (top_refresh(f, t) == 0) {
        setlocale(LC_ALL, "");
        if (once) {
            if (attached) { /* a frame of the first second, not of the first instant */
                pause_a_second();
                if (top_refresh(f, t))
                    goto out;
            }
            top_view_frame(stdout, f, t, sort, 0, TOP_SITES);
            rc = fflush(stdout) ? 1 : 0;
        } else {
            rc = live(f, t, sort);
        }
    }
out:
    top_figures_free(t);
    ring_follow_close(f);
    return rc;
}

int cmd_top(int argc, char **argv)
{
    enum { OPT_ONCE = 256, OPT_ATTACH, OPT_PY_STACKS };
    static const struct option longopts[] = {
        {"once", no_argument, NULL, OPT_ONCE},
        {"attach", no_argument, NULL, OPT_ATTACH},
        {"py-stacks", no_argument, NULL, OPT_PY_STACKS},
        {"sort", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool once = false, attach = false, py_stacks = false;
    enum top_sort sort = TOP_SORT_HELD_1S;
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+s:h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_ONCE:
            once = true;
            break;
        case OPT_ATTACH:
            attach = true;
            break;
        case OPT_PY_STACKS:
            py_stacks = true;
            break;
        case 's':
            if (!top_sort_parse(optarg, &sort))
                return cli_usage_error("top", "unknown sort key '%s' (held1s, held, wait1s, wait, waits, forced, "
                                              "longest, tid, name)",
                                       optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            return cli_usage_error("top", "unknown option '%s'", argv[optind - 1]);
        }
    }
    uint64_t pid;
    if (optind != argc - 1 || !cli_parse_u64(argv[optind], 1, INT_MAX, &pid))
        return cli_usage_error("top", "give the pid of one traced process");

    if (py_stacks && !attach)
        return cli_usage_error("top", "--py-stacks goes with --attach (giltrace run --stacks records them otherwise)");
    catch_stop_signals();
    struct attach_live session;
    if (attach) {
        sigset_t chld;
        sigemptyset(&chld);
        sigaddset(&chld, SIGCHLD);
        signal(SIGCHLD, SIG_DFL);
        sigprocmask(SIG_BLOCK, &chld, NULL);
        signal(SIGPIPE, SIG_IGN);
        int r = attach_live_start(&session, (pid_t)pid, NULL, RING_DEFAULT_MB, py_stacks);
        if (r)
            return r;
    }
    int rc = follow((pid_t)pid, once, attach, sort);
    if (attach) {
        if (attach_live_detach(&session) < 0)
            rc = 1;
        attach_live_free(&session, false);
    }
    return rc;
}
