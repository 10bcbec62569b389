/*
 * render_text.h — text for the renderer through FreeType, with one font
 * (DejaVu Sans from fonts-dejavu-core), so the window, screenshots and
 * overlays draw the same glyphs. Internal to viewer/; render.h exposes the
 * helpers callers need.
 */
#ifndef GILTRACE_RENDER_TEXT_H
#define GILTRACE_RENDER_TEXT_H

#include <stddef.h>
#include <stdint.h>

#ifndef RENDER_DEFAULT_FONT
#define RENDER_DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#endif

struct render_font;
struct render_image;

/* Load the font at `path` at `px` pixels. NULL with `err` on failure. */
struct render_font *render_font_open(const char *path, int px, char *err, size_t err_len);
void render_font_close(struct render_font *f);

/* Width in pixels of UTF-8 `s` (at most `len` bytes; -1: all). */
int render_font_width(struct render_font *f, const char *s, int len);

/* Draw UTF-8 `s` with its baseline at (x, y), clipped to the image.
 * Returns the x after the text. */
int render_font_draw(struct render_font *f, struct render_image *img, int x, int y, uint32_t argb, const char *s);

/* Bytes of `s` that fit in `max_w` pixels, with room for an ellipsis when
 * it does not all fit (*ellipsis set). */
int render_font_fit(struct render_font *f, const char *s, int max_w, int *ellipsis);

#endif
