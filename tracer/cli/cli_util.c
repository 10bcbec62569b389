/*
 * cli_util.c — error output and number formatting for the CLI. See cli.h.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("giltrace: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "giltrace %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "; see giltrace %s --help\n", cmd);
    va_end(ap);
    return 2;
}

void cli_format_ns(char *buf, size_t cap, int64_t ns)
{
    double v = (double)ns;
    double a = v < 0 ? -v : v;
    if (a < 1e3)
        snprintf(buf, cap, "%" PRId64 " ns", ns);
    else if (a < 1e6)
        snprintf(buf, cap, "%.2f us", v / 1e3);
    else if (a < 1e9)
        snprintf(buf, cap, "%.2f ms", v / 1e6);
    else
        snprintf(buf, cap, "%.3f s", v / 1e9);
}

void cli_format_bytes(char *buf, size_t cap, uint64_t bytes)
{
    double v = (double)bytes;
    if (v < 1e3)
        snprintf(buf, cap, "%" PRIu64 " B", bytes);
    else if (v < 1e6)
        snprintf(buf, cap, "%.1f kB", v / 1e3);
    else if (v < 1e9)
        snprintf(buf, cap, "%.1f MB", v / 1e6);
    else
        snprintf(buf, cap, "%.2f GB", v / 1e9);
}

void cli_format_count(char *buf, size_t cap, uint64_t n)
{
    char digits[32];
    int len = snprintf(digits, sizeof digits, "%" PRIu64, n);
    size_t o = 0;
    for (int i = 0; i < len && o + 1 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0 && o + 2 < cap)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o < cap ? o : cap - 1] = '\0';
}

bool cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}
