/*
 * ring_follow.c — following a live ring incrementally. See ring_follow.h.
 */
#include "ring_follow.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock_map.h"
#include "fmt_error.h"
#include "ring.h"
#include "ring_aux_read.h"
#include "ring_read.h"

/* A chunk with records not handed over yet. */
struct follow_ref {
    uint64_t seq;
    uint32_t tid;
    uint32_t index;
    uint32_t from;
};

struct ring_follow {
    int fd;
    const char *base;
    size_t size;
    uint64_t chunk_count;    /* chunks the file holds */
    uint64_t *seq;           /* per chunk: the seq its position belongs to */
    uint32_t *done;          /* per chunk: records handed over */
    uint8_t *held;           /* per chunk: its last record was held back at the last poll */
    uint8_t *backed;         /* per chunk: its header is data (NULL: unknown) */
    uint64_t backed_for;     /* chunks claimed when `backed` was made */
    struct ring_calibration *claimed;
    struct follow_ref *refs;
    struct ring_record *scratch;
    struct ring_follow_event *batch;
    size_t batch_cap;
    uint64_t dropped;
    int64_t last_ns;
    struct trace_process proc;
    struct ring_aux_data aux;
};

static int by_tid_then_seq(const void *a, const void *b)
{
    const struct follow_ref *x = a, *y = b;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int ring_follow_open(const char *path, struct ring_follow **out, char *err, size_t n)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return fmt_error(err, n, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size < RING_HEADER_SIZE) {
        close(fd);
        return fmt_error(err, n, "%s is not a giltrace ring file", path);
    }
    void *mem = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    if (mem == MAP_FAILED) {
        int e = errno;
        close(fd);
        return fmt_error(err, n, "cannot map %s: %s", path, strerror(e));
    }
    struct ring_follow *f = calloc(1, sizeof *f);
    if (!f || ring_read_check_header(mem, (size_t)st.st_size, err, n)) {
        if (!f)
            fmt_error(err, n, "out of memory");
        free(f);
        munmap(mem, (size_t)st.st_size);
        close(fd);
        return -1;
    }
    const struct ring_header *h = mem;
    f->fd = fd;
    f->base = mem;
    f->size = (size_t)st.st_size;
    uint64_t in_file = (f->size - RING_HEADER_SIZE) / RING_CHUNK_SIZE;
    f->chunk_count = h->chunk_count < in_file ? h->chunk_count : in_file;
    size_t cc = f->chunk_count ? f->chunk_count : 1;
    f->seq = calloc(cc, sizeof *f->seq);
    f->done = calloc(cc, sizeof *f->done);
    f->held = calloc(cc, 1);
    f->claimed = calloc(cc, sizeof *f->claimed);
    f->refs = calloc(cc, sizeof *f->refs);
    f->scratch = calloc(RING_RECORDS_PER_CHUNK, sizeof *f->scratch);
    if (!f->seq || !f->done || !f->held || !f->claimed || !f->refs || !f->scratch) {
        ring_follow_close(f);
        return fmt_error(err, n, "out of memory");
    }
    *out = f;
    return 0;
}

static int batch_reserve(struct ring_follow *f, size_t want)
{
    if (want <= f->batch_cap)
        return 0;
    size_t cap = f->batch_cap ? f->batch_cap : RING_RECORDS_PER_CHUNK;
    while (cap < want)
        cap *= 2;
    struct ring_follow_event *more = realloc(f->batch, cap * sizeof *more);
    if (!more)
        return -1;
    f->batch = more;
    f->batch_cap = cap;
    return 0;
}

/* Append records [from, to) of a chunk to the batch (`*count` events so
 * far): events stamped by the map, left out past `cut`; a stack record
 * gives the batch's previous RELEASE or BUSY its stack. */
