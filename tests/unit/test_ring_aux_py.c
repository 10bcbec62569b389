/*
 * test_ring_aux_py.c — Python stacks in a ring read back: code objects
 * (complete ones only: an unfinished entry, one whose data area was full,
 * and one whose lengths do not add up are skipped, never misread), Python
 * stacks beside native ones in the shared slot table, lines resolved from
 * the copied line tables (3.11 location table), and each RELEASE/BUSY's
 * RING_REC_PYSTACK record attached to its event (and to nothing else);
 * then the same through a trace database and its py_* views, and the site
 * gilview shows when the cursor is on a hold.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "ring_read.h"
#include "tdb_view.h"
#include "check.h"
#include "db_round_trip.h"
#include "ring_fixture.h"

/* Append an aux area with stack tables to a fixture's ring. */
static struct ring_aux *add_aux(struct ring_fixture *f)
{
    struct ring_aux_layout l = ring_aux_layout(1);
    size_t at = f->size;
    f->mem = realloc(f->mem, at + l.size);
    CHECK(f->mem != NULL);
    memset(f->mem + at, 0, l.size);
    f->size = at + l.size;
    struct ring_header *h = (struct ring_header *)f->mem;
    h->flags |= RING_FLAG_STACKS;
    h->aux_offset = at;
    h->aux_size = l.size;
    struct ring_aux *a = (struct ring_aux *)(f->mem + at);
    ring_aux_init(a, &l);
    return a;
}

/* Store code object `slot` as the shim does; `data` overrides the commit
 * (0: unfinished, RING_STACK_DEAD: no room), `bad_len` breaks its lengths. */
static void code(struct ring_aux *a, uint32_t slot, const char *qual, const char *name, const char *file,
                 int32_t first_line, const uint8_t *table, uint32_t table_len, uint32_t data, int bad_len)
{
    struct ring_py_code *c = (struct ring_py_code *)((char *)a + a->py_codes_offset) + slot;
    size_t nq = strlen(qual), nn = strlen(name), nf = strlen(file);
    uint32_t len = (uint32_t)(nq + nn + nf + 3 + table_len);
    uint32_t at = a->py_data_used;
    char *d = (char *)a + a->py_data_offset + at;
    memcpy(d, qual, nq + 1);
    memcpy(d + nq + 1, name, nn + 1);
    memcpy(d + nq + nn + 2, file, nf + 1);
    memcpy(d + nq + nn + nf + 3, table, table_len);
    a->py_data_used += len;
    c->key = 0x1000 + slot;
    c->data_len = bad_len ? (uint32_t)(nq + nn) : len;
    c->first_line = first_line;
    c->qualname_len = (uint16_t)nq;
    c->name_len = (uint16_t)nn;
    c->filename_len = (uint16_t)nf;
    c->data = data == 1 ? at : data;
}

static void slot(struct ring_aux *a, uint32_t i, const uint64_t *words, uint32_t n, uint32_t flags)
{
    struct ring_stack_slot *s = (struct ring_stack_slot *)((char *)a + a->slots_offset) + i;
    uint64_t *pool = (uint64_t *)((char *)a + a->pool_offset);
    memcpy(pool + a->pool_used, words, n * 8);
    s->hash = 777 + i;
    s->depth = n | flags;
    s->frames = (uint32_t)a->pool_used;
    a->pool_used += n;
}

