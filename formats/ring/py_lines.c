/*
 * py_lines.c — instruction offset to source line, per CPython version.
 * See py_lines.h.
 */
#include "py_lines.h"

#include <stdbool.h>

/* 3.6-3.9: co_lnotab (Objects/lnotab_notes.txt, PyCode_Addr2Line; line
 * increments are signed since 3.6). */
static int32_t lnotab_line(int32_t line, const uint8_t *t, size_t len, uint32_t offset)
{
    uint32_t addr = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        addr += t[i];
        if (addr > offset)
            break;
        line += (int8_t)t[i + 1];
    }
    return line;
}

/* 3.10: co_linetable (_PyLineTable_NextAddressRange). */
static int32_t linetable_310_line(int32_t line, const uint8_t *t, size_t len, uint32_t offset)
{
    uint32_t end = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint32_t start = end;
        end += t[i];
        int8_t delta = (int8_t)t[i + 1];
        if (delta != -128)
            line += delta;
        if (start <= offset && offset < end)
            return delta == -128 ? -1 : line;
    }
    return -1;
}

/* A varint of the location table: 6 bits a byte, bit 6 says more follow. */
static bool varint(const uint8_t *t, size_t len, size_t *i, uint32_t *out)
{
    uint32_t v = 0;
    for (unsigned shift = 0; *i < len && shift < 32; shift += 6) {
        uint8_t b = t[(*i)++];
        v |= (uint32_t)(b & 63) << shift;
        if (!(b & 64)) {
            *out = v;
            return true;
        }
    }
    return false;
}

/* 3.11+: the location table (Objects/locations.md, advance()). */
static int32_t locations_line(int32_t line, const uint8_t *t, size_t len, uint32_t offset)
{
    uint32_t end = 0;
    size_t i = 0;
    while (i < len) {
        uint8_t b = t[i];
        if (!(b & 128))
            return -1; /* not at an entry's first byte: malformed */
        unsigned code = (b >> 3) & 15;
        uint32_t start = end;
        end += ((b & 7) + 1) * 2;
        size_t at = i + 1;
        if (code == 13 || code == 14) {
            uint32_t u;
            if (!varint(t, len, &at, &u))
                return -1;
            line += (u & 1) ? -(int32_t)(u >> 1) : (int32_t)(u >> 1);
        } else if (code >= 10 && code <= 12) {
            line += (int32_t)code - 10;
        }
        if (start <= offset && offset < end)
            return code == 15 ? -1 : line;
        for (i++; i < len && !(t[i] & 128); i++)
            ;
    }
    return -1;
}

int32_t py_line_at(uint32_t hexversion, int32_t first_line, const uint8_t *table, size_t len, uint32_t offset)
{
    if (!table)
        len = 0;
    if (hexversion >= 0x030b0000)
        return locations_line(first_line, table, len, offset);
    if (hexversion >= 0x030a0000)
        return linetable_310_line(first_line, table, len, offset);
    if (hexversion >= 0x03060000)
        return lnotab_line(first_line, table, len, offset);
    return -1;
}
