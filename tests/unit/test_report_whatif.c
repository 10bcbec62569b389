/*
 * test_report_whatif.c — giltrace report --what-if (tracer/cli/report_whatif.h)
 * and the --experiment grammar (tracer/shim/experiment_spec.h), on a
 * hand-built convoy whose replays are known in advance (times in us):
 *   C (CPU-bound) holds from 0 to END, forced off once per cycle;
 *   I (I/O) wants the GIL at 100, waits a whole switch interval (5000: a
 *   TIMEOUT and a DROP_REQUEST), holds 10, releases voluntarily, spends
 *   1000 without the GIL, and so on for N cycles.
 * Replayed as recorded: I waits 5000 N times, C waits 10 N times. Under
 * priority-gil I's first wait (no voluntary release before it) still lasts
 * 5000 and every later one 0 (it asks at once, the handoff costs nothing
 * here); under switch-interval=1ms each lasts 1000. C's span never changes:
 * it holds whenever I does not.
 */
#include <stdio.h>
#include <string.h>

#include "ring.h"
#include "trace_gen.h"
#include "report_whatif.h"
#include "../../tracer/shim/experiment_spec.h"
#include "check.h"

#define US 1000
#define N 6
#define INTERVAL (5000 * US)
#define CPU_I (10 * US)
#define GAP (1000 * US)

static void build(struct trace_process *p, int64_t *end)
{
    int64_t cycle = INTERVAL + CPU_I + GAP;
    *end = 100 * US + (int64_t)N * cycle + 500 * US;
    CHECK(trace_gen_process_init(p, 100, 0, *end + 1) == 0);
    CHECK(trace_gen_thread(p, 100, "cpu") != NULL);
    CHECK(trace_gen_thread(p, 101, "io") != NULL);
    struct trace_thread *c = &p->threads[0], *io = &p->threads[1];
    CHECK(trace_gen_event(c, 0, RING_EV_ACQUIRE) == 0);
    int64_t want = 100 * US;
    for (int k = 0; k < N; k++) {
        int64_t drop = want + INTERVAL;
        CHECK(trace_gen_event(io, want, RING_EV_BUSY) == 0);
        CHECK(trace_gen_event(io, drop, RING_EV_TIMEOUT) == 0);
        CHECK(trace_gen_event(io, drop, RING_EV_DROP_REQUEST) == 0);
        CHECK(trace_gen_event(c, drop, RING_EV_RELEASE) == 0);
        CHECK(trace_gen_event(c, drop, RING_EV_FORCED_SWITCH) == 0);
        CHECK(trace_gen_event(c, drop, RING_EV_BUSY) == 0);
        CHECK(trace_gen_event(io, drop, RING_EV_ACQUIRE) == 0);
        CHECK(trace_gen_event(io, drop + CPU_I, RING_EV_RELEASE) == 0);
        CHECK(trace_gen_event(c, drop + CPU_I, RING_EV_ACQUIRE) == 0);
        want = drop + CPU_I + GAP;
    }
    CHECK(trace_gen_event(c, *end, RING_EV_RELEASE) == 0);
}

static const struct whatif_thread *thread(const struct whatif_result *r, uint32_t tid)
{
    for (size_t i = 0; i < r->nthreads; i++)
        if (r->threads[i].tid == tid)
            return &r->threads[i];
    CHECK(!"thread missing");
    return NULL;
}

static void replay(const struct trace_process *p, const char *what, struct whatif_result *r)
{
    struct whatif_policy recorded, policy;
    char why[256];
    whatif_policy_recorded(NULL, &recorded);
    CHECK(whatif_policy_parse(what, &policy, why, sizeof why) == 0);
    CHECK(whatif_run(p, &recorded, &policy, r) == 0);
    CHECK_EQ_INT(r->interval_ns, INTERVAL);
    CHECK_EQ_INT(r->handoff_ns, 0);
}

