/*
 * stack_symbols.c — frame names from ELF files (read by stack_elf.c). See
 * stack_symbols.h.
 */
#include "stack_symbols.h"

#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"
#include "stack_elf.h"

struct stack_symbols {
    struct elf_file *files;
};

static bool start_after(const void *ctx, size_t i)
{
    const struct addr_key *c = ctx;
    return ((const uint64_t *)c->v)[i] > c->key;
}

static bool sym_after(const void *ctx, size_t i)
{
    const struct addr_key *c = ctx;
    return ((const struct sym *)c->v)[i].start > c->key;
}

static struct elf_file *file_for(struct stack_symbols *s, const char *path)
{
    for (struct elf_file *f = s->files; f; f = f->next)
        if (strcmp(f->path, path) == 0)
            return f;
    struct elf_file *f = calloc(1, sizeof *f);
    if (!f || !(f->path = strdup(path))) {
        free(f);
        return NULL;
    }
    f->next = s->files;
    s->files = f;
    if (path[0] == '/')
        stack_elf_load(f);
    return f;
}

/* ---- naming an address ---- */

/* The start of the function holding vaddr, from .eh_frame_hdr (0: unknown). */
static uint64_t function_start(const struct elf_file *f, uint64_t vaddr)
{
    size_t lo = search_first(f->nstarts, start_after, &(struct addr_key){f->starts, vaddr});
    return lo ? f->starts[lo - 1] : 0;
}

/* Name vaddr into buf; returns the symbol's start, or 0 if none fits. */
static uint64_t name_of(const struct elf_file *f, uint64_t vaddr, char *buf, size_t cap)
{
    /* the names given to the last start at or before vaddr */
    size_t lo = search_first(f->nsyms, sym_after, &(struct addr_key){f->syms, vaddr});
    if (lo == 0)
        return 0;
    uint64_t start = f->syms[lo - 1].start;
    const char *c_name = NULL, *py_name = NULL;
    bool sized = false, inside = false;
    for (size_t i = lo; i-- > 0 && f->syms[i].start == start;) {
        const struct sym *s = &f->syms[i];
        if (s->python) {
            py_name = s->name;
        } else if (s->size) {
            sized = true;
            if (vaddr < s->start + s->size && !inside) {
                inside = true;
                c_name = s->name;
            }
        } else if (!c_name) {
            c_name = s->name;
        }
    }
    if (!inside) {
        /* past the end of a sized function, or another function (known from
         * .eh_frame) starts between the name and vaddr: not this name */
        uint64_t fn = function_start(f, vaddr);
        if (sized || (fn && fn > start))
            return 0;
    }
    if (c_name && py_name)
        snprintf(buf, cap, "%s (%s)", c_name, py_name);
    else if (c_name || py_name)
        snprintf(buf, cap, "%s", c_name ? c_name : py_name);
    else
        return 0;
    return start;
}

struct stack_symbols *stack_symbols_new(void)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return NULL;
    return calloc(1, sizeof(struct stack_symbols));
}

void stack_symbols_free(struct stack_symbols *s)
{
    if (!s)
        return;
    for (struct elf_file *f = s->files, *next; f; f = next) {
        next = f->next;
        for (size_t i = 0; i < f->nsyms; i++)
            free(f->syms[i].name);
        free(f->syms);
        free(f->starts);
        free(f->build_id);
        free(f->path);
        free(f);
    }
    free(s);
}

/* Is `symbol` `name`, or a compiler clone of it (name.lto_priv.0 ...)? */
static bool is_function(const char *symbol, const char *name)
{
    size_t n = strlen(name);
    return symbol && strncmp(symbol, name, n) == 0 && (symbol[n] == '\0' || symbol[n] == '.');
}

/* CPython calls _Py_HandlePending (the GIL drop on request among it) only
 * from the eval loop's eval-breaker check, so its caller is the eval loop by
 * definition. On builds where that frame has no name of its own (3.14+
 * stripped: the exported _PyEval_EvalFrameDefault is a small wrapper around
 * an unexported body), it is given the eval loop's name, as 3.13 and
 * unstripped builds show it. */
static int name_eval_loop(struct trace_process *p, struct trace_stack *st, struct elf_file **files)
{
    for (uint32_t k = 0; k + 1 < st->depth; k++) {
        struct trace_frame *callee = &st->frames[k], *caller = &st->frames[k + 1];
        if (!is_function(callee->symbol, "_Py_HandlePending") || caller->symbol || caller->module < 0 ||
            (size_t)caller->module >= p->module_count)
            continue;
        if (!(caller->symbol = strdup(STACK_SYMBOLS_EVAL_LOOP)))
            return -1;
        uint64_t vaddr = caller->address - p->modules[caller->module].bias;
        uint64_t start = files[caller->module] ? function_start(files[caller->module], vaddr - 1) : 0;
        caller->symbol_offset = start ? vaddr - start : 0;
    }
    return 0;
}

int stack_symbols_apply(struct stack_symbols *s, struct trace_process *p)
{
    if (!s)
        return 0;
    struct elf_file **files = calloc(p->module_count ? p->module_count : 1, sizeof *files);
    if (!files)
        return -1;
    for (size_t i = 0; i < p->module_count; i++) {
        const struct trace_module *m = &p->modules[i];
        if (!m->path)
            continue;
        struct elf_file *f = file_for(s, m->path);
        if (!f) {
            free(files);
            return -1;
        }
        /* a file replaced since the trace was taken is not trusted */
        if (f->ok && !(m->build_id && f->build_id && strcmp(m->build_id, f->build_id) != 0))
            files[i] = f;
    }
    int rc = 0;
    for (size_t i = 0; i < p->stack_count && rc == 0; i++) {
        struct trace_stack *st = &p->stacks[i];
        for (uint32_t k = 0; k < st->depth; k++) {
            struct trace_frame *fr = &st->frames[k];
            if (fr->symbol || fr->module < 0 || (size_t)fr->module >= p->module_count || !files[fr->module])
                continue;
            uint64_t vaddr = fr->address - p->modules[fr->module].bias;
            uint64_t lookup = k ? vaddr - 1 : vaddr; /* a return address belongs to its call */
            char name[512];
            uint64_t start = name_of(files[fr->module], lookup, name, sizeof name);
            if (!start)
                continue;
            if (!(fr->symbol = strdup(name))) {
                rc = -1;
                break;
            }
            fr->symbol_offset = vaddr - start;
        }
        if (rc == 0)
            rc = name_eval_loop(p, st, files);
    }
    free(files);
    return rc;
}
