/*
 * render_open.h — a renderer for a pixel test, or SKIP (exit 77, saying why)
 * where it cannot be made here (no font).
 */
#ifndef GILTRACE_TEST_RENDER_OPEN_H
#define GILTRACE_TEST_RENDER_OPEN_H

#include <stdio.h>
#include <stdlib.h>

#include "render.h"

static inline struct render *render_open_or_skip(void)
{
    char err[256];
    struct render *r = render_new(NULL, err, sizeof err);
    if (!r) {
        printf("SKIP: %s\n", err);
        exit(77);
    }
    return r;
}

#endif
