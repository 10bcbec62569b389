/*
 * stack_cfi.c — DWARF CFI to compact unwind rules. See stack_cfi.h.
 *
 * The FDE is found by binary search of .eh_frame_hdr's sorted table (as the
 * linker writes it: datarel sdata4 pairs), then the CIE's initial
 * instructions and the FDE's instructions run up to `pc`. Unsupported
 * table encodings and instructions make the lookup fail, never guess.
 */
#include "stack_cfi.h"

#include <string.h>

#include "search.h"

const uint8_t stack_cfi_saved_reg[CFI_SAVED] = {3, 6, 12, 13, 14, 15};

/* DW_EH_PE_* pointer encodings */
enum {
    PE_ABSPTR = 0x00, PE_ULEB128 = 0x01, PE_UDATA2 = 0x02, PE_UDATA4 = 0x03, PE_UDATA8 = 0x04,
    PE_SLEB128 = 0x09, PE_SDATA2 = 0x0a, PE_SDATA4 = 0x0b, PE_SDATA8 = 0x0c,
    PE_PCREL = 0x10, PE_DATAREL = 0x30, PE_OMIT = 0xff
};

/* A bounded reader over the object's unwind segment. */
struct rd {
    uintptr_t p, end;
    uintptr_t lo, hi;
    bool bad;
};

static bool rd_ok(struct rd *r, uintptr_t n)
{
    if (r->bad || r->p < r->lo || r->p > r->end || n > r->end - r->p) {
        r->bad = true;
        return false;
    }
    return true;
}

static uint64_t rd_u(struct rd *r, unsigned n)
{
    if (!rd_ok(r, n))
        return 0;
    uint64_t v = 0;
    memcpy(&v, (const void *)r->p, n);
    r->p += n;
    return v;
}

static int64_t rd_s(struct rd *r, unsigned n)
{
    uint64_t v = rd_u(r, n);
    unsigned shift = 64 - 8 * n;
    return (int64_t)(v << shift) >> shift;
}

