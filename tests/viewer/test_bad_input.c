/*
 * test_bad_input.c — gilview on bad input says what is wrong in one line
 * and exits non-zero, or, for traces that are valid but empty, draws an
 * empty but valid picture; it never crashes. Missing file, a directory, a
 * text file, an empty file, another program's SQLite database, a trace of
 * a newer schema_version, a truncated trace, damaged summaries, a trace
 * without events, a trace of one event, and bad options.
 *
 * usage: test_bad_input GILVIEW
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "png_io.h"
#include "render.h"
#include "ring.h"
#include "run.h"
#include "tdb_write.h"
#include "trace_gen.h"

static const char *gilview;
static char dir[] = "/tmp/test-bad-input-XXXXXX";

static char *in_dir(const char *name)
{
    static char buf[8][600];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, 600, "%s/%s", dir, name);
    return p;
}

/* gilview --screenshot, gilview tiles and interactive gilview (no display)
 * all fail on `path` with one line containing `want`. */
static void expect_failure(const char *path, const char *want)
{
    char *shot[] = {(char *)gilview, "--force", "--screenshot", in_dir("out.png"), (char *)path, NULL};
    char *tiles[] = {(char *)gilview, "tiles", (char *)path, "-o", in_dir("tiles"), NULL};
    char *win[] = {(char *)gilview, (char *)path, NULL};
    char *const *cmds[] = {shot, tiles, win};
    for (int i = 0; i < 3; i++) {
        char *out, *err;
        int rc = run_cmd(cmds[i], &out, &err);
        if (rc <= 0 || run_lines(err) != 1 || !strstr(err, want) || strncmp(err, "gilview", 7) != 0) {
            fprintf(stderr, "%s on %s: exit %d, stderr:\n%s(wanted one line with '%s')\n", cmds[i][1], path, rc,
                    err, want);
            exit(1);
        }
        free(out);
        free(err);
    }
    CHECK(access(in_dir("out.png"), F_OK) != 0);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(data, 1, n, f) == n);
    fclose(f);
}

static void sql(const char *path, const char *q)
{
    sqlite3 *db;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", q, msg);
        exit(1);
    }
    sqlite3_close(db);
}

static void copy(const char *from, const char *to, long limit)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    CHECK(a && b);
    char buf[4096];
    size_t n;
    long total = 0;
    while ((n = fread(buf, 1, sizeof buf, a)) > 0 && (limit < 0 || total < limit)) {
        fwrite(buf, 1, n, b);
        total += (long)n;
    }
    fclose(a);
    fclose(b);
}

/* A screenshot of `path` that succeeds; returns its pixels. */
static uint32_t *screenshot_ok(const char *path, int *w, int *h, char **err_out)
{
    char *argv[] = {(char *)gilview, "--force", "--screenshot", in_dir("ok.png"), "--size", "600x200", (char *)path, NULL};
    int rc = run_cmd(argv, NULL, err_out);
    if (rc != 0)
        fprintf(stderr, "screenshot of %s: exit %d: %s", path, rc, *err_out);
    CHECK_EQ_INT(rc, 0);
    uint32_t *px;
    char e[256];
    CHECK(png_io_read_argb(in_dir("ok.png"), &px, w, h, e, sizeof e) == 0);
    return px;
}

