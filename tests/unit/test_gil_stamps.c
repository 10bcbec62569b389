/*
 * test_gil_stamps.c — where the shim reads the clock for a handoff: inside
 * the GIL mutex M it only stores (tracer/shim/recorder.h). On the fake
 * CPython with the shim linked in, one thread drops and takes the GIL and
 * the fake reports the moments it is inside M:
 *   - a RELEASE is stamped and stored before drop_gil's lock(M) returned,
 *     i.e. before the critical section began: nothing is stored inside;
 *   - an ACQUIRE is stamped after take_gil's critical section ended, and is
 *     not in the ring at all while M is still held: nothing is stored inside;
 * and both carry the clock's own reading, so holds keep their order.
 * The test runs itself traced (GILTRACE_RUN_DIR set: the shim's
 * constructor starts tracing) and checks inside; the ring it leaves must
 * hold the same events.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tracer/shim/rec_clock.h"
#include "../../tracer/shim/shim_thread.h"
#include "../fake_cpython/fake_gil.h"
#include "check.h"
#include "ring_dir.h"

static uint64_t entered, leaving;
static struct ring_record *pos_entered, *pos_leaving;

static void inside(enum fake_gil_point where)
{
    unsigned cpu;
    uint64_t now = rec_clock_now(true, &cpu);
    if (where == FAKE_GIL_ENTERED) {
        entered = now;
        pos_entered = shim_self.pos;
    } else {
        leaving = now;
        pos_leaving = shim_self.pos;
    }
}

static const struct ring_record *last_record(void)
{
    CHECK(shim_self.chunk != NULL && shim_self.pos > ring_chunk_records(shim_self.chunk));
    return shim_self.pos - 1;
}

enum { ROUNDS = 200 };

static int traced_child(void)
{
    fake_gil_create(5000, 0);
    fake_gil_take(1);
    fake_gil_inside = inside;
    for (int i = 0; i < ROUNDS; i++) {
        fake_gil_drop(1);
        const struct ring_record *r = last_record();
        CHECK_EQ_INT(ring_tail_kind(r->tail), RING_EV_RELEASE);
        CHECK(r->raw_ts <= entered);
        CHECK(pos_entered == r + 1 && pos_leaving == pos_entered); /* stored before lock(M) returned */

        fake_gil_take(1);
        r = last_record();
        CHECK_EQ_INT(ring_tail_kind(r->tail), RING_EV_ACQUIRE);
        CHECK(pos_entered == r && pos_leaving == r); /* stored after the critical section */
        CHECK(r->raw_ts >= leaving);
    }
    fake_gil_inside = NULL;
    fake_gil_drop(1);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "child") == 0)
        return traced_child();
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = '\0';
    char *const cmd[] = {self, "child", NULL};
    char out[64];
    struct trace_process p;
    CHECK_EQ_INT(run_traced(cmd, out, sizeof out, &p), 0);
    size_t acquires = 0, releases = 0;
    CHECK_EQ_INT(p.thread_count, 1);
    for (size_t i = 0; i < p.threads[0].count; i++) {
        acquires += p.threads[0].events[i].kind == RING_EV_ACQUIRE;
        releases += p.threads[0].events[i].kind == RING_EV_RELEASE;
    }
    CHECK_EQ_INT(acquires, ROUNDS + 1);
    CHECK_EQ_INT(releases, ROUNDS + 1);
    trace_process_free(&p);
    return 0;
}
