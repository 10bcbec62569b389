/*
 * attach_elf.h — the dynamic symbols and code of a file another process has
 * loaded, read from the file with libelf and placed at the addresses it has
 * in that process. Stripped files keep .dynsym, which is all this reads.
 */
#ifndef GILTRACE_ATTACH_ELF_H
#define GILTRACE_ATTACH_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attach_maps.h"

struct attach_elf {
    int fd;
    void *elf;      /* Elf * */
    uintptr_t bias; /* add to a symbol's value for its address in the process */
};

/* A defined function or object of the file, placed in the process. */
struct attach_symbol {
    const char *name; /* valid while the attach_elf is open */
    uintptr_t addr;
    uint64_t size;
};

/* Open the file of `obj` (loaded at obj->base). Returns 0, or -1 with a
 * one-line reason in `err`. */
int attach_elf_open(const struct attach_object *obj, struct attach_elf *out, char *err, size_t err_len);

/* The same for a file not (yet) loaded: addresses are relative (bias 0). */
int attach_elf_open_file(const char *path, struct attach_elf *out, char *err, size_t err_len);

void attach_elf_close(struct attach_elf *e);

/* Address of the defined dynamic symbol `name` (its default version when
 * there are several), or 0. */
uintptr_t attach_elf_symbol(const struct attach_elf *e, const char *name);

/* Call `fn` for every defined function of the dynamic symbol table. */
void attach_elf_functions(const struct attach_elf *e, void (*fn)(void *ctx, const struct attach_symbol *s),
                          void *ctx);

/* Address of the only occurrence of `bytes` in the file's executable
 * segments, or 0 if it occurs never or more than once. */
uintptr_t attach_elf_find_code(const struct attach_elf *e, const uint8_t *bytes, size_t n);

/* Does the file ask for a program interpreter (PT_INTERP): is it a
 * dynamically linked program? */
bool attach_elf_dynamic(const struct attach_elf *e);

#endif
