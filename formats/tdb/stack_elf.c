/*
 * stack_elf.c — one ELF file read for naming frames: sections, relocations,
 * symbols, CPython's method tables, build id, .eh_frame_hdr starts. See
 * stack_elf.h.
 */
#include "stack_elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "search.h"

/* qsort, for arrays that may be empty (and NULL). */
static void sort_n(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(v, n, size, cmp);
}

/* ---- one ELF file ---- */

struct reloc {
    uint64_t where, target;
};

struct section {
    uint64_t addr, size;
    Elf_Data *data; /* NULL for NOBITS */
};

struct reader {
    Elf *elf;
    struct section *secs;
    size_t nsecs;
    struct reloc *relocs; /* by where */
    size_t nrelocs;
    uint64_t text_lo, text_hi; /* executable sections */
    int pie;
};

static int by_start(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    /* sized before unsized, then longer names last (stable choice) */
    if ((x->size == 0) != (y->size == 0))
        return x->size == 0 ? 1 : -1;
    return strcmp(x->name, y->name);
}

static int by_where(const void *a, const void *b)
{
    const struct reloc *x = a, *y = b;
    return x->where < y->where ? -1 : x->where > y->where;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const struct section *section_at(const struct reader *r, uint64_t addr, uint64_t len)
{
    for (size_t i = 0; i < r->nsecs; i++) {
        const struct section *s = &r->secs[i];
        if (s->data && addr >= s->addr && addr - s->addr <= s->size && len <= s->size - (addr - s->addr) &&
            addr - s->addr + len <= s->data->d_size)
            return s;
    }
    return NULL;
}

static int read_bytes(const struct reader *r, uint64_t addr, void *out, uint64_t len)
{
    const struct section *s = section_at(r, addr, len);
    if (!s)
        return -1;
    memcpy(out, (const char *)s->data->d_buf + (addr - s->addr), len);
    return 0;
}

static bool reloc_where_from(const void *ctx, size_t i)
{
    const struct addr_key *c = ctx;
    return ((const struct reloc *)c->v)[i].where >= c->key;
}

static bool reloc_target_from(const void *ctx, size_t i)
{
    const struct addr_key *c = ctx;
    return ((const struct reloc *)c->v)[i].target >= c->key;
}

/* The pointer stored at `addr` once the object is loaded: from a relocation
 * there, or the bytes themselves (non-PIE). 0 if unknown. */

static uint64_t read_ptr(const struct reader *r, uint64_t addr)
{
    size_t lo = search_first(r->nrelocs, reloc_where_from, &(struct addr_key){r->relocs, addr});
    if (lo < r->nrelocs && r->relocs[lo].where == addr)
        return r->relocs[lo].target;
    if (r->pie)
        return 0;
    uint64_t v;
    return read_bytes(r, addr, &v, 8) == 0 ? v : 0;
}

/* A NUL-terminated string at addr, if it looks like an identifier (or a
 * dotted name); NULL otherwise. Points into the ELF data. */
static const char *read_name(const struct reader *r, uint64_t addr)
{
    if (!addr)
        return NULL;
    const struct section *s = section_at(r, addr, 1);
    if (!s)
        return NULL;
    const char *p = (const char *)s->data->d_buf + (addr - s->addr);
    size_t room = s->data->d_size - (addr - s->addr);
    size_t n = 0;
    for (; n < room && n < 128 && p[n]; n++) {
        char c = p[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return NULL;
    }
    if (n == 0 || n == room || n == 128 || (p[0] >= '0' && p[0] <= '9'))
        return NULL;
    return p;
}

static int add_reloc(struct reader *r, size_t *cap, uint64_t where, uint64_t target)
{
    if (r->nrelocs == *cap) {
        size_t c = *cap ? *cap * 2 : 4096;
        struct reloc *more = realloc(r->relocs, c * sizeof *more);
        if (!more)
            return -1;
        r->relocs = more;
        *cap = c;
    }
    r->relocs[r->nrelocs++] = (struct reloc){where, target};
    return 0;
}

static int add_sym(struct elf_file *f, size_t *cap, uint64_t start, uint64_t size, const char *name, bool python)
{
    if (f->nsyms == *cap) {
        size_t c = *cap ? *cap * 2 : 1024;
        struct sym *more = realloc(f->syms, c * sizeof *more);
        if (!more)
            return -1;
        f->syms = more;
        *cap = c;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    f->syms[f->nsyms++] = (struct sym){start, size, copy, python};
    return 0;
}

static char *hex(const uint8_t *b, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++)
        sprintf(s + 2 * i, "%02x", b[i]);
    return s;
}

static void read_build_id(struct elf_file *f, Elf *elf)
{
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        size_t off = 0, name_off, desc_off;
        GElf_Nhdr nh;
        while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
                memcmp((char *)d->d_buf + name_off, "GNU", 4) == 0) {
                f->build_id = hex((const uint8_t *)d->d_buf + desc_off, nh.n_descsz);
                return;
            }
        }
    }
}

