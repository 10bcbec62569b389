/*
 * report_html.c — the report as one self-contained HTML page. See
 * report_html.h. The figures come from the report's JSON document (its
 * documented shape, tracer/analysis/REPORT.md), read back with jansson, so the page
 * says what `report --json` says; the pictures are PNGs drawn by
 * report_png and the renderer into a temporary file, inlined as base64.
 */
#include "report_html.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out_file.h"
#include "tdb_view.h"
#include "png_io.h"
#include "render.h"
#include "human.h"
#include "report_json.h"
#include "report_png.h"

#define TIMELINE_W 1200

static const char style[] =
    "body{font:14px 'DejaVu Sans',Verdana,sans-serif;color:#202020;background:#fff;margin:24px;max-width:1250px}\n"
    "h1{font-size:20px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #b0b0b0}h3{font-size:15px}\n"
    "table{border-collapse:collapse;margin:6px 0 14px}th,td{padding:3px 9px;border-bottom:1px solid #e0e0e0}\n"
    "th{background:#eef0f4;text-align:left}td.n{text-align:right;white-space:nowrap;"
    "font-variant-numeric:tabular-nums}\n"
    "img{max-width:100%;border:1px solid #d0d0d0}.dim{color:#707070}pre{background:#f6f6f6;padding:8px;"
    "overflow:auto;font-size:12px}\n"
    ".hold{color:#2ca02c}.wait{color:#d62728}\n";

/* The page checks itself: every table has rows, every picture decoded. */
static const char check_script[] =
    "<script>\n"
    "window.addEventListener('load', function () {\n"
    "  var b = document.body, t = document.querySelectorAll('table'), im = document.querySelectorAll('img');\n"
    "  var why = [];\n"
    "  if (t.length !== +b.dataset.tables) why.push(t.length + ' tables, not ' + b.dataset.tables);\n"
    "  if (im.length !== +b.dataset.images) why.push(im.length + ' pictures, not ' + b.dataset.images);\n"
    "  t.forEach(function (x, i) { if (x.querySelectorAll('tbody tr').length < 1) why.push('table ' + i + ' is empty'); });\n"
    "  im.forEach(function (x) { if (!x.complete || !x.naturalWidth) why.push(x.alt + ' did not decode'); });\n"
    "  document.documentElement.dataset.check = why.length ? 'FAIL: ' + why.join('; ') : 'OK';\n"
    "});\n"
    "</script>\n";

struct page {
    FILE *f;
    int tables, images;
};

static void esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static int64_t num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : json_is_real(v) ? (int64_t)json_real_value(v) : 0;
}

static double real(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void td_ns(FILE *f, int64_t ns)
{
    char b[32];
    human_ns(b, sizeof b, ns);
    fprintf(f, "<td class=n>%s</td>", b);
}

static void td_count(FILE *f, int64_t n)
{
    char b[32];
    human_count(b, sizeof b, n > 0 ? (uint64_t)n : 0);
    fprintf(f, "<td class=n>%s</td>", b);
}

static void td_pct(FILE *f, double share)
{
    fprintf(f, "<td class=n>%.1f %%</td>", 100.0 * share);
}

static void table_head(struct page *p, const char *const *cols)
{
    fputs("<table><thead><tr>", p->f);
    for (; *cols; cols++)
        fprintf(p->f, "<th>%s</th>", *cols);
    fputs("</tr></thead><tbody>\n", p->f);
    p->tables++;
}

/* "tid name" of thread `tid` in process `proc`. */
static void thread_cell(FILE *f, const json_t *proc, int64_t tid)
{
    fprintf(f, "<td>%" PRId64, tid);
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(proc, "threads"), i, t)
        if (num(t, "tid") == tid && *str(t, "name")) {
            fputc(' ', f);
            esc(f, str(t, "name"));
        }
    fputs("</td>", f);
}

