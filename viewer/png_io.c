/*
 * png_io.c — writing and reading PNGs with libpng. See png_io.h.
 */
#include "png_io.h"

#include <limits.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "out_file.h"

#include "render.h"

/* Measured by tests/bench/viewer/bench_viewer (see its PNG table): a tile row
 * is at most 256 bytes and the UP filter turns repeated rows (most of a
 * lane's) into zeros, so a 1 KiB window and a small hash lose almost nothing
 * against zlib's 32 KiB default, and spare allocating and clearing 256 KiB
 * of zlib state for every tile. */
const struct png_tile_options png_tile_default = {
    .level = 1, .strategy = Z_DEFAULT_STRATEGY, .filter = PNG_FILTER_UP, .window_bits = 10, .mem_level = 2};

struct png_err {
    char *buf;
    size_t len;
};

static void on_error(png_structp png, png_const_charp msg)
{
    struct png_err *e = png_get_error_ptr(png);
    if (e && e->buf)
        snprintf(e->buf, e->len, "PNG: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

int png_io_write_rgb(const char *path, bool force, const struct render_image *img, char *err, size_t n)
{
    char tmp[PATH_MAX];
    int fd = out_file_claim(path, force, tmp, sizeof tmp, err, n);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        snprintf(err, n, "cannot write %s: %m", path);
        close(fd);
        unlink(tmp);
        return -1;
    }
    struct png_err pe = {err, n};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &pe, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    uint8_t *row = malloc((size_t)img->w * 3 + 1);
    if (!png || !info || !row) {
        snprintf(err, n, "out of memory");
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        unlink(tmp);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        fclose(f);
        unlink(tmp);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)img->w, (png_uint_32)img->h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, info);
    for (int y = 0; y < img->h; y++) {
        const uint32_t *src = img->px + (size_t)y * (size_t)img->stride;
        for (int x = 0; x < img->w; x++) {
            row[3 * x] = (uint8_t)(src[x] >> 16);
            row[3 * x + 1] = (uint8_t)(src[x] >> 8);
            row[3 * x + 2] = (uint8_t)src[x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    if (fclose(f) != 0) {
        snprintf(err, n, "cannot write %s: %m", path);
        unlink(tmp);
        return -1;
    }
    char kept[PATH_MAX];
    int r = out_file_commit(tmp, path, force, kept, sizeof kept, err, n);
    if (r != 0) {
        if (r > 0)
            snprintf(err, n, "%s appeared while the picture was drawn; not replacing it: the picture is %s", path,
                     kept);
        else
            unlink(tmp);
        return -1;
    }
    return 0;
}

/* Pack one row of palette indices, mapped through `map`, at `depth` bits. */
static void pack_row(uint8_t *row, const uint8_t *src, int w, int depth, const uint8_t *map)
{
    int x = 0, b = 0;
    switch (depth) {
    case 8:
        for (; x < w; x++)
            row[x] = map[src[x]];
        return;
    case 4:
        for (; x + 1 < w; x += 2)
            row[b++] = (uint8_t)(map[src[x]] << 4 | map[src[x + 1]]);
        break;
    case 2:
        for (; x + 3 < w; x += 4)
            row[b++] = (uint8_t)(map[src[x]] << 6 | map[src[x + 1]] << 4 | map[src[x + 2]] << 2 | map[src[x + 3]]);
        break;
    default:
        for (; x + 7 < w; x += 8) {
            unsigned v = 0;
            for (int k = 0; k < 8; k++)
                v = v << 1 | map[src[x + k]];
            row[b++] = (uint8_t)v;
        }
        break;
    }
    if (x < w) { /* the last, partial byte */
        unsigned v = 0, k = 0;
        for (; x < w; x++, k++)
            v = v << depth | map[src[x]];
        row[b] = (uint8_t)(v << (8 - (int)k * depth));
    }
}

int png_io_write_indexed(FILE *f, const uint8_t *idx, int w, int h, size_t stride, const uint32_t *palette,
                      const uint8_t *seen_in, const struct png_tile_options *opt, char *err, size_t n)
{
    /* the colours used, renumbered in palette order */
    uint8_t seen[256] = {0};
    if (seen_in) {
        memcpy(seen, seen_in, sizeof seen);
    } else {
        for (int y = 0; y < h; y++) {
            const uint8_t *r = idx + (size_t)y * stride;
            for (int x = 0; x < w; x++)
                seen[r[x]] = 1;
        }
    }
    uint8_t map[256] = {0};
    png_color pal[256];
    int used = 0;
    for (int i = 0; i < 256; i++)
        if (seen[i]) {
            uint32_t c = palette[i];
            pal[used] = (png_color){(png_byte)(c >> 16), (png_byte)(c >> 8), (png_byte)c};
            map[i] = (uint8_t)used++;
        }
    if (used == 0) { /* an empty image still needs one colour */
        pal[0] = (png_color){(png_byte)(palette[0] >> 16), (png_byte)(palette[0] >> 8), (png_byte)palette[0]};
        used = 1;
    }
    int depth = used <= 2 ? 1 : used <= 4 ? 2 : used <= 16 ? 4 : 8;
    int per_byte = 8 / depth;
    size_t row_bytes = ((size_t)w + (size_t)per_byte - 1) / (size_t)per_byte;
    uint8_t *row = calloc(row_bytes + 1, 1);
    struct png_err pe = {err, n};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &pe, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info || !row) {
        snprintf(err, n, "out of memory");
        png_destroy_write_struct(&png, &info);
        free(row);
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(row);
        return -1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_PLTE(png, info, pal, used);
    png_set_compression_level(png, opt->level);
    png_set_compression_strategy(png, opt->strategy);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, opt->filter);
    if (opt->window_bits)
        png_set_compression_window_bits(png, opt->window_bits);
    if (opt->mem_level)
        png_set_compression_mem_level(png, opt->mem_level);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        pack_row(row, idx + (size_t)y * stride, w, depth, map);
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(row);
    return 0;
}

int png_io_read_argb(const char *path, uint32_t **px, int *w, int *h, char *err, size_t n)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path)) {
        snprintf(err, n, "cannot read %s: %s", path, im.message);
        return -1;
    }
    im.format = PNG_FORMAT_BGRA; /* bytes B, G, R, A = 0xAARRGGBB on little-endian */
    uint32_t *buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf) {
        png_image_free(&im);
        snprintf(err, n, "out of memory");
        return -1;
    }
    if (!png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        snprintf(err, n, "cannot read %s: %s", path, im.message);
        free(buf);
        png_image_free(&im);
        return -1;
    }
    *px = buf;
    *w = (int)im.width;
    *h = (int)im.height;
    return 0;
}
