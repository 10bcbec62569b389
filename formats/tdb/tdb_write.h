/*
 * tdb_write.h — writing trace databases (schema in tdb_schema.h).
 *
 *   struct tdb_writer *w;
 *   if (tdb_writer_open(path, TDB_CREATE, &w, err, sizeof err)) die(err);
 *   tdb_writer_set_meta(w, "command", "python3 app.py");
 *   for each process: tdb_writer_add_process(w, &proc, err, sizeof err);
 *   if (tdb_writer_close(w, err, sizeof err)) die(err);
 *
 * TDB_CREATE writes a new database into an empty file (journal off: the
 * caller writes to a temporary name and renames it when done). TDB_APPEND
 * adds processes to an existing giltrace database, or creates one, with
 * normal journaling and locking, so several processes may append to one
 * file (env-only mode without %p).
 */
#ifndef GILTRACE_TDB_WRITE_H
#define GILTRACE_TDB_WRITE_H

#include <stddef.h>
#include <stdint.h>

#include "trace_model.h"

enum tdb_open_mode { TDB_CREATE, TDB_APPEND };

struct tdb_writer;

/* Called every few hundred thousand events with the number of events this
 * writer has stored so far (all processes together). */
typedef void (*tdb_progress_fn)(void *ctx, uint64_t events_written);

int tdb_writer_open(const char *path, enum tdb_open_mode mode, struct tdb_writer **out, char *err,
                    size_t err_len);

/* Report progress of tdb_writer_add_process through `fn` (NULL: none). */
void tdb_writer_set_progress(struct tdb_writer *w, tdb_progress_fn fn, void *ctx);

/* Set a meta key (replacing it). Returns 0 or -1 with `err`. */
int tdb_writer_set_meta(struct tdb_writer *w, const char *key, const char *value, char *err, size_t err_len);

/* Store one process with its GILs, threads and events. Returns 0 or -1. */
int tdb_writer_add_process(struct tdb_writer *w, const struct trace_process *p, char *err, size_t err_len);

/* Commit and close; `w` is freed even on error. Returns 0 or -1. */
int tdb_writer_close(struct tdb_writer *w, char *err, size_t err_len);

/* Close without committing (the caller removes the file). */
void tdb_writer_abort(struct tdb_writer *w);

#endif
