/*
 * cmd_report.c — `giltrace report trace.db [--json] [--png FILE]`: what a
 * trace says about the GIL, per thread, per GIL and per process (report.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"
#include "report_json.h"
#include "report_png.h"
#include "trace_load.h"

static const char usage[] =
    "usage: giltrace report [options] TRACE.db\n"
    "\n"
    "Explain a trace: per thread, the share of its life it held and waited for\n"
    "the GIL, its acquisitions, voluntary and forced releases, BUSY/RETRY/TIMEOUT\n"
    "counts and wait latency percentiles; per GIL, its utilisation over the run,\n"
    "handoffs, forced releases per second and handoff latency; who held the GIL\n"
    "while each thread waited (blame); convoys (a thread that releases the GIL\n"
    "for I/O and then waits a switch interval to get it back); and, for traces\n"
    "recorded with giltrace run --stacks, where the GIL is released and where\n"
    "waits for it begin.\n"
    "\n"
    "options:\n"
    "  --json          print the report as JSON (shape: formats/REPORT.md)\n"
    "  --png FILE      also draw charts into FILE: wait-latency histograms per\n"
    "                  thread and GIL utilisation over time\n"
    "  --sites N       list the N most frequent release/wait sites (default 10)\n"
    "  -h, --help      show this help\n";

enum { OPT_JSON = 256, OPT_PNG, OPT_SITES };

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},   {"png", required_argument, NULL, OPT_PNG},
        {"sites", required_argument, NULL, OPT_SITES}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    const char *png = NULL;
    struct report_options ro = {0};
    opterr = 0;
    optind = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
            json = true;
            break;
        case OPT_PNG:
            png = optarg;
            break;
        case OPT_SITES:
            if (!cli_parse_u64(optarg, 1, 1000, &v))
                return cli_usage_error("report", "--sites wants a number from 1 to 1000, not \"%s\"", optarg);
            ro.sites = (size_t)v;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        case ':':
            return cli_usage_error("report", "%s needs a value", argv[optind - 1]);
        default:
            return cli_usage_error("report", "unknown option %s", argv[optind - 1]);
        }
    }
    if (optind >= argc)
        return cli_usage_error("report", "no trace given");
    if (optind + 1 < argc)
        return cli_usage_error("report", "one trace at a time (got \"%s\" too)", argv[optind + 1]);
    const char *path = argv[optind];
    if (png && !*png)
        return cli_usage_error("report", "--png is empty");

    char err[1024];
    struct trace_process *procs;
    size_t n;
    if (trace_load(path, &procs, &n, err, sizeof err)) {
        cli_warn("%s", err);
        return 1;
    }
    struct report_process *reports = calloc(n ? n : 1, sizeof *reports);
    if (!reports) {
        cli_warn("out of memory");
        trace_load_free(procs, n);
        return 1;
    }
    int status = 0;
    size_t done = 0;
    for (; done < n; done++)
        if (report_compute(&procs[done], &ro, &reports[done])) {
            cli_warn("out of memory computing the report of pid %d", procs[done].pid);
            status = 1;
            break;
        }
    if (status == 0) {
        if (json) {
            if (report_json(stdout, reports, n, path)) {
                cli_warn("cannot write the JSON report");
                status = 1;
            }
        } else {
            report_text(stdout, reports, n, path);
        }
        if (status == 0 && png && report_png(png, reports, n, path, err, sizeof err)) {
            cli_warn("%s", err);
            status = 1;
        }
    }
    if (fflush(stdout) != 0) {
        cli_warn("cannot write the report to standard output");
        status = 1;
    }
    for (size_t i = 0; i < done; i++)
        report_free(&reports[i]);
    free(reports);
    trace_load_free(procs, n);
    return status;
}
