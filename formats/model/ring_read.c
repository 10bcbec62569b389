/*
 * ring_read.c — decoding ring files. See ring_read.h.
 *
 * Chunks are grouped by owning thread and taken in claim order; within a
 * chunk, records are read until the first one that fails its commit check,
 * and kept only if the chunk's seq is unchanged afterwards (seqlock: a ring
 * being written, even overwritten, reads as a consistent snapshot).
 * Raw timestamps become CLOCK_MONOTONIC ns through a clock_map built from the
 * header's pairs, every claimed chunk's pair and, when the reader runs on the
 * same boot as the writer, a pair taken now.
 */
#include "ring_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock_map.h"
#include "event_kind.h"
#include "fmt_error.h"
#include "ring.h"
#include "ring_aux_read.h"
#include "ring_clock.h"

/* A claimed chunk, as found. */
struct chunk_ref {
    uint64_t seq;
    uint32_t tid;
    uint32_t index;
    struct ring_calibration claimed;
};

static int by_tid_then_seq(const void *a, const void *b)
{
    const struct chunk_ref *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static char *dup_bounded(const char *s, size_t cap)
{
    return strndup(s, strnlen(s, cap));
}

int ring_read_identity(const struct ring_header *h, struct trace_process *p)
{
    p->pid = h->pid;
    p->ppid = h->ppid;
    p->python_hexversion = h->python_hexversion;
    p->gil_kind = __atomic_load_n(&h->gil_kind, __ATOMIC_ACQUIRE);
    uint32_t us = __atomic_load_n(&h->switch_interval_us, __ATOMIC_RELAXED);
    p->switch_interval_us = us ? (int64_t)us : -1;
    p->exited = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == RING_STATE_EXITED;
    p->lost_events = __atomic_load_n(&h->lost_events, __ATOMIC_RELAXED);
    p->overwritten_events = __atomic_load_n(&h->overwritten_events, __ATOMIC_RELAXED);
    p->exe = dup_bounded(h->exe, sizeof h->exe);
    p->python_version = dup_bounded(h->python_version, sizeof h->python_version);
    if (!p->exe || !p->python_version)
        return -1;

    size_t len = h->argv_len < sizeof h->argv ? h->argv_len : sizeof h->argv;
    size_t argc = 0;
    for (size_t i = 0; i < len; i++)
        if (h->argv[i] == '\0')
            argc++;
    if (len && h->argv[len - 1] != '\0')
        argc++; /* truncated last argument */
    p->argv = calloc(argc ? argc : 1, sizeof *p->argv);
    if (!p->argv)
        return -1;
    for (size_t i = 0, start = 0; i <= len && p->argc < argc; i++) {
        if (i == len || h->argv[i] == '\0') {
            p->argv[p->argc] = strndup(h->argv + start, i - start);
            if (!p->argv[p->argc])
                return -1;
            p->argc++;
            start = i + 1;
        }
    }

    uint32_t ngil = __atomic_load_n(&h->gil_count, __ATOMIC_ACQUIRE);
    if (ngil > RING_MAX_GILS)
        ngil = RING_MAX_GILS;
    p->gils = calloc(ngil ? ngil : 1, sizeof *p->gils);
    if (!p->gils)
        return -1;
    for (uint32_t i = 0; i < ngil; i++) {
        p->gils[i].index = i;
        p->gils[i].kind = h->gils[i].kind;
        p->gils[i].address = h->gils[i].mutex_addr;
        p->gils[i].subinterpreter = h->gils[i].subinterpreter != 0;
    }
    p->gil_count = ngil;
    return 0;
}

int ring_read_check_header(const struct ring_header *h, size_t size, char *err, size_t n)
{
    if (size < sizeof *h || memcmp(h->magic, RING_MAGIC, sizeof h->magic) != 0)
        return fmt_error(err, n, "not a giltrace ring file (bad magic)");
    if (h->version < RING_VERSION_OLDEST || h->version > RING_VERSION)
        return fmt_error(err, n, "ring file version %u is not supported (this giltrace reads versions %u to %u)",
                    h->version, RING_VERSION_OLDEST, RING_VERSION);
    if (h->header_size != RING_HEADER_SIZE || h->chunk_size != RING_CHUNK_SIZE ||
        h->record_size != RING_RECORD_SIZE)
        return fmt_error(err, n, "ring file header has an unexpected layout");
    if (h->clock != RING_CLOCK_TSC && h->clock != RING_CLOCK_MONOTONIC)
        return fmt_error(err, n, "ring file names an unknown clock (%u)", h->clock);
    if (size < RING_HEADER_SIZE)
        return fmt_error(err, n, "ring file is truncated inside its header");
    if (h->aux_size && h->aux_offset != ring_chunk_offset(h->chunk_count))
        return fmt_error(err, n, "ring file header has an unexpected layout (aux area)");
    return 0;
}

int ring_read_clock(const struct ring_header *h, const struct ring_calibration *claimed, size_t nclaimed,
                    struct clock_map *map)
{
    struct ring_calibration *pairs = malloc((nclaimed + 3) * sizeof *pairs);
    if (!pairs)
        return -1;
    size_t k = 0;
    pairs[k++] = h->start;
    if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == RING_STATE_EXITED)
        pairs[k++] = h->end;
    for (size_t i = 0; i < nclaimed; i++)
        pairs[k++] = claimed[i];
    uint8_t boot[16];
    if (h->clock == RING_CLOCK_TSC && ring_clock_boot_id(boot) && memcmp(boot, h->boot_id, 16) == 0)
        pairs[k++] = ring_clock_pair(RING_CLOCK_TSC);
    int r = clock_map_build(map, h->clock, pairs, k);
    free(pairs);
    return r;
}

