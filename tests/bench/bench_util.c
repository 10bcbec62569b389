/*
 * bench_util.c — helpers of the C benchmarks. See bench_util.h.
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void bench_report(const char *name, double value, const char *unit, const char *goal)
{
    printf("%-52s %10.2f %-8s (goal %s)\n", name, value, unit, goal);
    fflush(stdout);
}
