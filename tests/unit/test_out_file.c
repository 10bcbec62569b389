/*
 * test_out_file.c — the output rules (formats/ring/out_file.h): a device, FIFO or
 * directory is never replaced, even with force; a symlink is replaced as a
 * link, its target untouched; a file that appears while the output is
 * written is not replaced (the output goes to "<path>.1"); outputs are 0600;
 * a temporary file a killed writer left is removed by the next claim.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "out_file.h"
#include "check.h"

static char dir[] = "/tmp/giltrace-outfile-XXXXXX";

static const char *in_dir(const char *name)
{
    static char buf[4][PATH_MAX];
    static int k;
    char *p = buf[k++ % 4];
    snprintf(p, PATH_MAX, "%s/%s", dir, name);
    return p;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void check_content(const char *path, const char *text)
{
    char buf[64] = {0};
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    CHECK(fread(buf, 1, sizeof buf - 1, f) <= sizeof buf - 1);
    fclose(f);
    CHECK_STR(buf, text);
}

/* Claim, write `text`, commit; returns the commit's result. */
static int write_out(const char *path, bool force, const char *text, char *kept, char *err)
{
    char tmp[PATH_MAX];
    int fd = out_file_claim(path, force, tmp, sizeof tmp, err, 256);
    if (fd < 0)
        return -2;
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    int r = out_file_commit(tmp, path, force, kept, PATH_MAX, err, 256);
    if (r < 0)
        unlink(tmp);
    return r;
}

int main(void)
{
    CHECK(mkdtemp(dir) != NULL);
    char err[256], kept[PATH_MAX], tmp[PATH_MAX];

    /* a new file: written, 0600 */
    CHECK_EQ_INT(write_out(in_dir("a"), false, "one", kept, err), 0);
    check_content(in_dir("a"), "one");
    struct stat st;
    CHECK(stat(in_dir("a"), &st) == 0);
    CHECK_EQ_INT(st.st_mode & 0777, 0600);
    /* existing: refused without force, replaced with it */
    CHECK_EQ_INT(write_out(in_dir("a"), false, "two", kept, err), -2);
    CHECK(strstr(err, "already exists") != NULL);
    CHECK_EQ_INT(write_out(in_dir("a"), true, "two", kept, err), 0);
    check_content(in_dir("a"), "two");

    /* a FIFO (like a device node) is never replaced, with force or not */
    CHECK(mkfifo(in_dir("fifo"), 0600) == 0);
    CHECK_EQ_INT(write_out(in_dir("fifo"), true, "x", kept, err), -2);
    fprintf(stderr, "FIFO with force: %s\n", err);
    CHECK(lstat(in_dir("fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
    CHECK(mkdir(in_dir("d"), 0700) == 0);
    CHECK_EQ_INT(write_out(in_dir("d"), true, "x", kept, err), -2);

    /* a symlink: refused without force; with force the link is replaced,
     * its target untouched */
    put(in_dir("victim"), "precious");
    CHECK(symlink(in_dir("victim"), in_dir("link")) == 0);
    CHECK_EQ_INT(write_out(in_dir("link"), false, "x", kept, err), -2);
    CHECK_EQ_INT(write_out(in_dir("link"), true, "new", kept, err), 0);
    check_content(in_dir("victim"), "precious");
    CHECK(lstat(in_dir("link"), &st) == 0 && S_ISREG(st.st_mode));
    check_content(in_dir("link"), "new");

    /* a file that appears while the output is written is not replaced:
     * the output goes beside it */
    int fd = out_file_claim(in_dir("race"), false, tmp, sizeof tmp, err, sizeof err);
    CHECK(fd >= 0);
    CHECK(write(fd, "second", 6) == 6);
    close(fd);
    put(in_dir("race"), "first");
    CHECK_EQ_INT(out_file_commit(tmp, in_dir("race"), false, kept, sizeof kept, err, sizeof err), 1);
    CHECK_STR(kept, in_dir("race.1"));
    check_content(in_dir("race"), "first");
    check_content(in_dir("race.1"), "second");
    /* ... and with force it is */
    fd = out_file_claim(in_dir("race2"), true, tmp, sizeof tmp, err, sizeof err);
    CHECK(fd >= 0);
    close(fd);
    put(in_dir("race2"), "first");
    CHECK_EQ_INT(out_file_commit(tmp, in_dir("race2"), true, kept, sizeof kept, err, sizeof err), 0);
    CHECK(stat(in_dir("race2"), &st) == 0 && st.st_size == 0);

    /* a temporary file of a writer that is gone is removed by the next claim;
     * one of a live writer (ourselves) and files of other names are not */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    CHECK(waitpid(child, NULL, 0) == child);
    char stale[64], live[64];
    snprintf(stale, sizeof stale, "s.tmp-%d-abcDEF", (int)child);
    snprintf(live, sizeof live, "s.tmp-%d-abcDEF", (int)getpid());
    put(in_dir(stale), "");
    put(in_dir(live), "");
    put(in_dir("s.tmp-other"), "");
    fd = out_file_claim(in_dir("s"), false, tmp, sizeof tmp, err, sizeof err);
    CHECK(fd >= 0);
    close(fd);
    unlink(tmp);
    CHECK(access(in_dir(stale), F_OK) != 0);
    CHECK(access(in_dir(live), F_OK) == 0);
    CHECK(access(in_dir("s.tmp-other"), F_OK) == 0);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    printf("out_file: the output rules hold\n");
    return 0;
}
