/*
 * test_ring_aux.c — a ring's aux area read back: Python thread names (the
 * last one per thread wins), modules, deduplicated stacks (copies that
 * racing threads stored are merged, unfinished and dead slots skipped),
 * and each RELEASE/BUSY's stack record attached to its event, also across
 * a chunk boundary; then the same through a trace database, and frames
 * named from ELF files (this test's own symbols and libc's).
 */
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "ring_read.h"
#include "stack_symbols.h"
#include "tdb_read.h"
#include "check.h"
#include "db_round_trip.h"

struct fixture {
    unsigned char *mem;
    size_t size;
    struct ring_aux *aux;
    uint32_t chunks;
};

static void init(struct fixture *f, uint32_t chunks)
{
    struct ring_aux_layout l = ring_aux_layout(1);
    f->chunks = chunks;
    size_t aux_off = (size_t)ring_chunk_offset(chunks);
    f->size = aux_off + l.size;
    f->mem = calloc(1, f->size);
    CHECK(f->mem != NULL);
    struct ring_header *h = (struct ring_header *)f->mem;
    ring_header_init(h, chunks, RING_CLOCK_MONOTONIC);
    h->pid = 777;
    h->gil_kind = RING_GIL_CONDVAR;
    h->start = (struct ring_calibration){.raw = 1000, .mono_ns = 1000};
    h->end = (struct ring_calibration){.raw = 90000000, .mono_ns = 90000000};
    h->state = RING_STATE_EXITED;
    h->gil_count = 1;
    h->flags = RING_FLAG_STACKS;
    h->aux_offset = aux_off;
    h->aux_size = l.size;
    struct ring_aux *a = f->aux = (struct ring_aux *)(f->mem + aux_off);
    ring_aux_init(a, &l);
}

static void name(struct fixture *f, uint32_t tid, const char *n, int commit)
{
    uint32_t i = f->aux->names_count++;
    struct ring_thread_name *e = (struct ring_thread_name *)((char *)f->aux + f->aux->names_offset) + i;
    e->tid = tid;
    strcpy(e->name, n);
    e->commit = commit ? ring_aux_commit(i) : 0;
}

static void module(struct fixture *f, uint64_t bias, uint64_t lo, uint64_t hi, const char *path)
{
    struct ring_aux *a = f->aux;
    uint32_t i = a->modules_count++;
    struct ring_module *m = (struct ring_module *)((char *)a + a->modules_offset) + i;
    *m = (struct ring_module){.bias = bias, .lo = lo, .hi = hi, .path_offset = a->strings_used};
    strcpy((char *)a + a->strings_offset + a->strings_used, path);
    a->strings_used += (uint32_t)strlen(path) + 1;
    m->commit = ring_aux_commit(i);
}

/* Put a stack in slot `slot` (frames 0: unfinished; RING_STACK_DEAD: dead). */
static void stack(struct fixture *f, uint32_t slot, const uint64_t *ips, uint32_t n, uint32_t frames_override)
{
    struct ring_aux *a = f->aux;
    struct ring_stack_slot *s = (struct ring_stack_slot *)((char *)a + a->slots_offset) + slot;
    uint64_t *pool = (uint64_t *)((char *)a + a->pool_offset);
    uint64_t at = a->pool_used;
    memcpy(pool + at, ips, n * 8);
    a->pool_used += n;
    s->hash = 12345 + slot;
    s->depth = n;
    s->frames = frames_override ? frames_override : (uint32_t)at;
}

static uint64_t claim(struct fixture *f, uint32_t tid)
{
    struct ring_header *h = (struct ring_header *)f->mem;
    uint64_t seq = ++h->next_chunk;
    struct ring_chunk_header *c = (struct ring_chunk_header *)(f->mem + ring_chunk_offset((uint32_t)(seq - 1)));
    c->seq = seq;
    c->tid = tid;
    return seq;
}

static void put(struct fixture *f, uint64_t seq, uint32_t index, uint64_t raw, unsigned kind)
{
    struct ring_record *r =
        (struct ring_record *)(f->mem + ring_chunk_offset((uint32_t)(seq - 1)) + RING_CHUNK_HEADER_SIZE) + index;
    r->raw_ts = raw;
    r->tail = ring_record_tail(kind, 0, kind == RING_REC_STACK ? RING_CPU_UNKNOWN : 1, ring_record_check(seq, index));
}

