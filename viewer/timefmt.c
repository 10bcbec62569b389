/*
 * timefmt.c — human time units. See timefmt.h.
 */
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct unit {
    const char *name;
    double ns;
} units[] = {{"ns", 1}, {"µs", 1e3}, {"ms", 1e6}, {"s", 1e9}};

/* The largest unit not bigger than |v| (ns for small values). */
static const struct unit *unit_for(double v)
{
    v = fabs(v);
    const struct unit *u = &units[0];
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (v >= units[i].ns)
            u = &units[i];
    return u;
}

void timefmt_duration(char *buf, size_t cap, double ns)
{
    const struct unit *u = unit_for(ns);
    double v = ns / u->ns;
    double a = fabs(v);
    int dec = a >= 100 || u->ns == 1 ? 0 : a >= 10 ? 1 : 2;
    if (u->ns == 1 && a < 10 && a != floor(a))
        dec = a < 1 ? 3 : 2; /* sub-ns times at nanosecond zoom */
    snprintf(buf, cap, "%.*f %s", dec, v, u->name);
}

double timefmt_tick_step(double ns_per_px, double min_px)
{
    double want = ns_per_px * min_px;
    if (!(want > 0))
        return 1;
    double p = pow(10, floor(log10(want)));
    for (;;) {
        if (p >= want)
            return p;
        if (2 * p >= want)
            return 2 * p;
        if (5 * p >= want)
            return 5 * p;
        p *= 10;
    }
}

/* Decimals needed to print multiples of `step` in unit u. */
static int decimals_for(double step, const struct unit *u)
{
    double s = step / u->ns;
    int dec = 0;
    while (dec < 9 && fabs(s * pow(10, dec) - round(s * pow(10, dec))) > 1e-6 * s * pow(10, dec))
        dec++;
    return dec;
}

void timefmt_tick(char *buf, size_t cap, double t, double step)
{
    if (fabs(t) < step * 1e-6)
        t = 0;
    /* the unit of the step, unless the values are big enough for the next one */
    const struct unit *u = unit_for(step);
    const struct unit *ut = unit_for(t);
    if (ut > u && step / ut->ns >= 0.001)
        u = ut;
    int dec = decimals_for(step, u);
    snprintf(buf, cap, "%.*f %s", dec, t / u->ns, u->name);
}

double timefmt_anchor(double t0, double step)
{
    double big = step * 1000;
    if (fabs(t0) < big)
        return 0;
    return floor(t0 / big) * big;
}

bool timefmt_parse(const char *s, double *ns)
{
    char *end;
    while (*s == ' ')
        s++;
    if (!*s)
        return false;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v))
        return false;
    while (*end == ' ')
        end++;
    double mul = 1;
    if (*end) {
        if (strcmp(end, "ns") == 0)
            mul = 1;
        else if (strcmp(end, "us") == 0 || strcmp(end, "µs") == 0)
            mul = 1e3;
        else if (strcmp(end, "ms") == 0)
            mul = 1e6;
        else if (strcmp(end, "s") == 0)
            mul = 1e9;
        else
            return false;
    }
    *ns = v * mul;
    return true;
}
