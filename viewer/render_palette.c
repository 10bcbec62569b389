/*
 * render_palette.c — the lane area's fixed palette and the quantisation of
 * a pixel's (held, waiting, idle) fractions to sixteenths. See render.h.
 */
#include "render.h"

#include <math.h>
#include <pthread.h>

#define STEPS 16

static const uint8_t BG[3] = {0xff, 0xff, 0xff};
static const uint8_t HELD[3] = {0x2c, 0xa0, 0x2c};
static const uint8_t WAIT[3] = {0xd6, 0x27, 0x28};

static uint32_t palette[256];
static pthread_once_t palette_once = PTHREAD_ONCE_INIT;

/* Blend index of (h, w) sixteenths, h + w <= 16; (0, 0) is the background. */
static int blend_slot(int h, int w)
{
    return RENDER_PAL_BLEND0 + h * (2 * (STEPS + 1) - h + 1) / 2 + w;
}

static uint32_t rgb(const uint8_t c[3])
{
    return 0xff000000u | (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | c[2];
}

static void build_palette(void)
{
    palette[RENDER_PAL_BG] = rgb(BG);
    for (int h = 0; h <= STEPS; h++)
        for (int w = 0; h + w <= STEPS; w++) {
            int e = STEPS - h - w;
            uint8_t c[3];
            for (int k = 0; k < 3; k++)
                c[k] = (uint8_t)((h * HELD[k] + w * WAIT[k] + e * BG[k] + STEPS / 2) / STEPS);
            palette[blend_slot(h, w)] = rgb(c);
        }
    palette[RENDER_PAL_RETRY] = 0xff8b0000u;
    palette[RENDER_PAL_TIMEOUT] = 0xffff8c00u;
    palette[RENDER_PAL_DROP] = 0xff1f77b4u;
    palette[RENDER_PAL_FORCED] = 0xff9467bdu;
    palette[RENDER_PAL_TOGGLE] = 0xff7f7f7fu;
    for (int i = RENDER_PAL_COUNT; i < 256; i++)
        palette[i] = 0xff000000u;
}

const uint32_t *render_palette(void)
{
    pthread_once(&palette_once, build_palette);
    return palette;
}

_Static_assert(RENDER_PAL_BLEND0 + (STEPS + 1) * (STEPS + 2) / 2 == RENDER_PAL_RETRY, "blend entries");

/* render_blend_index is called for every lane pixel: fractions are first
 * taken to 1/256 (a state with any time keeps at least 1/256), then a
 * table made by the exact quantisation below gives the index. */
#define LUT_STEPS 256
static uint8_t lut[LUT_STEPS + 1][LUT_STEPS + 1];
static pthread_once_t lut_once = PTHREAD_ONCE_INIT;
static uint8_t blend_exact(double h, double w);

static void build_lut(void)
{
    for (int h = 0; h <= LUT_STEPS; h++)
        for (int w = 0; h + w <= LUT_STEPS; w++)
            lut[h][w] = blend_exact((double)h / LUT_STEPS, (double)w / LUT_STEPS);
}

static int to_lut_step(double f)
{
    if (!(f > 0))
        return 0;
    int k = (int)(f * LUT_STEPS + 0.5);
    return k < 1 ? 1 : k > LUT_STEPS ? LUT_STEPS : k;
}

uint8_t render_blend_index(float held, float wait)
{
    pthread_once(&lut_once, build_lut);
    int h = to_lut_step(held), w = to_lut_step(wait);
    if (h + w > LUT_STEPS) { /* more than the whole pixel: share it out */
        double s = (double)h + w;
        int hh = (int)((double)h * LUT_STEPS / s + 0.5);
        w = LUT_STEPS - hh;
        h = hh;
        if (held > 0 && h == 0)
            h = 1, w--;
        if (wait > 0 && w == 0)
            w = 1, h--;
    }
    return lut[h][w];
}

static uint8_t blend_exact(double held, double wait)
{
    double h = held > 0 ? held : 0, w = wait > 0 ? wait : 0;
    if (h > 1)
        h = 1;
    if (w > 1)
        w = 1;
    if (h + w > 1) {
        double s = h + w;
        h /= s;
        w /= s;
    }
    double part[3] = {h * STEPS, w * STEPS, (1 - h - w) * STEPS};
    int q[3];
    int sum = 0;
    for (int k = 0; k < 3; k++) {
        q[k] = (int)floor(part[k]);
        sum += q[k];
    }
    /* largest remainders first */
    while (sum < STEPS) {
        int best = 0;
        double rem = -1;
        for (int k = 0; k < 3; k++)
            if (part[k] - q[k] > rem) {
                rem = part[k] - q[k];
                best = k;
            }
        q[best]++;
        part[best] = q[best]; /* used up */
        sum++;
    }
    /* nothing present is hidden: a state with any time shows at least 1/16 */
    for (int k = 0; k < 2; k++)
        if (q[k] == 0 && (k == 0 ? h : w) > 0) {
            int from = q[2] > 0 ? 2 : 1 - k;
            if (q[from] > 1 || from == 2) {
                q[from]--;
                q[k]++;
            }
        }
    if (q[0] == 0 && q[1] == 0)
        return RENDER_PAL_BG;
    return (uint8_t)blend_slot(q[0], q[1]);
}

void render_blend_parts(uint8_t i, int *held16, int *wait16)
{
    *held16 = *wait16 = 0;
    for (int h = 0; h <= STEPS; h++)
        for (int w = 0; h + w <= STEPS; w++)
            if (blend_slot(h, w) == i) {
                *held16 = h;
                *wait16 = w;
                return;
            }
}
