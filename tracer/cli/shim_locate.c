/*
 * shim_locate.c — finding giltrace's libraries. See shim_locate.h.
 */
#include "shim_locate.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef GILTRACE_SHIM_RELDIR
#define GILTRACE_SHIM_RELDIR "../lib/giltrace"
#endif

static int usable(const char *path, char *out, size_t cap)
{
    char real[PATH_MAX];
    if (access(path, R_OK) != 0 || !realpath(path, real) || strlen(real) >= cap || strchr(real, ':'))
        return -1;
    strcpy(out, real);
    return 0;
}

int shim_locate(const char *name, const char *env_var, char *out, size_t cap)
{
    const char *env = getenv(env_var);
    if (env && *env)
        return usable(env, out, cap);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return -1;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", exe, name);
    if (usable(path, out, cap) == 0)
        return 0;
    snprintf(path, sizeof path, "%s/%s/%s", exe, GILTRACE_SHIM_RELDIR, name);
    return usable(path, out, cap);
}
