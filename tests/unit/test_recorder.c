/*
 * test_recorder.c — the shim's recording path (tracer/shim/recorder.h) on a
 * real ring file:
 *   - rec_prepare() claims ahead: a critical section that follows it never
 *     claims a chunk, and the spare is taken once the chunk is half full;
 *   - a full append-mode ring: further events touch no shared word of the
 *     header (no claim, no lost-count atomic) and are counted, per thread,
 *     in the thread's own chunk; the reader adds them up exactly;
 *   - a new session (giltrace attach) resets a thread's cursor: its next
 *     event lands in the new ring, never in the old one;
 *   - the seqlock reader under a concurrent writer taking chunks over
 *     (overwrite mode): every event read back is one the writer wrote.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ring_read.h"
#include "../../tracer/shim/recorder.h"
#include "../../tracer/shim/ring_writer.h"
#include "check.h"

static char dir[] = "/tmp/giltrace-test-recorder-XXXXXX";

static struct ring_header *open_ring(uint32_t mb, uint32_t mode)
{
    struct ring_writer_identity id = {.python_hexversion = 0x030c01f0};
    struct ring_writer_config config = {.dir = dir, .size_mb = mb, .mode = mode};
    ring_writer_configure(&config, &id);
    char why[256];
    CHECK(ring_writer_open(false, why, sizeof why));
    struct ring_header *h = NULL;
    /* The header is the start of the mapping that holds the first chunk. */
    struct shim_entered self = shim_thread_enter();
    rec_prepare(self);
    CHECK(self.t->chunk != NULL);
    h = (struct ring_header *)((char *)self.t->chunk - RING_HEADER_SIZE);
    CHECK(memcmp(h->magic, RING_MAGIC, sizeof h->magic) == 0);
    return h;
}

static void read_back(struct trace_process *p)
{
    char err[256];
    CHECK(ring_read_file(ring_writer_path(), p, err, sizeof err) == 0);
}

static void test_prepare_claims_ahead(void)
{
    struct ring_header *h = open_ring(4, RING_MODE_APPEND);
    struct shim_entered self = shim_thread_enter();
    struct shim_thread *t = self.t;
    uint64_t claims = __atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED);
    CHECK_EQ_INT(claims, 1);
    CHECK(t->spare == NULL);
    /* Fill past half a chunk, a prepared critical section at a time. */
    for (unsigned i = 0; i < REC_SPARE_AT + 8; i += 2) {
        rec_prepare(self);
        uint64_t before = __atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED);
        rec_event(self, RING_EV_RELEASE, 0);
        rec_event(self, RING_EV_ACQUIRE, 0);
        CHECK_EQ_INT(__atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED), before); /* nothing claimed inside */
    }
    CHECK(t->spare != NULL);
    CHECK_EQ_INT(__atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED), 2);
    /* Fill the chunk: the critical section moves to the spare without a claim. */
    struct ring_chunk_header *first = t->chunk, *spare = t->spare;
    while (t->pos != t->end)
        rec_event(self, RING_EV_RELEASE, 0);
    rec_event(self, RING_EV_ACQUIRE, 0);
    CHECK(t->chunk == spare);
    CHECK_EQ_INT(__atomic_load_n(&first->state, __ATOMIC_RELAXED), RING_CHUNK_DONE);
    CHECK_EQ_INT(__atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED), 2);
    ring_writer_finish();
    struct trace_process p;
    read_back(&p);
    CHECK_EQ_INT(p.thread_count, 1);
    CHECK_EQ_INT(p.threads[0].count, RING_RECORDS_PER_CHUNK + 1); /* the first chunk full, one in the spare */
    CHECK_EQ_INT(p.lost_events, 0);
    trace_process_free(&p);
    ring_writer_release();
}

