/*
 * py_lines.h — the source line of an instruction of a Python code object,
 * from a copy of the object's line table (formats/ring/ring.h struct
 * ring_py_code), decoded the way the interpreter that wrote it does:
 *   3.6-3.9   co_lnotab: pairs (address increment, signed line increment)
 *   3.10      co_linetable: pairs (address delta, signed line delta or
 *             -128 for "no line"), ranges in bytes
 *   3.11+     the location table (CPython's Objects/locations.md): entries
 *             of 1-8 code units with a line delta (short, one-line,
 *             no-column and long forms) or "no location"
 * Pure functions of their arguments; no allocation.
 */
#ifndef GILTRACE_FORMATS_PY_LINES_H
#define GILTRACE_FORMATS_PY_LINES_H

#include <stddef.h>
#include <stdint.h>

/* The line of the instruction at byte `offset` of a code object whose first
 * line is `first_line` and whose line table is `table[0..len)`, for the
 * interpreter `hexversion` (PY_VERSION_HEX); -1 when the table says the
 * instruction has no line, the offset lies past the table, or the version
 * is not one of 3.6 and later. A table cut short or malformed never reads
 * past `len`. */
int32_t py_line_at(uint32_t hexversion, int32_t first_line, const uint8_t *table, size_t len, uint32_t offset);

#endif
