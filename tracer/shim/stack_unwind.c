/*
 * stack_unwind.c — unwinding the calling thread. See stack_unwind.h.
 */
#include "stack_unwind.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <pthread.h>
#include <string.h>

#include "stack_cfi.h"
#include "stack_modules.h"

/* ---- objects ---- */

typedef int (*find_object_fn)(void *, struct dl_find_object *);
static find_object_fn find_object;
static uintptr_t main_stack_top;

/* What we learnt about an object from its headers, keyed by its start. */
struct object_slot {
    uintptr_t start; /* 0: empty; claimed with a compare-and-swap */
    uint32_t ready;  /* published last */
    uint32_t usable; /* the object has unwind data we can read */
    struct stack_cfi_object cfi;
};

#define OBJECT_SLOTS 512
static struct object_slot objects[OBJECT_SLOTS];

/* The segment holding `addr`, from the object's program headers (the
 * ELF header is mapped at the object's start for every object glibc loads). */
static bool segment_of(uintptr_t start, uintptr_t end, uintptr_t bias, uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    if (end - start < sizeof(ElfW(Ehdr)))
        return false;
    const ElfW(Ehdr) *e = (const ElfW(Ehdr) *)start;
    if (memcmp(e->e_ident, ELFMAG, SELFMAG) != 0 || e->e_phentsize != sizeof(ElfW(Phdr)) ||
        e->e_phoff > end - start || (uintptr_t)e->e_phnum * sizeof(ElfW(Phdr)) > end - start - e->e_phoff ||
        e->e_phoff + (uintptr_t)e->e_phnum * sizeof(ElfW(Phdr)) > 65536)
        return false;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)(start + e->e_phoff);
    for (unsigned i = 0; i < e->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uintptr_t a = bias + ph[i].p_vaddr, b = a + ph[i].p_filesz;
        if (addr >= a && addr < b) {
            *lo = a;
            *hi = b;
            return true;
        }
    }
    return false;
}

/* The object holding pc; NULL when there is none (or it has no unwind data
 * we can read); *busy when another thread is looking at it right now. */
static const struct object_slot *object_for(uintptr_t pc, bool *busy)
{
    *busy = false;
    uintptr_t start, end, bias, eh;
    if (find_object) {
        struct dl_find_object f;
        if (find_object((void *)pc, &f) != 0 || !f.dlfo_eh_frame || !f.dlfo_link_map)
            return NULL;
        start = (uintptr_t)f.dlfo_map_start;
        end = (uintptr_t)f.dlfo_map_end;
        bias = (uintptr_t)f.dlfo_link_map->l_addr;
        eh = (uintptr_t)f.dlfo_eh_frame;
    } else if (!stack_modules_find(pc, &start, &end, &bias, &eh)) {
        return NULL;
    }
    size_t h = (start >> 12) * 0x9e3779b97f4a7c15ull >> 55; /* 9 bits */
    for (unsigned probe = 0; probe < 16; probe++) {
        struct object_slot *s = &objects[(h + probe) % OBJECT_SLOTS];
        uintptr_t k = __atomic_load_n(&s->start, __ATOMIC_ACQUIRE);
        if (k == 0) {
            uintptr_t zero = 0;
            if (!__atomic_compare_exchange_n(&s->start, &zero, start, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                k = zero;
            } else {
                uintptr_t lo, hi;
                if (segment_of(start, end, bias, eh, &lo, &hi)) {
                    s->cfi = (struct stack_cfi_object){.eh_frame_hdr = eh, .lo = lo, .hi = hi};
                    s->usable = 1;
                }
                __atomic_store_n(&s->ready, 1, __ATOMIC_RELEASE);
                return s->usable ? s : NULL;
            }
        }
        if (k == start) {
            if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE)) {
                *busy = true;
                return NULL;
            }
            return s->usable ? s : NULL;
        }
    }
    return NULL;
}

/* ---- the rule cache: direct-mapped, one seqlock per entry ---- */

struct rule_slot {
    uint32_t seq; /* odd while being written */
    uint32_t gen;
    uintptr_t pc;
    struct stack_cfi_rule rule; /* flags 0: no rule at pc */
};

#define RULE_SLOTS 8192
static struct rule_slot rules[RULE_SLOTS];
static uint32_t rules_gen = 1;

static size_t rule_hash(uintptr_t pc)
{
    return (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 51); /* 13 bits */
}

static bool rule_get(uintptr_t pc, struct stack_cfi_rule *out)
{
    struct rule_slot *s = &rules[rule_hash(pc)];
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
    if (seq & 1)
        return false;
    uintptr_t k = __atomic_load_n(&s->pc, __ATOMIC_RELAXED);
    uint32_t gen = __atomic_load_n(&s->gen, __ATOMIC_RELAXED);
    struct stack_cfi_rule r;
    memcpy(&r, &s->rule, sizeof r);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&s->seq, __ATOMIC_RELAXED) != seq || k != pc ||
        gen != __atomic_load_n(&rules_gen, __ATOMIC_RELAXED))
        return false;
    *out = r;
    return true;
}

