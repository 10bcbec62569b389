/*
 * ring_dump.h — one ring file into a trace database, appending. The entry
 * point of libgiltrace-writer.so, which the shim loads at exit in env-only
 * mode (so that the shim itself never links SQLite).
 */
#ifndef GILTRACE_RING_DUMP_H
#define GILTRACE_RING_DUMP_H

#include <stddef.h>

/* Read the ring at `ring_path` and append its process to the database at
 * `db_path` (created if absent). Returns 0, or -1 with a one-line reason in
 * `err`; the ring file is never modified. A new database is made 0600 and
 * put in place without following or replacing anything; an existing one is
 * appended to only if it is a regular file of this user. */
int giltrace_dump_ring(const char *ring_path, const char *db_path, char *err, size_t err_len);

#endif
