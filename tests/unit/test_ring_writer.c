/*
 * test_ring_writer.c — the shim's ring writer outside the recording path:
 *   owner      a vfork child shares the writer's state but does not own it
 *              (ring_writer_owned_here is false there, true in the parent)
 *   lost       events counted while a fork child's ring is not made yet
 *              reach that ring's header once it is
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring.h"
#include "ring_read.h"
#include "../../tracer/shim/rec_clock.h"
#include "../../tracer/shim/ring_writer.h"
#include "check.h"

static char ring_dir[] = "/tmp/giltrace-rw-XXXXXX";

static void check_owner(void)
{
    CHECK(ring_writer_owned_here());
    pid_t pid = vfork();
    if (pid == 0)
        _exit(ring_writer_owned_here() ? 1 : 0); /* the shim's _exit: it must not finish our ring */
    CHECK(pid > 0);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(ring_writer_owned_here());
    CHECK(ring_writer_tracing());
}

static void check_lost_before_ring(void)
{
    ring_writer_forget_parent(); /* what the fork handler does: the child's ring comes later */
    ring_writer_count_lost(NULL, 5);
    ring_writer_count_lost(NULL, 2);
    CHECK(ring_writer_finish()); /* makes the child's ring */
    struct trace_process p;
    char err[256];
    CHECK(ring_read_file(ring_writer_path(), &p, err, sizeof err) == 0);
    CHECK_EQ_INT(p.lost_events, 7);
    trace_process_free(&p);
    ring_writer_count_lost(NULL, 1);
    CHECK(ring_read_file(ring_writer_path(), &p, err, sizeof err) == 0);
    CHECK_EQ_INT(p.lost_events, 8);
    trace_process_free(&p);
}

int main(void)
{
    CHECK(mkdtemp(ring_dir) != NULL);
    rec_clock_setup();
    struct ring_writer_identity id = {.python_hexversion = 0x030c01f0};
    struct ring_writer_config config = {.dir = ring_dir, .size_mb = 1};
    ring_writer_configure(&config, &id);
    char why[256];
    CHECK(ring_writer_open(true, why, sizeof why));
    check_owner();
    check_lost_before_ring();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", ring_dir);
    CHECK(system(cmd) == 0);
    return 0;
}