static void threads_table(struct page *p, const json_t *proc)
{
    static const char *const cols[] = {"thread", "life", "held", "waited", "acquires", "voluntary releases",
                                       "forced releases", "BUSY", "RETRY", "TIMEOUT", "wait p50", "p90", "p99",
                                       "max", "convoy", NULL};
    fputs("<h3>Threads</h3>\n", p->f);
    table_head(p, cols);
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(proc, "threads"), i, t) {
        const json_t *rel = json_object_get(t, "releases"), *ev = json_object_get(t, "events"),
                     *lat = json_object_get(t, "wait_latency_ns"), *cv = json_object_get(t, "convoy");
        fputs("<tr>", p->f);
        thread_cell(p->f, proc, num(t, "tid"));
        td_ns(p->f, num(t, "life_ns"));
        td_pct(p->f, real(t, "held_share"));
        td_pct(p->f, real(t, "waited_share"));
        td_count(p->f, num(t, "acquires"));
        td_count(p->f, num(rel, "voluntary"));
        td_count(p->f, num(rel, "forced"));
        td_count(p->f, num(ev, "BUSY"));
        td_count(p->f, num(ev, "RETRY"));
        td_count(p->f, num(ev, "TIMEOUT"));
        if (num(lat, "count") > 0) {
            td_ns(p->f, num(lat, "p50"));
            td_ns(p->f, num(lat, "p90"));
            td_ns(p->f, num(lat, "p99"));
            td_ns(p->f, num(lat, "max"));
        } else {
            fputs("<td class=n>-</td><td class=n>-</td><td class=n>-</td><td class=n>-</td>", p->f);
        }
        fprintf(p->f, "<td>%s</td></tr>\n", json_is_true(json_object_get(cv, "flagged")) ? "<b>convoy</b>" : "");
    }
    fputs("</tbody></table>\n", p->f);
}

static void gils_table(struct page *p, const json_t *proc)
{
    static const char *const cols[] = {"GIL", "held", "holds", "handoffs", "handoffs/s", "forced releases",
                                       "handoff p50", "p99", "max", NULL};
    fputs("<h3>GILs</h3>\n", p->f);
    table_head(p, cols);
    size_t i;
    const json_t *g;
    json_array_foreach(json_object_get(proc, "gils"), i, g) {
        const json_t *lat = json_object_get(g, "handoff_latency_ns");
        fprintf(p->f, "<tr><td>%" PRId64 "%s</td>", num(g, "gil"),
                json_is_true(json_object_get(g, "subinterpreter")) ? " (subinterpreter)" : "");
        td_pct(p->f, real(g, "utilisation"));
        td_count(p->f, num(g, "holds"));
        td_count(p->f, num(g, "handoffs"));
        fprintf(p->f, "<td class=n>%.1f</td>", real(g, "handoffs_per_s"));
        td_count(p->f, num(g, "forced_switches"));
        if (num(lat, "count") > 0) {
            td_ns(p->f, num(lat, "p50"));
            td_ns(p->f, num(lat, "p99"));
            td_ns(p->f, num(lat, "max"));
        } else {
            fputs("<td class=n>-</td><td class=n>-</td><td class=n>-</td>", p->f);
        }
        fputs("</tr>\n", p->f);
    }
    fputs("</tbody></table>\n", p->f);
}

static void blame_table(struct page *p, const json_t *proc)
{
    const json_t *blame = json_object_get(proc, "blame");
    if (!json_array_size(blame))
        return;
    static const char *const cols[] = {"waiting thread", "held by", "time waited", NULL};
    fputs("<h3>Blame: who held the GIL while each thread waited</h3>\n", p->f);
    table_head(p, cols);
    size_t i;
    const json_t *b;
    json_array_foreach(blame, i, b) {
        fputs("<tr>", p->f);
        thread_cell(p->f, proc, num(b, "waiter"));
        if (json_is_null(json_object_get(b, "holder")) || !json_object_get(b, "holder"))
            fputs("<td class=dim>nobody</td>", p->f);
        else
            thread_cell(p->f, proc, num(b, "holder"));
        td_ns(p->f, num(b, "ns"));
        fputs("</tr>\n", p->f);
    }
    fputs("</tbody></table>\n", p->f);
}

static void sites_table(struct page *p, const json_t *proc, const char *key, const char *count, const char *title)
{
    const json_t *sites = json_object_get(proc, key);
    if (!json_array_size(sites))
        return;
    const char *cols[] = {"site", count, "stack (innermost first)", NULL};
    fprintf(p->f, "<h3>%s</h3>\n", title);
    table_head(p, cols);
    size_t i, k;
    const json_t *s, *fr;
    json_array_foreach(sites, i, s) {
        fputs("<tr><td>", p->f);
        esc(p->f, str(s, "site"));
        fputs("</td>", p->f);
        td_count(p->f, num(s, count));
        fputs("<td class=dim>", p->f);
        json_array_foreach(json_object_get(s, "frames"), k, fr) {
            if (k >= 6) {
                fputs(" …", p->f);
                break;
            }
            if (k)
                fputs(" ← ", p->f);
            esc(p->f, *str(fr, "symbol") ? str(fr, "symbol") : "?");
        }
        fputs("</td></tr>\n", p->f);
    }
    fputs("</tbody></table>\n", p->f);
}

