/*
 * gil_locate.h — finding a running interpreter's main GIL at once, without
 * waiting for a call on it (`giltrace attach`), and who holds it.
 *
 *   3.13+      _PyRuntime begins with debug_offsets ("xdebugpy" cookie),
 *              which publish where each interpreter keeps its GIL pointer:
 *              the interpreter list gives the main GIL and every own-GIL
 *              subinterpreter's, and the holder's native thread id (read
 *              for 3.13, 3.14 and 3.15, whose struct layouts differ).
 *   3.7+       struct _gil_runtime_state lies inside _PyRuntime: at the
 *              offset this version usually has it, or else wherever exactly
 *              one place in _PyRuntime passes gil_image_plausible() (plus a
 *              non-zero switch interval).
 * What neither finds is left to gil_midrun.h (its first call).
 *
 * The holder is read under the GIL's mutex, taken only if it is free at
 * that instant (CPython changes `locked` and `last_holder` only while
 * holding it): while the caller holds it nobody can take or drop the GIL.
 * `last_holder` is a PyThreadState; its thread is found by the pthread_t it
 * stores (a glibc TCB points to itself) and pthread_getcpuclockid(), which
 * encodes the kernel tid.
 */
#ifndef GILTRACE_GIL_LOCATE_H
#define GILTRACE_GIL_LOCATE_H

#include <stdbool.h>
#include <stdint.h>

#include "attach_abi.h"
#include "gil.h"
#include "python_probe.h"

/* Register the main GIL (and from 3.13 the subinterpreters' GILs) of the
 * interpreter described by `py`, unless an earlier session did. Returns
 * how it was found: ATTACH_GIL_LATER if it was not (gil_registry_main()
 * then stays NULL). */
enum attach_gil_found gil_locate_main(const struct python_info *py);

/* Take GIL `g`'s mutex if it is free right now; never waits. */
bool gil_locate_freeze(const struct gil *g);

/* While frozen: the tid of the thread holding the GIL, 0 if none, -1 if it
 * cannot be told. */
int32_t gil_locate_holder(const struct gil *g);

/* Let go of the mutex taken by gil_locate_freeze(). */
void gil_locate_thaw(const struct gil *g);

#endif
