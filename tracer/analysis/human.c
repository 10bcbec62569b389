/*
 * human.c — figures for people: durations, sizes, counts, command lines.
 * See human.h.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "human.h"

void human_ns(char *buf, size_t cap, int64_t ns)
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

void human_bytes(char *buf, size_t cap, uint64_t bytes)
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

void human_count(char *buf, size_t cap, uint64_t n)
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
#define ARG_MAX_SHOWN 40

/* Append at most `n` bytes of `s` to buf[*len], white space runs as one
 * space, stopping at cap-1 (possibly inside a UTF-8 character: callers cut
 * the result with cut_utf8). */
static void append_squeezed(char *buf, size_t cap, size_t *len, const char *s, size_t n)
{
    bool space = false;
    for (size_t i = 0; i < n && s[i] && *len + 1 < cap; i++) {
        bool ws = s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r';
        if (ws && space)
            continue;
        space = ws;
        buf[(*len)++] = ws ? ' ' : s[i];
    }
    buf[*len] = '\0';
}

/* Cut buf to at most `keep` bytes on a UTF-8 character boundary. */
static size_t cut_utf8(char *buf, size_t len, size_t keep)
{
    if (len <= keep)
        return len;
    while (keep > 0 && ((unsigned char)buf[keep] & 0xc0) == 0x80)
        keep--;
    buf[keep] = '\0';
    return keep;
}

/* One argument, shortened to ARG_MAX_SHOWN bytes. */
static void append_arg(char *buf, size_t cap, size_t *len, const char *arg, size_t nbytes, const char *suffix)
{
    char one[ARG_MAX_SHOWN * 4 + 32];
    size_t n = 0;
    append_squeezed(one, sizeof one, &n, arg, nbytes);
    while (n > 0 && one[n - 1] == ' ')
        one[--n] = '\0';
    if (n > ARG_MAX_SHOWN) {
        n = cut_utf8(one, n, ARG_MAX_SHOWN - 3);
        snprintf(one + n, sizeof one - n, "...");
    }
    *len += (size_t)snprintf(buf + *len, cap - *len, " %s%s", one, suffix);
    if (*len >= cap)
        *len = cap - 1;
}

void human_command(char *buf, size_t cap, const char *exe, const char *const *argv, size_t argc,
                        size_t width)
{
    assert(cap > 0);
    const char *slash = exe ? strrchr(exe, '/') : NULL;
    size_t len = (size_t)snprintf(buf, cap, "%s", slash ? slash + 1 : exe ? exe : "?");
    if (len >= cap)
        len = cap - 1;
    for (size_t i = 1; i < argc && len + 1 < cap; i++) {
        const char *a = argv[i];
        bool script = i > 1 && strcmp(argv[i - 1], "-c") == 0;
        if (!script) {
            append_arg(buf, cap, &len, a, strlen(a), "");
            continue;
        }
        while (*a == '\n' || *a == '\r' || *a == ' ' || *a == '\t')
            a++;
        size_t first = strcspn(a, "\n"), lines = 1;
        for (const char *q = a + first; *q; q++)
            if (*q == '\n' && q[1])
                lines++;
        char more[32] = "";
        if (lines > 1)
            snprintf(more, sizeof more, " (%zu lines)", lines);
        append_arg(buf, cap, &len, a, first, more);
    }
    if (len > width && width > 3) {
        len = cut_utf8(buf, len, width - 3);
        snprintf(buf + len, cap - len, "...");
    }
}