static void test_full_ring_is_cheap_and_counted(void)
{
    __atomic_add_fetch(&shim_session, 1, __ATOMIC_RELEASE); /* a fresh cursor for a fresh ring */
    struct ring_header *h = open_ring(1, RING_MODE_APPEND);
    struct shim_entered self = shim_thread_enter();
    uint64_t recorded = 0, attempts = 0;
    while (!ring_writer_exhausted() || self.t->pos != self.t->end || self.t->spare) {
        rec_prepare(self);
        attempts++;
        if (rec_event(self, RING_EV_RELEASE, 0))
            recorded++;
    }
    uint64_t next_chunk = __atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED);
    uint64_t header_lost = __atomic_load_n(&h->lost_events, __ATOMIC_RELAXED);
    const unsigned more = 100000;
    for (unsigned i = 0; i < more; i++) {
        rec_prepare(self);
        CHECK(rec_event(self, RING_EV_ACQUIRE, 0) == 0);
    }
    /* No claim was tried and the header's counter was not touched. */
    CHECK_EQ_INT(__atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED), next_chunk);
    CHECK_EQ_INT(__atomic_load_n(&h->lost_events, __ATOMIC_RELAXED), header_lost);
    ring_writer_finish();
    struct trace_process p;
    read_back(&p);
    CHECK_EQ_INT(p.threads[0].count, recorded);
    CHECK_EQ_INT(p.lost_events, header_lost + (attempts - recorded) + more);
    trace_process_free(&p);
    ring_writer_release();
}

static void test_new_session_resets_the_cursor(void)
{
    __atomic_add_fetch(&shim_session, 1, __ATOMIC_RELEASE);
    open_ring(1, RING_MODE_APPEND);
    struct shim_entered self = shim_thread_enter();
    rec_event(self, RING_EV_ACQUIRE, 0);
    struct ring_record *old_pos = self.t->pos;
    ring_writer_finish();
    char old_path[4200];
    strcpy(old_path, ring_writer_path());
    ring_writer_release();
    /* What attach does for its next session. */
    __atomic_add_fetch(&shim_session, 1, __ATOMIC_RELEASE);
    char why[256];
    CHECK(ring_writer_open(false, why, sizeof why));
    self = shim_thread_enter();
    CHECK(self.t->pos == NULL); /* the old cursor is gone */
    rec_prepare(self);
    CHECK(self.t->pos != old_pos);
    rec_event(self, RING_EV_RELEASE, 0);
    ring_writer_finish();
    struct trace_process p;
    read_back(&p);
    CHECK_EQ_INT(p.thread_count, 1);
    CHECK_EQ_INT(p.threads[0].count, 1);
    CHECK_EQ_INT(p.threads[0].events[0].kind, RING_EV_RELEASE);
    trace_process_free(&p);
    ring_writer_release();
    unlink(old_path);
}

/* Overwrite mode with a 16-chunk ring: three writers take chunks over all
 * the time while the main thread reads. A record read from a chunk that was
 * taken over meanwhile (the seqlock failing) would show up as a kind the
 * writers never store or as a thread's time going back. */
static volatile int stop_writers;

static void *writer(void *arg)
{
    (void)arg;
    struct shim_entered self = shim_thread_enter();
    while (!__atomic_load_n(&stop_writers, __ATOMIC_RELAXED)) {
        rec_prepare(self);
        rec_event(self, RING_EV_RELEASE, 0);
        rec_event(self, RING_EV_ACQUIRE, 0);
    }
    return NULL;
}

static void test_reader_under_concurrent_writers(void)
{
    __atomic_add_fetch(&shim_session, 1, __ATOMIC_RELEASE);
    struct ring_writer_identity id = {.python_hexversion = 0x030c01f0};
    struct ring_writer_config config = {.dir = dir, .size_mb = 1, .mode = RING_MODE_OVERWRITE};
    ring_writer_configure(&config, &id);
    char why[256];
    CHECK(ring_writer_open(false, why, sizeof why));
    pthread_t w[3];
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&w[i], NULL, writer, NULL) == 0);
    uint64_t events = 0;
    for (int round = 0; round < 200; round++) {
        struct trace_process p;
        read_back(&p);
        for (size_t i = 0; i < p.thread_count; i++) {
            const struct trace_thread *t = &p.threads[i];
            for (size_t k = 0; k < t->count; k++) {
                CHECK(t->events[k].kind == RING_EV_RELEASE || t->events[k].kind == RING_EV_ACQUIRE);
                CHECK(k == 0 || t->events[k].ts_ns > t->events[k - 1].ts_ns);
            }
            events += t->count;
        }
        trace_process_free(&p);
    }
    __atomic_store_n(&stop_writers, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 3; i++)
        pthread_join(w[i], NULL);
    CHECK(events > 0);
    ring_writer_finish();
    ring_writer_release();
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    rec_clock_setup();
    CHECK(ring_writer_add_gil(0x1000, RING_GIL_CONDVAR, false) == 0); /* every ring made here has it */
    test_prepare_claims_ahead();
    test_full_ring_is_cheap_and_counted();
    test_new_session_resets_the_cursor();
    test_reader_under_concurrent_writers();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    printf("ok: recorder\n");
    return 0;
}