/* ring_read_clock over the pairs of the chunks found. */
static int build_clock(const struct ring_header *h, const struct chunk_ref *chunks, size_t nchunks,
                       struct clock_map *map)
{
    struct ring_calibration *claimed = calloc(nchunks ? nchunks : 1, sizeof *claimed);
    if (!claimed)
        return -1;
    for (size_t i = 0; i < nchunks; i++)
        claimed[i] = chunks[i].claimed;
    int r = ring_read_clock(h, claimed, nchunks, map);
    free(claimed);
    return r;
}

/* See ring_read.h. Counts in *dropped a record after them that was torn by a crash (timestamp
 * stored, committing tail not) or that passes its check yet holds no valid
 * kind or GIL. Anything else after them is unwritten or stale. */
size_t ring_read_records(const char *chunk, uint64_t seq, unsigned ngil, size_t from, struct ring_record *out,
                         uint64_t *dropped)
{
    const struct ring_record *r = (const void *)(chunk + RING_CHUNK_HEADER_SIZE);
    size_t i = from;
    for (; i < RING_RECORDS_PER_CHUNK; i++) {
        uint64_t tail = __atomic_load_n(&r[i].tail, __ATOMIC_ACQUIRE);
        if (ring_tail_check(tail) != ring_record_check(seq, (uint32_t)i)) {
            if (tail == 0 && __atomic_load_n(&r[i].raw_ts, __ATOMIC_RELAXED) != 0)
                (*dropped)++;
            break;
        }
        unsigned kind = ring_tail_kind(tail);
        if ((!event_kind_valid(kind) && kind != RING_REC_STACK && kind != RING_REC_PYSTACK) ||
            ring_tail_gil(tail) >= (ngil ? ngil : 1)) {
            (*dropped)++;
            break;
        }
        out[i].raw_ts = __atomic_load_n(&r[i].raw_ts, __ATOMIC_RELAXED);
        out[i].tail = tail;
    }
    return i;
}

/* Append a chunk's records to thread `t`, converting timestamps; a stack
 * record gives the thread's previous RELEASE or BUSY its stack. Events
 * stamped after `cut` (raw clock) are left out, uncounted: the process
 * ended then, and its other threads were read as of that moment. An event
 * whose time no clock gives is dropped and counted. Stack records follow
 * their event out. */
