/*
 * attach_maps.h — another process's memory map (/proc/PID/maps): which
 * object an address belongs to, where each loaded file lies, how much stack
 * a thread has left.
 */
#ifndef GILTRACE_ATTACH_MAPS_H
#define GILTRACE_ATTACH_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct attach_mapping {
    uintptr_t lo, hi;
    uint64_t offset; /* in the file */
    uint64_t inode;
    bool exec, write;
    const char *path; /* "" when anonymous; "[stack]", "[vdso]"... */
};

struct attach_maps {
    size_t count;
    struct attach_mapping *m; /* by address */
    char *text;               /* owns the paths */
};

/* A loaded file: all its mappings. `base` is where its offset 0 is mapped. */
struct attach_object {
    const char *path; /* in the attach_maps it was found in */
    uintptr_t lo, hi, base;
};

/* Read /proc/PID/maps. Returns 0, or -1 with errno (ENOENT: no such process). */
int attach_maps_read(pid_t pid, struct attach_maps *out);

void attach_maps_free(struct attach_maps *m);

/* The mapping that contains `addr`, or NULL. */
const struct attach_mapping *attach_maps_find(const struct attach_maps *m, uintptr_t addr);

/* The first loaded file whose base name matches the fnmatch(3) `pattern`
 * (e.g. "libpython3*.so*"). False if none. */
bool attach_maps_object(const struct attach_maps *m, const char *pattern, struct attach_object *out);

/* The loaded file at exactly `path`. */
bool attach_maps_object_at(const struct attach_maps *m, const char *path, struct attach_object *out);

#endif
