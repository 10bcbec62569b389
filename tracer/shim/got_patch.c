/*
 * got_patch.c — rewriting an object's GOT slots. See got_patch.h.
 *
 * The object is found with dl_iterate_phdr (the one whose PT_LOAD contains
 * the anchor), its relocations and symbol versions through its dynamic
 * section. Whether a slot's page is writable is read from /proc/self/maps,
 * the only exact answer (glibc protects RELRO in whole pages and leaves a
 * last partial page writable).
 */
#include "got_patch.h"

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "text_util.h"

#define MAX_SLOTS 64u

struct slot {
    void **addr;
    void *saved; /* the value before the hook */
    void *hook;
    bool read_only; /* its page must be write-enabled around a store */
};

static struct slot slots[MAX_SLOTS];
static unsigned slot_count;

struct object {
    const void *anchor;
    uintptr_t bias;
    const ElfW(Phdr) *phdr;
    unsigned phnum;
};

struct dynamic {
    const ElfW(Sym) *symtab;
    const char *strtab;
    const ElfW(Rela) *rela[2];
    size_t rela_count[2];
    const ElfW(Half) *versym;
    const ElfW(Verneed) *verneed;
    size_t verneed_count;
};

static int match_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct object *o = data;
    uintptr_t a = (uintptr_t)o->anchor;
    for (unsigned i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_LOAD && a >= info->dlpi_addr + p->p_vaddr && a < info->dlpi_addr + p->p_vaddr + p->p_memsz) {
            o->bias = info->dlpi_addr;
            o->phdr = info->dlpi_phdr;
            o->phnum = info->dlpi_phnum;
            return 1;
        }
    }
    return 0;
}

/* glibc relocates the d_ptr entries of a loaded object in place; accept
 * either form. */
static uintptr_t dyn_ptr(const struct object *o, ElfW(Addr) p)
{
    return p < o->bias ? o->bias + p : p;
}

static bool read_dynamic(const struct object *o, struct dynamic *d)
{
    memset(d, 0, sizeof *d);
    const ElfW(Dyn) *dyn = NULL;
    for (unsigned i = 0; i < o->phnum; i++)
        if (o->phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(o->bias + o->phdr[i].p_vaddr);
    if (!dyn)
        return false;
    size_t relasz = 0, pltrelsz = 0;
    bool plt_is_rela = true;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: d->symtab = (const void *)dyn_ptr(o, dyn->d_un.d_ptr); break;
        case DT_STRTAB: d->strtab = (const void *)dyn_ptr(o, dyn->d_un.d_ptr); break;
        case DT_RELA: d->rela[0] = (const void *)dyn_ptr(o, dyn->d_un.d_ptr); break;
        case DT_RELASZ: relasz = dyn->d_un.d_val; break;
        case DT_JMPREL: d->rela[1] = (const void *)dyn_ptr(o, dyn->d_un.d_ptr); break;
        case DT_PLTRELSZ: pltrelsz = dyn->d_un.d_val; break;
        case DT_PLTREL: plt_is_rela = dyn->d_un.d_val == DT_RELA; break;
        case DT_VERSYM: d->versym = (const void *)dyn_ptr(o, dyn->d_un.d_ptr); break;
        case DT_VERNEED: d->verneed = (const void *)dyn_ptr(o, dyn->d_un.d_ptr); break;
        case DT_VERNEEDNUM: d->verneed_count = dyn->d_un.d_val; break;
        }
    }
    d->rela_count[0] = relasz / sizeof(ElfW(Rela));
    d->rela_count[1] = plt_is_rela ? pltrelsz / sizeof(ElfW(Rela)) : 0;
    return d->symtab && d->strtab;
}

/* The version symbol `index` was bound with ("GLIBC_2.3.2"), or NULL. */
static const char *symbol_version(const struct dynamic *d, size_t index)
{
    if (!d->versym || !d->verneed)
        return NULL;
    unsigned v = d->versym[index] & 0x7fff;
    if (v < 2)
        return NULL;
    const ElfW(Verneed) *vn = d->verneed;
    for (size_t i = 0; i < d->verneed_count; i++) {
        const ElfW(Vernaux) *aux = (const void *)((const char *)vn + vn->vn_aux);
        for (unsigned k = 0; k < vn->vn_cnt; k++) {
            if (aux->vna_other == v)
                return d->strtab + aux->vna_name;
            aux = (const void *)((const char *)aux + aux->vna_next);
        }
        vn = (const void *)((const char *)vn + vn->vn_next);
    }
    return NULL;
}