static int by_target(const void *a, const void *b)
{
    const struct reloc *x = a, *y = b;
    return x->target < y->target ? -1 : x->target > y->target;
}

static bool is_method_def(const struct reader *r, uint64_t at)
{
    uint64_t meth = read_ptr(r, at + 8);
    uint32_t flags;
    return meth >= r->text_lo && meth < r->text_hi && read_name(r, read_ptr(r, at)) &&
           read_bytes(r, at + 16, &flags, 4) == 0 && flags != 0 && flags <= 0x3ff;
}

/* PyMethodDef {name, meth, flags, doc}: a pointer to an identifier, one to
 * code, and METH_* flags. Each gets "owner.name", the owner being the
 * PyModuleDef (m_name at +40, m_methods at +64) or static type (tp_name at
 * +24, tp_methods at +232) that points at its table. */
static int method_tables(struct elf_file *f, size_t *cap, const struct reader *r)
{
    struct reloc *targets = malloc((r->nrelocs ? r->nrelocs : 1) * sizeof *targets);
    if (!targets)
        return -1;
    if (r->nrelocs)
        memcpy(targets, r->relocs, r->nrelocs * sizeof *targets);
    sort_n(targets, r->nrelocs, sizeof *targets, by_target);
    int rc = 0;
    for (size_t i = 0; i < r->nrelocs && rc == 0; i++) {
        if (r->relocs[i].where & 7)
            continue;
        uint64_t at = r->relocs[i].where - 8; /* reloc i is the ml_meth field */
        if (!is_method_def(r, at))
            continue;
        uint64_t first = at;
        for (int k = 0; k < 4096 && is_method_def(r, first - 32); k++)
            first -= 32;
        /* who points at the table */
        const char *owner = NULL;
        size_t lo = search_first(r->nrelocs, reloc_target_from, &(struct addr_key){targets, first});
        for (; lo < r->nrelocs && targets[lo].target == first && !owner; lo++) {
            uint64_t w = targets[lo].where;
            const char *m = read_name(r, read_ptr(r, w - 24));       /* PyModuleDef.m_name */
            const char *t = read_name(r, read_ptr(r, w - 232 + 24)); /* PyTypeObject.tp_name */
            owner = m ? m : t;
        }
        char full[300];
        snprintf(full, sizeof full, "%s%s%s", owner ? owner : "", owner ? "." : "", read_name(r, read_ptr(r, at)));
        rc = add_sym(f, cap, read_ptr(r, at + 8), 0, full, true);
    }
    free(targets);
    return rc;
}

static void eh_frame_starts(struct elf_file *f, const struct reader *r, uint64_t hdr_addr)
{
    uint8_t h[4];
    if (read_bytes(r, hdr_addr, h, 4) || h[0] != 1 || h[3] != 0x3b)
        return;
    /* eh_frame_ptr (encoded by h[1]) then fde_count (h[2], udata4 as written by ld) */
    int ptr_size = (h[1] & 0x0f) == 0x0b || (h[1] & 0x0f) == 0x03 ? 4 : 8;
    uint32_t count;
    if ((h[2] & 0x0f) != 0x03 || read_bytes(r, hdr_addr + 4 + (uint64_t)ptr_size, &count, 4))
        return;
    uint64_t table = hdr_addr + 4 + (uint64_t)ptr_size + 4;
    const struct section *s = section_at(r, table, (uint64_t)count * 8);
    if (!s || !count)
        return;
    f->starts = malloc(count * sizeof *f->starts);
    if (!f->starts)
        return;
    const char *p = (const char *)s->data->d_buf + (table - s->addr);
    for (uint32_t i = 0; i < count; i++) {
        int32_t start;
        memcpy(&start, p + (size_t)i * 8, 4);
        f->starts[f->nstarts++] = hdr_addr + (uint64_t)(int64_t)start;
    }
    sort_n(f->starts, f->nstarts, sizeof *f->starts, u64_cmp);
}

