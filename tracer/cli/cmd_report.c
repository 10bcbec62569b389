/*
 * cmd_report.c — `giltrace report trace.db [--json] [--png FILE]`: what a
 * trace says about the GIL, per thread, per GIL and per process (report.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "experiment_label.h"
#include "report.h"
#include "report_json.h"
#include "report_html.h"
#include "report_png.h"
#include "report_py.h"
#include "report_whatif.h"
#include "analysis_trace_load.h"
#include "analysis_trace_load.h"

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
    "waits for it begin; with Python stacks (--stacks, --py-stacks), the same by\n"
    "Python line, forced and voluntary, and which lines kept the others waiting.\n"
    "\n"
    "options:\n"
    "  --json          print the report as JSON (shape: tracer/analysis/REPORT.md)\n"
    "  --png FILE      also draw charts into FILE: wait-latency histograms per\n"
    "                  thread and GIL utilisation over time\n"
    "                  (mode 0600; an existing FILE only with --force)\n"
    "  -f, --force     replace the --png or --html FILE if it exists\n"
    "  --html FILE     also write the report as one self-contained HTML page:\n"
    "                  its tables, the charts and a timeline picture, nothing\n"
    "                  fetched (the file to attach to a bug report)\n"
    "  --sites N       list the N most frequent release/wait sites (default 10)\n"
    "  --folded hold|wait\n"
    "                  print folded Python stacks instead (for flamegraph.pl or\n"
    "                  speedscope): each hold weighted by its length in ns under\n"
    "                  the stack where it ended (its RELEASE), or each wait under\n"
    "                  the stack where it began (its BUSY); needs a trace recorded\n"
    "                  with giltrace run --stacks\n"
    "  --what-if POLICY\n"
    "                  also replay each process's GIL demands (CPU bursts held,\n"
    "                  gaps without the GIL) under another policy and predict\n"
    "                  its waits: switch-interval=TIME (1ms, 500us), priority-gil\n"
    "                  (as giltrace run --experiment priority-gil), or both\n"
    "                  joined by a comma; the model and its limits: docs/WHATIF.md\n"
    "  -h, --help      show this help\n"
    "\n"
    "A trace recorded under giltrace run --experiment is labelled as such at the\n"
    "top of the report (on standard error with --json).\n";

enum { OPT_JSON = 256, OPT_PNG, OPT_SITES, OPT_FOLDED, OPT_HTML, OPT_WHAT_IF };

/* --folded: the folded Python stacks of every process, then the loaded
 * trace is freed. */
static int report_folded(struct trace_process *procs, size_t n, bool waits, const char *path)
{
    int status = 0;
    bool any = false;
    for (size_t i = 0; i < n && status == 0; i++) {
        any |= procs[i].py_stacks_recorded;
        if (procs[i].py_stacks_recorded && report_py_folded(stdout, &procs[i], waits)) {
            cli_warn("cannot write the folded stacks of pid %d", procs[i].pid);
            status = 1;
        }
    }
    if (status == 0 && fflush(stdout) != 0) {
        cli_warn("cannot write the folded stacks to standard output");
        status = 1;
    }
    if (status == 0 && !any) {
        cli_warn("%s has no Python stacks: record it with giltrace run --stacks", path);
        status = 1;
    }
    analysis_trace_load_free(procs, n);
    return status;
}

/* --what-if: the replay of every process. */
static int report_what_if(FILE *out, const struct trace_process *procs, size_t n, const struct whatif_policy *what,
                          const char *spec, const char *label)
{
    struct whatif_policy recorded;
    whatif_policy_recorded(label, &recorded);
    for (size_t i = 0; i < n; i++) {
        struct whatif_result r;
        if (whatif_run(&procs[i], &recorded, what, &r)) {
            cli_warn("out of memory replaying pid %d", procs[i].pid);
            return 1;
        }
        whatif_text(out, &procs[i], &r, spec, label);
        whatif_free(&r);
    }
    return 0;
}

int cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},   {"png", required_argument, NULL, OPT_PNG},
        {"sites", required_argument, NULL, OPT_SITES}, {"folded", required_argument, NULL, OPT_FOLDED},
        {"html", required_argument, NULL, OPT_HTML}, {"force", no_argument, NULL, 'f'},
        {"what-if", required_argument, NULL, OPT_WHAT_IF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false, force = false;
    const char *png = NULL, *folded = NULL, *html = NULL, *what_if = NULL;
    struct whatif_policy what;
    char err[1024];
    struct report_options ro = {0};
    opterr = 0;
    optind = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "fh", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            force = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_PNG:
            png = optarg;
            break;
        case OPT_HTML:
            html = optarg;
            break;
        case OPT_SITES:
            if (!cli_parse_u64(optarg, 1, 1000, &v))
                return cli_usage_error("report", "--sites wants a number from 1 to 1000, not \"%s\"", optarg);
            ro.sites = (size_t)v;
            break;
        case OPT_FOLDED:
            if (strcmp(optarg, "hold") != 0 && strcmp(optarg, "wait") != 0)
                return cli_usage_error("report", "--folded wants hold or wait, not \"%s\"", optarg);
            folded = optarg;
            break;
        case OPT_WHAT_IF:
            if (whatif_policy_parse(optarg, &what, err, sizeof err))
                return cli_usage_error("report", "%s", err);
            what_if = optarg;
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
    if (html && !*html)
        return cli_usage_error("report", "--html is empty");

    struct trace_process *procs;
    size_t n;
    if (analysis_trace_load(path, &procs, &n, err, sizeof err)) {
        cli_warn("%s", err);
        return 1;
    }
    if (folded)
        return report_folded(procs, n, strcmp(folded, "wait") == 0, path);
    char label[256];
    bool labelled = experiment_label_read(path, label, sizeof label);
    if (labelled)
        experiment_label_print(json ? stderr : stdout, label);
    struct report_process *reports = calloc(n ? n : 1, sizeof *reports);
    if (!reports) {
        cli_warn("out of memory");
        analysis_trace_load_free(procs, n);
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
        if (status == 0 && what_if)
            status = report_what_if(json ? stderr : stdout, procs, n, &what, what_if, labelled ? label : NULL);
        if (status == 0 && png && report_png(png, force, reports, n, path, err, sizeof err)) {
            cli_warn("%s", err);
            status = 1;
        }
        if (status == 0 && html && report_html(html, force, reports, n, path, err, sizeof err)) {
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
    analysis_trace_load_free(procs, n);
    return status;
}
