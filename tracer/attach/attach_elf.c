/*
 * attach_elf.c — dynamic symbols and code of a loaded file. See attach_elf.h.
 */
#include "attach_elf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(char *err, size_t n, const char *what, const char *path)
{
    snprintf(err, n, "cannot read %s: %s", path, what);
    return -1;
}

/* Where the file's offset 0 lies relative to its virtual addresses. */
static bool load_bias(Elf *elf, uintptr_t base, uintptr_t *bias)
{
    GElf_Ehdr eh;
    size_t n;
    if (!gelf_getehdr(elf, &eh) || elf_getphdrnum(elf, &n) != 0)
        return false;
    if (eh.e_type == ET_EXEC) {
        *bias = 0;
        return true;
    }
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD) {
            *bias = base - (uintptr_t)(ph.p_vaddr - ph.p_offset);
            return true;
        }
    }
    return false;
}

static int open_at(const char *path, uintptr_t base, bool placed, struct attach_elf *out, char *err, size_t n)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return fail(err, n, "libelf is unusable", path);
    out->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (out->fd < 0)
        return fail(err, n, strerror(errno), path);
    Elf *elf = elf_begin(out->fd, ELF_C_READ_MMAP, NULL);
    out->elf = elf;
    if (!elf || elf_kind(elf) != ELF_K_ELF || gelf_getclass(elf) != ELFCLASS64) {
        attach_elf_close(out);
        return fail(err, n, "not a 64-bit ELF file", path);
    }
    if (placed && !load_bias(elf, base, &out->bias)) {
        attach_elf_close(out);
        return fail(err, n, "no loadable segment", path);
    }
    return 0;
}

int attach_elf_open(const struct attach_object *obj, struct attach_elf *out, char *err, size_t err_len)
{
    return open_at(obj->path, obj->base, true, out, err, err_len);
}

int attach_elf_open_file(const char *path, struct attach_elf *out, char *err, size_t err_len)
{
    return open_at(path, 0, false, out, err, err_len);
}

void attach_elf_close(struct attach_elf *e)
{
    if (e->elf)
        elf_end(e->elf);
    if (e->fd >= 0)
        close(e->fd);
    memset(e, 0, sizeof *e);
    e->fd = -1;
}

/* The dynamic symbol table and its version table. */
static bool dynsym(Elf *elf, Elf_Data **syms, Elf_Data **versym, size_t *count, size_t *strndx)
{
    *syms = *versym = NULL;
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
        GElf_Shdr sh;
        if (!gelf_getshdr(scn, &sh))
            continue;
        if (sh.sh_type == SHT_DYNSYM) {
            *syms = elf_getdata(scn, NULL);
            *count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
            *strndx = sh.sh_link;
        } else if (sh.sh_type == SHT_GNU_versym) {
            *versym = elf_getdata(scn, NULL);
        }
    }
    return *syms != NULL;
}

/* Visit every defined dynamic symbol; stop when `fn` returns true. */
static void each_symbol(const struct attach_elf *e, bool (*fn)(void *ctx, const struct attach_symbol *s, bool hidden,
                                                                unsigned char type),
                        void *ctx)
{
    Elf_Data *syms, *versym;
    size_t count = 0, strndx = 0;
    if (!dynsym(e->elf, &syms, &versym, &count, &strndx))
        return;
    for (size_t i = 1; i < count; i++) {
        GElf_Sym s;
        if (!gelf_getsym(syms, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
            continue;
        GElf_Versym v = 0;
        bool hidden = versym && gelf_getversym(versym, (int)i, &v) && (v & 0x8000);
        const char *name = elf_strptr(e->elf, strndx, s.st_name);
        struct attach_symbol out = {name, e->bias + (uintptr_t)s.st_value, s.st_size};
        if (name && fn(ctx, &out, hidden, GELF_ST_TYPE(s.st_info)))
            return;
    }
}

struct lookup {
    const char *name;
    uintptr_t addr;
};

static bool match_name(void *ctx, const struct attach_symbol *s, bool hidden, unsigned char type)
{
    (void)type;
    struct lookup *l = ctx;
    if (strcmp(s->name, l->name) != 0)
        return false;
    l->addr = s->addr;
    return !hidden; /* keep looking for the default version */
}

uintptr_t attach_elf_symbol(const struct attach_elf *e, const char *name)
{
    struct lookup l = {name, 0};
    each_symbol(e, match_name, &l);
    return l.addr;
}

struct visit {
    void (*fn)(void *ctx, const struct attach_symbol *s);
    void *ctx;
};

static bool visit_function(void *ctx, const struct attach_symbol *s, bool hidden, unsigned char type)
{
    (void)hidden;
    struct visit *v = ctx;
    if (type == STT_FUNC && s->size)
        v->fn(v->ctx, s);
    return false;
}

void attach_elf_functions(const struct attach_elf *e, void (*fn)(void *ctx, const struct attach_symbol *s), void *ctx)
{
    struct visit v = {fn, ctx};
    each_symbol(e, visit_function, &v);
}

uintptr_t attach_elf_find_code(const struct attach_elf *e, const uint8_t *bytes, size_t n)
{
    struct stat st;
    size_t phnum;
    if (fstat(e->fd, &st) != 0 || elf_getphdrnum(e->elf, &phnum) != 0)
        return 0;
    const uint8_t *file = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, e->fd, 0);
    if (file == MAP_FAILED)
        return 0;
    uintptr_t found = 0;
    unsigned hits = 0;
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e->elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) ||
            ph.p_offset + ph.p_filesz > (uint64_t)st.st_size)
            continue;
        const uint8_t *seg = file + ph.p_offset, *end = seg + ph.p_filesz;
        for (const uint8_t *p = seg; (p = memmem(p, (size_t)(end - p), bytes, n)); p++) {
            found = e->bias + (uintptr_t)ph.p_vaddr + (uintptr_t)(p - seg);
            hits++;
        }
    }
    munmap((void *)file, (size_t)st.st_size);
    return hits == 1 ? found : 0;
}

bool attach_elf_dynamic(const struct attach_elf *e)
{
    size_t n;
    if (elf_getphdrnum(e->elf, &n) != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e->elf, (int)i, &ph) && ph.p_type == PT_INTERP)
            return true;
    }
    return false;
}