int main(void)
{
    struct ring_fixture f;
    ring_fixture_init(&f, 2); /* a 3.11 process */
    struct ring_aux *a = add_aux(&f);
    /* 3.11 location table: 2 code units on first_line + 1, then 2 units
     * one line further, then 1 unit with no location */
    static const uint8_t table[] = {0x80 | 13 << 3 | 1, 2, 0x80 | 11 << 3 | 1, 0, 0, 0x80 | 15 << 3 | 0};
    code(a, 3, "Worker.run", "run", "/app/worker.py", 40, table, sizeof table, 1, 0);
    code(a, 8, "main", "main", "/app/main.py", 10, table, sizeof table, 1, 0);
    code(a, 9, "unfinished", "unfinished", "/x.py", 1, table, sizeof table, 0, 0);
    code(a, 10, "no room", "no room", "/x.py", 1, table, sizeof table, RING_STACK_DEAD, 0);
    code(a, 11, "bad lengths", "bad", "/x.py", 1, table, sizeof table, 1, 1);
    uint64_t py1[2] = {ring_py_frame_word(4, 2), ring_py_frame_word(9, 2)};  /* Worker.run:41 < main:11 */
    uint64_t py2[2] = {ring_py_frame_word(4, 6), ring_py_frame_word(10, 8)}; /* Worker.run:42 < ? (unfinished) */
    uint64_t py3[1] = {ring_py_frame_word(12, 9)};                           /* bad lengths: unknown */
    uint64_t native[2] = {0x401000, 0x402000};
    slot(a, 2, native, 2, 0);
    slot(a, 5, py1, 2, RING_STACK_PYTHON);
    slot(a, 6, py2, 2, RING_STACK_PYTHON | RING_STACK_TRUNCATED);
    slot(a, 7, py3, 1, RING_STACK_PYTHON);
    a->lost_py_stacks = 2;

    /* thread 100 (raw id = slot + 1): RELEASE + native 3 + Python 6 (py1),
     * BUSY + Python 7 (py2), ACQUIRE + Python 6 (ignored: not a
     * RELEASE/BUSY), RELEASE + Python 3 (a native slot: ignored), RELEASE +
     * Python 999 (out of range: ignored) */
    uint64_t s = ring_fixture_claim(&f, 100);
    uint32_t k = 0;
    ring_fixture_put(&f, s, k++, 2000, RING_EV_RELEASE, 0, 1);
    ring_fixture_put(&f, s, k++, 3, RING_REC_STACK, 0, RING_CPU_UNKNOWN);
    ring_fixture_put(&f, s, k++, 6, RING_REC_PYSTACK, 0, RING_CPU_UNKNOWN);
    ring_fixture_put(&f, s, k++, 3000, RING_EV_BUSY, 0, 1);
    ring_fixture_put(&f, s, k++, 7, RING_REC_PYSTACK, 0, RING_CPU_UNKNOWN);
    ring_fixture_put(&f, s, k++, 4000, RING_EV_ACQUIRE, 0, 1);
    ring_fixture_put(&f, s, k++, 6, RING_REC_PYSTACK, 0, RING_CPU_UNKNOWN);
    ring_fixture_put(&f, s, k++, 5000, RING_EV_RELEASE, 0, 1);
    ring_fixture_put(&f, s, k++, 3, RING_REC_PYSTACK, 0, RING_CPU_UNKNOWN);
    ring_fixture_put(&f, s, k++, 6000, RING_EV_ACQUIRE, 0, 1);
    ring_fixture_put(&f, s, k++, 7000, RING_EV_RELEASE, 0, 1);
    ring_fixture_put(&f, s, k++, 999, RING_REC_PYSTACK, 0, RING_CPU_UNKNOWN);

    struct trace_process p;
    char err[256];
    CHECK_EQ_INT(ring_read_memory(f.mem, f.size, &p, err, sizeof err), 0);
    CHECK_EQ_INT(p.dropped_records, 0);
    CHECK(p.py_stacks_recorded);
    CHECK_EQ_INT(p.lost_py_stacks, 2);
    CHECK_EQ_INT(p.py_code_count, 2); /* the three broken entries are skipped */
    CHECK_EQ_INT(p.py_stack_count, 3);
    CHECK_EQ_INT(p.stack_count, 1); /* the native one, alone */
    const struct trace_py_stack *st = &p.py_stacks[0];
    CHECK_EQ_INT(st->depth, 2);
    CHECK(!st->truncated);
    CHECK_STR(p.py_codes[st->frames[0].code - 1].qualname, "Worker.run");
    CHECK_STR(p.py_codes[st->frames[0].code - 1].name, "run");
    CHECK_STR(p.py_codes[st->frames[0].code - 1].filename, "/app/worker.py");
    CHECK_EQ_INT(st->frames[0].line, 41);
    CHECK_STR(p.py_codes[st->frames[1].code - 1].qualname, "main");
    CHECK_EQ_INT(st->frames[1].line, 11);
    st = &p.py_stacks[1];
    CHECK(st->truncated);
    CHECK_EQ_INT(st->frames[0].line, 42);
    CHECK_EQ_INT(st->frames[1].code, 0);
    CHECK_EQ_INT(st->frames[1].line, -1);
    st = &p.py_stacks[2];
    CHECK_EQ_INT(st->frames[0].code, 0);
    CHECK_EQ_INT(p.thread_count, 1);
    const struct trace_thread *t = &p.threads[0];
    CHECK_EQ_INT(t->count, 6);
    CHECK_EQ_INT(t->py_mark_count, 2);
    CHECK_EQ_INT(t->py_marks[0].event, 0);
    CHECK_EQ_INT(t->py_marks[0].stack, 1); /* slots in order: py1, py2, py3 */
    CHECK_EQ_INT(t->py_marks[1].event, 1);
    CHECK_EQ_INT(t->py_marks[1].stack, 2);
    CHECK_EQ_INT(t->events[0].stack, 1);

    /* through a trace database: views and the reader agree */
    char path[64];
    struct trace_process back;
    sqlite3 *db = db_round_trip(&p, p.pid, &back, path);
    CHECK(back.py_stacks_recorded);
    CHECK_EQ_INT(back.lost_py_stacks, 2);
    CHECK_EQ_INT(back.threads[0].py_mark_count, 2);
    CHECK_EQ_INT(back.threads[0].py_marks[0].event, 0);
    CHECK_EQ_INT(back.threads[0].py_marks[1].event, 1);
    const struct trace_py_stack *b = &back.py_stacks[back.threads[0].py_marks[0].stack - 1];
    CHECK_EQ_INT(b->depth, 2);
    CHECK_STR(back.py_codes[b->frames[0].code - 1].qualname, "Worker.run");
    CHECK_EQ_INT(b->frames[0].line, 41);
    CHECK_EQ_INT(b->frames[1].line, 11);
    sqlite3_stmt *q;
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT kind, function, filename, line FROM py_event_sites WHERE pid = ? ORDER BY ts_ns",
                             -1, &q, NULL) == SQLITE_OK);
    sqlite3_bind_int(q, 1, p.pid);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "RELEASE");
    CHECK_STR((const char *)sqlite3_column_text(q, 1), "Worker.run");
    CHECK_STR((const char *)sqlite3_column_text(q, 2), "/app/worker.py");
    CHECK_EQ_INT(sqlite3_column_int(q, 3), 41);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_STR((const char *)sqlite3_column_text(q, 0), "BUSY");
    CHECK_EQ_INT(sqlite3_column_int(q, 3), 42);
    CHECK(sqlite3_step(q) == SQLITE_DONE);
    sqlite3_finalize(q);
    /* py_event_stacks joins events exactly */
    CHECK(sqlite3_prepare_v2(db,
                             "SELECT count(*) FROM py_event_stacks s JOIN events e ON e.pid = s.pid AND "
                             "e.tid = s.tid AND e.gil = s.gil AND e.ts_ns = s.ts_ns AND e.kind = s.kind",
                             -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(q, 0), 2);
    sqlite3_finalize(q);
    CHECK(sqlite3_prepare_v2(db, "SELECT t FROM py_event ORDER BY t LIMIT 1", -1, &q, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    int64_t release_t = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);

    /* what gilview shows on hover: the line where the hold ended */
    struct tdb_view_options vo = {0};
    struct tdb_view *v = tdb_view_open(path, &vo, err, sizeof err);
    CHECK(v != NULL);
    CHECK_EQ_INT(tdb_view_lane_count(v), 1);
    char site[128];
    CHECK(tdb_view_py_site(v, 0, release_t, site, sizeof site));
    CHECK_STR(site, "Worker.run (worker.py:41)");
    CHECK(!tdb_view_py_site(v, 0, release_t + 1, site, sizeof site));
    CHECK_STR(site, "");
    tdb_view_close(v);
    unlink(path);
    trace_process_free(&back);
    trace_process_free(&p);
    ring_fixture_free(&f);
    printf("ok: Python code objects, stacks and their events read back from a ring and a database\n");
    return 0;
}
