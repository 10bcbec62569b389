/*
 * giltrace.c — the giltrace command: dispatch to a subcommand.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifndef GILTRACE_VERSION
#define GILTRACE_VERSION "unknown"
#endif

static const char usage[] =
    "usage: giltrace COMMAND [ARGS...]\n"
    "\n"
    "Record every handoff of CPython's Global Interpreter Lock.\n"
    "\n"
    "commands:\n"
    "  run [options] -- CMD [ARGS...]   trace CMD and every process it starts\n"
    "  attach PID [options]             trace a running CPython for a while, then detach\n"
    "  recover DIR|RINGFILE [-o FILE]   write the rings processes left behind into a trace\n"
    "  snapshot PID [-o FILE]           what a running traced process has recorded so far\n"
    "  top PID [--once]                 live view of who holds and waits for its GIL\n"
    "  report [--json] [--png FILE] TRACE.db\n"
    "                                   explain a trace: holds, waits, latencies, blame,\n"
    "                                   convoys, release sites\n"
    "  export --format chrome -o FILE TRACE.db\n"
    "                                   write it for Perfetto UI / chrome://tracing\n"
    "\n"
    "env-only mode, for processes a supervisor starts:\n"
    "  LD_PRELOAD=/path/to/libgiltrace.so GILTRACE_OUTPUT=/var/tmp/gil-%p.db python app.py\n"
    "\n"
    "giltrace COMMAND --help describes a command; giltrace --version prints the version.\n";

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"run", cmd_run},
    {"attach", cmd_attach},
    {"recover", cmd_recover},
    {"snapshot", cmd_snapshot},
    {"top", cmd_top},
    {"report", cmd_report},
    {"export", cmd_export},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("giltrace %s\n", GILTRACE_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "giltrace: unknown command \"%s\"; see giltrace --help\n", argv[1]);
    return 2;
}
