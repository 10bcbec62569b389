/*
 * got_patch.h — redirecting one object's calls to libc functions into the
 * shim after it has been loaded with dlopen (`giltrace attach`), where
 * LD_PRELOAD's symbol interposition is not available.
 *
 * The object's GOT slots for the named functions (R_X86_64_JUMP_SLOT, and
 * R_X86_64_GLOB_DAT for -fno-plt builds) are overwritten with the hooks, one
 * atomic 8-byte store each, write-enabling the page first where it is
 * read-only (RELRO, -z now). The real function a hook must call is resolved
 * by name and by the symbol version that slot binds (dlvsym), never taken
 * from the slot: an unresolved lazy slot holds a PLT stub that would run the
 * resolver and overwrite the hook. Removing writes the saved values back into
 * the slots that still hold a hook.
 */
#ifndef GILTRACE_GOT_PATCH_H
#define GILTRACE_GOT_PATCH_H

#include <stddef.h>

struct got_hook {
    const char *name; /* imported function */
    void *hook;       /* what the slot should call */
    void **real;      /* set to the real function before the slot changes */
};

/* Redirect the slots of the object containing address `anchor` for every
 * function in `hooks`. Returns the number of slots redirected (0 when the
 * object imports none of them), or -1 with a reason in `why` if the object
 * cannot be read or a page cannot be made writable; slots changed before a
 * failure are put back. Call got_patch_remove() before patching again. */
int got_patch_install(const void *anchor, const struct got_hook *hooks, size_t n, char *why, size_t why_len);

/* Put back every slot got_patch_install() changed. No allocation, no lock. */
void got_patch_remove(void);

#endif