static uintptr_t parse_hex(const char **p, const char *end)
{
    uintptr_t v = 0;
    for (; *p < end; (*p)++) {
        char c = **p;
        if (c >= '0' && c <= '9')
            v = v << 4 | (uintptr_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = v << 4 | (uintptr_t)(c - 'a' + 10);
        else
            break;
    }
    return v;
}

/* One line of /proc/self/maps, "lo-hi perms ...": note which slots it holds. */
static void note_mapping(const char *line, size_t len, struct slot *s, unsigned n)
{
    const char *p = line, *end = line + len;
    uintptr_t lo = parse_hex(&p, end);
    if (p == end || *p++ != '-')
        return;
    uintptr_t hi = parse_hex(&p, end);
    if (end - p < 3 || *p != ' ')
        return;
    bool writable = p[2] == 'w';
    for (unsigned k = 0; k < n; k++)
        if ((uintptr_t)s[k].addr >= lo && (uintptr_t)s[k].addr < hi)
            s[k].read_only = !writable;
}

/* Mark the slots whose page is not writable, from /proc/self/maps. */
static bool find_read_only_slots(struct slot *s, unsigned n)
{
    int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    char buf[4096];
    size_t len = 0;
    bool skipping = false; /* inside a line longer than buf, its head seen */
    for (;;) {
        ssize_t got = read(fd, buf + len, sizeof buf - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(buf + start, '\n', len - start))) {
            if (!skipping)
                note_mapping(buf + start, (size_t)(nl - buf) - start, s, n);
            skipping = false;
            start = (size_t)(nl - buf) + 1;
        }
        if (start == 0 && len == sizeof buf) {
            if (!skipping)
                note_mapping(buf, len, s, n);
            skipping = true;
            len = 0;
            continue;
        }
        memmove(buf, buf + start, len - start);
        len -= start;
    }
    close(fd);
    return true;
}

/* One atomic store into a slot, write-enabling its page around it. */
static bool store_slot(const struct slot *s, void *value)
{
    long page = sysconf(_SC_PAGESIZE);
    void *start = (void *)((uintptr_t)s->addr & ~((uintptr_t)page - 1));
    if (s->read_only && mprotect(start, (size_t)page, PROT_READ | PROT_WRITE) != 0)
        return false;
    __atomic_store_n(s->addr, value, __ATOMIC_RELEASE);
    if (s->read_only)
        mprotect(start, (size_t)page, PROT_READ);
    return true;
}

static int fail(char *why, size_t n, const char *a, const char *b)
{
    struct text_buf t = text_buf_init(why, n);
    text_buf_str(&t, a);
    text_buf_str(&t, b);
    return -1;
}

int got_patch_install(const void *anchor, const struct got_hook *hooks, size_t n, char *why, size_t why_len)
{
    struct object o = {.anchor = anchor};
    struct dynamic d;
    if (!dl_iterate_phdr(match_object, &o) || !read_dynamic(&o, &d))
        return fail(why, why_len, "the interpreter's dynamic section cannot be read", "");
    slot_count = 0;
    void *real[MAX_SLOTS];
    unsigned hook_of[MAX_SLOTS];
    for (int table = 0; table < 2; table++) {
        for (size_t r = 0; r < d.rela_count[table]; r++) {
            const ElfW(Rela) *rel = &d.rela[table][r];
            unsigned type = ELF64_R_TYPE(rel->r_info);
            size_t sym = ELF64_R_SYM(rel->r_info);
            if ((type != R_X86_64_JUMP_SLOT && type != R_X86_64_GLOB_DAT) || !sym ||
                d.symtab[sym].st_shndx != SHN_UNDEF)
                continue;
            const char *name = d.strtab + d.symtab[sym].st_name;
            for (unsigned k = 0; k < n && slot_count < MAX_SLOTS; k++) {
                if (strcmp(name, hooks[k].name) != 0)
                    continue;
                const char *version = symbol_version(&d, sym);
                void *fn = version ? dlvsym(RTLD_DEFAULT, name, version) : dlsym(RTLD_DEFAULT, name);
                if (!fn)
                    break; /* leave a slot alone whose function cannot be resolved */
                struct slot *s = &slots[slot_count];
                *s = (struct slot){.addr = (void **)(o.bias + rel->r_offset), .hook = hooks[k].hook};
                real[slot_count] = fn;
                hook_of[slot_count++] = k;
                break;
            }
        }
    }
    if (slot_count && !find_read_only_slots(slots, slot_count))
        return fail(why, why_len, "/proc/self/maps cannot be read", "");
    for (unsigned i = 0; i < slot_count; i++) {
        struct slot *s = &slots[i];
        __atomic_store_n(hooks[hook_of[i]].real, real[i], __ATOMIC_RELEASE);
        s->saved = __atomic_load_n(s->addr, __ATOMIC_ACQUIRE);
        if (!store_slot(s, s->hook)) {
            int e = errno;
            slot_count = i;
            got_patch_remove();
            return fail(why, why_len, "cannot make a GOT page writable: ", strerror(e));
        }
    }
    return (int)slot_count;
}

void got_patch_remove(void)
{
    for (unsigned i = 0; i < slot_count; i++) {
        struct slot *s = &slots[i];
        if (__atomic_load_n(s->addr, __ATOMIC_ACQUIRE) == s->hook)
            store_slot(s, s->saved);
    }
    slot_count = 0;
}
