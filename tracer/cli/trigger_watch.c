/*
 * trigger_watch.c — snapshots on long GIL waits. See trigger_watch.h.
 */
#include "trigger_watch.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "ring.h"
#include "ring_clock.h"
#include "cli.h"
#include "output_file.h"
#include "cli_trace_set.h"

#define HOLD_OFF_NS 1000000000ull

struct watched_ring {
    char path[PATH_MAX];
    const struct ring_header *header; /* its first page, mapped read-only */
    uint64_t seen;                    /* trigger_count already snapshotted */
    uint64_t last_snapshot_ns;
};

struct trigger_watch {
    char run_dir[PATH_MAX];
    char base[PATH_MAX]; /* output without ".db" */
    struct watched_ring *rings;
    size_t count, cap;
    unsigned snapshots;
};

struct trigger_watch *trigger_watch_start(const char *run_dir, const char *output)
{
    struct trigger_watch *tw = calloc(1, sizeof *tw);
    if (!tw)
        return NULL;
    snprintf(tw->run_dir, sizeof tw->run_dir, "%s", run_dir);
    snprintf(tw->base, sizeof tw->base, "%s", output);
    size_t len = strlen(tw->base);
    if (len > 3 && strcmp(tw->base + len - 3, ".db") == 0)
        tw->base[len - 3] = '\0';
    return tw;
}

static int known(const struct trigger_watch *tw, const char *path)
{
    for (size_t i = 0; i < tw->count; i++)
        if (strcmp(tw->rings[i].path, path) == 0)
            return 1;
    return 0;
}

/* Map the header of every ring that appeared since the last look. */
static void find_new_rings(struct trigger_watch *tw)
{
    DIR *d = opendir(tw->run_dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        size_t len = strlen(de->d_name);
        char path[PATH_MAX];
        if (len < 6 || strcmp(de->d_name + len - 5, ".ring") != 0 ||
            (size_t)snprintf(path, sizeof path, "%s/%.*s", tw->run_dir, 255, de->d_name) >= sizeof path)
            continue;
        if (known(tw, path))
            continue;
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            continue;
        void *map = mmap(NULL, RING_HEADER_SIZE, PROT_READ, MAP_SHARED, fd, 0);
        close(fd);
        if (map == MAP_FAILED)
            continue;
        if (tw->count == tw->cap) {
            size_t cap = tw->cap ? tw->cap * 2 : 8;
            struct watched_ring *more = realloc(tw->rings, cap * sizeof *more);
            if (!more) {
                munmap(map, RING_HEADER_SIZE);
                break;
            }
            tw->rings = more;
            tw->cap = cap;
        }
        struct watched_ring *r = &tw->rings[tw->count++];
        memset(r, 0, sizeof *r);
        snprintf(r->path, sizeof r->path, "%s", path);
        r->header = map;
    }
    if (d)
        closedir(d);
}

static void write_snapshot(struct trigger_watch *tw, struct watched_ring *r, uint64_t count)
{
    char output[PATH_MAX + 32], tmp[PATH_MAX + 64], final[PATH_MAX + 32], err[1024], command[64];
    uint64_t wait_ns = __atomic_load_n(&r->header->trigger_wait_ns, __ATOMIC_RELAXED);
    uint32_t tid = __atomic_load_n(&r->header->trigger_tid, __ATOMIC_RELAXED);
    do
        snprintf(output, sizeof output, "%s.trigger-%u.db", tw->base, ++tw->snapshots);
    while (access(output, F_OK) == 0);
    if (output_file_begin(output, false, tmp, sizeof tmp))
        return;
    struct cli_trace_set set;
    snprintf(command, sizeof command, "giltrace run --trigger-wait-ms %u", r->header->trigger_wait_ms);
    if (cli_trace_set_read_file(r->path, &set, err, sizeof err) || cli_trace_set_write(&set, tmp, command, err, sizeof err) ||
        output_file_commit(tmp, output, false, final, sizeof final, err, sizeof err)) {
        cli_warn("could not write a snapshot: %s", err);
        unlink(tmp);
        return;
    }
    cli_trace_set_free(&set);
    cli_warn("pid %d: thread %u waited %.1f ms for the GIL (over %u ms); snapshot written to %s",
             r->header->pid, tid, (double)wait_ns / 1e6, r->header->trigger_wait_ms, final);
    r->seen = count;
    r->last_snapshot_ns = ring_clock_monotonic_ns();
}

void trigger_watch_poll(struct trigger_watch *tw)
{
    find_new_rings(tw);
    uint64_t now = ring_clock_monotonic_ns();
    for (size_t i = 0; i < tw->count; i++) {
        struct watched_ring *r = &tw->rings[i];
        uint64_t count = __atomic_load_n(&r->header->trigger_count, __ATOMIC_ACQUIRE);
        if (count != r->seen && now - r->last_snapshot_ns >= HOLD_OFF_NS)
            write_snapshot(tw, r, count);
    }
}

unsigned trigger_watch_snapshots(const struct trigger_watch *tw)
{
    return tw->snapshots;
}

void trigger_watch_stop(struct trigger_watch *tw)
{
    if (!tw)
        return;
    for (size_t i = 0; i < tw->count; i++)
        munmap((void *)tw->rings[i].header, RING_HEADER_SIZE);
    free(tw->rings);
    free(tw);
}
