/*
 * stack_cfi.h — the unwind rule for one instruction, from a loaded object's
 * .eh_frame_hdr and .eh_frame (DWARF call frame information), computed on
 * the recording path: no locks, no allocation, no system calls; every read
 * of the object's memory is checked against the segment that holds its
 * unwind data.
 *
 * A rule says where the caller's frame is (x86-64): the CFA is a tracked
 * register plus an offset; the return address and the callee-saved registers
 * rbx, rbp, r12-r15 are saved at CFA + offset or unchanged. What a compact
 * rule cannot say (DWARF expressions, a CFA in another register, signal
 * frames) makes the rule invalid, and unwinding stops there.
 */
#ifndef GILTRACE_STACK_CFI_H
#define GILTRACE_STACK_CFI_H

#include <stdbool.h>
#include <stdint.h>

/* DWARF register numbers on x86-64. */
enum {
    CFI_RBX = 3,
    CFI_RBP = 6,
    CFI_RSP = 7,
    CFI_R12 = 12,
    CFI_R15 = 15,
    CFI_RA = 16,
    CFI_NREGS = 17
};

/* The callee-saved registers a rule tracks, in this order. */
#define CFI_SAVED 6
extern const uint8_t stack_cfi_saved_reg[CFI_SAVED]; /* rbx, rbp, r12, r13, r14, r15 */

#define CFI_SAME ((int16_t)0x7fff)      /* the register keeps its value */
#define CFI_UNDEF ((int16_t)-0x8000)    /* not recoverable */

#define CFI_VALID 1u
#define CFI_OUTERMOST 2u /* the return address is undefined: the first frame of the thread */

struct stack_cfi_rule {
    uint8_t flags;
    uint8_t cfa_reg;              /* CFI_RSP, CFI_RBP or another tracked register */
    int16_t ra_off;               /* return address at CFA + ra_off */
    int32_t cfa_off;
    int16_t saved[CFI_SAVED];     /* CFA + offset, CFI_SAME or CFI_UNDEF */
};

/* Where an object keeps its unwind data: the eh_frame_hdr, and the range
 * of memory (its segment) that all unwind data must lie in. */
struct stack_cfi_object {
    uintptr_t eh_frame_hdr;
    uintptr_t lo, hi;
};

/* The rule at instruction `pc` of `obj`. Returns false when there is none. */
bool stack_cfi_rule_at(const struct stack_cfi_object *obj, uintptr_t pc, struct stack_cfi_rule *out);

#endif
