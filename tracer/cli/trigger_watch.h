/*
 * trigger_watch.h — `giltrace run --trigger-wait-ms`: watch the rings of a
 * run and, when one says a thread waited longer than the threshold for a GIL,
 * write a snapshot of that process's ring — the seconds leading up to the
 * stall — while the process keeps running.
 */
#ifndef GILTRACE_TRIGGER_WATCH_H
#define GILTRACE_TRIGGER_WATCH_H

struct trigger_watch;

/* Watch ring files appearing in `run_dir`; snapshots are named after
 * `output` ("trace.db" -> "trace.trigger-1.db", ...). NULL if out of memory. */
struct trigger_watch *trigger_watch_start(const char *run_dir, const char *output);

/* Look at every ring once: write a snapshot for each new trigger, at most one
 * per process per second (later triggers are taken in the next one). Cheap
 * when nothing happened: one header read per ring. */
void trigger_watch_poll(struct trigger_watch *tw);

/* Snapshots written so far. */
unsigned trigger_watch_snapshots(const struct trigger_watch *tw);

void trigger_watch_stop(struct trigger_watch *tw);

#endif
