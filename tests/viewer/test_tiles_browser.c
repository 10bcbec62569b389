/*
 * test_tiles_browser.c — the index.html that `gilview tiles` writes, opened
 * in headless Chromium (no network, a throw-away profile), shows the tiles:
 * its screenshot has the lanes' green and red where the tiles go, and lane
 * labels beside them. A view given in the URL's hash (a link, a reload) is
 * the view shown, and the page's "link to this view" is that hash; zoomed
 * to 50 ns per pixel inside 100 ms turns, where no tile was written because
 * none adds detail, the page draws the ancestor's pixels stretched: the
 * hold and the wait fill their lanes. SKIP (77) without chromium.
 *
 * usage: test_tiles_browser GILVIEW TRACE_GEN
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "png_io.h"
#include "render.h"
#include "run.h"

static int find_in_path(const char *name, char *out, size_t cap)
{
    const char *path = getenv("PATH");
    if (!path)
        return -1;
    char *copy = strdup(path), *save = NULL;
    int found = -1;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        snprintf(out, cap, "%s/%s", d, name);
        if (access(out, X_OK) == 0) {
            found = 0;
            break;
        }
    }
    free(copy);
    return found;
}

static int near(uint32_t a, uint32_t b)
{
    for (int s = 0; s < 24; s += 8)
        if (abs((int)(a >> s & 0xff) - (int)(b >> s & 0xff)) > 8)
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    CHECK(argc == 3);
    char chromium[512], timeout[512];
    if (find_in_path("chromium", chromium, sizeof chromium) && find_in_path("chromium-browser", chromium, sizeof chromium)) {
        printf("SKIP: chromium is not installed (apt-get install chromium)\n");
        return 77;
    }
    CHECK(find_in_path("timeout", timeout, sizeof timeout) == 0);
    char dir[] = "/tmp/test-tiles-browser-XXXXXX";
    CHECK(mkdtemp(dir));
    char trace[600], tiles[600], shot[600], profile[600], url[700];
    snprintf(trace, sizeof trace, "%s/trace.db", dir);
    snprintf(tiles, sizeof tiles, "%s/tiles", dir);
    snprintf(shot, sizeof shot, "--screenshot=%s/shot.png", dir);
    snprintf(profile, sizeof profile, "--user-data-dir=%s/profile", dir);
    snprintf(url, sizeof url, "file://%s/index.html", tiles);
    /* switches every 20 ms: holds and waits several pixels wide when the page fits the trace */
    char *gen[] = {argv[2], "-o", trace, "--events", "3000", "--threads", "3", "--interval", "20000000", NULL};
    CHECK_EQ_INT(run_cmd(gen, NULL, NULL), 0);
    char *tl[] = {argv[1], "tiles", trace, "-o", tiles, "--max-zoom", "6", "-q", NULL};
    CHECK_EQ_INT(run_cmd(tl, NULL, NULL), 0);
    char *cr[] = {timeout, "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1", profile, shot,
                  "--window-size=1200,400", "--virtual-time-budget=5000", url, NULL};
    char *out, *err;
    int rc = run_cmd(cr, &out, &err);
    char png[700];
    snprintf(png, sizeof png, "%s/shot.png", dir);
    if (rc != 0 || access(png, R_OK) != 0) {
        fprintf(stderr, "chromium: exit %d\n%s%s", rc, out, err);
        return 1;
    }
    free(out);
    free(err);
    uint32_t *px;
    int w, h;
    char e[256];
    CHECK(png_io_read_argb(png, &px, &w, &h, e, sizeof e) == 0);
    CHECK(w == 1200 && h == 400);
    const uint32_t *pal = render_palette();
    uint32_t green = pal[render_blend_index(1, 0)], red = pal[render_blend_index(0, 1)];
    long greens = 0, reds = 0, text = 0;
    for (int y = 32; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t c = px[(size_t)y * (size_t)w + (size_t)x];
            if (x >= 230) {
                greens += near(c, green);
                reds += near(c, red);
            } else if (x < 200 && (c & 0xff) < 0x60 && (c >> 8 & 0xff) < 0x60) {
                text++; /* dark pixels: lane labels */
            }
        }
    printf("screenshot: %ld green and %ld red pixels in the lane area, %ld label pixels\n", greens, reds, text);
    CHECK(greens > 2000);
    CHECK(reds > 2000);
    CHECK(text > 50);
    free(px);

    /* a view in the hash, deep inside one long turn */
    char *gen2[] = {argv[2], "-o", trace, "--events", "40", "--threads", "2", "--interval", "100000000", NULL};
    CHECK_EQ_INT(run_cmd(gen2, NULL, NULL), 0);
    snprintf(tiles, sizeof tiles, "%s/tiles2", dir);
    char *tl2[] = {argv[1], "tiles", trace, "-o", tiles, "-q", NULL};
    CHECK_EQ_INT(run_cmd(tl2, NULL, NULL), 0);
    const char *hash = "#t0=300000000&w=50";
    snprintf(url, sizeof url, "file://%s/index.html%s", tiles, hash);
    char *dom[] = {timeout, "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--no-first-run", profile, "--dump-dom", "--virtual-time-budget=5000", url, NULL};
    CHECK_EQ_INT(run_cmd(dom, &out, &err), 0);
    const char *info = strstr(out, "<span id=\"info\">"), *link = strstr(out, "<a id=\"link\" href=\"");
    CHECK(info && link);
    printf("page at %s: %.45s | href %.24s\n", hash, info + 16, link + 19);
    const char *info_end = strstr(info, "</span>");
    CHECK(info_end && info_end - info < 120);
    const char *zoom = strstr(info, "zoom 14/14"), *width = strstr(info, "50 ns per pixel");
    CHECK(zoom && zoom < info_end && width && width < info_end);
    CHECK(strncmp(link + 19, "#t0=300000000&amp;w=50\"", 23) == 0);
    free(out);
    free(err);
    char *cr2[] = {timeout, "120", chromium, "--headless", "--no-sandbox", "--disable-gpu",
                   "--disable-background-networking", "--disable-component-update", "--disable-sync",
                   "--no-first-run", "--hide-scrollbars", "--force-device-scale-factor=1", profile, shot,
                   "--window-size=1200,300", "--virtual-time-budget=5000", url, NULL};
    CHECK_EQ_INT(run_cmd(cr2, &out, &err), 0);
    free(out);
    free(err);
    CHECK(png_io_read_argb(png, &px, &w, &h, e, sizeof e) == 0);
    greens = reds = 0;
    for (int y = 32; y < h; y++)
        for (int x = 230; x < w; x++) {
            uint32_t c = px[(size_t)y * (size_t)w + (size_t)x];
            greens += near(c, green);
            reds += near(c, red);
        }
    printf("deep view: %ld green and %ld red pixels (each lane is one hold or wait across)\n", greens, reds);
    CHECK(greens > 5000 && reds > 5000);
    free(px);
    char *rmv[] = {"/bin/rm", "-rf", dir, NULL};
    run_cmd(rmv, NULL, NULL);
    return 0;
}
