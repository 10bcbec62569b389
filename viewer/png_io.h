/*
 * png_io.h — PNG files through libpng: screenshots (RGB), tiles (palette
 * images at the smallest bit depth that holds their colours, with
 * settable zlib level, strategy and filter), and reading PNGs back (tests,
 * checks).
 */
#ifndef GILTRACE_PNG_IO_H
#define GILTRACE_PNG_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct render_image;

/* Write `img` as an 8-bit RGB PNG at `path`, by the output rules of
 * formats/ring/out_file.h (mode 0600; an existing file or symlink is replaced
 * only with `force`, the link itself, never its target). Returns 0 or -1
 * with `err`. */
int png_io_write_rgb(const char *path, bool force, const struct render_image *img, char *err, size_t err_len);

struct png_tile_options {
    int level;       /* zlib level 0-9 */
    int strategy;    /* Z_DEFAULT_STRATEGY, Z_FILTERED, Z_RLE, ... */
    int filter;      /* PNG_FILTER_NONE, PNG_FILTER_UP, ... (PNG_ALL_FILTERS: libpng picks) */
    int window_bits; /* zlib window, 9-15 (0: libpng's choice) */
    int mem_level;   /* zlib hash memory, 1-9 (0: libpng's choice) */
};

/* The settings tiles use (chosen by tests/bench/viewer/bench_tiles). */
extern const struct png_tile_options png_tile_default;

/* Write a w x h image of palette indices (row stride `stride` bytes) to
 * `f`, keeping only the colours it uses (from `palette`, 0xAARRGGBB).
 * `used` (256 flags, or NULL to find them) says which indices occur. */
int png_io_write_indexed(FILE *f, const uint8_t *idx, int w, int h, size_t stride, const uint32_t *palette,
                      const uint8_t *used, const struct png_tile_options *opt, char *err, size_t err_len);

/* Read any PNG as 0xAARRGGBB pixels (malloc'd; free()). Returns 0 or -1. */
int png_io_read_argb(const char *path, uint32_t **px, int *w, int *h, char *err, size_t err_len);

#endif
