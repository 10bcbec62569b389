/*
 * py_stack.h — the calling thread's Python stack, read from the
 * interpreter's own structures and interned into the ring's aux area
 * (formats/ring/ring.h: struct ring_py_code, Python stack slots), so that a
 * RELEASE or BUSY can name the Python function and line it happened at.
 *
 * Where the frames come from (no symbols needed; layouts decided at run
 * time from the interpreter's version, never from this machine's headers):
 *   thread state   PyGILState_GetThisThreadState(): the thread's own
 *                  state, kept in CPython's TSS slot for the thread even
 *                  while it has dropped the GIL (exported by every build,
 *                  Debian's stripped one included)
 *   3.6-3.10       tstate->frame, the PyFrameObject chain (f_back, f_code,
 *                  f_lasti)
 *   3.11-3.12      tstate->cframe->current_frame, the _PyInterpreterFrame
 *                  chain (previous, f_code, prev_instr, owner), offsets from
 *                  each version's Include/internal/pycore_frame.h
 *   3.13-3.15      _PyRuntime's _Py_DebugOffsets (cookie "xdebugpy"):
 *                  current_frame, previous, executable, instr_ptr, owner,
 *                  the code object's fields, str and bytes headers; where
 *                  each version keeps them in that struct is known per
 *                  version, the offsets are read from the process (3.14+:
 *                  the frame's executable is a tagged _PyStackRef)
 * A frame is (code object, instruction offset in bytes); each code object
 * is stored once (qualified name where the version has one, name, file,
 * first line, a copy of its line table); lines are resolved at dump time
 * (formats/ring/py_lines.h).
 *
 * Safety: the first walks of a process read through gil_safe_read() (no
 * fault on a bad address) until one finds a frame whose code object's type
 * is PyCode_Type and whose name is a str: the layout is then trusted and
 * later walks read directly (each frame's code object still has its type
 * checked, and a walk stops at the first that fails). A walk that meets
 * anything else turns Python stacks off for the process with one line on
 * stderr; the program and the rest of the trace go on unchanged.
 *
 * Python stacks come with native stacks (giltrace run --stacks,
 * GILTRACE_STACKS=1) or alone (--py-stacks, GILTRACE_PYSTACKS=1); see
 * shim_config.h.
 *
 * Test knob: GILTRACE_TEST_PY_SKEW=N adds N bytes to the offset of a
 * frame's code object, to check that a wrong layout is caught.
 */
#ifndef GILTRACE_PY_STACK_H
#define GILTRACE_PY_STACK_H

#include <stdbool.h>
#include <stdint.h>

#include "python_probe.h"
#include "shim_thread.h"

/* Python stacks are recorded (set by py_stack_init, cleared when the
 * layout turns out wrong). */
extern bool py_stacks_on;

/* Choose the frame layout for the interpreter `py` and look up what the
 * walk checks against (PyCode_Type, PyUnicode_Type, PyBytes_Type,
 * PyGILState_GetThisThreadState, Py_IsInitialized). Returns whether Python
 * stacks will be recorded; when the version has no known layout, says so
 * in one line on stderr. Call once, at start, before any GIL event. */
bool py_stack_init(const struct python_info *py);

/* The id (>= 1) of the calling thread's Python stack, innermost frame
 * first, at most RING_STACK_MAX_DEPTH frames, interned in the ring's aux
 * area; 0 when the thread has no Python frame, the interpreter is not (or
 * no longer) initialised, the tables are full, or Python stacks are off.
 * Reads only the calling thread's frames, which are stable while it is
 * inside the GIL's take/drop. Lock-free, allocation-free, no syscall once
 * the layout is validated; errno is preserved. */
uint32_t py_stack_capture_id(void);

/* Store stack `id` (from py_stack_capture_id(), taken earlier: before the
 * GIL's mutex was locked) after the event the calling thread just recorded,
 * as a RING_REC_PYSTACK record; nothing for id 0. A record that does not
 * fit (ring full) is counted in ring_aux.lost_py_stacks. Only a store: may
 * run while the GIL's mutex is held. */
void py_stack_record_id(struct shim_entered self, uint32_t id);

#endif
