/*
 * proc_ring.h — the ring file a running traced process writes into, found
 * through /proc/PID/maps (the shim maps it MAP_SHARED), wherever it lives.
 */
#ifndef GILTRACE_PROC_RING_H
#define GILTRACE_PROC_RING_H

#include <stddef.h>
#include <sys/types.h>

/* Path of the ring process `pid` has mapped, into `out`. Returns 0, or -1
 * with a one-line reason in `err` (no such process, not traced, no
 * permission). */
int proc_ring_path(pid_t pid, char *out, size_t cap, char *err, size_t err_len);

#endif