static int append_records(struct trace_thread *t, size_t *cap, const struct ring_record *r, size_t count,
                          const struct clock_map *map, size_t *hint, const struct ring_aux_data *aux, uint64_t cut,
                          uint64_t *dropped)
{
    if (t->count + count > *cap) {
        size_t want = *cap ? *cap * 2 : RING_RECORDS_PER_CHUNK;
        while (want < t->count + count)
            want *= 2;
        struct trace_event *more = realloc(t->events, want * sizeof *more);
        if (!more)
            return -1;
        t->events = more;
        *cap = want;
    }
    bool kept = true; /* the event before was appended */
    for (size_t k = 0; k < count; k++) {
        if (!kept && (ring_tail_kind(r[k].tail) == RING_REC_STACK || ring_tail_kind(r[k].tail) == RING_REC_PYSTACK))
            continue;
        if (ring_tail_kind(r[k].tail) == RING_REC_STACK) {
            uint64_t id = r[k].raw_ts;
            struct trace_event *prev = t->count ? &t->events[t->count - 1] : NULL;
            if (prev && (prev->kind == RING_EV_RELEASE || prev->kind == RING_EV_BUSY) && id > 0 &&
                id <= aux->nslots)
                prev->stack = aux->stack_of_slot[id];
            continue;
        }
        if (ring_tail_kind(r[k].tail) == RING_REC_PYSTACK) {
            uint64_t id = r[k].raw_ts;
            const struct trace_event *prev = t->count ? &t->events[t->count - 1] : NULL;
            bool marked = t->py_mark_count && t->py_marks[t->py_mark_count - 1].event == t->count - 1;
            if (prev && (prev->kind == RING_EV_RELEASE || prev->kind == RING_EV_BUSY) && !marked && id > 0 &&
                id <= aux->py_nslots && aux->py_stack_of_slot[id] &&
                trace_thread_add_py_mark(t, t->count - 1, aux->py_stack_of_slot[id]))
                return -1;
            continue;
        }
        int64_t ts = clock_map_ns(map, r[k].raw_ts, hint);
        kept = false;
        if (!trace_time_valid(ts)) {
            (*dropped)++; /* a damaged timestamp: no clock gives it */
            continue;
        }
        if (r[k].raw_ts > cut)
            continue;
        kept = true;
        struct trace_event *e = &t->events[t->count++];
        e->ts_ns = ts;
        e->kind = (uint8_t)ring_tail_kind(r[k].tail);
        e->gil = (uint8_t)ring_tail_gil(r[k].tail);
        e->cpu = (uint16_t)ring_tail_cpu(r[k].tail);
        e->stack = 0;
    }
    return 0;
}

/* The published chunks, by thread and claim order; a chunk whose header is
 * not `backed` (when known) is a hole of the file, never published, and is
 * not touched. Adds the events their threads counted as lost in them to
 * `*lost`. */
static size_t collect_chunks(const struct ring_header *h, const char *base, uint64_t chunk_count,
                             const uint8_t *backed, struct chunk_ref *chunks, uint64_t *lost)
{
    uint64_t used = __atomic_load_n(&h->next_chunk, __ATOMIC_ACQUIRE);
    if (used > chunk_count)
        used = chunk_count;
    size_t n = 0;
    for (uint64_t i = 0; i < used; i++) {
        if (backed && !backed[i])
            continue;
        const struct ring_chunk_header *c = (const void *)(base + ring_chunk_offset((uint32_t)i));
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        if (seq == 0)
            continue; /* never claimed, or being taken over right now */
        if (h->version >= 4)
            *lost += __atomic_load_n(&c->lost, __ATOMIC_RELAXED);
        chunks[n++] = (struct chunk_ref){.seq = seq, .tid = c->tid, .index = (uint32_t)i, .claimed = c->claimed};
    }
    qsort(chunks, n, sizeof *chunks, by_tid_then_seq);
    return n;
}

