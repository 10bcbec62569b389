/*
 * ring_aux_read.c — decoding a ring's aux area. See ring_aux_read.h.
 *
 * Stacks: every complete slot of the dedup table is a stack. Two threads
 * that met the same new stack at once may each have stored it (the table
 * never waits); such copies are merged here, so a stack has one id.
 * Python stacks share the table (their depth has RING_STACK_PYTHON, which
 * the native reading skips as out of range); their copies are not merged
 * (a report groups frames by line anyway).
 */
#include "ring_aux_read.h"

#include <stdlib.h>
#include <string.h>

#include "py_lines.h"

static int in_file(uint64_t offset, uint64_t len, size_t size)
{
    return offset <= size && len <= size - offset;
}

/* `count` elements of `elem` bytes at `offset`, inside the area and aligned
 * for their type (the area itself starts page-aligned). */
static int array_in_file(uint64_t offset, uint64_t count, size_t elem, size_t align, size_t size)
{
    return offset % align == 0 && count <= size / elem && in_file(offset, count * elem, size);
}

static uint32_t load32(const uint32_t *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static int read_names(const struct ring_aux *a, const char *aux, uint64_t aux_size, struct ring_aux_data *out)
{
    uint32_t n = load32(&a->names_count);
    if (n > a->names_cap)
        n = a->names_cap;
    if (!array_in_file(a->names_offset, n, sizeof(struct ring_thread_name), _Alignof(struct ring_thread_name), aux_size))
        return 0;
    out->names = calloc(n ? n : 1, sizeof *out->names);
    if (!out->names)
        return -1;
    const struct ring_thread_name *v = (const void *)(aux + a->names_offset);
    for (uint32_t i = 0; i < n; i++) {
        if (load32(&v[i].commit) != ring_aux_commit(i))
            continue;
        struct ring_thread_name *t = &out->names[out->nnames++];
        *t = v[i];
        t->name[sizeof t->name - 1] = '\0';
    }
    return 0;
}

static char *hex(const uint8_t *b, uint32_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s)
        return NULL;
    for (uint32_t i = 0; i < n; i++) {
        s[2 * i] = "0123456789abcdef"[b[i] >> 4];
        s[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
    }
    s[2 * n] = '\0';
    return s;
}

static int read_modules(const struct ring_aux *a, const char *aux, uint64_t aux_size, struct trace_process *p)
{
    uint32_t n = load32(&a->modules_count);
    if (n > a->modules_cap)
        n = a->modules_cap;
    if (!array_in_file(a->modules_offset, n, sizeof(struct ring_module), _Alignof(struct ring_module), aux_size) ||
        !in_file(a->strings_offset, a->strings_cap, aux_size))
        return 0;
    p->modules = calloc(n ? n : 1, sizeof *p->modules);
    if (!p->modules)
        return -1;
    const struct ring_module *v = (const void *)(aux + a->modules_offset);
    const char *strings = aux + a->strings_offset;
    for (uint32_t i = 0; i < n; i++) {
        if (load32(&v[i].commit) != ring_aux_commit(i) || v[i].path_offset >= a->strings_cap)
            continue;
        struct trace_module *m = &p->modules[p->module_count];
        m->path = strndup(strings + v[i].path_offset, a->strings_cap - v[i].path_offset);
        m->bias = v[i].bias;
        m->lo = v[i].lo;
        m->hi = v[i].hi;
        uint32_t bl = v[i].build_id_len <= sizeof v[i].build_id ? v[i].build_id_len : 0;
        m->build_id = bl ? hex(v[i].build_id, bl) : NULL;
        if (!m->path || (bl && !m->build_id))
            return -1;
        p->module_count++;
    }
    return 0;
}

static int32_t module_of(const struct trace_process *p, uint64_t address)
{
    for (size_t i = 0; i < p->module_count; i++)
        if (address >= p->modules[i].lo && address <= p->modules[i].hi)
            return (int32_t)i;
    return -1;
}

/* Hash of a stack's words, to merge copies. */
static uint64_t words_hash(const uint64_t *w, uint32_t n)
{
    uint64_t h = 1469598103934665603ull ^ n;
    for (uint32_t i = 0; i < n; i++)
        h = (h ^ w[i]) * 1099511628211ull;
    return h;
}

struct seen {
    uint64_t hash;
    uint32_t slot; /* slot index + 1 of the first copy; 0: empty */
};

static int read_stacks(const struct ring_aux *a, const char *aux, uint64_t aux_size, struct trace_process *p,
                       struct ring_aux_data *out)
{
    uint32_t cap = a->slots_cap;
    if (cap == 0 || (cap & (cap - 1)) || !array_in_file(a->slots_offset, cap, sizeof(struct ring_stack_slot), _Alignof(struct ring_stack_slot), aux_size) ||
        !array_in_file(a->pool_offset, a->pool_cap, sizeof(uint64_t), _Alignof(uint64_t), aux_size))
        return 0;
    const struct ring_stack_slot *slots = (const void *)(aux + a->slots_offset);
    const uint64_t *pool = (const void *)(aux + a->pool_offset);
    out->stack_of_slot = calloc((size_t)cap + 1, sizeof *out->stack_of_slot);
    struct seen *seen = calloc((size_t)cap * 2, sizeof *seen);
    p->stacks = calloc(cap, sizeof *p->stacks);
    if (!out->stack_of_slot || !seen || !p->stacks) {
        free(seen);
        return -1;
    }
    out->nslots = cap;
    size_t mask = (size_t)cap * 2 - 1;
    for (uint32_t i = 0; i < cap; i++) {
        uint32_t off = load32(&slots[i].frames);
        if (off == 0 || off == RING_STACK_DEAD)
            continue;
        uint32_t depth = slots[i].depth & ~RING_STACK_TRUNCATED;
        if (depth == 0 || depth > RING_STACK_MAX_DEPTH || off >= a->pool_cap || depth > a->pool_cap - off)
            continue;
        const uint64_t *w = pool + off;
        uint64_t h = words_hash(w, depth) ^ (slots[i].depth & RING_STACK_TRUNCATED);
        size_t k = h & mask;
        uint32_t same = 0;
        for (; seen[k].slot; k = (k + 1) & mask) {
            const struct ring_stack_slot *o = &slots[seen[k].slot - 1];
            if (seen[k].hash == h && o->depth == slots[i].depth &&
                memcmp(pool + o->frames, w, (size_t)depth * 8) == 0) {
                same = seen[k].slot;
                break;
            }
        }
        if (same) {
            out->stack_of_slot[i + 1] = out->stack_of_slot[same];
            continue;
        }
        seen[k] = (struct seen){h, i + 1};
        struct trace_stack *s = &p->stacks[p->stack_count];
        s->frames = calloc(depth, sizeof *s->frames);
        if (!s->frames) {
            free(seen);
            return -1;
        }
        s->depth = depth;
        s->truncated = (slots[i].depth & RING_STACK_TRUNCATED) != 0;
        for (uint32_t f = 0; f < depth; f++) {
            s->frames[f].address = w[f];
            s->frames[f].module = module_of(p, f ? w[f] - 1 : w[f]);
        }
        out->stack_of_slot[i + 1] = (uint32_t)++p->stack_count;
    }
    free(seen);
    return 0;
}

/* The complete Python code objects; code_of_slot[raw id] = 1-based index
 * into p->py_codes, 0 when that entry is not usable. */
static int read_py_codes(const struct ring_aux *a, const char *aux, struct trace_process *p, uint32_t *code_of_slot)
{
    const struct ring_py_code *v = (const void *)(aux + a->py_codes_offset);
    const char *data = aux + a->py_data_offset;
    p->py_codes = calloc(a->py_codes_cap, sizeof *p->py_codes);
    if (!p->py_codes)
        return -1;
    for (uint32_t i = 0; i < a->py_codes_cap; i++) {
        uint32_t at = load32(&v[i].data);
        uint32_t len = v[i].data_len;
        size_t nq = v[i].qualname_len, nn = v[i].name_len, nf = v[i].filename_len;
        if (at == 0 || at == RING_STACK_DEAD || at > a->py_data_cap || len > a->py_data_cap - at ||
            nq + nn + nf + 3 > len)
            continue;
        const char *d = data + at;
        if (d[nq] || d[nq + 1 + nn] || d[nq + nn + 2 + nf])
            continue;
        struct trace_py_code *c = &p->py_codes[p->py_code_count];
        c->qualname = strdup(d);
        c->name = strdup(d + nq + 1);
        c->filename = strdup(d + nq + nn + 2);
        c->first_line = v[i].first_line;
        if (!c->qualname || !c->name || !c->filename) {
            p->py_code_count++; /* freed with the process */
            return -1;
        }
        code_of_slot[i + 1] = (uint32_t)++p->py_code_count;
    }
    return 0;
}

/* The line table of raw code id `raw`, or NULL. */
static const uint8_t *py_line_table(const struct ring_aux *a, const char *aux, uint32_t raw, size_t *len)
{
    const struct ring_py_code *c = (const struct ring_py_code *)(aux + a->py_codes_offset) + (raw - 1);
    size_t text = (size_t)c->qualname_len + c->name_len + c->filename_len + 3;
    *len = c->data_len - text;
    return (const uint8_t *)aux + a->py_data_offset + c->data + text;
}

static int read_py_stacks(const struct ring_aux *a, const char *aux, struct trace_process *p,
                          const uint32_t *code_of_slot, struct ring_aux_data *out)
{
    const struct ring_stack_slot *slots = (const void *)(aux + a->slots_offset);
    const uint64_t *pool = (const void *)(aux + a->pool_offset);
    uint32_t cap = a->slots_cap;
    out->py_stack_of_slot = calloc((size_t)cap + 1, sizeof *out->py_stack_of_slot);
    p->py_stacks = calloc(cap, sizeof *p->py_stacks);
    if (!out->py_stack_of_slot || !p->py_stacks)
        return -1;
    out->py_nslots = cap;
    for (uint32_t i = 0; i < cap; i++) {
        uint32_t off = load32(&slots[i].frames);
        uint32_t depth = slots[i].depth & ~(RING_STACK_TRUNCATED | RING_STACK_PYTHON);
        if (off == 0 || off == RING_STACK_DEAD || !(slots[i].depth & RING_STACK_PYTHON) || depth == 0 ||
            depth > RING_STACK_MAX_DEPTH || off >= a->pool_cap || depth > a->pool_cap - off)
            continue;
        struct trace_py_stack *s = &p->py_stacks[p->py_stack_count];
        s->frames = calloc(depth, sizeof *s->frames);
        if (!s->frames)
            return -1;
        s->depth = depth;
        s->truncated = (slots[i].depth & RING_STACK_TRUNCATED) != 0;
        for (uint32_t f = 0; f < depth; f++) {
            uint64_t w = pool[off + f];
            uint32_t raw = (uint32_t)(w >> 32);
            struct trace_py_frame *fr = &s->frames[f];
            fr->offset = (uint32_t)w;
            fr->code = raw && raw <= a->py_codes_cap ? code_of_slot[raw] : 0;
            fr->line = -1;
            if (fr->code) {
                size_t len;
                const uint8_t *t = py_line_table(a, aux, raw, &len);
                fr->line = py_line_at(p->python_hexversion, p->py_codes[fr->code - 1].first_line, t, len, fr->offset);
            }
        }
        out->py_stack_of_slot[i + 1] = (uint32_t)++p->py_stack_count;
    }
    return 0;
}

/* The Python code objects and stacks, when the ring has room for them. */
static int read_py(const struct ring_aux *a, const char *aux, uint64_t aux_size, struct trace_process *p,
                   struct ring_aux_data *out)
{
    uint32_t cap = a->py_codes_cap;
    if (!(a->flags & RING_FLAG_PYSTACKS) || cap == 0 || (cap & (cap - 1)) || a->slots_cap == 0 ||
        (a->slots_cap & (a->slots_cap - 1)) ||
        !array_in_file(a->py_codes_offset, cap, sizeof(struct ring_py_code), _Alignof(struct ring_py_code), aux_size) ||
        !in_file(a->py_data_offset, a->py_data_cap, aux_size) ||
        !array_in_file(a->slots_offset, a->slots_cap, sizeof(struct ring_stack_slot), _Alignof(struct ring_stack_slot), aux_size) ||
        !array_in_file(a->pool_offset, a->pool_cap, sizeof(uint64_t), _Alignof(uint64_t), aux_size))
        return 0;
    p->py_stacks_recorded = true;
    p->lost_py_stacks = load32(&a->lost_py_stacks);
    uint32_t *code_of_slot = calloc((size_t)cap + 1, sizeof *code_of_slot);
    int rc = code_of_slot ? read_py_codes(a, aux, p, code_of_slot) : -1;
    if (rc == 0)
        rc = read_py_stacks(a, aux, p, code_of_slot, out);
    free(code_of_slot);
    return rc;
}

int ring_aux_read(const struct ring_header *h, const char *base, size_t size, struct trace_process *p,
                  struct ring_aux_data *out)
{
    memset(out, 0, sizeof *out);
    p->stacks_recorded = (h->flags & RING_FLAG_STACKS) != 0;
    if (!h->aux_size || !in_file(h->aux_offset, h->aux_size, size) || h->aux_size < sizeof(struct ring_aux))
        return 0; /* no aux area, or the file was cut short: events only */
    const char *aux = base + h->aux_offset;
    const struct ring_aux *a = (const void *)aux;
    if (a->size != sizeof *a)
        return 0;
    if (read_names(a, aux, h->aux_size, out))
        return -1;
    if (!(a->flags & RING_FLAG_STACKS))
        return 0;
    p->lost_stacks = __atomic_load_n(&a->lost_stacks, __ATOMIC_RELAXED);
    if (read_modules(a, aux, h->aux_size, p) || read_stacks(a, aux, h->aux_size, p, out) ||
        read_py(a, aux, h->aux_size, p, out))
        return -1;
    /* The shim lists the loaded modules as soon as native stacks are on; a
     * ring of Python stacks alone (--py-stacks) has the tables but none. */
    if (p->module_count == 0 && p->stack_count == 0 && p->py_stacks_recorded)
        p->stacks_recorded = false;
    return 0;
}

const char *ring_aux_name(const struct ring_aux_data *aux, uint32_t tid)
{
    for (size_t i = aux->nnames; i-- > 0;)
        if (aux->names[i].tid == tid && aux->names[i].name[0])
            return aux->names[i].name;
    return NULL;
}

void ring_aux_data_free(struct ring_aux_data *aux)
{
    free(aux->names);
    free(aux->stack_of_slot);
    free(aux->py_stack_of_slot);
    memset(aux, 0, sizeof *aux);
}