static int append(struct ring_follow *f, size_t *count, size_t from, size_t to, const struct clock_map *map,
                  uint64_t cut)
{
    if (batch_reserve(f, *count + (to - from)))
        return -1;
    size_t hint = 0;
    bool kept = *count > 0;
    for (size_t k = from; k < to; k++) {
        const struct ring_record *r = &f->scratch[k];
        unsigned kind = ring_tail_kind(r->tail);
        struct ring_follow_event *prev = *count ? &f->batch[*count - 1] : NULL;
        bool stackable = kept && prev && (prev->ev.kind == RING_EV_RELEASE || prev->ev.kind == RING_EV_BUSY);
        if (kind == RING_REC_STACK || kind == RING_REC_PYSTACK) {
            if (stackable && r->raw_ts <= UINT32_MAX) {
                if (kind == RING_REC_STACK)
                    prev->ev.stack = (uint32_t)r->raw_ts;
                else
                    prev->py_stack = (uint32_t)r->raw_ts;
            }
            continue;
        }
        int64_t ts = clock_map_ns(map, r->raw_ts, &hint);
        kept = false;
        if (!trace_time_valid(ts)) {
            f->dropped++;
            continue;
        }
        if (r->raw_ts > cut)
            continue;
        kept = true;
        struct ring_follow_event *e = &f->batch[(*count)++];
        *e = (struct ring_follow_event){.ev = {.ts_ns = ts,
                                               .kind = (uint8_t)kind,
                                               .gil = (uint8_t)ring_tail_gil(r->tail),
                                               .cpu = (uint16_t)ring_tail_cpu(r->tail)}};
        if (ts > f->last_ns)
            f->last_ns = ts;
    }
    return 0;
}

/* Refresh identity, names and stacks; returns 0 or -1 (out of memory). */
static int refresh_process(struct ring_follow *f)
{
    const struct ring_header *h = (const void *)f->base;
    trace_process_free(&f->proc);
    ring_aux_data_free(&f->aux);
    memset(&f->aux, 0, sizeof f->aux);
    if (ring_read_identity(h, &f->proc) || ring_aux_read(h, f->base, f->size, &f->proc, &f->aux))
        return -1;
    return 0;
}

/* The chunks with records not handed over yet, by thread and claim order;
 * fills f->claimed with every claimed chunk's pair (*nclaimed). */
static size_t collect(struct ring_follow *f, uint64_t used, size_t *nclaimed, uint64_t *lost)
{
    const struct ring_header *h = (const void *)f->base;
    size_t nrefs = 0;
    *nclaimed = 0;
    for (uint64_t i = 0; i < used; i++) {
        if (f->backed && !f->backed[i])
            continue;
        const struct ring_chunk_header *c = (const void *)(f->base + ring_chunk_offset((uint32_t)i));
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        if (seq == 0)
            continue;
        if (h->version >= 4)
            *lost += __atomic_load_n(&c->lost, __ATOMIC_RELAXED);
        f->claimed[(*nclaimed)++] = c->claimed;
        uint32_t from = seq == f->seq[i] ? f->done[i] : 0;
        if (from >= RING_RECORDS_PER_CHUNK)
            continue;
        const struct ring_record *r = ring_chunk_records((struct ring_chunk_header *)c) + from;
        if (ring_tail_check(__atomic_load_n(&r->tail, __ATOMIC_ACQUIRE)) != ring_record_check(seq, from))
            continue; /* nothing new */
        f->refs[nrefs++] = (struct follow_ref){.seq = seq, .tid = c->tid, .index = (uint32_t)i, .from = from};
    }
    qsort(f->refs, nrefs, sizeof *f->refs, by_tid_then_seq);
    return nrefs;
}