int main(int argc, char **argv)
{
    CHECK(argc == 2);
    gilview = argv[1];
    CHECK(mkdtemp(dir));
    unsetenv("DISPLAY");
    unsetenv("WAYLAND_DISPLAY");

    expect_failure(in_dir("missing.db"), "cannot open");
    expect_failure(dir, "not a regular file");
    write_file(in_dir("text.db"), "hello, this is not a database\n", 30);
    expect_failure(in_dir("text.db"), "not a giltrace trace");
    write_file(in_dir("empty-file.db"), "", 0);
    expect_failure(in_dir("empty-file.db"), "not a giltrace trace");
    sql(in_dir("other.db"), "CREATE TABLE t(x); INSERT INTO t VALUES (1);");
    expect_failure(in_dir("other.db"), "not a giltrace trace");

    /* a real trace, then versions of it */
    char err[256];
    struct trace_gen_options o = {.pattern = TRACE_GEN_PINGPONG, .events = 20000, .threads = 2, .seed = 1};
    CHECK(trace_gen_write(in_dir("good.db"), &o, NULL, err, sizeof err) == 0);
    copy(in_dir("good.db"), in_dir("newer.db"), -1);
    sql(in_dir("newer.db"), "UPDATE meta SET value = 99 WHERE key = 'schema_version'");
    expect_failure(in_dir("newer.db"), "newer giltrace");
    copy(in_dir("good.db"), in_dir("truncated.db"), 8192);
    expect_failure(in_dir("truncated.db"), "trace");
    copy(in_dir("good.db"), in_dir("damaged.db"), -1);
    sql(in_dir("damaged.db"), "UPDATE summary_chunk SET data = x'ffffffffffffffffffff'");
    {
        /* zoomed out enough to read summaries: the picture and the tiles fail, in one line */
        char *shot[] = {(char *)gilview, "--force", "--screenshot", in_dir("out.png"), "--size", "300x200", in_dir("damaged.db"),
                        NULL};
        char *tiles[] = {(char *)gilview, "tiles", in_dir("damaged.db"), "-o", in_dir("tiles"), NULL};
        char *const *cmds[] = {shot, tiles};
        for (int i = 0; i < 2; i++) {
            char *eo;
            int rc = run_cmd(cmds[i], NULL, &eo);
            if (rc <= 0 || run_lines(eo) != 1 || !strstr(eo, "damaged")) {
                fprintf(stderr, "damaged summaries, %s: exit %d: %s", cmds[i][1], rc, eo);
                exit(1);
            }
            free(eo);
        }
    }

    /* damaged event packs: the raw events of a zoomed-in picture */
    copy(in_dir("good.db"), in_dir("damaged-events.db"), -1);
    sql(in_dir("damaged-events.db"), "UPDATE summary_events SET data = x'ffffffffffffffffffff'");
    {
        char *shot[] = {(char *)gilview, "--force", "--screenshot", in_dir("out.png"), "--range", "1s:1.01s",
                        in_dir("damaged-events.db"), NULL};
        char *eo;
        int rc = run_cmd(shot, NULL, &eo);
        if (rc <= 0 || run_lines(eo) != 1 || !strstr(eo, "damaged")) {
            fprintf(stderr, "damaged event packs: exit %d: %s", rc, eo);
            exit(1);
        }
        free(eo);
    }

    /* a trace with no events: an empty, valid picture and one line saying so */
    struct tdb_writer *w;
    CHECK(tdb_writer_open(in_dir("no-events.db"), TDB_CREATE, &w, err, sizeof err) == 0);
    CHECK(tdb_writer_close(w, err, sizeof err) == 0);
    int pw, ph;
    char *e;
    uint32_t *px = screenshot_ok(in_dir("no-events.db"), &pw, &ph, &e);
    CHECK(pw == 600 && ph == 200);
    CHECK_EQ_INT(run_lines(e), 1);
    CHECK(strstr(e, "no GIL events"));
    free(e);
    free(px);
    char *tiles[] = {(char *)gilview, "tiles", in_dir("no-events.db"), "-o", in_dir("empty-tiles"), NULL};
    CHECK_EQ_INT(run_cmd(tiles, NULL, NULL), 0);
    CHECK(access(in_dir("empty-tiles/index.html"), R_OK) == 0);
    CHECK(access(in_dir("empty-tiles/0/0/0.png"), F_OK) != 0);

    /* a trace of one event (an ACQUIRE): held until the process ended */
    struct trace_process p;
    CHECK(trace_gen_process_init(&p, 5, 1000000000, 1002000000) == 0);
    struct trace_thread *t = trace_gen_thread(&p, 5, NULL);
    CHECK(trace_gen_event(t, 1001000000, RING_EV_ACQUIRE) == 0);
    CHECK(trace_gen_write_processes(in_dir("one.db"), &p, 1, err, sizeof err) == 0);
    trace_process_free(&p);
    px = screenshot_ok(in_dir("one.db"), &pw, &ph, &e);
    free(e);
    uint32_t green = render_palette()[render_blend_index(1, 0)];
    int lx, ly, lw, lh, greens = 0;
    render_lane_rect(pw, ph, &lx, &ly, &lw, &lh);
    for (int y = ly; y < ly + lh; y++)
        for (int x = lx; x < lx + lw; x++)
            greens += px[y * pw + x] == green;
    CHECK(greens > 100); /* the second half of the run, held */
    free(px);

    /* no display: the window says so instead of waiting for input that never comes */
    {
        char *win[] = {(char *)gilview, in_dir("good.db"), NULL};
        char *eo;
        int rc = run_cmd(win, NULL, &eo);
        if (rc != 1 || run_lines(eo) != 1 || !strstr(eo, "no display")) {
            fprintf(stderr, "window without a display: exit %d: %s", rc, eo);
            exit(1);
        }
        free(eo);
    }

    /* bad options: usage errors (exit 2), one line */
    char *bad[][8] = {
        {(char *)gilview, "--size", "huge", in_dir("good.db"), NULL},
        {(char *)gilview, "--force", "--screenshot", in_dir("x.png"), "--range", "5ms:1ms", in_dir("good.db"), NULL},
        {(char *)gilview, "--force", "--screenshot", in_dir("x.png"), "--range", "later", in_dir("good.db"), NULL},
        {(char *)gilview, NULL},
        {(char *)gilview, "tiles", in_dir("good.db"), NULL},
        {(char *)gilview, "tiles", in_dir("good.db"), "-o", in_dir("t"), "--max-zoom", "-3", NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *eo;
        int rc = run_cmd(bad[i], NULL, &eo);
        if (rc != 2 || run_lines(eo) != 1) {
            fprintf(stderr, "case %zu: exit %d: %s", i, rc, eo);
            exit(1);
        }
        free(eo);
    }
    char *rmv[] = {"/bin/rm", "-rf", dir, NULL};
    run_cmd(rmv, NULL, NULL);
    printf("ok\n");
    return 0;
}
