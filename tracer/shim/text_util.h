/*
 * text_util.h — bounded string building for the shim, usable in a fork child
 * and at exit (no malloc, no stdio, no locale).
 */
#ifndef GILTRACE_TEXT_UTIL_H
#define GILTRACE_TEXT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Append-only buffer; `overflow` is set (and the text truncated, still
 * NUL-terminated) when something did not fit. */
struct text_buf {
    char *p;
    size_t cap;
    size_t len;
    bool overflow;
};

struct text_buf text_buf_init(char *p, size_t cap);
void text_buf_str(struct text_buf *b, const char *s);
void text_buf_u64(struct text_buf *b, uint64_t v);

/* strncpy that always terminates; returns false if `src` was truncated. */
bool text_copy(char *dst, size_t cap, const char *src);

#endif