int ring_follow_poll(struct ring_follow *f, const struct ring_follow_sink *sink, char *err, size_t n)
{
    const struct ring_header *h = (const void *)f->base;
    if (refresh_process(f))
        return fmt_error(err, n, "out of memory following a ring");
    uint64_t used = __atomic_load_n(&h->next_chunk, __ATOMIC_ACQUIRE);
    if (used > f->chunk_count)
        used = f->chunk_count;
    if (used > f->backed_for) {
        free(f->backed);
        f->backed = ring_read_backed_chunks(f->fd, f->size);
        f->backed_for = used;
    }
    size_t nclaimed;
    uint64_t lost = 0;
    size_t nrefs = collect(f, used, &nclaimed, &lost);
    f->proc.lost_events += lost;
    struct clock_map map = {0};
    if (ring_read_clock(h, f->claimed, nclaimed, &map))
        return fmt_error(err, n, "cannot convert this ring's timestamps");
    bool exited = f->proc.exited;
    uint64_t cut = exited ? h->end.raw : UINT64_MAX;
    /* hold back a trailing RELEASE/BUSY until its stack records are there */
    bool hold_back = !exited && (f->proc.stacks_recorded || f->proc.py_stacks_recorded);
    unsigned ngil = (unsigned)f->proc.gil_count;
    size_t count = 0;
    for (size_t i = 0; i < nrefs; i++) {
        const struct follow_ref *ref = &f->refs[i];
        const char *c = f->base + ring_chunk_offset(ref->index);
        size_t valid = ring_read_records(c, ref->seq, ngil, ref->from, f->scratch, &f->dropped);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&((const struct ring_chunk_header *)c)->seq, __ATOMIC_RELAXED) == ref->seq) {
            size_t end = valid;
            unsigned last = end > ref->from ? ring_tail_kind(f->scratch[end - 1].tail) : 0;
            /* once only: a thread may record no stack for it (table full) */
            bool again = f->held[ref->index] && end - 1 == ref->from;
            f->held[ref->index] = 0;
            if (hold_back && !again && end < RING_RECORDS_PER_CHUNK &&
                (last == RING_EV_RELEASE || last == RING_EV_BUSY)) {
                end--;
                f->held[ref->index] = 1;
            }
            if (append(f, &count, ref->from, end, &map, cut)) {
                clock_map_free(&map);
                return fmt_error(err, n, "out of memory following a ring");
            }
            f->seq[ref->index] = ref->seq;
            f->done[ref->index] = (uint32_t)end;
        }
        if (count && (i + 1 == nrefs || f->refs[i + 1].tid != ref->tid)) {
            sink->events(sink->ctx, ref->tid, f->batch, count);
            count = 0;
        }
    }
    clock_map_free(&map);
    f->proc.dropped_records = f->dropped;
    f->proc.start_ns = trace_time_valid((int64_t)h->start.mono_ns) ? (int64_t)h->start.mono_ns : 0;
    f->proc.end_ns = exited && trace_time_valid((int64_t)h->end.mono_ns) ? (int64_t)h->end.mono_ns : f->proc.start_ns;
    if (f->last_ns > f->proc.end_ns)
        f->proc.end_ns = f->last_ns;
    return 0;
}

struct trace_process *ring_follow_process(struct ring_follow *f)
{
    return &f->proc;
}

const char *ring_follow_name(const struct ring_follow *f, uint32_t tid)
{
    return ring_aux_name(&f->aux, tid);
}

const struct trace_stack *ring_follow_stack(const struct ring_follow *f, uint32_t raw)
{
    if (raw == 0 || raw > f->aux.nslots || !f->aux.stack_of_slot[raw])
        return NULL;
    return &f->proc.stacks[f->aux.stack_of_slot[raw] - 1];
}

const struct trace_py_stack *ring_follow_py_stack(const struct ring_follow *f, uint32_t raw)
{
    if (raw == 0 || raw > f->aux.py_nslots || !f->aux.py_stack_of_slot[raw])
        return NULL;
    return &f->proc.py_stacks[f->aux.py_stack_of_slot[raw] - 1];
}

void ring_follow_close(struct ring_follow *f)
{
    if (!f)
        return;
    trace_process_free(&f->proc);
    ring_aux_data_free(&f->aux);
    munmap((void *)f->base, f->size);
    close(f->fd);
    free(f->seq);
    free(f->done);
    free(f->held);
    free(f->backed);
    free(f->claimed);
    free(f->refs);
    free(f->scratch);
    free(f->batch);
    free(f);
}
