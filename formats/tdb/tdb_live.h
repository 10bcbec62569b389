/*
 * tdb_live.h — a live trace database fed poll by poll: what `gilview
 * --live` draws, kept up to date at a cost that depends on what is new,
 * not on the trace so far (docs/ARCHITECTURE.md, "Live mode").
 *
 *   struct tdb_live *l;
 *   if (tdb_live_open(path, &l, err, sizeof err)) die(err);
 *   each poll:
 *       for each new event of thread tid: tdb_live_add(l, tid, &ev, py_stack);
 *       if (tdb_live_commit(l, proc, &names, err, sizeof err)) ...;
 *       tdb_view_open(path, ...)   // sees everything committed
 *   tdb_live_close(l);             // the caller removes the file
 *
 * The file is a trace database for drawing (tdb_view.h): its process, GIL,
 * thread and lane rows, the summaries of SUMMARY.md, which a view opened
 * after a commit finds complete, and the Python stacks of the events that
 * have one (tdb_view_py_site). It keeps no event rows, holds, waits or
 * native stacks (the views of SCHEMA.md over them are empty): the trace to
 * keep is the one `giltrace run` writes, and storing rows for every event
 * is what made a refresh cost the whole trace. It is written in WAL mode,
 * so views may stay open on it while the next poll is committed.
 *
 * Each lane (a thread on a GIL) keeps one summary builder across polls
 * (tdb_summary.h): the chunks it finishes are stored once; at each commit a
 * copy of it is finished at the lane's current end into rows that the next
 * commit replaces (its open chunks: at most one per level). A commit costs
 * O(new events + lanes x levels), whatever the trace's size.
 *
 * A lane's base level is fixed when it has TDB_LIVE_YOUNG_EVENTS events
 * (tdb_summary_base_level of its events and span then); until then its
 * events are kept and its summary is rebuilt whole at each commit, exactly
 * as tdb_write.h would write it. So its buckets at every level at or above
 * both base levels, its totals and longest waits equal those of a trace of
 * the same events written in one go; only a lane whose density later
 * changes has a base level other than the one-go writer's.
 *
 * Times follow tdb_write.h: trace times are ns since the process's start
 * (meta.base_ns, set at the first commit), an event at or before its lane's
 * previous one is moved to 1 ns after it, and a lane's open interval ends
 * at trace_open_end() of the process as of the commit.
 */
#ifndef GILTRACE_TDB_LIVE_H
#define GILTRACE_TDB_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

/* Events a lane gathers before its base level is fixed. */
#define TDB_LIVE_YOUNG_EVENTS 16384

struct tdb_live;

/* What a commit asks of the follower (each may be NULL): thread `tid`'s
 * name, and the Python stack a raw id names (ring_follow.h), both as of
 * now; a stack's frames name codes of the process given to the commit. */
struct tdb_live_names {
    const char *(*thread)(void *ctx, uint32_t tid);
    const struct trace_py_stack *(*py_stack)(void *ctx, uint32_t raw);
    void *ctx;
};

/* Create a live trace database in the empty file `path`. Returns 0, or -1
 * with a one-line reason in `err`. */
int tdb_live_open(const char *path, struct tdb_live **out, char *err, size_t err_len);

/* Lanes gather `young` events (at least 1) before their base level is
 * fixed instead of TDB_LIVE_YOUNG_EVENTS: for tests. Call before the first
 * tdb_live_add. */
void tdb_live_set_young(struct tdb_live *l, uint64_t young);

/* Queue one event of thread `tid` (absolute ts_ns, as ring_follow.h hands
 * them; its native stack is not kept), after that thread's earlier ones,
 * with the raw id of its Python stack (0: none), named at the commit.
 * Returns 0, or -1 when out of memory: the live database is then unusable. */
int tdb_live_add(struct tdb_live *l, uint32_t tid, const struct trace_event *ev, uint32_t py_stack);

/* Store the events queued since the last commit, with process `p` as it is
 * now (identity, start_ns, end_ns, exited, lost events, GILs, Python codes;
 * its threads, if any, are not read), threads' names and Python stacks from
 * `names` (may be NULL), in one transaction. Returns 0, or -1 with `err`:
 * the database is then unusable (close it; views opened before stay valid). */
int tdb_live_commit(struct tdb_live *l, const struct trace_process *p, const struct tdb_live_names *names, char *err,
                    size_t err_len);

/* Events stored so far (all lanes). */
uint64_t tdb_live_events(const struct tdb_live *l);

/* Close the database (the caller removes the file). NULL: no-op. */
void tdb_live_close(struct tdb_live *l);

#endif
