/*
 * test_py_lines.c — formats/ring/py_lines.h against line tables compiled by real
 * interpreters (3.6 to 3.13, py_lines_tables.h): every instruction offset
 * must map to the line the interpreter itself gives; and tables cut short,
 * empty or of an unknown version never read past their end and say -1
 * rather than a wrong line where they cannot know.
 */
#include <stdint.h>

#include "check.h"
#include "py_lines.h"
#include "py_lines_tables.h"

struct line_case {
    uint32_t hexversion;
    int32_t first_line;
    const uint8_t *table;
    size_t len;
    const int32_t (*expect)[2];
    size_t nexpect;
    const char *what;
};

static const struct line_case cases[] = {PY_LINES_CASES};

static void check_case(const struct line_case *c)
{
    CHECK(c->nexpect > 10);
    for (size_t i = 0; i < c->nexpect; i++) {
        int32_t got = py_line_at(c->hexversion, c->first_line, c->table, c->len, (uint32_t)c->expect[i][0]);
        if (got != c->expect[i][1]) {
            fprintf(stderr, "%s: offset %d: line %d, the interpreter says %d\n", c->what, c->expect[i][0], got,
                    c->expect[i][1]);
            exit(1);
        }
    }
    /* Cut short: never a read past the copy (ASan watches), and for
     * 3.10+ an offset beyond what is left has no line. */
    uint8_t *copy = malloc(c->len / 2 + 1);
    CHECK(copy);
    memcpy(copy, c->table, c->len / 2);
    for (size_t i = 0; i < c->nexpect; i++)
        (void)py_line_at(c->hexversion, c->first_line, copy, c->len / 2, (uint32_t)c->expect[i][0]);
    if (c->hexversion >= 0x030a0000)
        CHECK_EQ_INT(py_line_at(c->hexversion, c->first_line, copy, 0, 0), -1);
    free(copy);
}

int main(void)
{
    size_t n = sizeof cases / sizeof cases[0];
    CHECK_EQ_INT(n, 16);
    int far_gap = 0;
    for (size_t i = 0; i < n; i++) {
        check_case(&cases[i]);
        for (size_t k = 0; k < cases[i].nexpect; k++) /* the 200-line gap was crossed */
            far_gap |= cases[i].expect[k][1] > cases[i].first_line + 200;
    }
    CHECK(far_gap);
    /* 3.6-3.9: an empty lnotab means every instruction is on the first line. */
    CHECK_EQ_INT(py_line_at(0x030807f0, 42, NULL, 0, 10), 42);
    /* 3.10: a "no line" entry (-128) is no line. */
    static const uint8_t no_line[] = {6, 0, 4, 0x80, 6, 2};
    CHECK_EQ_INT(py_line_at(0x030a0df0, 10, no_line, sizeof no_line, 2), 10);
    CHECK_EQ_INT(py_line_at(0x030a0df0, 10, no_line, sizeof no_line, 7), -1);
    CHECK_EQ_INT(py_line_at(0x030a0df0, 10, no_line, sizeof no_line, 12), 12);
    /* 3.11+: a "no location" entry (code 15) is no line; a byte that is no
     * entry start is malformed. */
    static const uint8_t locations[] = {0x80 | 13 << 3 | 1, 2, 0x80 | 15 << 3 | 0, 0x80 | 11 << 3 | 0, 1, 2};
    CHECK_EQ_INT(py_line_at(0x030b07f0, 5, locations, sizeof locations, 2), 6);
    CHECK_EQ_INT(py_line_at(0x030b07f0, 5, locations, sizeof locations, 4), -1);
    CHECK_EQ_INT(py_line_at(0x030b07f0, 5, locations, sizeof locations, 6), 7);
    static const uint8_t malformed[] = {0x05};
    CHECK_EQ_INT(py_line_at(0x030b07f0, 5, malformed, sizeof malformed, 0), -1);
    /* Before 3.6 (unsigned line increments): not known. */
    CHECK_EQ_INT(py_line_at(0x030510f0, 5, no_line, sizeof no_line, 0), -1);
    printf("ok: %zu line tables from 3.6-3.13 decoded as their interpreters do\n", n);
    return 0;
}
