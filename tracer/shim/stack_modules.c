/*
 * stack_modules.c — the loaded objects. See stack_modules.h.
 */
#include "stack_modules.h"

#include <elf.h>
#include <link.h>
#include <string.h>
#include <unistd.h>

#include "ring.h"
#include "ring_writer.h"
#include "spin_lock.h"

struct module {
    uintptr_t start, end; /* all PT_LOAD segments */
    uintptr_t bias;
    uintptr_t eh_frame_hdr;
};

static struct module modules[RING_MODULES];
static unsigned module_count; /* published with release order */
static int busy;

bool stack_modules_find(uintptr_t pc, uintptr_t *start, uintptr_t *end, uintptr_t *bias, uintptr_t *eh_frame_hdr)
{
    unsigned n = __atomic_load_n(&module_count, __ATOMIC_ACQUIRE);
    for (unsigned i = 0; i < n; i++)
        if (pc >= modules[i].start && pc < modules[i].end) {
            if (!modules[i].eh_frame_hdr)
                return false;
            *start = modules[i].start;
            *end = modules[i].end;
            *bias = modules[i].bias;
            *eh_frame_hdr = modules[i].eh_frame_hdr;
            return true;
        }
    return false;
}

/* The GNU build id among an object's notes. */
static uint32_t build_id(const struct dl_phdr_info *info, const uint8_t **id)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const uint8_t *p = (const uint8_t *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (end - p >= (ptrdiff_t)sizeof(ElfW(Nhdr))) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            size_t name = (nh->n_namesz + 3u) & ~3u, desc = (nh->n_descsz + 3u) & ~3u;
            const uint8_t *data = p + sizeof *nh;
            if ((size_t)(end - data) < name + desc)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(data, "GNU", 4) == 0) {
                *id = data + name;
                return nh->n_descsz;
            }
            p = data + name + desc;
        }
    }
    return 0;
}

static int add_object(struct dl_phdr_info *info, size_t size, void *ctx)
{
    (void)size;
    (void)ctx;
    uintptr_t start = UINTPTR_MAX, end = 0, xlo = UINTPTR_MAX, xhi = 0, eh = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t a = info->dlpi_addr + ph->p_vaddr, b = a + ph->p_memsz;
        if (ph->p_type == PT_LOAD) {
            if (a < start)
                start = a;
            if (b > end)
                end = b;
            if (ph->p_flags & PF_X) {
                if (a < xlo)
                    xlo = a;
                if (b > xhi)
                    xhi = b;
            }
        } else if (ph->p_type == PT_GNU_EH_FRAME) {
            eh = a;
        }
    }
    if (start >= end || xlo >= xhi)
        return 0;
    unsigned n = module_count;
    for (unsigned i = 0; i < n; i++)
        if (modules[i].start == start && modules[i].bias == info->dlpi_addr)
            return 0; /* known */
    if (n == RING_MODULES)
        return 1;
    modules[n] = (struct module){.start = start, .end = end, .bias = info->dlpi_addr, .eh_frame_hdr = eh};
    __atomic_store_n(&module_count, n + 1, __ATOMIC_RELEASE);

    char exe[4096];
    const char *path = info->dlpi_name;
    if (!path || !*path) {
        ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[len > 0 ? len : 0] = '\0';
        path = exe;
    }
    const uint8_t *id = NULL;
    uint32_t id_len = build_id(info, &id);
    ring_writer_add_module(info->dlpi_addr, xlo, xhi, path, id, id_len);
    return 0;
}

void stack_modules_refresh(void)
{
    spin_lock(&busy);
    dl_iterate_phdr(add_object, NULL);
    spin_unlock(&busy);
}

void stack_modules_after_fork_child(void)
{
    spin_lock_reset(&busy);
}