void stack_elf_load(struct elf_file *f)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct reader r = {0};
    r.elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
    GElf_Ehdr eh;
    if (!r.elf || elf_kind(r.elf) != ELF_K_ELF || !gelf_getehdr(r.elf, &eh) || gelf_getclass(r.elf) != ELFCLASS64)
        goto done;
    r.pie = eh.e_type == ET_DYN;
    read_build_id(f, r.elf);
    size_t nscn = 0, cap = 0, rcap = 0;
    elf_getshdrnum(r.elf, &nscn);
    r.secs = calloc(nscn ? nscn : 1, sizeof *r.secs);
    if (!r.secs)
        goto done;
    r.text_lo = UINT64_MAX;
    uint64_t eh_hdr = 0;
    bool have_symtab = false;
    Elf_Scn *scn = NULL;
    while ((scn = elf_nextscn(r.elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        if (sh.sh_type == SHT_SYMTAB)
            have_symtab = true;
        if ((sh.sh_flags & SHF_ALLOC) && sh.sh_type != SHT_NOBITS && sh.sh_addr) {
            r.secs[r.nsecs++] = (struct section){sh.sh_addr, sh.sh_size, elf_getdata(scn, NULL)};
            if (sh.sh_flags & SHF_EXECINSTR) {
                if (sh.sh_addr < r.text_lo)
                    r.text_lo = sh.sh_addr;
                if (sh.sh_addr + sh.sh_size > r.text_hi)
                    r.text_hi = sh.sh_addr + sh.sh_size;
            }
        }
        const char *name = elf_strptr(r.elf, eh.e_shstrndx, sh.sh_name);
        if (name && strcmp(name, ".eh_frame_hdr") == 0)
            eh_hdr = sh.sh_addr;
    }
    /* symbols, and the data relocations */
    scn = NULL;
    while ((scn = elf_nextscn(r.elf, scn))) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        Elf_Data *d = elf_getdata(scn, NULL);
        if (!d)
            continue;
        if (sh.sh_type == SHT_SYMTAB || (sh.sh_type == SHT_DYNSYM && !have_symtab)) {
            size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; i < n; i++) {
                GElf_Sym s;
                if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
                    continue;
                int type = GELF_ST_TYPE(s.st_info);
                if (type != STT_FUNC && type != STT_GNU_IFUNC)
                    continue;
                const char *name = elf_strptr(r.elf, sh.sh_link, s.st_name);
                if (name && *name && add_sym(f, &cap, s.st_value, s.st_size, name, false))
                    goto done;
            }
        } else if (sh.sh_type == SHT_RELA) {
            /* the symbols relocations refer to, for R_X86_64_64 */
            Elf_Scn *symscn = elf_getscn(r.elf, sh.sh_link);
            Elf_Data *symdata = symscn ? elf_getdata(symscn, NULL) : NULL;
            size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            for (size_t i = 0; i < n; i++) {
                GElf_Rela rel;
                if (!gelf_getrela(d, (int)i, &rel))
                    continue;
                uint64_t target;
                unsigned type = GELF_R_TYPE(rel.r_info);
                if (type == 8 /* R_X86_64_RELATIVE */) {
                    target = (uint64_t)rel.r_addend;
                } else if (type == 1 /* R_X86_64_64 */ && symdata) {
                    GElf_Sym s;
                    if (!gelf_getsym(symdata, (int)GELF_R_SYM(rel.r_info), &s) || s.st_shndx == SHN_UNDEF)
                        continue;
                    target = s.st_value + (uint64_t)rel.r_addend;
                } else {
                    continue;
                }
                if (add_reloc(&r, &rcap, rel.r_offset, target))
                    goto done;
            }
        }
    }
    sort_n(r.relocs, r.nrelocs, sizeof *r.relocs, by_where);
    if (!r.pie) {
        /* a non-PIE executable keeps absolute pointers in its data: take
         * every aligned word of its data that points into the object */
        uint64_t lo = UINT64_MAX, hi = 0;
        for (size_t i = 0; i < r.nsecs; i++) {
            if (r.secs[i].addr < lo)
                lo = r.secs[i].addr;
            if (r.secs[i].addr + r.secs[i].size > hi)
                hi = r.secs[i].addr + r.secs[i].size;
        }
        for (size_t i = 0; i < r.nsecs; i++) {
            const struct section *s = &r.secs[i];
            if (!s->data || (s->addr >= r.text_lo && s->addr < r.text_hi))
                continue;
            for (uint64_t off = 0; off + 8 <= s->data->d_size; off += 8) {
                uint64_t v;
                memcpy(&v, (const char *)s->data->d_buf + off, 8);
                if (v < lo || v >= hi)
                    continue;
                if (add_reloc(&r, &rcap, s->addr + off, v))
                    goto done;
            }
        }
        sort_n(r.relocs, r.nrelocs, sizeof *r.relocs, by_where);
    }
    if (method_tables(f, &cap, &r))
        goto done;
    sort_n(f->syms, f->nsyms, sizeof *f->syms, by_start);
    if (eh_hdr)
        eh_frame_starts(f, &r, eh_hdr);
    f->ok = 1;
done:
    free(r.relocs);
    free(r.secs);
    if (r.elf)
        elf_end(r.elf);
    close(fd);
}
