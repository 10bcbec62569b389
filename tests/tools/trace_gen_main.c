/*
 * trace_gen_main.c — the trace_gen program, for tests, benchmarks and
 * demos: write a synthetic trace (trace_gen.h) of a chosen size and pattern.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "trace_gen.h"

/* "trace_gen: <message>; see trace_gen --help" on stderr; the usage status. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("trace_gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("; see trace_gen --help\n", stderr);
    va_end(ap);
    return 2;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    double d = strtod(s, &end); /* accepts 1e8 */
    if (end == s || *end || d < 0 || d > 1e12)
        return false;
    *v = (uint64_t)d;
    return true;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},  {"events", required_argument, NULL, 'n'},
        {"pattern", required_argument, NULL, 'p'}, {"threads", required_argument, NULL, 't'},
        {"processes", required_argument, NULL, 'P'}, {"interval", required_argument, NULL, 'i'},
        {"seed", required_argument, NULL, 's'},    {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    struct trace_gen_options o = {.pattern = TRACE_GEN_PINGPONG, .events = 1000000, .threads = 2};
    const char *out = NULL;
    uint64_t v;
    int c;
    while ((c = getopt_long(argc, argv, "o:n:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'n':
            if (!parse_u64(optarg, &o.events) || o.events == 0)
                return usage_error("--events wants a count such as 1e6");
            break;
        case 'p':
            if (trace_gen_pattern_from_name(optarg) < 0)
                return usage_error("--pattern is pingpong, convoy or random");
            o.pattern = (enum trace_gen_pattern)trace_gen_pattern_from_name(optarg);
            break;
        case 't':
            if (!parse_u64(optarg, &v) || v < 1 || v > 1000)
                return usage_error("--threads wants 1 to 1000");
            o.threads = (unsigned)v;
            break;
        case 'P':
            if (!parse_u64(optarg, &v) || v < 1 || v > 1000)
                return usage_error("--processes wants 1 to 1000");
            o.processes = (unsigned)v;
            break;
        case 'i':
            if (!parse_u64(optarg, &v) || v < 1)
                return usage_error("--interval wants ns");
            o.interval_ns = (int64_t)v;
            break;
        case 's':
            if (!parse_u64(optarg, &o.seed))
                return usage_error("--seed wants a number");
            break;
        case 'h':
            printf("usage: trace_gen -o out.db [--events N] [--pattern pingpong|convoy|random]\n"
                   "                 [--threads T] [--processes P] [--interval NS] [--seed S]\n"
                   "Writes a synthetic trace for tests and benchmarks.\n");
            return 0;
        default:
            return usage_error("unknown option");
        }
    }
    if (!out || optind != argc)
        return usage_error("give -o out.db and nothing else");
    char err[512];
    uint64_t events = 0;
    if (trace_gen_write(out, &o, &events, err, sizeof err)) {
        fprintf(stderr, "trace_gen: %s\n", err);
        return 1;
    }
    printf("%s: %llu events\n", out, (unsigned long long)events);
    return 0;
}