static void process_section(struct page *p, const json_t *proc)
{
    const json_t *argv = json_object_get(proc, "argv");
    size_t argc = json_array_size(argv);
    const char **args = calloc(argc ? argc : 1, sizeof *args);
    for (size_t i = 0; args && i < argc; i++)
        args[i] = json_string_value(json_array_get(argv, i)) ? json_string_value(json_array_get(argv, i)) : "";
    char command[256];
    human_command(command, sizeof command, str(proc, "exe"), args, args ? argc : 0, 120);
    free(args);
    fprintf(p->f, "<h2>pid %" PRId64 " &nbsp;", num(proc, "pid"));
    esc(p->f, command);
    char ran[32], events[32];
    human_ns(ran, sizeof ran, num(proc, "duration_ns"));
    human_count(events, sizeof events, (uint64_t)num(proc, "events"));
    fputs("</h2>\n<p>Python ", p->f);
    esc(p->f, str(proc, "python_version"));
    fprintf(p->f, " · GIL: %s", str(proc, "gil"));
    if (num(proc, "switch_interval_us") > 0)
        fprintf(p->f, " · switch interval %" PRId64 " us", num(proc, "switch_interval_us"));
    fprintf(p->f, " · ran %s · %s events", ran, events);
    if (num(proc, "lost_events") > 0)
        fprintf(p->f, " · <b>%" PRId64 " events lost</b> (ring full): figures undercount", num(proc, "lost_events"));
    fputs("</p>\n", p->f);
    if (json_array_size(json_object_get(proc, "threads")) == 0) {
        fputs("<p class=dim>no thread of this process used a GIL</p>\n", p->f);
        return;
    }
    threads_table(p, proc);
    gils_table(p, proc);
    blame_table(p, proc);
    sites_table(p, proc, "release_sites", "releases", "Where the GIL is released");
    sites_table(p, proc, "wait_sites", "waits", "Where waits for it begin");
}

/* Base64 of a whole file, as the src of an <img>. */
static int inline_png(struct page *p, const char *file, const char *alt, char *err, size_t n)
{
    FILE *in = fopen(file, "rb");
    if (!in) {
        snprintf(err, n, "cannot read back %s: %s", file, strerror(errno));
        return -1;
    }
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    fprintf(p->f, "<img alt=\"%s\" src=\"data:image/png;base64,", alt);
    unsigned char in3[3];
    size_t got;
    while ((got = fread(in3, 1, 3, in)) > 0) {
        uint32_t v = (uint32_t)in3[0] << 16 | (got > 1 ? (uint32_t)in3[1] << 8 : 0) | (got > 2 ? in3[2] : 0);
        char out[4] = {b64[v >> 18 & 63], b64[v >> 12 & 63], got > 1 ? b64[v >> 6 & 63] : '=',
                       got > 2 ? b64[v & 63] : '='};
        fwrite(out, 1, 4, p->f);
        if (got < 3)
            break;
    }
    fclose(in);
    fputs("\">\n", p->f);
    p->images++;
    return 0;
}

/* The whole trace as gilview draws it, into the PNG file `out`. */
static int draw_timeline(const char *db_path, const char *out, char *err, size_t n)
{
    struct tdb_view *v = tdb_view_open(db_path, NULL, err, n);
    if (!v)
        return -1;
    struct render *r = render_new(NULL, err, n);
    struct render_layout l;
    int rc = -1;
    if (!r)
        goto fail_render;
    if (render_layout_init(&l, v)) {
        snprintf(err, n, "out of memory");
        goto fail_layout;
    }
    int h = RENDER_RULER_H + l.height + RENDER_LEGEND_H + RENDER_STATUS_H;
    h = h < 160 ? 160 : h > 4000 ? 4000 : h;
    struct render_image img = {malloc((size_t)TIMELINE_W * (size_t)h * sizeof(uint32_t)), TIMELINE_W, h, TIMELINE_W};
    if (!img.px) {
        snprintf(err, n, "out of memory");
        goto fail_image;
    }
    int lx, ly, lw, lh;
    render_lane_rect(img.w, img.h, &lx, &ly, &lw, &lh);
    struct render_window win = render_fit(v, lw);
    if (render_frame(r, v, &l, &win, NULL, NULL, &img))
        snprintf(err, n, "%s", tdb_view_error(v));
    else
        rc = png_io_write_rgb(out, true, &img, err, n); /* over the empty temporary file */
    free(img.px);
fail_image:
    render_layout_free(&l);
fail_layout:
    render_free(r);
fail_render:
    tdb_view_close(v);
    return rc;
}

