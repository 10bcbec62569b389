/*
 * attach_target.h — what `giltrace attach` learns about a process before
 * touching it: whether attaching can work at all (and if not, the one line
 * that says why and what to do instead), and the addresses the injection
 * needs: glibc's dlopen and signal-return trampoline, the ranges of the
 * functions no thread may be hijacked inside, the dynamic loader, the
 * interpreter, and the attach library if an earlier session loaded it.
 */
#ifndef GILTRACE_ATTACH_TARGET_H
#define GILTRACE_ATTACH_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "attach_elf.h"
#include "attach_maps.h"

/* A libc function during which a thread may hold a lock dlopen needs. */
struct attach_range {
    uintptr_t lo, hi;
    const char *name;
};

struct attach_target {
    pid_t pid;
    char comm[64];
    uid_t uid, gid; /* the target's effective ids */
    struct attach_maps maps;
    struct attach_object libc, ldso, python, lib;
    bool lib_loaded;
    char lib_path[4096];            /* the attach library (absolute, real path) */
    uintptr_t entry_start, entry_stop, request; /* offsets of its entry points and request in its file */
    uintptr_t dlopen, restore_rt;   /* in the target */
    struct attach_elf libc_elf;     /* owns the names in deny[] */
    struct attach_range *deny;      /* sorted by address */
    size_t deny_count;
};

/* Inspect process `pid` for loading `lib_path` (libgiltrace-attach.so).
 * Returns 0 if an attach can be tried; else -1 with the one-line refusal in
 * `err`. Nothing in the target is changed. */
int attach_target_inspect(pid_t pid, const char *lib_path, struct attach_target *t, char *err, size_t err_len);

/* Only what making calls in process `pid` needs: its map, glibc's dlopen
 * and trampoline, the deny list, the loader (for tests, on programs that
 * are not Python). Same return contract. */
int attach_target_glibc(pid_t pid, struct attach_target *t, char *err, size_t err_len);

/* Read the target's map again (after dlopen): updates `lib`/`lib_loaded`.
 * Returns -1 with errno if the process is gone. */
int attach_target_refresh(struct attach_target *t);

/* glibc's __restore_rt (mov $__NR_rt_sigreturn, %rax; syscall) in the libc
 * `libc`, or 0 if it is not there exactly once. */
uintptr_t attach_target_restore_rt(const struct attach_elf *libc);

/* The libc function in deny[] that contains `addr`, or NULL. */
const struct attach_range *attach_target_denied(const struct attach_target *t, uintptr_t addr);

void attach_target_free(struct attach_target *t);

#endif
