/*
 * text_util.c — bounded string building for the shim. See text_util.h.
 */
#include "text_util.h"

#include <string.h>

struct text_buf text_buf_init(char *p, size_t cap)
{
    struct text_buf b = {.p = p, .cap = cap, .len = 0, .overflow = cap == 0};
    if (cap)
        p[0] = '\0';
    return b;
}

void text_buf_str(struct text_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->cap == 0)
        return;
    size_t room = b->cap - 1 - b->len;
    if (n > room) {
        n = room;
        b->overflow = true;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void text_buf_u64(struct text_buf *b, uint64_t v)
{
    char digits[24];
    size_t i = sizeof digits;
    digits[--i] = '\0';
    do {
        digits[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    text_buf_str(b, digits + i);
}

bool text_copy(char *dst, size_t cap, const char *src)
{
    struct text_buf b = text_buf_init(dst, cap);
    text_buf_str(&b, src);
    return !b.overflow;
}