static void rule_put(uintptr_t pc, const struct stack_cfi_rule *r)
{
    struct rule_slot *s = &rules[rule_hash(pc)];
    uint32_t seq = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
    if ((seq & 1) ||
        !__atomic_compare_exchange_n(&s->seq, &seq, seq + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return; /* someone else is writing it: not cached this time */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(&s->pc, pc, __ATOMIC_RELAXED);
    __atomic_store_n(&s->gen, __atomic_load_n(&rules_gen, __ATOMIC_RELAXED), __ATOMIC_RELAXED);
    memcpy(&s->rule, r, sizeof *r);
    __atomic_store_n(&s->seq, seq + 2, __ATOMIC_RELEASE);
}

void stack_unwind_flush(void)
{
    __atomic_fetch_add(&rules_gen, 1, __ATOMIC_RELEASE);
}

static bool rule_for(uintptr_t pc, struct stack_cfi_rule *out)
{
    if (rule_get(pc, out))
        return out->flags & CFI_VALID;
    bool busy;
    const struct object_slot *o = object_for(pc, &busy);
    if (!o || !stack_cfi_rule_at(&o->cfi, pc, out))
        memset(out, 0, sizeof *out);
    if (!busy)
        rule_put(pc, out);
    return out->flags & CFI_VALID;
}

/* ---- unwinding ---- */

void stack_unwind_init(void)
{
    find_object = (find_object_fn)dlsym(RTLD_DEFAULT, "_dl_find_object");
    pthread_attr_t a;
    if (pthread_getattr_np(pthread_self(), &a) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&a, &addr, &size) == 0)
            main_stack_top = (uintptr_t)addr + size;
        pthread_attr_destroy(&a);
    }
}

bool stack_unwind_have_find_object(void)
{
    return find_object != NULL;
}

uintptr_t stack_unwind_main_top(void)
{
    return main_stack_top;
}

struct regs {
    uintptr_t r[CFI_NREGS];
    uint32_t known; /* bit per register */
};

__attribute__((noinline, no_sanitize("address"))) unsigned stack_unwind(uintptr_t from, uintptr_t stack_hi, uintptr_t *ips, unsigned max,
                                                bool *truncated)
{
    struct regs g = {.known = 0};
    uintptr_t pc;
#if defined(__x86_64__)
    __asm__ volatile("leaq 0(%%rip), %0\n\t"
                     "movq %%rsp, %1\n\t"
                     "movq %%rbp, %2\n\t"
                     "movq %%rbx, %3\n\t"
                     "movq %%r12, %4\n\t"
                     "movq %%r13, %5\n\t"
                     "movq %%r14, %6\n\t"
                     "movq %%r15, %7\n\t"
                     : "=&r"(pc), "=m"(g.r[CFI_RSP]), "=m"(g.r[CFI_RBP]), "=m"(g.r[CFI_RBX]), "=m"(g.r[12]),
                       "=m"(g.r[13]), "=m"(g.r[14]), "=m"(g.r[15]));
    g.known = 1u << CFI_RSP | 1u << CFI_RBP | 1u << CFI_RBX | 0xfu << 12;
#else
    (void)from;
    (void)stack_hi;
    (void)ips;
    (void)max;
    *truncated = false;
    return 0;
#endif
    *truncated = false;
    uintptr_t sp = g.r[CFI_RSP];
    if (stack_hi <= sp)
        return 0;
    unsigned n = 0;
    bool recording = false, first = true;
    for (unsigned steps = 0; steps < 256; steps++) {
        if (!recording && pc == from)
            recording = true;
        if (recording) {
            if (n == max) {
                *truncated = true;
                break;
            }
            ips[n++] = pc;
        }
        struct stack_cfi_rule r;
        if (!rule_for(first ? pc : pc - 1, &r)) {
            *truncated = true;
            break;
        }
        first = false;
        if (r.flags & CFI_OUTERMOST)
            break;
        if (!(g.known >> r.cfa_reg & 1)) {
            *truncated = true;
            break;
        }
        uintptr_t cfa = g.r[r.cfa_reg] + (intptr_t)r.cfa_off;
        if (cfa > stack_hi)
            break; /* above what we may read: the thread's first frames */
        uintptr_t ra_at = cfa + (intptr_t)r.ra_off;
        if (cfa <= sp || ra_at < sp || ra_at > stack_hi - 8) {
            *truncated = true;
            break;
        }
        struct regs next = g;
        for (int i = 0; i < CFI_SAVED; i++) {
            unsigned reg = stack_cfi_saved_reg[i];
            if (r.saved[i] == CFI_SAME)
                continue;
            if (r.saved[i] == CFI_UNDEF) {
                next.known &= ~(1u << reg);
                continue;
            }
            uintptr_t at = cfa + (intptr_t)r.saved[i];
            if (at < sp || at > stack_hi - 8) {
                next.known &= ~(1u << reg);
                continue;
            }
            memcpy(&next.r[reg], (const void *)at, 8);
        }
        uintptr_t ra;
        memcpy(&ra, (const void *)ra_at, 8);
        next.r[CFI_RSP] = cfa;
        next.known |= 1u << CFI_RSP;
        g = next;
        sp = cfa;
        if (ra == 0)
            break;
        pc = ra;
    }
    return recording ? n : 0;
}
