/*
 * attach_unwind.c — unwinding a stopped thread's stack with page-cached
 * reads. See attach_unwind.h.
 *
 * Two of libunwind's ptrace accessors are replaced. Memory is read a page
 * at a time into a cache. And the unwind table of each object is found
 * once: libunwind's own lookup re-reads /proc/PID/maps and maps the
 * object's file again each time the stack crosses into another object,
 * which was most of the cost of a Python stack. Here the object comes from
 * the map already read, its .eh_frame_hdr from its program headers in the
 * target's memory, and the search in that table is libunwind's
 * dwarf_search_unwind_table, the function its ptrace accessors use too
 * (libunwind-ptrace imports it from libunwind-x86_64; it is not declared
 * in the public headers). An object whose table is not in the usual form
 * goes to libunwind's own lookup.
 *
 * libunwind hands every accessor the argument given to unw_init_remote, and
 * its ptrace helpers pass their own state on to the memory accessor, so the
 * caches cannot travel in that argument: they belong to the one current
 * unwinder.
 */
#include "attach_unwind.h"

#include <elf.h>
#include <libunwind-ptrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define PAGE 4096u
#define CACHED_PAGES 64u
#define CACHED_OBJECTS 32u

/* .eh_frame_hdr encodings (DWARF exception-handling pointer encodings). */
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30

extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t as, unw_word_t ip, unw_dyn_info_t *di,
                                              unw_proc_info_t *pi, int need_unwind_info, void *arg);

struct cached_page {
    uintptr_t addr;
    bool valid;
    uint8_t data[PAGE];
};

/* An object's unwind table, or the knowledge that it has none we can use. */
struct cached_object {
    uintptr_t lo, hi;
    bool usable;
    unw_dyn_info_t di;
};

struct attach_unwinder {
    pid_t pid;
    const struct attach_maps *maps;
    unw_addr_space_t as;
    unsigned next, last, objects;
    struct cached_page pages[CACHED_PAGES];
    struct cached_object object[CACHED_OBJECTS];
};

static struct attach_unwinder *current;
static unw_accessors_t accessors;

static const uint8_t *page_of(struct attach_unwinder *u, uintptr_t addr)
{
    uintptr_t base = addr & ~(uintptr_t)(PAGE - 1);
    struct cached_page *last = &u->pages[u->last];
    if (last->valid && last->addr == base)
        return last->data; /* most reads follow the one before */
    for (unsigned i = 0; i < CACHED_PAGES; i++)
        if (u->pages[i].valid && u->pages[i].addr == base) {
            u->last = i;
            return u->pages[i].data;
        }
    u->last = u->next++ % CACHED_PAGES;
    struct cached_page *p = &u->pages[u->last];
    struct iovec local = {p->data, PAGE}, remote = {(void *)base, PAGE};
    p->valid = process_vm_readv(u->pid, &local, 1, &remote, 1, 0) == PAGE;
    p->addr = base;
    return p->valid ? p->data : NULL;
}

/* `n` bytes of the target at `addr`, through the page cache. */
static bool read_target(struct attach_unwinder *u, uintptr_t addr, void *out, size_t n)
{
    for (size_t done = 0; done < n;) {
        const uint8_t *page = page_of(u, addr + done);
        if (!page)
            return false;
        size_t off = (addr + done) % PAGE, len = PAGE - off;
        if (len > n - done)
            len = n - done;
        memcpy((uint8_t *)out + done, page + off, len);
        done += len;
    }
    return true;
}

static int cached_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    (void)arg;
    if (write || !current || !read_target(current, addr, val, sizeof *val))
        return -UNW_EINVAL;
    return 0;
}

/* Where the .eh_frame_hdr of the object loaded at `base` lies, from its
 * ELF and program headers in the target's memory; 0 if nowhere. */
static uintptr_t eh_frame_hdr_of(struct attach_unwinder *u, uintptr_t base)
{
    Elf64_Ehdr eh;
    if (!read_target(u, base, &eh, sizeof eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_phnum > 64)
        return 0;
    uintptr_t bias = 0, hdr = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        if (!read_target(u, base + eh.e_phoff + (uintptr_t)i * sizeof ph, &ph, sizeof ph))
            return 0;
        if (ph.p_type == PT_LOAD && ph.p_offset == 0 && eh.e_type == ET_DYN)
            bias = base - (uintptr_t)ph.p_vaddr;
        else if (ph.p_type == PT_GNU_EH_FRAME)
            hdr = (uintptr_t)ph.p_vaddr;
    }
    return hdr ? bias + hdr : 0;
}

