/*
 * stack_unwind.h — the calling thread's native stack, on the recording path:
 * no locks, no allocation, no system calls, no dl_iterate_phdr (so no wait
 * for the loader lock while another thread loads an extension module).
 *
 * Objects are found with glibc's _dl_find_object() (lock-free and
 * async-signal-safe, glibc 2.35+), or on older glibc in a table of the
 * objects loaded when tracing started (stack_modules.c). Each instruction's
 * unwind rule comes from the object's DWARF CFI (stack_cfi.c) and is kept in
 * a shared lock-free cache. Stack memory is only read between the stack
 * pointer and the thread's known stack top; a thread whose top is not known
 * gets no stack.
 */
#ifndef GILTRACE_STACK_UNWIND_H
#define GILTRACE_STACK_UNWIND_H

#include <stdbool.h>
#include <stdint.h>

/* Resolve _dl_find_object; note the calling (main) thread's stack top.
 * From the constructor. */
void stack_unwind_init(void);

/* Unwind the calling thread from the caller of this function; record frames
 * from the first one whose instruction is `from` (the return address into
 * the code that called an interposed function), innermost first, at most
 * `max`. Returns the number of frames (0 when `from` was not met or the
 * stack cannot be read); *truncated says frames remained beyond the last. */
unsigned stack_unwind(uintptr_t from, uintptr_t stack_hi, uintptr_t *ips, unsigned max, bool *truncated);

/* True when glibc has _dl_find_object (2.35+), whose dl_iterate_phdr also
 * only takes the loader's write lock (never held while constructors run),
 * so refreshing the module table while holding the GIL cannot wait on a
 * thread that is loading an extension module. */
bool stack_unwind_have_find_object(void);

/* Objects may have been unloaded: forget every cached rule. */
void stack_unwind_flush(void);

/* The top of the calling thread's stack, as far as reads may go; 0 when
 * unknown. Set by the thread start trampoline, or for the main thread by
 * stack_unwind_init. */
uintptr_t stack_unwind_main_top(void);

#endif
