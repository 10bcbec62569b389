/*
 * python_probe.h — is this process a CPython, which one, and where are the
 * few things the GIL identification checks against. Uses only exported
 * dynamic symbols, so it works on stripped builds.
 */
#ifndef GILTRACE_PYTHON_PROBE_H
#define GILTRACE_PYTHON_PROBE_H

#include <stdbool.h>
#include <stdint.h>

struct python_info {
    bool present;           /* Py_GetVersion is defined in the process */
    uint32_t hexversion;    /* PY_VERSION_HEX parsed from Py_GetVersion() */
    char version[128];      /* Py_GetVersion(), truncated */
    bool free_threaded;     /* a free-threading build (3.13t+) */
    uintptr_t object_base;  /* load base of the object that defines it */
    uintptr_t runtime_lo;   /* the _PyRuntime symbol, [lo, hi); 0 if none */
    uintptr_t runtime_hi;
    uintptr_t py2_lock_slot;/* 2.x: &interpreter_lock, or 0 */
};

/* Fill `out` by looking the interpreter up in the running process. Calls
 * Py_GetVersion(), which only formats static strings and is safe before
 * Py_Initialize. Returns out->present. */
bool python_probe(struct python_info *out);

/* Parse "3.11.7 (main, ...)" or "3.13.0rc1+ ..." into PY_VERSION_HEX form;
 * 0 if it does not start with a version. */
uint32_t python_parse_hexversion(const char *version);

/* True if `addr` lies in the object (executable or libpython) that defines
 * the interpreter, i.e. is one of its static variables. */
bool python_owns_address(const struct python_info *py, uintptr_t addr);

/* Decode `mov symbol(%rip),%rdi` (optionally after endbr64) at `code` and
 * return the address it loads from, or 0 if the bytes are anything else. */
uintptr_t python_decode_rip_load_rdi(const uint8_t *code);

#endif