static void check_replays(void)
{
    struct trace_process p;
    int64_t end;
    build(&p, &end);
    struct whatif_result r;

    replay(&p, "priority-gil", &r);
    const struct whatif_thread *io = thread(&r, 101), *c = thread(&r, 100);
    CHECK_EQ_INT(io->jobs, N);
    CHECK_EQ_INT(io->cpu_ns, (int64_t)N * CPU_I);
    CHECK_EQ_INT(io->gap_ns, (int64_t)(N - 1) * GAP);
    CHECK_EQ_INT(io->recorded.waits, N);
    CHECK_EQ_INT(io->recorded.wait_ns, (int64_t)N * INTERVAL);
    /* the model reproduces the recorded run */
    CHECK_EQ_INT(io->baseline.waits, N);
    CHECK_EQ_INT(io->baseline.wait_ns, (int64_t)N * INTERVAL);
    CHECK_EQ_INT(io->baseline.span_ns, io->recorded.span_ns);
    CHECK_EQ_INT(c->baseline.waits, N);
    CHECK_EQ_INT(c->baseline.wait_ns, (int64_t)N * CPU_I);
    CHECK_EQ_INT(c->baseline.span_ns, end);
    /* priority-gil: only the first wait is left */
    CHECK_EQ_INT(io->predicted.waits, 1);
    CHECK_EQ_INT(io->predicted.wait_ns, INTERVAL);
    CHECK_EQ_INT(io->predicted.span_ns, INTERVAL + (int64_t)N * CPU_I + (int64_t)(N - 1) * GAP);
    CHECK_EQ_INT(c->predicted.span_ns, end);
    CHECK_EQ_INT(c->predicted.wait_ns, (int64_t)N * CPU_I);
    char buf[8192];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    CHECK(f);
    whatif_text(f, &p, &r, "priority-gil", NULL);
    fclose(f);
    CHECK(strstr(buf, "What if (pid 100, main GIL): priority-gil"));
    CHECK(strstr(buf, "predicted          1 waits      5.000 ms waited"));
    whatif_free(&r);

    replay(&p, "switch-interval=1ms", &r);
    io = thread(&r, 101);
    CHECK_EQ_INT(io->predicted.waits, N);
    CHECK_EQ_INT(io->predicted.wait_ns, (int64_t)N * 1000 * US);
    CHECK_EQ_INT(thread(&r, 100)->predicted.span_ns, end);
    whatif_free(&r);
    trace_process_free(&p);
}

static void check_parsing(void)
{
    struct whatif_policy w;
    char why[256];
    CHECK(whatif_policy_parse("switch-interval=500us", &w, why, sizeof why) == 0);
    CHECK_EQ_INT(w.interval_ns, 500 * US);
    CHECK(!w.priority);
    CHECK(whatif_policy_parse("priority-gil,switch-interval=0.002s", &w, why, sizeof why) == 0);
    CHECK(w.priority);
    CHECK_EQ_INT(w.interval_ns, 2000 * US);
    CHECK(whatif_policy_parse("switch-interval=0", &w, why, sizeof why) == -1);
    CHECK(whatif_policy_parse("switch-interval=1h", &w, why, sizeof why) == -1);
    CHECK(whatif_policy_parse("fast", &w, why, sizeof why) == -1);
    CHECK(strstr(why, "\"fast\""));
    CHECK(whatif_policy_parse("priority-gil,", &w, why, sizeof why) == -1);

    struct experiment_spec s;
    CHECK(experiment_spec_parse("priority-gil", &s, why, sizeof why));
    CHECK(s.priority && s.nrules == 0);
    CHECK(experiment_spec_parse("switch-interval=cpu-0:1,MainThread:0,4242:10000,priority-gil", &s, why, sizeof why));
    CHECK(s.priority);
    CHECK_EQ_INT(s.nrules, 3);
    CHECK_STR(s.rules[0].name, "cpu-0");
    CHECK_EQ_INT(s.rules[0].tid, 0);
    CHECK_EQ_INT(s.rules[0].interval_us, 1000);
    CHECK_EQ_INT(s.rules[1].interval_us, 0);
    CHECK_EQ_INT(s.rules[2].tid, 4242);
    CHECK_EQ_INT(s.rules[2].interval_us, 10000000);
    CHECK(!experiment_spec_parse("cpu-0:1", &s, why, sizeof why)); /* a rule needs switch-interval= first */
    CHECK(!experiment_spec_parse("switch-interval=cpu-0:10001", &s, why, sizeof why));
    CHECK(!experiment_spec_parse("switch-interval=:5", &s, why, sizeof why));
    CHECK(!experiment_spec_parse("priority", &s, why, sizeof why));
    CHECK(strstr(why, "\"priority\" is no experiment"));
    CHECK(!experiment_spec_parse("", &s, why, sizeof why));

    struct whatif_policy rec;
    whatif_policy_recorded("priority-gil", &rec);
    CHECK(rec.priority && rec.interval_ns == 0);
    whatif_policy_recorded(NULL, &rec);
    CHECK(!rec.priority);
}

int main(void)
{
    check_parsing();
    check_replays();
    puts("report_whatif: ok");
    return 0;
}
