/*
 * stack_elf.h — one ELF file read for naming frames: its symbols (with the
 * names of CPython's PyMethodDef tables), its build id and its function
 * starts from .eh_frame_hdr. Used by stack_symbols.c.
 */
#ifndef GILTRACE_STACK_ELF_H
#define GILTRACE_STACK_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A symbol: a function's range and name. */
struct sym {
    uint64_t start, size; /* size 0: unknown */
    char *name;
    bool python;          /* a name from a PyMethodDef table */
};

/* One file, read once per stack_symbols and kept in its list. */
struct elf_file {
    char *path;
    char *build_id;     /* hex, NULL if none */
    int ok;             /* could be read */
    struct sym *syms;   /* by start */
    size_t nsyms;
    uint64_t *starts;   /* function starts from .eh_frame_hdr, sorted */
    size_t nstarts;
    struct elf_file *next;
};

/* search_first conditions on arrays sorted by address: element i at or
 * past `key` (relocations by where or by target), or past it (starts). */
struct addr_key {
    const void *v;
    uint64_t key;
};

/* Read the file at f->path into `f` (f->ok: whether it could be read). */
void stack_elf_load(struct elf_file *f);

#endif
