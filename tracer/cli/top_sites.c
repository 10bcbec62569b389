/*
 * top_sites.c — `giltrace top`'s release and wait sites. See top_sites.h.
 */
#include "top_sites.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stack_symbols.h"
#include "report_py.h"
#include "report_stacks.h"

struct entry {
    uint64_t key; /* 0: free */
    uint64_t count, forced;
    int64_t ns;
};

struct top_sites {
    struct entry *slots; /* open addressing, a power of two */
    size_t cap, used;
    struct stack_symbols *symbols;
    struct top_site *labelled;
    size_t cap_labelled;
};

struct top_sites *top_sites_new(void)
{
    struct top_sites *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->cap = 256;
    s->slots = calloc(s->cap, sizeof *s->slots);
    if (!s->slots) {
        free(s);
        return NULL;
    }
    return s;
}

void top_sites_free(struct top_sites *s)
{
    if (!s)
        return;
    if (s->symbols)
        stack_symbols_free(s->symbols);
    free(s->slots);
    free(s->labelled);
    free(s);
}

static struct entry *find(struct entry *slots, size_t cap, uint64_t key)
{
    size_t i = (size_t)(key * UINT64_C(0x9e3779b97f4a7c15) >> 20) & (cap - 1);
    while (slots[i].key && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

int top_sites_add(struct top_sites *s, uint64_t key, uint64_t count, uint64_t forced, int64_t ns)
{
    if (2 * (s->used + 1) > s->cap) {
        size_t cap = s->cap * 2;
        struct entry *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return -1;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].key)
                *find(slots, cap, s->slots[i].key) = s->slots[i];
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    struct entry *e = find(s->slots, s->cap, key);
    if (!e->key) {
        e->key = key;
        s->used++;
    }
    e->count += count;
    e->forced += forced;
    e->ns += ns;
    return 0;
}

/* The label of site `key`, into buf. */
static void label(struct ring_follow *f, uint64_t key, char *buf, size_t cap)
{
    const struct trace_process *p = ring_follow_process(f);
    if (key >> 32) {
        const struct trace_py_stack *st = ring_follow_py_stack(f, (uint32_t)key);
        for (uint32_t k = 0; st && k < st->depth; k++)
            if (st->frames[k].code) {
                report_py_site_text(p, st->frames[k].code, st->frames[k].line, false, buf, cap);
                return;
            }
        snprintf(buf, cap, "[no Python frame]");
        return;
    }
    const struct trace_stack *st = ring_follow_stack(f, (uint32_t)key);
    int k = st ? report_stack_label_frame(st) : -1;
    if (k < 0 && st && st->depth)
        k = 0;
    if (k < 0)
        snprintf(buf, cap, "[stack not recorded]");
    else
        report_frame_text(p, &st->frames[k], buf, cap);
}

static int by_label(const void *a, const void *b)
{
    return strcmp(((const struct top_site *)a)->label, ((const struct top_site *)b)->label);
}

static int by_ns(const void *a, const void *b)
{
    const struct top_site *x = a, *y = b;
    return x->ns != y->ns ? (x->ns < y->ns ? 1 : -1) : x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static int by_count(const void *a, const void *b)
{
    const struct top_site *x = a, *y = b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

size_t top_sites_top(struct top_sites *s, struct ring_follow *f, bool ns_first, struct top_site *out, size_t max)
{
    if (!s->used)
        return 0;
    struct trace_process *p = ring_follow_process(f);
    if (p->stack_count) {
        if (!s->symbols)
            s->symbols = stack_symbols_new();
        if (s->symbols)
            stack_symbols_apply(s->symbols, p); /* unnamed frames keep their addresses */
    }
    if (s->used > s->cap_labelled) {
        struct top_site *more = realloc(s->labelled, s->used * sizeof *more);
        if (!more)
            return 0;
        s->labelled = more;
        s->cap_labelled = s->used;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->cap; i++) {
        const struct entry *e = &s->slots[i];
        if (!e->key)
            continue;
        struct top_site *t = &s->labelled[n++];
        label(f, e->key, t->label, sizeof t->label);
        t->count = e->count;
        t->forced = e->forced;
        t->ns = e->ns;
    }
    qsort(s->labelled, n, sizeof *s->labelled, by_label);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && strcmp(s->labelled[m - 1].label, s->labelled[i].label) == 0) {
            s->labelled[m - 1].count += s->labelled[i].count;
            s->labelled[m - 1].forced += s->labelled[i].forced;
            s->labelled[m - 1].ns += s->labelled[i].ns;
        } else {
            s->labelled[m++] = s->labelled[i];
        }
    }
    qsort(s->labelled, m, sizeof *s->labelled, ns_first ? by_ns : by_count);
    if (m > max)
        m = max;
    memcpy(out, s->labelled, m * sizeof *out);
    return m;
}