/* ring_read_memory, touching only the chunks `backed` says are (NULL: all). */
static int read_ring(const void *mem, size_t size, const uint8_t *backed, struct trace_process *out, char *err,
                     size_t n)
{
    memset(out, 0, sizeof *out);
    const struct ring_header *h = mem;
    const char *base = mem;
    if (ring_read_check_header(h, size, err, n))
        return -1;
    uint64_t chunk_count = h->chunk_count;
    uint64_t in_file = (size - RING_HEADER_SIZE) / RING_CHUNK_SIZE;
    uint64_t used = __atomic_load_n(&h->next_chunk, __ATOMIC_ACQUIRE);
    if (used > chunk_count)
        used = chunk_count;
    if (chunk_count > in_file)
        chunk_count = in_file; /* the file was cut short: read what is there, and say what is not */

    struct chunk_ref *chunks = malloc((chunk_count ? chunk_count : 1) * sizeof *chunks);
    struct ring_record *scratch = malloc(RING_RECORDS_PER_CHUNK * sizeof *scratch);
    struct clock_map map = {0};
    struct ring_aux_data aux = {0};
    if (!chunks || !scratch || ring_read_identity(h, out) || ring_aux_read(h, base, size, out, &aux))
        goto oom;
    out->chunks_used = used;
    out->chunks_missing = used > chunk_count ? used - chunk_count : 0;
    size_t nchunks = collect_chunks(h, base, chunk_count, backed, chunks, &out->lost_events);
    if (build_clock(h, chunks, nchunks, &map)) {
        free(chunks);
        free(scratch);
        ring_aux_data_free(&aux);
        trace_process_free(out);
        return fmt_error(err, n, "cannot convert this ring's timestamps: it has a single calibration point "
                                 "and was written on another boot");
    }

    size_t nthreads = 0;
    for (size_t i = 0; i < nchunks; i++)
        nthreads += i == 0 || chunks[i].tid != chunks[i - 1].tid;
    out->threads = calloc(nthreads ? nthreads : 1, sizeof *out->threads);
    if (!out->threads)
        goto oom;
    unsigned ngil = (unsigned)out->gil_count;
    /* One cut for all threads: a process that ended while other threads
     * still ran (exit() without the GIL) is read as of its end, which it
     * stamped before anything was read, so no thread is read later than
     * another. A record stamped before the cut and still uncommitted when
     * read is the last of its thread, and no later handoff can be seen. */
    uint64_t cut = out->exited ? h->end.raw : UINT64_MAX;
    size_t hint = 0, cap = 0;
    int64_t first_ns = INT64_MAX, last_ns = INT64_MIN;
    struct trace_thread *t = NULL;
    for (size_t i = 0; i < nchunks; i++) {
        if (i == 0 || chunks[i].tid != chunks[i - 1].tid) {
            t = &out->threads[out->thread_count++];
            t->tid = chunks[i].tid;
            cap = 0;
            const char *name = ring_aux_name(&aux, t->tid);
            if (name && !(t->name = strdup(name)))
                goto oom;
        }
        const struct ring_chunk_header *c = (const void *)(base + ring_chunk_offset(chunks[i].index));
        uint64_t dropped = 0;
        size_t valid = ring_read_records((const char *)c, chunks[i].seq, ngil, 0, scratch, &dropped);
        /* The seqlock's read side: the record loads above must complete
         * before seq is read again (as Linux's read_seqcount_retry). */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&c->seq, __ATOMIC_RELAXED) != chunks[i].seq)
            continue; /* taken over while we read it: those events are gone */
        if (append_records(t, &cap, scratch, valid, &map, &hint, &aux, cut, &dropped))
            goto oom;
        out->dropped_records += dropped;
    }
    for (size_t i = 0; i < out->thread_count; i++) {
        const struct trace_thread *th = &out->threads[i];
        if (th->count && th->events[0].ts_ns < first_ns)
            first_ns = th->events[0].ts_ns;
        if (th->count && th->events[th->count - 1].ts_ns > last_ns)
            last_ns = th->events[th->count - 1].ts_ns;
    }

    /* a damaged calibration time counts for nothing: the events say more */
    out->start_ns = trace_time_valid((int64_t)h->start.mono_ns) ? (int64_t)h->start.mono_ns
                    : first_ns != INT64_MAX                       ? first_ns
                                                                  : 0;
    out->end_ns = out->exited && trace_time_valid((int64_t)h->end.mono_ns) ? (int64_t)h->end.mono_ns
                                                                            : out->start_ns;
    if (last_ns > out->end_ns)
        out->end_ns = last_ns;
    if (first_ns < out->start_ns)
        out->start_ns = first_ns;
    clock_map_free(&map);
    free(chunks);
    free(scratch);
    ring_aux_data_free(&aux);
    return 0;