/* A temporary PNG file name, created empty; "" when none can be made. */
static void temp_png(char *buf, size_t cap)
{
    const char *dir = getenv("TMPDIR");
    snprintf(buf, cap, "%s/giltrace-html-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(buf);
    if (fd < 0)
        buf[0] = '\0';
    else
        close(fd);
}

static int pictures(struct page *p, const struct report_process *procs, size_t n, const char *db_path, char *err,
                    size_t err_len)
{
    char tmp[4096];
    temp_png(tmp, sizeof tmp);
    if (!tmp[0]) {
        snprintf(err, err_len, "cannot make a temporary file for the pictures: %s", strerror(errno));
        return -1;
    }
    int rc = 0;
    fputs("<h2>Timeline</h2>\n<p class=dim>One lane per thread, grouped by process; <span class=hold>green</span>: "
          "holds the GIL, <span class=wait>red</span>: waits for it, white: not asking "
          "(<code>gilview</code> zooms into it).</p>\n", p->f);
    if (draw_timeline(db_path, tmp, err, err_len) || inline_png(p, tmp, "timeline", err, err_len))
        rc = -1;
    if (rc == 0) {
        fputs("<h2>Charts</h2>\n<p class=dim>Each GIL's utilisation over the run, and each thread's wait latency "
              "(waits per bin over a log time axis; blue: the switch interval).</p>\n", p->f);
        if (report_png(tmp, true, procs, n, db_path, err, err_len) || inline_png(p, tmp, "charts", err, err_len))
            rc = -1;
    }
    unlink(tmp);
    return rc;
}

int report_html(const char *path, bool force, const struct report_process *procs, size_t n, const char *db_path,
                char *err, size_t err_len)
{
    err[0] = '\0';
    /* the figures, as report --json says them */
    char *json_text = NULL;
    size_t json_len = 0;
    FILE *mem = open_memstream(&json_text, &json_len);
    if (!mem || report_json(mem, procs, n, db_path) || fclose(mem)) {
        snprintf(err, err_len, "out of memory writing the report");
        free(json_text);
        return -1;
    }
    json_error_t je;
    json_t *doc = json_loadb(json_text, json_len, 0, &je);
    free(json_text);
    char *text = NULL;
    size_t text_len = 0;
    mem = open_memstream(&text, &text_len);
    if (!doc || !mem) {
        snprintf(err, err_len, "out of memory writing the report");
        json_decref(doc);
        if (mem)
            fclose(mem);
        free(text);
        return -1;
    }
    report_text(mem, procs, n, db_path);
    fclose(mem);

    /* the body first, into memory: the <body> tag carries the counts the
     * page checks itself against */
    char *body = NULL;
    size_t body_len = 0;
    struct page p = {open_memstream(&body, &body_len), 0, 0};
    int rc = p.f ? 0 : -1;
    if (rc == 0) {
        const char *slash = strrchr(db_path, '/');
        fputs("<h1>GIL report: ", p.f);
        esc(p.f, slash ? slash + 1 : db_path);
        fprintf(p.f, "</h1>\n<p class=dim>giltrace %s · %zu process%s · figures as <code>giltrace report</code> "
                     "defines them (tracer/analysis/REPORT.md)</p>\n",
                GILTRACE_VERSION, n, n == 1 ? "" : "es");
        size_t i;
        const json_t *proc;
        json_array_foreach(json_object_get(doc, "processes"), i, proc)
            process_section(&p, proc);
        rc = pictures(&p, procs, n, db_path, err, err_len);
        fputs("<h2>The report as text</h2>\n<details><summary>giltrace report</summary><pre>", p.f);
        esc(p.f, text);
        fputs("</pre></details>\n", p.f);
        if (fclose(p.f) != 0 && rc == 0)
            rc = -1;
    }
    if (rc && !*err)
        snprintf(err, err_len, "out of memory writing the report");
    /* The output rules of every file giltrace writes (formats/ring/out_file.h). */
    char tmp[4200];
    int fd = rc ? -1 : out_file_claim(path, force, tmp, sizeof tmp, err, err_len);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (rc == 0 && !f) {
        if (fd >= 0) {
            snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
            close(fd);
            unlink(tmp);
        }
        rc = -1;
    }
    if (f) {
        fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>GIL report: ", f);
        esc(f, db_path);
        fprintf(f, "</title>\n<style>\n%s</style></head>\n<body data-tables=\"%d\" data-images=\"%d\">\n", style,
                p.tables, p.images);
        fwrite(body, 1, body_len, f);
        fputs(check_script, f);
        fputs("</body></html>\n", f);
        char kept[4300];
        if (fclose(f) != 0) {
            snprintf(err, err_len, "cannot write %s: %s", path, strerror(errno));
            unlink(tmp);
            rc = -1;
        } else if ((rc = out_file_commit(tmp, path, force, kept, sizeof kept, err, err_len)) < 0) {
            unlink(tmp);
        } else if (rc == 1) {
            fprintf(stderr, "giltrace: %s appeared while the report was being written; not replacing it: "
                            "this one is %s\n", path, kept);
            rc = 0;
        }
    }
    free(body);
    free(text);
    json_decref(doc);
    return rc;
}
