/*
 * ring_writer.h — the traced process's side of its ring file: create and map
 * it, hand out chunks to threads, publish GILs, mark a clean exit, and start
 * over in a fork child. The layout is formats/ring/ring.h.
 *
 * Nothing here is on the per-event path: ring_writer_claim_chunk() runs
 * once per RING_RECORDS_PER_CHUNK events of a thread, ahead of need and
 * outside the GIL's critical sections (recorder.h).
 */
#ifndef GILTRACE_RING_WRITER_H
#define GILTRACE_RING_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ring.h"

/* What the process is, copied into every ring file it (or a fork child)
 * creates. */
struct ring_writer_identity {
    uint32_t python_hexversion;
    char python_version[sizeof(((struct ring_header *)0)->python_version)];
};

/* How rings are made: where (`dir`, validated by shim_config), how big, in
 * which enum ring_mode, and the GIL wait that triggers a snapshot (ms, 0 = none). */
struct ring_writer_config {
    const char *dir;
    uint32_t size_mb;
    uint32_t mode;
    uint32_t trigger_wait_ms;
    uint32_t stacks_mb; /* the aux stack table, MiB (0: no stacks) */
};

/* Remember the configuration and what the process is. Creates no file. */
void ring_writer_configure(const struct ring_writer_config *config, const struct ring_writer_identity *id);

/* Create and map this process's ring file now.
 * Returns false (with a reason in `why`) if the file cannot be made; the
 * process then runs untraced. Returns true with `why` empty, or holding one
 * line to show the user when the file system had room for a smaller ring
 * only (at most half its free space is taken).
 * Async-signal-safe apart from reading /proc/self (done only when `read_proc`),
 * so a fork child can call it with read_proc = false. */
bool ring_writer_open(bool read_proc, char *why, size_t why_len);

/* True once a ring is mapped (or will be, at the first event, in a fork child). */
bool ring_writer_tracing(void);

/* Claim a chunk for thread `tid`: a fresh one, its pages populated (so that
 * storing into it can never fault), or in overwrite mode, once no fresh
 * chunk is left, the oldest chunk no live thread is writing (its events
 * counted as overwritten). The chunk is published as the thread's CURRENT
 * one with a new seq (returned in *seq); any chunk the thread had stays as
 * it is (see ring_writer_chunk_done). Returns NULL when there is no room or
 * tracing is off; the caller counts what it could not record. Not for the
 * inside of a GIL critical section: it may populate 64 KiB of pages. */
struct ring_chunk_header *ring_writer_claim_chunk(uint32_t tid, uint64_t *seq);

/* The thread has moved on from chunk `c`: overwrite mode may reuse it. */
static inline void ring_writer_chunk_done(struct ring_chunk_header *c)
{
    __atomic_store_n(&c->state, RING_CHUNK_DONE, __ATOMIC_RELEASE);
}

/* True when a claim cannot succeed any more: an append-mode ring whose
 * fresh chunks are all taken. Reads one shared, by then unchanging, word. */
bool ring_writer_exhausted(void);

/* A GIL wait of `wait_ns` by thread `tid` passed the trigger threshold:
 * tell whoever watches this ring (giltrace run) to take a snapshot. */
void ring_writer_trigger(uint32_t tid, uint64_t wait_ns);

/* The calibration pair taken when this process's ring was made; false
 * when there is no ring. */
bool ring_writer_start_calibration(struct ring_calibration *out);

/* The trigger threshold in ns (0 = off). */
uint64_t ring_writer_trigger_ns(void);

/* Count `n` events that could not be recorded, by the thread whose last
 * chunk is `last` (NULL: it has none). In append mode a chunk's owner
 * counts in the chunk itself, touching no shared cache line; otherwise
 * the header's counter. Before the ring exists (a fork child's thread
 * while another creates it) the count is kept and added to the ring's
 * header when it is made. */
void ring_writer_count_lost(struct ring_chunk_header *last, uint64_t n);

/* False in a process that shares this state without owning it: a vfork
 * child (no fork handler ran in it) before it execs or calls _exit. It must
 * then not touch the ring or this state. Makes one getpid system call (not
 * glibc's, so it holds in a vfork child); true before any ring was made. */
bool ring_writer_owned_here(void);

/* Publish a GIL; returns its index, or -1 if the table is full. */
int ring_writer_add_gil(uint64_t mutex_addr, uint32_t kind, bool subinterpreter);

/* Set the process's main GIL kind (enum ring_gil_kind). */
void ring_writer_set_gil_kind(uint32_t kind);

/* Record the switch interval last seen, in µs (cheap when unchanged). */
void ring_writer_note_interval(uint32_t us);

/* Record thread `tid`'s Python name. Not for the recording path (it may
 * be called from any thread, lock-free). In a fork child whose ring does not
 * exist yet, the last name given is kept until the ring is made. */
void ring_writer_add_name(uint32_t tid, const char *name);

/* A loaded object, for stack frames to point into. Kept in this process's
 * memory too, so that a fork child's ring starts with every module.
 * Callers serialise (stack_modules.c's registry). */
void ring_writer_add_module(uint64_t bias, uint64_t lo, uint64_t hi, const char *path, const uint8_t *build_id,
                            uint32_t build_id_len);

/* The aux area of this process's ring, or NULL (no ring, or stacks off for
 * `stacks`). The recording path may call it. */
struct ring_aux *ring_writer_aux(bool stacks);

/* Path of the ring file ("" when none). */
const char *ring_writer_path(void);

/* The process is exiting cleanly: store the end calibration and state. A
 * fork child that recorded nothing gets its ring now, so that every Python
 * process that ran shows up. Returns false when there is no ring. */
bool ring_writer_finish(void);

/* Stop writing to the ring file and give its pages back, for an attach
 * session that ends while the process goes on. A thread may still be
 * storing the record it began: the file's range becomes anonymous memory
 * (unmapped when the next ring is released), never a hole. Tracing is off
 * afterwards until ring_writer_open(). */
void ring_writer_release(void);

/* The process is about to exec: store the end calibration and state as
 * ring_writer_finish() does, and when `new_path` is given, move the ring file
 * there (where the next image of this pid looks for it). Returns false, doing
 * nothing, when there is no ring file (a fork child that recorded nothing). */
bool ring_writer_exec_begin(const char *new_path);

/* The exec failed: the ring is running again (under its new name). */
void ring_writer_exec_failed(void);

/* In a fork child: drop the parent's mapping (never write into it) and arrange
 * for a ring of the child's own to be created at its first event or at its
 * exit, whichever comes first (a child that execs leaves no file). */
void ring_writer_forget_parent(void);

#endif