static uint64_t rd_uleb(struct rd *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = (uint8_t)rd_u(r, 1);
        if (r->bad)
            return 0;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t rd_sleb(struct rd *r)
{
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = (uint8_t)rd_u(r, 1);
        if (r->bad || shift >= 64) {
            r->bad = true;
            return 0;
        }
        v |= (int64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= -((int64_t)1 << shift);
    return v;
}

/* An encoded pointer; `datarel` is the base for DW_EH_PE_datarel. */
static uintptr_t rd_ptr(struct rd *r, uint8_t enc, uintptr_t datarel)
{
    if (enc == PE_OMIT)
        return 0;
    uintptr_t at = r->p;
    uint64_t v;
    switch (enc & 0x0f) {
    case PE_ABSPTR: v = rd_u(r, 8); break;
    case PE_ULEB128: v = rd_uleb(r); break;
    case PE_UDATA2: v = rd_u(r, 2); break;
    case PE_UDATA4: v = rd_u(r, 4); break;
    case PE_UDATA8: v = rd_u(r, 8); break;
    case PE_SLEB128: v = (uint64_t)rd_sleb(r); break;
    case PE_SDATA2: v = (uint64_t)rd_s(r, 2); break;
    case PE_SDATA4: v = (uint64_t)rd_s(r, 4); break;
    case PE_SDATA8: v = rd_u(r, 8); break;
    default: r->bad = true; return 0;
    }
    switch (enc & 0x70) {
    case 0: break;
    case PE_PCREL: v += at; break;
    case PE_DATAREL: v += datarel; break;
    default: r->bad = true; return 0; /* textrel, funcrel, aligned: not used by GNU tools here */
    }
    if (enc & 0x80)
        r->bad = true; /* indirect: not for code addresses */
    return (uintptr_t)v;
}

/* The FDE covering pc, found in .eh_frame_hdr's table. */
struct table_key {
    const unsigned char *table; /* .eh_frame_hdr's (start, fde) int32 pairs */
    int64_t want;
};

/* Does entry i start after `want` (search_first)? */
static bool entry_after(const void *ctx, size_t i)
{
    const struct table_key *c = ctx;
    int32_t start;
    memcpy(&start, c->table + i * 8, 4);
    return start > c->want;
}

static bool find_fde(const struct stack_cfi_object *o, uintptr_t pc, uintptr_t *fde)
{
    struct rd r = {.p = o->eh_frame_hdr, .end = o->hi, .lo = o->lo, .hi = o->hi};
    uint8_t version = (uint8_t)rd_u(&r, 1);
    uint8_t ptr_enc = (uint8_t)rd_u(&r, 1);
    uint8_t count_enc = (uint8_t)rd_u(&r, 1);
    uint8_t table_enc = (uint8_t)rd_u(&r, 1);
    if (r.bad || version != 1 || table_enc != (PE_DATAREL | PE_SDATA4))
        return false;
    rd_ptr(&r, ptr_enc, o->eh_frame_hdr);
    uint64_t count = rd_ptr(&r, count_enc, o->eh_frame_hdr);
    if (r.bad || count == 0 || !rd_ok(&r, count * 8))
        return false;
    const unsigned char *table = (const unsigned char *)r.p;
    int64_t want = (int64_t)(pc - o->eh_frame_hdr);
    /* the last entry with start <= pc (entry 0 when none is) */
    size_t after = search_first((size_t)count, entry_after, &(struct table_key){table, want});
    uint64_t lo = after ? after - 1 : 0;
    int32_t start, off;
    memcpy(&start, table + lo * 8, 4);
    memcpy(&off, table + lo * 8 + 4, 4);
    if (start > want)
        return false;
    *fde = o->eh_frame_hdr + (uintptr_t)(intptr_t)off;
    return true;
}

/* Register rules while running a CFA program. */
struct row {
    uint8_t cfa_reg;
    bool cfa_bad; /* an expression, or a register we cannot follow */
    int64_t cfa_off;
    int64_t ra_off;
    int8_t ra_state; /* 0 offset, 1 undefined, -1 unsupported */
    int16_t saved[CFI_SAVED];
};

static int saved_index(uint64_t reg)
{
    for (int i = 0; i < CFI_SAVED; i++)
        if (stack_cfi_saved_reg[i] == reg)
            return i;
    return -1;
}

/* A rule other than "saved at CFA + offset": for the return address its
 * state (1 undefined: the outermost frame; -1 unsupported), for a tracked
 * register CFI_SAME or CFI_UNDEF. Other registers are not tracked. */
static void set_rule(struct row *row, uint64_t reg, int8_t ra_state, int16_t saved)
{
    int i = saved_index(reg);
    if (reg == CFI_RA)
        row->ra_state = ra_state;
    else if (i >= 0)
        row->saved[i] = saved;
}

struct cie {
    uint64_t code_align;
    int64_t data_align;
    uint64_t ra_reg;
    uint8_t fde_enc;
    bool has_aug_len;
    bool signal_frame;
    uintptr_t insns, insns_end;
};

static bool parse_cie(const struct stack_cfi_object *o, uintptr_t at, struct cie *c)
{
    struct rd r = {.p = at, .end = o->hi, .lo = o->lo, .hi = o->hi};
    uint64_t len = rd_u(&r, 4);
    if (len == 0xffffffffu)
        len = rd_u(&r, 8);
    uintptr_t body = r.p;
    if (r.bad || len > o->hi - body)
        return false;
    r.end = body + len;
    if (rd_u(&r, 4) != 0) /* CIE id */
        return false;
    uint8_t version = (uint8_t)rd_u(&r, 1);
    if (version != 1 && version != 3 && version != 4)
        return false;
    char aug[8];
    unsigned n = 0;
    for (;;) {
        char ch = (char)rd_u(&r, 1);
        if (r.bad || n == sizeof aug)
            return false;
        aug[n++] = ch;
        if (!ch)
            break;
    }
    if (version == 4) {
        rd_u(&r, 1); /* address size */
        rd_u(&r, 1); /* segment size */
    }
    c->code_align = rd_uleb(&r);
    c->data_align = rd_sleb(&r);
    c->ra_reg = version == 1 ? rd_u(&r, 1) : rd_uleb(&r);
    c->fde_enc = PE_ABSPTR;
    c->has_aug_len = false;
    c->signal_frame = false;
    uintptr_t aug_end = 0;
    for (unsigned i = 0; aug[i]; i++) {
        switch (aug[i]) {
        case 'z': {
            if (i != 0)
                return false;
            uint64_t al = rd_uleb(&r);
            if (r.bad || al > r.end - r.p)
                return false;
            aug_end = r.p + al;
            c->has_aug_len = true;
            break;
        }
        case 'R':
            c->fde_enc = (uint8_t)rd_u(&r, 1);
            break;
        case 'P': {
            uint8_t enc = (uint8_t)rd_u(&r, 1);
            rd_ptr(&r, enc & 0x7f, 0); /* the personality routine: skipped */
            break;
        }
        case 'L':
            rd_u(&r, 1);
            break;
        case 'S':
            c->signal_frame = true;
            break;
        default:
            if (!c->has_aug_len)
                return false; /* cannot skip what we do not know */
            r.p = aug_end;
            i = n; /* stop */
            goto done;
        }
    }
done:
    if (c->has_aug_len)
        r.p = aug_end;
    if (r.bad || c->ra_reg != CFI_RA || c->code_align == 0)
        return false;
    c->insns = r.p;
    c->insns_end = r.end;
    return true;
}

#define STATE_DEPTH 8

/* Run instructions [p, end) from location `loc`, stopping before the
 * first row that starts after `pc`. `init` is the CIE's row (for
 * DW_CFA_restore); NULL while running the CIE itself. */
static bool run(const struct stack_cfi_object *o, const struct cie *c, uintptr_t p, uintptr_t end, uintptr_t loc,
                uintptr_t pc, struct row *row, const struct row *init)
{
    struct rd r = {.p = p, .end = end, .lo = o->lo, .hi = o->hi};
    struct row stack[STATE_DEPTH];
    unsigned depth = 0;
    while (r.p < r.end) {
        uint8_t op = (uint8_t)rd_u(&r, 1);
        uint64_t reg = 0, delta = 0;
        int64_t off = 0;
        if (r.bad)
            return false;
        switch (op >> 6) {
        case 1: /* advance_loc */
            delta = op & 0x3f;
            goto advance;
        case 2: /* offset */
            reg = op & 0x3f;
            off = (int64_t)rd_uleb(&r) * c->data_align;
            goto set_offset;
        case 3: /* restore */
            reg = op & 0x3f;
            goto restore;
        default:
            break;
        }
        switch (op) {
        case 0x00: /* nop */
            continue;
        case 0x01: /* set_loc */
            loc = rd_ptr(&r, c->fde_enc, 0);
            if (loc > pc)
                return !r.bad;
            continue;
        case 0x02:
            delta = rd_u(&r, 1);
            goto advance;
        case 0x03:
            delta = rd_u(&r, 2);
            goto advance;
        case 0x04:
            delta = rd_u(&r, 4);
            goto advance;
        case 0x05: /* offset_extended */
            reg = rd_uleb(&r);
            off = (int64_t)rd_uleb(&r) * c->data_align;
            goto set_offset;
        case 0x06: /* restore_extended */
            reg = rd_uleb(&r);
            goto restore;
        case 0x07: /* undefined */
        case 0x08: /* same_value */
        case 0x09: /* register */
            reg = rd_uleb(&r);
            if (op == 0x09)
                rd_uleb(&r);
            set_rule(row, reg, op == 0x07 ? 1 : -1, op == 0x08 ? CFI_SAME : CFI_UNDEF);
            continue;
        case 0x0a: /* remember_state */
            if (depth == STATE_DEPTH)
                return false;
            stack[depth++] = *row;
            continue;
        case 0x0b: /* restore_state */
            if (depth == 0)
                return false;
            *row = stack[--depth];
            continue;
        case 0x0c: /* def_cfa */
            row->cfa_reg = (uint8_t)rd_uleb(&r);
            row->cfa_off = (int64_t)rd_uleb(&r);
            row->cfa_bad = false;
            continue;
        case 0x0d: /* def_cfa_register */
            row->cfa_reg = (uint8_t)rd_uleb(&r);
            continue;
        case 0x0e: /* def_cfa_offset */
            row->cfa_off = (int64_t)rd_uleb(&r);
            continue;
        case 0x0f: /* def_cfa_expression */
            r.p += rd_uleb(&r);
            row->cfa_bad = true;
            continue;
        case 0x10: /* expression */
        case 0x16: /* val_expression */
            reg = rd_uleb(&r);
            r.p += rd_uleb(&r);
            set_rule(row, reg, -1, CFI_UNDEF);
            continue;
        case 0x11: /* offset_extended_sf */
            reg = rd_uleb(&r);
            off = rd_sleb(&r) * c->data_align;
            goto set_offset;
        case 0x12: /* def_cfa_sf */
            row->cfa_reg = (uint8_t)rd_uleb(&r);
            row->cfa_off = rd_sleb(&r) * c->data_align;
            row->cfa_bad = false;
            continue;
        case 0x13: /* def_cfa_offset_sf */
            row->cfa_off = rd_sleb(&r) * c->data_align;
            continue;
        case 0x14: /* val_offset */
        case 0x15: /* val_offset_sf */
            reg = rd_uleb(&r);
            if (op == 0x14)
                rd_uleb(&r);
            else
                rd_sleb(&r);
            set_rule(row, reg, -1, CFI_UNDEF);
            continue;
        case 0x2e: /* GNU_args_size */
            rd_uleb(&r);
            continue;
        case 0x2f: /* GNU_negative_offset_extended */
            reg = rd_uleb(&r);
            off = -(int64_t)rd_uleb(&r) * c->data_align;
            goto set_offset;
        default:
            return false;
        }
    advance:
        loc += delta * c->code_align;
        if (loc > pc)
            return !r.bad;
        continue;
    set_offset: {
        int i = saved_index(reg);
        if (reg == CFI_RA) {
            row->ra_off = off;
            row->ra_state = 0;
        } else if (i >= 0) {
            row->saved[i] = off >= -0x7ff0 && off <= 0x7ff0 ? (int16_t)off : CFI_UNDEF;
        }
        continue;
    }
    restore: {
        if (!init)
            return false;
        int i = saved_index(reg);
        if (reg == CFI_RA) {
            row->ra_off = init->ra_off;
            row->ra_state = init->ra_state;
        } else if (i >= 0) {
            row->saved[i] = init->saved[i];
        }
        continue;
    }
    }
    return !r.bad;
}

bool stack_cfi_rule_at(const struct stack_cfi_object *o, uintptr_t pc, struct stack_cfi_rule *out)
{
    uintptr_t fde;
    if (!find_fde(o, pc, &fde))
        return false;
    struct rd r = {.p = fde, .end = o->hi, .lo = o->lo, .hi = o->hi};
    uint64_t len = rd_u(&r, 4);
    if (len == 0xffffffffu)
        len = rd_u(&r, 8);
    uintptr_t body = r.p;
    if (r.bad || len == 0 || len > o->hi - body)
        return false;
    r.end = body + len;
    uint32_t cie_ptr = (uint32_t)rd_u(&r, 4);
    if (r.bad || cie_ptr == 0 || cie_ptr > body - o->lo)
        return false;
    struct cie c;
    if (!parse_cie(o, body - cie_ptr, &c) || c.signal_frame)
        return false;
    uintptr_t start = rd_ptr(&r, c.fde_enc, 0);
    uintptr_t range = rd_ptr(&r, c.fde_enc & 0x0f, 0);
    if (r.bad || pc < start || pc - start >= range)
        return false;
    if (c.has_aug_len) {
        uint64_t al = rd_uleb(&r);
        if (r.bad || al > r.end - r.p)
            return false;
        r.p += al;
    }
    struct row init = {.cfa_reg = CFI_RSP, .cfa_off = 8, .ra_off = -8, .ra_state = 0};
    for (int i = 0; i < CFI_SAVED; i++)
        init.saved[i] = CFI_SAME;
    if (!run(o, &c, c.insns, c.insns_end, start, (uintptr_t)-1, &init, NULL))
        return false;
    struct row row = init;
    if (!run(o, &c, r.p, r.end, start, pc, &row, &init))
        return false;
    if (row.cfa_bad || row.ra_state < 0 || row.cfa_off < -0x7fffffff || row.cfa_off > 0x7fffffff ||
        (row.cfa_reg != CFI_RSP && saved_index(row.cfa_reg) < 0) || row.ra_off < -0x7ff0 || row.ra_off > 0x7ff0)
        return false;
    out->flags = CFI_VALID | (row.ra_state == 1 ? CFI_OUTERMOST : 0);
    out->cfa_reg = row.cfa_reg;
    out->cfa_off = (int32_t)row.cfa_off;
    out->ra_off = (int16_t)row.ra_off;
    memcpy(out->saved, row.saved, sizeof out->saved);
    return true;
}
