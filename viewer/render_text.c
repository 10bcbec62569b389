/*
 * render_text.c — FreeType glyphs, cached per code point and blended onto
 * ARGB images. See render_text.h.
 */
#include "render_text.h"

#include <ft2build.h>
#include FT_FREETYPE_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#define CACHED_CODEPOINTS 0x3000

struct glyph {
    int left, top, advance;
    int w, h, pitch;
    uint8_t *bits; /* 8-bit coverage */
};

struct render_font {
    FT_Library lib;
    FT_Face face;
    struct glyph *cache[CACHED_CODEPOINTS];
};

struct render_font *render_font_open(const char *path, int px, char *err, size_t n)
{
    struct render_font *f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, n, "out of memory");
        return NULL;
    }
    if (FT_Init_FreeType(&f->lib)) {
        snprintf(err, n, "cannot start FreeType");
        goto fail_lib;
    }
    if (FT_New_Face(f->lib, path, 0, &f->face)) {
        snprintf(err, n, "cannot load the font %s (install fonts-dejavu-core, or set GILVIEW_FONT)", path);
        goto fail_face;
    }
    if (FT_Set_Pixel_Sizes(f->face, 0, (FT_UInt)px)) {
        snprintf(err, n, "the font %s has no %d px size", path, px);
        goto fail_size;
    }
    return f;

fail_size:
    FT_Done_Face(f->face);
fail_face:
    FT_Done_FreeType(f->lib);
fail_lib:
    free(f);
    return NULL;
}

void render_font_close(struct render_font *f)
{
    if (!f)
        return;
    for (int i = 0; i < CACHED_CODEPOINTS; i++)
        if (f->cache[i]) {
            free(f->cache[i]->bits);
            free(f->cache[i]);
        }
    FT_Done_Face(f->face);
    FT_Done_FreeType(f->lib);
    free(f);
}

/* Next code point of UTF-8 `s` (invalid bytes read as '?'). */
static unsigned next_cp(const char **s)
{
    const unsigned char *p = (const unsigned char *)*s;
    unsigned c = p[0];
    int len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0) {
        (*s)++;
        return '?';
    }
    unsigned cp = len == 1 ? c : c & (0x7fu >> len);
    for (int i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            *s += i;
            return '?';
        }
        cp = cp << 6 | (p[i] & 0x3f);
    }
    *s += len;
    return cp;
}

static const struct glyph *get_glyph(struct render_font *f, unsigned cp)
{
    if (cp >= CACHED_CODEPOINTS)
        cp = '?';
    if (f->cache[cp])
        return f->cache[cp];
    struct glyph *g = calloc(1, sizeof *g);
    if (!g)
        return NULL;
    if (FT_Load_Char(f->face, cp, FT_LOAD_RENDER | FT_LOAD_TARGET_NORMAL) == 0) {
        FT_GlyphSlot s = f->face->glyph;
        g->left = s->bitmap_left;
        g->top = s->bitmap_top;
        g->advance = (int)((s->advance.x + 32) >> 6);
        g->w = (int)s->bitmap.width;
        g->h = (int)s->bitmap.rows;
        g->pitch = g->w;
        if (g->w > 0 && g->h > 0 && s->bitmap.pixel_mode == FT_PIXEL_MODE_GRAY) {
            g->bits = malloc((size_t)g->w * (size_t)g->h);
            if (g->bits)
                for (int y = 0; y < g->h; y++)
                    memcpy(g->bits + (size_t)y * (size_t)g->w, s->bitmap.buffer + (ptrdiff_t)y * s->bitmap.pitch,
                           (size_t)g->w);
        }
    }
    f->cache[cp] = g;
    return g;
}

int render_font_width(struct render_font *f, const char *s, int len)
{
    const char *end = len < 0 ? s + strlen(s) : s + len;
    int w = 0;
    while (s < end && *s) {
        const struct glyph *g = get_glyph(f, next_cp(&s));
        if (g)
            w += g->advance;
    }
    return w;
}

int render_font_fit(struct render_font *f, const char *s, int max_w, int *ellipsis)
{
    *ellipsis = 0;
    if (render_font_width(f, s, -1) <= max_w)
        return (int)strlen(s);
    *ellipsis = 1;
    int budget = max_w - render_font_width(f, "…", -1);
    const char *p = s;
    int w = 0;
    while (*p) {
        const char *q = p;
        const struct glyph *g = get_glyph(f, next_cp(&q));
        if (!g || w + g->advance > budget)
            break;
        w += g->advance;
        p = q;
    }
    return (int)(p - s);
}

static inline uint32_t blend(uint32_t dst, uint32_t src, unsigned a)
{
    unsigned ia = 255 - a;
    unsigned r = (((src >> 16) & 0xff) * a + ((dst >> 16) & 0xff) * ia + 127) / 255;
    unsigned g = (((src >> 8) & 0xff) * a + ((dst >> 8) & 0xff) * ia + 127) / 255;
    unsigned b = ((src & 0xff) * a + (dst & 0xff) * ia + 127) / 255;
    return 0xff000000u | r << 16 | g << 8 | b;
}

int render_font_draw(struct render_font *f, struct render_image *img, int x, int y, uint32_t argb, const char *s)
{
    unsigned alpha = argb >> 24;
    while (*s) {
        const struct glyph *g = get_glyph(f, next_cp(&s));
        if (!g)
            continue;
        for (int gy = 0; g->bits && gy < g->h; gy++) {
            int py = y - g->top + gy;
            if (py < 0 || py >= img->h)
                continue;
            for (int gx = 0; gx < g->w; gx++) {
                int px = x + g->left + gx;
                if (px < 0 || px >= img->w)
                    continue;
                unsigned a = g->bits[gy * g->pitch + gx] * alpha / 255;
                if (a) {
                    uint32_t *d = &img->px[(size_t)py * (size_t)img->stride + (size_t)px];
                    *d = blend(*d, argb, a);
                }
            }
        }
        x += g->advance;
    }
    return x;
}
