/*
 * tiles_html.c — DIR/index.html of a tile pyramid: our own small page
 * (nothing fetched from the network) that browses z/x_y.png with time
 * zoom, pan, lane labels and a ruler; a tile that was not written because
 * it adds no detail is drawn from its nearest written ancestor, stretched
 * (tiles.h). The view (start and ns per pixel) is kept in the URL's hash,
 * so a view can be linked and survives a reload. The pyramid's geometry and labels
 * go in as JSON written by jansson (slashes escaped, so no label can end
 * the <script>).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "out_file.h"
#include "tiles.h"

static const char page_head[] =
    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width\">\n<title>gilview tiles</title>\n<style>\n"
    "body{margin:0;font:12px 'DejaVu Sans',Verdana,sans-serif;background:#f4f4f4;color:#202020}\n"
    "#top{position:sticky;top:0;z-index:3;display:flex;height:32px;background:#e8e8e8;"
    "border-bottom:1px solid #b0b0b0}\n"
    "#corner{width:220px;flex:none;box-sizing:border-box;padding:10px 8px;color:#606060;white-space:nowrap;"
    "overflow:hidden}\n"
    "#ruler{flex:1;height:32px;display:block}\n"
    "#main{display:flex}\n"
    "#labels{width:220px;flex:none;position:relative;box-sizing:border-box;border-right:1px solid #b0b0b0}\n"
    "#area{flex:1;position:relative;overflow:hidden;background:#fff;cursor:grab}\n"
    "#area div.t{position:absolute;overflow:hidden}\n"
    "#area img{position:absolute;top:0;image-rendering:pixelated;user-select:none;-webkit-user-drag:none}\n"
    ".hdr{position:absolute;left:0;right:1px;height:18px;line-height:18px;background:#e2e6ee;padding:0 6px;"
    "white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\n"
    ".lane{position:absolute;left:14px;right:4px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}\n"
    "#bar{position:sticky;bottom:0;z-index:3;background:#e8e8e8;border-top:1px solid #b0b0b0;padding:3px 8px}\n"
    ".sw{display:inline-block;width:14px;height:10px;margin:0 4px 0 12px;vertical-align:-1px}\n"
    ".mk{display:inline-block;width:3px;height:10px;margin:0 4px 0 12px;vertical-align:-1px}\n"
    "</style></head><body>\n"
    "<div id=\"top\"><div id=\"corner\">time since start</div><canvas id=\"ruler\"></canvas></div>\n"
    "<div id=\"main\"><div id=\"labels\"></div><div id=\"area\"></div></div>\n"
    "<div id=\"bar\"><button id=\"zin\" title=\"zoom in (+)\">+</button> "
    "<button id=\"zout\" title=\"zoom out (-)\">&minus;</button> "
    "<button id=\"fit\" title=\"whole trace (f)\">fit</button>\n"
    "<span class=\"sw\" style=\"background:#2ca02c\"></span>holds the GIL"
    "<span class=\"sw\" style=\"background:#d62728\"></span>waits for it"
    "<span class=\"mk\" style=\"background:#8b0000\"></span>retry"
    "<span class=\"mk\" style=\"background:#ff8c00\"></span>timeout"
    "<span class=\"mk\" style=\"background:#1f77b4\"></span>drop request"
    "<span class=\"mk\" style=\"background:#9467bd\"></span>forced switch"
    " &nbsp; <span id=\"info\"></span> &nbsp; <a id=\"link\" href=\"#\" title=\"this view, as a link: copy it, or "
    "bookmark the page\">link to this view</a></div>\n"
    "<script>var G = ";

static const char page_tail[] =
    ";</script>\n<script>\n"
    "(function () {\n"
    "  'use strict';\n"
    "  var T = G.tile, area = document.getElementById('area'), labels = document.getElementById('labels');\n"
    "  var ruler = document.getElementById('ruler'), info = document.getElementById('info');\n"
    "  area.style.height = labels.style.height = G.height + 'px';\n"
    "  G.headers.forEach(function (h) {\n"
    "    var d = document.createElement('div'); d.className = 'hdr'; d.style.top = h.y + 'px';\n"
    "    d.textContent = h.label; d.title = h.label; labels.appendChild(d);\n"
    "  });\n"
    "  G.lanes.forEach(function (l) {\n"
    "    var d = document.createElement('div'); d.className = 'lane'; d.style.top = (l.y + G.barY) + 'px';\n"
    "    d.textContent = l.label; d.title = l.label; labels.appendChild(d);\n"
    "  });\n"
    "  var w0 = G.span / T, minW = w0 / Math.pow(2, G.maxZoom) / 16, maxW = w0 * 2;\n"
    "  var view = {t0: G.t0, w: w0}, tiles = {};\n"
    "  function width() { return Math.max(area.clientWidth, 1); }\n"
    "  function fit() { view.t0 = G.t0; view.w = Math.min(Math.max((G.end - G.t0) / width(), minW), maxW); }\n"
    "  function fromHash() {\n"
    "    var m = /^#t0=([0-9.e+-]+)&w=([0-9.e+-]+)$/.exec(location.hash);\n"
    "    if (!m) return false;\n"
    "    var t0 = parseFloat(m[1]), w = parseFloat(m[2]);\n"
    "    if (!isFinite(t0) || !isFinite(w) || w <= 0) return false;\n"
    "    view.t0 = G.t0 + t0; view.w = Math.min(Math.max(w, minW), maxW); return true;\n"
    "  }\n"
    "  function toHash() {\n"
    "    var h = '#t0=' + Number((view.t0 - G.t0).toPrecision(12)) + '&w=' + Number(view.w.toPrecision(12));\n"
    "    if (location.hash !== h) history.replaceState(null, '', h);\n"
    "    document.getElementById('link').setAttribute('href', h);\n"
    "  }\n"
    "  // the written tile that draws (z, x, y): itself, or the ancestor it\n"
    "  // equals stretched (up levels up, this tile its off-th part); null: white\n"
    "  function source(z, x, y) {\n"
    "    for (var up = 0; z >= 0; up++, z--, x = Math.floor(x / 2)) {\n"
    "      var s = G.state[z].charAt(x * G.rows + y);\n"
    "      if (s === '1') return {key: z + '/' + x + '_' + y, up: up};\n"
    "      if (s !== '0') return null;\n"
    "    }\n"
    "    return null;\n"
    "  }\n"
    "  function fmt(t, step) {\n"
    "    var u = [[1e9, 's'], [1e6, 'ms'], [1e3, '\\u00b5s'], [1, 'ns']], i = 0;\n"
    "    while (i < 3 && Math.max(Math.abs(t), step) < u[i][0]) i++;\n"
    "    if (Math.abs(t) < step / 2) t = 0;\n"
    "    var d = 0, s = step / u[i][0];\n"
    "    while (d < 9 && Math.abs(s * Math.pow(10, d) - Math.round(s * Math.pow(10, d))) > 1e-6) d++;\n"
    "    return (t / u[i][0]).toFixed(d) + ' ' + u[i][1];\n"
    "  }\n"
    "  function human(t) {\n"
    "    var u = [[1e9, 's'], [1e6, 'ms'], [1e3, '\\u00b5s'], [1, 'ns']], i = 0;\n"
    "    while (i < 3 && Math.abs(t) < u[i][0]) i++;\n"
    "    return Number((t / u[i][0]).toPrecision(3)) + ' ' + u[i][1];\n"
    "  }\n"
    "  function drawRuler() {\n"
    "    var W = width(), dpr = window.devicePixelRatio || 1;\n"
    "    ruler.width = W * dpr; ruler.height = 32 * dpr; ruler.style.width = W + 'px';\n"
    "    var c = ruler.getContext('2d'); c.scale(dpr, dpr); c.clearRect(0, 0, W, 32);\n"
    "    c.fillStyle = '#b0b0b0'; c.font = '12px DejaVu Sans, Verdana, sans-serif'; c.textAlign = 'center';\n"
    "    var want = view.w * 100, p = Math.pow(10, Math.floor(Math.log10(want))), step = p;\n"
    "    if (step < want) step = 2 * p; if (step < want) step = 5 * p; if (step < want) step = 10 * p;\n"
    "    var big = step * 1000, anchor = Math.abs(view.t0) < big ? 0 : Math.floor(view.t0 / big) * big;\n"
    "    document.getElementById('corner').textContent = anchor ? 'from ' + (anchor / 1e9) + ' s' : 'time since start';\n"
    "    var minor = step / 5, t = Math.ceil(view.t0 / minor) * minor;\n"
    "    for (var k = 0; k < 2000; k++, t += minor) {\n"
    "      var x = Math.floor((t - view.t0) / view.w); if (x > W) break;\n"
    "      var major = Math.abs(t / step - Math.round(t / step)) < 0.1, len = major ? 10 : 4;\n"
    "      c.fillStyle = '#b0b0b0'; c.fillRect(x, 31 - len, 1, len);\n"
    "      if (major) {\n"
    "        var s = (anchor && t > anchor ? '+' : '') + fmt(t - anchor, step), tw = c.measureText(s).width;\n"
    "        var tx = Math.max(x, tw / 2 + 3); if (tx + tw / 2 <= W - 3) { c.fillStyle = '#202020'; c.fillText(s, tx, 15); }\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "  function draw() {\n"
    "    var W = width();\n"
    "    var z = Math.round(Math.log2(w0 / view.w)); z = Math.max(0, Math.min(G.maxZoom, z));\n"
    "    var wz = w0 / Math.pow(2, z), tw = T * wz / view.w, cols = G.columns[z];\n"
    "    var x0 = Math.max(0, Math.floor((view.t0 - G.t0) / (T * wz)));\n"
    "    var x1 = Math.min(cols - 1, Math.floor((view.t0 + W * view.w - G.t0) / (T * wz)));\n"
    "    var want = {};\n"
    "    for (var x = x0; x <= x1; x++) for (var y = 0; y < G.rows; y++) {\n"
    "      var key = z + '/' + x + '/' + y, t = tiles[key]; want[key] = true;\n"
    "      if (!t) {\n"
    "        var src = source(z, x, y);\n"
    "        t = tiles[key] = {div: document.createElement('div'), up: src ? src.up : 0, img: null};\n"
    "        t.div.className = 't'; area.appendChild(t.div);\n"
    "        if (src) {\n"
    "          t.img = document.createElement('img'); t.img.alt = ''; t.img.draggable = false;\n"
    "          t.img.onerror = function () { this.style.visibility = 'hidden'; };\n"
    "          t.img.src = src.key + '.png'; t.div.appendChild(t.img);\n"
    "        }\n"
    "      }\n"
    "      var n = Math.pow(2, t.up), off = x - Math.floor(x / n) * n;\n"
    "      t.div.style.left = ((G.t0 + x * T * wz - view.t0) / view.w) + 'px'; t.div.style.top = (y * T) + 'px';\n"
    "      t.div.style.width = tw + 'px'; t.div.style.height = T + 'px';\n"
    "      if (t.img) { t.img.style.width = (tw * n) + 'px'; t.img.style.height = T + 'px';\n"
    "                   t.img.style.left = (-off * tw) + 'px'; }\n"
    "    }\n"
    "    for (var k in tiles) if (!want[k]) { area.removeChild(tiles[k].div); delete tiles[k]; }\n"
    "    toHash();\n"
    "    drawRuler();\n"
    "    info.textContent = G.trace + ' \\u00b7 zoom ' + z + '/' + G.maxZoom + ' \\u00b7 ' + human(view.w) + ' per pixel';\n"
    "  }\n"
    "  function zoomAt(px, f) {\n"
    "    var t = view.t0 + px * view.w; view.w = Math.min(Math.max(view.w * f, minW), maxW);\n"
    "    view.t0 = t - px * view.w; draw();\n"
    "  }\n"
    "  area.addEventListener('wheel', function (e) {\n"
    "    e.preventDefault(); var r = area.getBoundingClientRect();\n"
    "    zoomAt(e.clientX - r.left, Math.pow(2, e.deltaY > 0 ? 0.25 : -0.25));\n"
    "  }, {passive: false});\n"
    "  var drag = null;\n"
    "  area.addEventListener('mousedown', function (e) { drag = e.clientX; area.style.cursor = 'grabbing'; });\n"
    "  window.addEventListener('mouseup', function () { drag = null; area.style.cursor = 'grab'; });\n"
    "  window.addEventListener('mousemove', function (e) {\n"
    "    if (drag === null) return; view.t0 -= (e.clientX - drag) * view.w; drag = e.clientX; draw();\n"
    "  });\n"
    "  window.addEventListener('keydown', function (e) {\n"
    "    var W = width();\n"
    "    if (e.key === '+' || e.key === '=') zoomAt(W / 2, 0.5);\n"
    "    else if (e.key === '-') zoomAt(W / 2, 2);\n"
    "    else if (e.key === 'f') { fit(); draw(); }\n"
    "    else if (e.key === 'ArrowLeft') { view.t0 -= W / 4 * view.w; draw(); }\n"
    "    else if (e.key === 'ArrowRight') { view.t0 += W / 4 * view.w; draw(); }\n"
    "  });\n"
    "  document.getElementById('zin').onclick = function () { zoomAt(width() / 2, 0.5); };\n"
    "  document.getElementById('zout').onclick = function () { zoomAt(width() / 2, 2); };\n"
    "  document.getElementById('fit').onclick = function () { fit(); draw(); };\n"
    "  window.addEventListener('resize', draw);\n"
    "  window.addEventListener('hashchange', function () { if (fromHash()) draw(); });\n"
    "  if (!fromHash()) fit();\n"
    "  draw();\n"

    "})();\n"
    "</script>\n</body></html>\n";

int tiles_write_html(const char *dir, const struct tdb_view *v, const struct render_layout *l,
                     const struct tiles_geometry *g, const char *state, char *err, size_t n)
{
    int64_t s0, s1;
    tdb_view_span(v, &s0, &s1);
    json_t *root = json_object(), *lanes = json_array(), *headers = json_array(), *cols = json_array();
    json_object_set_new(root, "trace", json_string(tdb_view_name(v)));
    json_object_set_new(root, "tile", json_integer(TILE_SIZE));
    json_object_set_new(root, "maxZoom", json_integer(g->max_zoom));
    json_object_set_new(root, "rows", json_integer(g->rows));
    json_object_set_new(root, "height", json_integer(g->height));
    json_object_set_new(root, "span", json_real(g->span));
    json_object_set_new(root, "t0", json_real(g->t0));
    json_object_set_new(root, "end", json_real((double)(s1 > s0 ? s1 : s0 + 1)));
    json_object_set_new(root, "barY", json_integer(RENDER_BAR_Y));
    json_object_set_new(root, "laneH", json_integer(RENDER_LANE_H));
    json_t *states = json_array();
    for (int z = 0; z <= g->max_zoom; z++) {
        int64_t c = tiles_columns(v, g, z);
        json_array_append_new(cols, json_integer(c));
        size_t len = (size_t)c * (size_t)g->rows;
        json_array_append_new(states, json_stringn(state, len));
        state += len;
    }
    json_object_set_new(root, "columns", cols);
    json_object_set_new(root, "state", states);
    for (size_t i = 0; i < l->nlanes; i++) {
        char buf[300];
        const struct tdb_view_lane *ln = tdb_view_lane(v, i);
        render_lane_label(ln, buf, sizeof buf);
        json_t *o = json_object();
        json_object_set_new(o, "y", json_integer(l->lane_y[i]));
        json_object_set_new(o, "label", json_string(buf));
        json_object_set_new(o, "pid", json_integer(ln->pid));
        json_object_set_new(o, "tid", json_integer(ln->tid));
        json_object_set_new(o, "gil", json_integer(ln->gil));
        json_array_append_new(lanes, o);
    }
    for (size_t p = 0; p < l->nprocs; p++) {
        if (l->header_y[p] < 0)
            continue;
        const struct tdb_view_process *pr = tdb_view_process(v, p);
        char buf[600];
        const char *cmd = pr->command ? pr->command : pr->exe ? pr->exe : "";
        const char *space = strchr(cmd, ' '), *base = cmd; /* the program's base name, then its arguments */
        for (const char *q = cmd; *q && (!space || q < space); q++)
            if (*q == '/')
                base = q + 1;
        snprintf(buf, sizeof buf, "pid %d  %s", pr->pid, base);
        for (char *q = buf; *q; q++) /* a newline in a command line: a space */
            if ((unsigned char)*q < 0x20)
                *q = ' ';
        json_t *o = json_object();
        json_object_set_new(o, "y", json_integer(l->header_y[p]));
        json_object_set_new(o, "label", json_string(buf));
        json_array_append_new(headers, o);
    }
    json_object_set_new(root, "lanes", lanes);
    json_object_set_new(root, "headers", headers);
    char *text = json_dumps(root, JSON_COMPACT | JSON_ESCAPE_SLASH | JSON_REAL_PRECISION(17));
    json_decref(root);
    if (!text) {
        snprintf(err, n, "out of memory (or a label that is not UTF-8)");
        return -1;
    }
    char file[4200], tmp[4300], kept[4300];
    snprintf(file, sizeof file, "%s/index.html", dir);
    /* the output rules (out_file.h): an index.html already there belongs to
     * the tile set being replaced (the caller decided that) */
    int fd = out_file_claim(file, true, tmp, sizeof tmp, err, n);
    if (fd < 0) {
        free(text);
        return -1;
    }
    FILE *f = fdopen(fd, "w");
    int rc = 0;
    if (!f || fputs(page_head, f) < 0 || fputs(text, f) < 0 || fputs(page_tail, f) < 0)
        rc = -1;
    if (f ? fclose(f) != 0 : close(fd) != 0)
        rc = -1;
    if (rc)
        snprintf(err, n, "cannot write %s: %s", file, strerror(errno));
    else if (out_file_commit(tmp, file, true, kept, sizeof kept, err, n) != 0)
        rc = -1;
    if (rc)
        unlink(tmp);
    free(text);
    return rc;
}
