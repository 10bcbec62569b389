/*
 * attach_maps.c — parsing /proc/PID/maps. See attach_maps.h.
 */
#include "attach_maps.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search.h"

/* The whole file: /proc files report no size, so read until EOF. */
static char *slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (len == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buf);
            buf = NULL;
        } else if (n == 0) {
            buf[len] = '\0';
            break;
        } else {
            len += (size_t)n;
        }
    }
    int e = errno;
    close(fd);
    errno = e;
    return buf;
}

int attach_maps_read(pid_t pid, struct attach_maps *out)
{
    memset(out, 0, sizeof *out);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    out->text = slurp(path);
    if (!out->text)
        return -1;
    size_t lines = 0;
    for (const char *p = out->text; *p; p++)
        lines += *p == '\n';
    out->m = calloc(lines ? lines : 1, sizeof *out->m);
    if (!out->m) {
        attach_maps_free(out);
        errno = ENOMEM;
        return -1;
    }
    for (char *line = out->text, *next; *line; line = next) {
        char *nl = strchr(line, '\n');
        next = nl ? nl + 1 : line + strlen(line);
        if (nl)
            *nl = '\0';
        struct attach_mapping *m = &out->m[out->count];
        char perms[5];
        int path_at = 0;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %4s %" SCNx64 " %*s %" SCNu64 " %n", &m->lo, &m->hi, perms,
                   &m->offset, &m->inode, &path_at) < 5)
            continue;
        m->exec = perms[2] == 'x';
        m->write = perms[1] == 'w';
        m->path = path_at ? line + path_at : "";
        out->count++;
    }
    return 0;
}

void attach_maps_free(struct attach_maps *m)
{
    free(m->m);
    free(m->text);
    memset(m, 0, sizeof *m);
}

struct addr_key {
    const struct attach_maps *m;
    uintptr_t addr;
};

/* Does mapping i end above addr (search_first; mappings are sorted and disjoint)? */
static bool mapping_ends_after(const void *ctx, size_t i)
{
    const struct addr_key *c = ctx;
    return c->m->m[i].hi > c->addr;
}

const struct attach_mapping *attach_maps_find(const struct attach_maps *m, uintptr_t addr)
{
    size_t i = search_first(m->count, mapping_ends_after, &(struct addr_key){m, addr});
    return i < m->count && addr >= m->m[i].lo ? &m->m[i] : NULL;
}

/* All mappings of `path`; out->path points into `m`. */
static void collect(const struct attach_maps *m, const char *path, struct attach_object *out)
{
    *out = (struct attach_object){.lo = UINTPTR_MAX};
    for (size_t i = 0; i < m->count; i++) {
        const struct attach_mapping *x = &m->m[i];
        if (strcmp(x->path, path) != 0)
            continue;
        if (!out->path)
            out->path = x->path;
        if (x->lo < out->lo)
            out->lo = x->lo;
        if (x->hi > out->hi)
            out->hi = x->hi;
        if (x->offset == 0 && !out->base)
            out->base = x->lo;
    }
}

bool attach_maps_object(const struct attach_maps *m, const char *pattern, struct attach_object *out)
{
    for (size_t i = 0; i < m->count; i++) {
        const char *path = m->m[i].path;
        const char *slash = strrchr(path, '/');
        if (path[0] == '/' && fnmatch(pattern, slash + 1, 0) == 0) {
            collect(m, path, out);
            return true;
        }
    }
    return false;
}

bool attach_maps_object_at(const struct attach_maps *m, const char *path, struct attach_object *out)
{
    for (size_t i = 0; i < m->count; i++)
        if (strcmp(m->m[i].path, path) == 0) {
            collect(m, path, out);
            return true;
        }
    return false;
}