/* The unwind table of the object containing `ip`, found once. */
static struct cached_object *object_of(struct attach_unwinder *u, uintptr_t ip)
{
    for (unsigned i = 0; i < u->objects; i++)
        if (ip >= u->object[i].lo && ip < u->object[i].hi)
            return &u->object[i];
    const struct attach_mapping *m = attach_maps_find(u->maps, ip);
    struct attach_object obj;
    if (!m || u->objects == CACHED_OBJECTS)
        return NULL;
    if (m->path[0] == '/')
        attach_maps_object_at(u->maps, m->path, &obj);
    else
        obj = (struct attach_object){.path = m->path, .lo = m->lo, .hi = m->hi, .base = m->lo}; /* [vdso] */
    struct cached_object *o = &u->object[u->objects++];
    *o = (struct cached_object){.lo = obj.lo, .hi = obj.hi};
    uintptr_t hdr = obj.base ? eh_frame_hdr_of(u, obj.base) : 0;
    uint8_t head[4];
    uint32_t fde_count;
    /* version 1, eh_frame_ptr as a 4-byte value, fde_count as udata4, the
     * table as datarel sdata4 pairs: what every toolchain writes. */
    if (!hdr || !read_target(u, hdr, head, sizeof head) || !read_target(u, hdr + 8, &fde_count, sizeof fde_count) ||
        head[0] != 1 || (head[1] & 0x0f) != DW_EH_PE_sdata4 || head[2] != DW_EH_PE_udata4 ||
        head[3] != (DW_EH_PE_datarel | DW_EH_PE_sdata4))
        return o;
    o->usable = true;
    o->di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    o->di.start_ip = obj.lo;
    o->di.end_ip = obj.hi;
    o->di.u.rti.segbase = hdr;
    o->di.u.rti.table_data = hdr + 12;
    o->di.u.rti.table_len = (unw_word_t)fde_count * 8 / sizeof(unw_word_t);
    return o;
}

static int cached_find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need_unwind_info,
                                 void *arg)
{
    struct cached_object *o = current ? object_of(current, (uintptr_t)ip) : NULL;
    if (!o || !o->usable)
        return _UPT_find_proc_info(as, ip, pi, need_unwind_info, arg);
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &o->di, pi, need_unwind_info, arg);
}

struct attach_unwinder *attach_unwind_new(pid_t pid, const struct attach_maps *maps)
{
    accessors = _UPT_accessors;
    accessors.access_mem = cached_access_mem;
    accessors.find_proc_info = cached_find_proc_info;
    struct attach_unwinder *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->pid = pid;
    u->maps = maps;
    u->as = unw_create_addr_space(&accessors, 0);
    if (!u->as) {
        free(u);
        return NULL;
    }
    unw_set_caching_policy(u->as, UNW_CACHE_GLOBAL);
    current = u;
    return u;
}

void attach_unwind_free(struct attach_unwinder *u)
{
    if (!u)
        return;
    if (current == u)
        current = NULL;
    unw_destroy_addr_space(u->as);
    free(u);
}

enum attach_unwind_end attach_unwind_frames(struct attach_unwinder *u, pid_t tid, unsigned max,
                                            bool (*frame)(void *ctx, uintptr_t addr), void *ctx)
{
    current = u;
    void *upt = _UPT_create(tid);
    if (!upt)
        return ATTACH_UNWIND_BROKEN;
    unw_cursor_t c;
    enum attach_unwind_end end = ATTACH_UNWIND_BROKEN;
    if (unw_init_remote(&c, u->as, upt) >= 0) {
        bool exact = true; /* the innermost frame, and one interrupted by a signal, hold exact addresses */
        for (unsigned frames = 0;; frames++) {
            if (frames == max) {
                end = ATTACH_UNWIND_DEEP;
                break;
            }
            unw_word_t ip = 0;
            unw_get_reg(&c, UNW_REG_IP, &ip);
            if (!frame(ctx, exact ? (uintptr_t)ip : (uintptr_t)ip - 1)) {
                end = ATTACH_UNWIND_STOPPED;
                break;
            }
            exact = unw_is_signal_frame(&c) > 0;
            int step = unw_step(&c);
            if (step <= 0) {
                end = step == 0 ? ATTACH_UNWIND_DONE : ATTACH_UNWIND_BROKEN;
                break;
            }
        }
    }
    _UPT_destroy(upt);
    return end;
}