oom:
    clock_map_free(&map);
    free(chunks);
    free(scratch);
    ring_aux_data_free(&aux);
    trace_process_free(out);
    return fmt_error(err, n, "out of memory reading a ring file");
}

int ring_read_memory(const void *mem, size_t size, struct trace_process *out, char *err, size_t n)
{
    return read_ring(mem, size, NULL, out, err, n);
}

/* Which chunks of the ring file `fd` (`size` bytes) have their header in
 * data, not in a hole. A chunk the writer could not populate (its file
 * system was full) is a hole, and reading a hole through a shared mapping
 * makes the kernel allocate a page, which on a full file system raises
 * SIGBUS. NULL when the file system cannot tell (every chunk is read then,
 * as before) or memory is short. */
uint8_t *ring_read_backed_chunks(int fd, size_t size)
{
    uint64_t count = size > RING_HEADER_SIZE ? (size - RING_HEADER_SIZE) / RING_CHUNK_SIZE : 0;
    uint8_t *backed = calloc(count ? count : 1, 1);
    if (!backed)
        return NULL;
    off_t at = 0;
    for (;;) {
        off_t data = lseek(fd, at, SEEK_DATA);
        if (data < 0 && errno == ENXIO)
            return backed; /* no data past `at` */
        off_t hole = data < 0 ? -1 : lseek(fd, data, SEEK_HOLE);
        if (hole < 0) {
            free(backed);
            return NULL;
        }
        /* chunks whose 64-byte header lies in [data, hole) */
        uint64_t i = (uint64_t)data <= RING_HEADER_SIZE
                         ? 0
                         : ((uint64_t)data - RING_HEADER_SIZE + RING_CHUNK_SIZE - 1) / RING_CHUNK_SIZE;
        for (; i < count && ring_chunk_offset((uint32_t)i) + RING_CHUNK_HEADER_SIZE <= (uint64_t)hole; i++)
            backed[i] = 1;
        at = hole;
    }
}

int ring_read_file(const char *path, struct trace_process *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    /* O_NONBLOCK: a FIFO must be refused below, not waited on */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return fmt_error(err, n, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return fmt_error(err, n, "%s is not a regular file", path);
    }
    if ((size_t)st.st_size < RING_HEADER_SIZE) {
        close(fd);
        return fmt_error(err, n, "%s is not a giltrace ring file (too short)", path);
    }
    void *mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    int e = errno;
    uint8_t *backed = mem == MAP_FAILED ? NULL : ring_read_backed_chunks(fd, (size_t)st.st_size);
    close(fd);
    if (mem == MAP_FAILED)
        return fmt_error(err, n, "cannot map %s: %s", path, strerror(e));
    char why[256];
    int r = read_ring(mem, (size_t)st.st_size, backed, out, why, sizeof why);
    free(backed);
    munmap(mem, (size_t)st.st_size);
    if (r)
        return fmt_error(err, n, "%s: %s", path, why);
    return 0;
}