__attribute__((noinline)) int test_ring_aux_marker(int x)
{
    return x * 3 + 1;
}

int main(void)
{
    struct fixture f;
    init(&f, 4);
    name(&f, 10, "MainThread", 1);
    name(&f, 11, "Thread-1 (spin)", 1);
    name(&f, 11, "renamed", 1);
    name(&f, 12, "never committed", 0);
    /* this executable and libc, with their real load biases */
    Dl_info di;
    struct link_map *lm;
    CHECK(dladdr1((void *)test_ring_aux_marker, &di, (void **)&lm, RTLD_DL_LINKMAP));
    uint64_t exe_bias = lm->l_addr;
    uint64_t marker = (uint64_t)(uintptr_t)test_ring_aux_marker;
    module(&f, exe_bias, marker - 0x100000, marker + 0x100000, "/proc/self/exe");
    void *qs = dlsym(RTLD_DEFAULT, "qsort");
    CHECK(dladdr1(qs, &di, (void **)&lm, RTLD_DL_LINKMAP));
    module(&f, lm->l_addr, (uintptr_t)qs - 0x1000, (uintptr_t)qs + 0x1000, di.dli_fname);

    uint64_t s1[3] = {marker + 4, (uintptr_t)qs + 4, 0x999};
    uint64_t s2[2] = {marker + 8, marker + 12};
    stack(&f, 5, s1, 3, 0);
    stack(&f, 9, s2, 2, 0);
    stack(&f, 17, s1, 3, 0);              /* a copy of slot 5 */
    stack(&f, 20, s2, 1, 0);              /* unfinished below */
    stack(&f, 20, s2, 1, 0);
    ((struct ring_stack_slot *)((char *)f.aux + f.aux->slots_offset))[20].frames = 0;
    stack(&f, 21, s2, 1, RING_STACK_DEAD); /* the pool was full */
    ((struct ring_stack_slot *)((char *)f.aux + f.aux->slots_offset))[9].depth |= RING_STACK_TRUNCATED;
    f.aux->lost_stacks = 3;

    /* thread 10: RELEASE+stack 6, BUSY+stack 18 (the copy), ACQUIRE+stack (ignored),
     * and a RELEASE at the end of a chunk whose stack record opens the next */
    uint64_t a = claim(&f, 10);
    put(&f, a, 0, 2000, RING_EV_ACQUIRE);
    put(&f, a, 1, 3000, RING_EV_RELEASE);
    put(&f, a, 2, 6, RING_REC_STACK);
    put(&f, a, 3, 4000, RING_EV_BUSY);
    put(&f, a, 4, 18, RING_REC_STACK);
    put(&f, a, 5, 5000, RING_EV_ACQUIRE);
    put(&f, a, 6, 10, RING_REC_STACK);
    for (uint32_t i = 7; i < RING_RECORDS_PER_CHUNK - 1; i++)
        put(&f, a, i, 6000 + i, RING_EV_RETRY);
    put(&f, a, RING_RECORDS_PER_CHUNK - 1, 9000000, RING_EV_RELEASE);
    uint64_t a2 = claim(&f, 10);
    put(&f, a2, 0, 10, RING_REC_STACK);
    put(&f, a2, 1, 9100000, RING_EV_BUSY);
    put(&f, a2, 2, 21, RING_REC_STACK);    /* dead slot: no stack */
    uint64_t b = claim(&f, 11);
    put(&f, b, 0, 2500, RING_EV_BUSY);
    put(&f, b, 1, 999999, RING_REC_STACK); /* out of range: ignored */

    struct trace_process p;
    char err[256];
    CHECK(ring_read_memory(f.mem, f.size, &p, err, sizeof err) == 0);
    CHECK(p.stacks_recorded);
    CHECK_EQ_INT(p.lost_stacks, 3);
    CHECK_EQ_INT(p.module_count, 2);
    CHECK_STR(p.modules[0].path, "/proc/self/exe");
    CHECK_EQ_INT(p.stack_count, 2); /* slots 5 and 17 merged; 20 unfinished; 21 dead */
    CHECK_EQ_INT(p.stacks[0].depth, 3);
    CHECK(!p.stacks[0].truncated);
    CHECK_EQ_INT(p.stacks[0].frames[1].address, (uintptr_t)qs + 4);
    CHECK_EQ_INT(p.stacks[0].frames[0].module, 0);
    CHECK_EQ_INT(p.stacks[0].frames[1].module, 1);
    CHECK_EQ_INT(p.stacks[0].frames[2].module, -1);
    CHECK_EQ_INT(p.stacks[1].depth, 2);
    CHECK(p.stacks[1].truncated);
    CHECK_EQ_INT(p.thread_count, 2);
    const struct trace_thread *t = &p.threads[0];
    CHECK_STR(t->name, "MainThread");
    CHECK_STR(p.threads[1].name, "renamed");
    CHECK_EQ_INT(t->count, RING_RECORDS_PER_CHUNK - 3 + 1); /* 3 stack records in chunk 1 are no events */
    CHECK_EQ_INT(t->events[1].kind, RING_EV_RELEASE);
    CHECK_EQ_INT(t->events[1].stack, 1);
    CHECK_EQ_INT(t->events[2].stack, 1); /* the copy maps to the same stack */
    CHECK_EQ_INT(t->events[3].stack, 0); /* ACQUIREs have no stacks */
    CHECK_EQ_INT(t->events[t->count - 2].stack, 2);
    CHECK_EQ_INT(t->events[t->count - 1].kind, RING_EV_BUSY);
    CHECK_EQ_INT(t->events[t->count - 1].stack, 0);
    CHECK_EQ_INT(p.threads[1].events[0].stack, 0);

    /* naming frames: this test's function from its symbol table, qsort from libc */
    struct stack_symbols *sy = stack_symbols_new();
    CHECK(stack_symbols_apply(sy, &p) == 0);
    stack_symbols_free(sy);
    CHECK_STR(p.stacks[0].frames[0].symbol, "test_ring_aux_marker");
    CHECK_EQ_INT(p.stacks[0].frames[0].symbol_offset, 4);
    CHECK(p.stacks[0].frames[1].symbol && strstr(p.stacks[0].frames[1].symbol, "qsort"));
    CHECK(p.stacks[0].frames[2].symbol == NULL);

    /* through a database and back */
    char path[32];
    struct trace_process q;
    sqlite3 *db = db_round_trip(&p, 777, &q, path);
    CHECK(q.stacks_recorded);
    CHECK_EQ_INT(q.lost_stacks, 3);
    CHECK_EQ_INT(q.module_count, 2);
    CHECK_EQ_INT(q.stack_count, 2);
    CHECK_EQ_INT(q.stacks[1].depth, 2);
    CHECK(q.stacks[1].truncated);
    CHECK_STR(q.stacks[0].frames[0].symbol, "test_ring_aux_marker");
    CHECK_EQ_INT(q.stacks[0].frames[2].module, -1);
    CHECK_STR(q.threads[0].name, "MainThread");
    CHECK_EQ_INT(q.threads[0].events[1].stack, 1);
    CHECK_EQ_INT(q.threads[0].events[1].cpu, 1);
    CHECK_EQ_INT(q.threads[0].events[q.threads[0].count - 2].stack, 2);
    /* the views */
    sqlite3_stmt *st;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*), sum(stack_id = 1) FROM event_stacks", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(st, 0), 3);
    CHECK_EQ_INT(sqlite3_column_int(st, 1), 2);
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "SELECT module, symbol FROM stack_frames WHERE stack_id = 1 AND frame = 0", -1, &st,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(st, 0), "/proc/self/exe");
    CHECK_STR((const char *)sqlite3_column_text(st, 1), "test_ring_aux_marker");
    sqlite3_finalize(st);
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE cpu = 1", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    CHECK(sqlite3_column_int(st, 0) > 4);
    sqlite3_finalize(st);
    sqlite3_close(db);
    unlink(path);
    trace_process_free(&q);
    trace_process_free(&p);
    free(f.mem);
    return 0;
}
