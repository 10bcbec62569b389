/*
 * attach_unwind.c — unwinding a stopped thread's stack with page-cached
 * reads. See attach_unwind.h.
 *
 * libunwind hands every accessor the argument given to unw_init_remote, and
 * its ptrace helpers pass their own state on to the memory accessor, so the
 * cache cannot travel in that argument: it is the one current unwinder.
 */
#include "attach_unwind.h"

#include <libunwind-ptrace.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#define PAGE 4096u
#define CACHED_PAGES 64u

struct cached_page {
    uintptr_t addr;
    bool valid;
    uint8_t data[PAGE];
};

struct attach_unwinder {
    pid_t pid;
    unw_addr_space_t as;
    unsigned next;
    struct cached_page pages[CACHED_PAGES];
};

static struct attach_unwinder *current;
static unw_accessors_t accessors;

static const uint8_t *page_of(struct attach_unwinder *u, uintptr_t addr)
{
    uintptr_t base = addr & ~(uintptr_t)(PAGE - 1);
    for (unsigned i = 0; i < CACHED_PAGES; i++)
        if (u->pages[i].valid && u->pages[i].addr == base)
            return u->pages[i].data;
    struct cached_page *p = &u->pages[u->next++ % CACHED_PAGES];
    struct iovec local = {p->data, PAGE}, remote = {(void *)base, PAGE};
    p->valid = process_vm_readv(u->pid, &local, 1, &remote, 1, 0) == PAGE;
    p->addr = base;
    return p->valid ? p->data : NULL;
}

static int cached_access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *val, int write, void *arg)
{
    (void)as;
    (void)arg;
    if (write || !current)
        return -UNW_EINVAL;
    uint8_t bytes[sizeof *val];
    for (size_t done = 0; done < sizeof *val;) {
        const uint8_t *page = page_of(current, addr + done);
        if (!page)
            return -UNW_EINVAL;
        size_t off = (addr + done) % PAGE, n = PAGE - off;
        if (n > sizeof *val - done)
            n = sizeof *val - done;
        memcpy(bytes + done, page + off, n);
        done += n;
    }
    memcpy(val, bytes, sizeof *val);
    return 0;
}

struct attach_unwinder *attach_unwind_new(pid_t pid)
{
    accessors = _UPT_accessors;
    accessors.access_mem = cached_access_mem;
    struct attach_unwinder *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->pid = pid;
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
