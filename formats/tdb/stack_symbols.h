/*
 * stack_symbols.h — naming the frames of a process's native stacks, when
 * its trace is written (never in the traced process's recording path).
 *
 * Each module's ELF file is read with libelf (after checking its GNU build
 * id against the one recorded, so a file replaced since is not trusted):
 *   - function symbols from .symtab, else from .dynsym (a stripped build
 *     such as Debian's python3 keeps only its exported functions there);
 *   - the functions Python code can call, from the interpreter's and the
 *     extension modules' PyMethodDef tables (found through the data
 *     relocations, or the absolute pointers of a non-PIE executable), named
 *     "module.function" or "Type.method" ("time.sleep", "socket.recv"), so
 *     that stripped builds still name the calls that release the GIL;
 *   - function starts from .eh_frame_hdr, so that an address inside an
 *     unnamed static function is not given a neighbour's name.
 * A frame inside a function known only by its C name gets that name; one
 * with both gets "c_name (python.name)". An unnamed frame that calls
 * _Py_HandlePending is the eval loop (CPython calls it from nowhere else):
 * it gets STACK_SYMBOLS_EVAL_LOOP, the name it has where the eval loop is
 * exported whole (3.14+ stripped builds export only a small wrapper of it).
 */
#ifndef GILTRACE_STACK_SYMBOLS_H
#define GILTRACE_STACK_SYMBOLS_H

#include "trace_model.h"

/* ELF files already read, shared across processes (multiprocessing workers
 * run the same interpreter). */
struct stack_symbols;

#define STACK_SYMBOLS_EVAL_LOOP "_PyEval_EvalFrameDefault"

struct stack_symbols *stack_symbols_new(void);
void stack_symbols_free(struct stack_symbols *s);

/* Name every frame of p's stacks that can be named (frame.symbol,
 * symbol_offset). Unreadable files are skipped. Returns 0, or -1 when out
 * of memory (frames named so far keep their names). */
int stack_symbols_apply(struct stack_symbols *s, struct trace_process *p);

#endif
