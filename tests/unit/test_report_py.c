/*
 * test_report_py.c — the report's Python sections (tracer/analysis/report_py.h)
 * on a hand-built trace whose answers are known in advance:
 *   T1 holds [100, 200], asked to drop at 150 (forced), RELEASE at A;
 *   T2 waits [110, 200] from BUSY at B, holds [200, 260], RELEASE at C;
 *   T1 waits [220, 260] from BUSY at D, then holds to the end (open).
 * So: release sites A (1, forced) and C (1); wait sites B (90 ns) and D
 * (40 ns); blame: A 90 ns (T2's wait under T1's hold), C 40 ns (T1's wait
 * under T2's hold); the open hold is charged to nobody. Folded stacks weigh
 * holds by length under their RELEASE's stack, waits under their BUSY's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ring.h"
#include "trace_gen.h"
#include "report_py.h"
#include "check.h"

static void code(struct trace_process *p, const char *qual, const char *file, int32_t first)
{
    p->py_codes = realloc(p->py_codes, (p->py_code_count + 1) * sizeof *p->py_codes);
    CHECK(p->py_codes);
    p->py_codes[p->py_code_count++] =
        (struct trace_py_code){.qualname = strdup(qual), .name = strdup(qual), .filename = strdup(file), .first_line = first};
}

/* A stack of one frame in code `code` at `line`, under main (code 1, line 5). */
static uint32_t stack(struct trace_process *p, uint32_t code_id, int32_t line)
{
    p->py_stacks = realloc(p->py_stacks, (p->py_stack_count + 1) * sizeof *p->py_stacks);
    CHECK(p->py_stacks);
    struct trace_py_stack *s = &p->py_stacks[p->py_stack_count++];
    s->depth = 2;
    s->truncated = false;
    s->frames = calloc(2, sizeof *s->frames);
    CHECK(s->frames);
    s->frames[0] = (struct trace_py_frame){.code = code_id, .offset = 0, .line = line};
    s->frames[1] = (struct trace_py_frame){.code = 1, .offset = 0, .line = 5};
    return (uint32_t)p->py_stack_count;
}

static void event(struct trace_thread *t, int64_t ts, unsigned kind, uint32_t py)
{
    CHECK(trace_gen_event(t, ts, kind) == 0);
    if (py)
        CHECK(trace_thread_add_py_mark(t, t->count - 1, py) == 0);
}

static const struct report_py_site *find(const struct report_py_site *v, size_t n, int32_t line)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].line == line)
            return &v[i];
    return NULL;
}

int main(void)
{
    struct trace_process p;
    CHECK(trace_gen_process_init(&p, 100, 0, 300) == 0);
    p.py_stacks_recorded = true;
    code(&p, "main", "/app/main.py", 1);
    code(&p, "Worker.spin", "/app/work.py", 10);
    uint32_t A = stack(&p, 2, 12), B = stack(&p, 2, 20), C = stack(&p, 2, 30), D = stack(&p, 2, 40);
    struct trace_thread *t1 = trace_gen_thread(&p, 1, "one");
    struct trace_thread *t2 = trace_gen_thread(&p, 2, "two");
    CHECK(t1 && t2);
    t1 = &p.threads[0]; /* the array may have moved */
    event(t1, 100, RING_EV_ACQUIRE, 0);
    event(t2, 110, RING_EV_BUSY, B);
    event(t2, 150, RING_EV_DROP_REQUEST, 0);
    event(t1, 200, RING_EV_RELEASE, A);
    event(t2, 200, RING_EV_ACQUIRE, 0);
    event(t1, 220, RING_EV_BUSY, D);
    event(t2, 260, RING_EV_RELEASE, C);
    event(t1, 260, RING_EV_ACQUIRE, 0);

    struct report_py r;
    CHECK_EQ_INT(report_py_compute(&p, 10, &r), 0);
    CHECK_EQ_INT(r.stacked_events, 4);
    CHECK_EQ_INT(r.nrelease, 2);
    const struct report_py_site *s = find(r.release, r.nrelease, 12);
    CHECK(s && s->count == 1 && s->forced == 1);
    s = find(r.release, r.nrelease, 30);
    CHECK(s && s->count == 1 && s->forced == 0);
    CHECK_EQ_INT(r.nwait, 2);
    CHECK_EQ_INT(r.wait[0].line, 20); /* longest first */
    CHECK_EQ_INT(r.wait[0].ns, 90);
    CHECK_EQ_INT(r.wait[0].max_ns, 90);
    CHECK_EQ_INT(r.wait[1].line, 40);
    CHECK_EQ_INT(r.wait[1].ns, 40);
    CHECK_EQ_INT(r.nblame, 2);
    CHECK_EQ_INT(r.blame[0].line, 12);
    CHECK_EQ_INT(r.blame[0].ns, 90);
    CHECK_EQ_INT(r.blame[1].line, 30);
    CHECK_EQ_INT(r.blame[1].ns, 40);
    report_py_free(&r);

    char buf[4096];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    CHECK(f);
    CHECK_EQ_INT(report_py_folded(f, &p, false), 0);
    fclose(f);
    /* holds: [100,200] under A (100 ns), [200,260] under C (60 ns), the
     * open hold [260,300] without a RELEASE (40 ns) */
    CHECK(strstr(buf, "main (main.py:5);Worker.spin (work.py:12) 100\n"));
    CHECK(strstr(buf, "main (main.py:5);Worker.spin (work.py:30) 60\n"));
    CHECK(strstr(buf, "[no Python frame] 40\n"));
    f = fmemopen(buf, sizeof buf, "w");
    CHECK(f);
    CHECK_EQ_INT(report_py_folded(f, &p, true), 0);
    fclose(f);
    CHECK(strstr(buf, "main (main.py:5);Worker.spin (work.py:20) 90\n"));
    CHECK(strstr(buf, "main (main.py:5);Worker.spin (work.py:40) 40\n"));

    CHECK(report_py_stack_text(&p, &p.threads[0], 200, RING_EV_RELEASE, buf, sizeof buf));
    CHECK_STR(buf, "Worker.spin (work.py:12) < main (main.py:5)");
    CHECK(!report_py_stack_text(&p, &p.threads[0], 100, RING_EV_ACQUIRE, buf, sizeof buf));
    trace_process_free(&p);
    printf("ok: Python release sites, wait sites, blame and folded stacks as computed by hand\n");
    return 0;
}
