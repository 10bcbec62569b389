/*
 * run.h — running a program from a test: its exit status (-1 if a signal
 * killed it: a crash) and what it wrote on stdout and stderr.
 */
#ifndef GILTRACE_TEST_RUN_H
#define GILTRACE_TEST_RUN_H

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static inline char *run_slurp(int fd)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    lseek(fd, 0, SEEK_SET);
    ssize_t n;
    while (buf && (n = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)n;
        if (cap - len < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    if (buf)
        buf[len] = '\0';
    close(fd);
    return buf;
}

/* Run argv (argv[0] a path). *out and *err (malloc'd, may be NULL) get the output. */
static inline int run_cmd(char *const argv[], char **out, char **err)
{
    char o[] = "/tmp/test-run-out-XXXXXX", e[] = "/tmp/test-run-err-XXXXXX";
    int fo = mkstemp(o), fe = mkstemp(e);
    if (fo < 0 || fe < 0)
        return -2;
    unlink(o);
    unlink(e);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        fprintf(stderr, "cannot run %s\n", argv[0]);
        exit(1);
    }
    int st;
    waitpid(pid, &st, 0);
    char *so = run_slurp(fo), *se = run_slurp(fe);
    if (out)
        *out = so;
    else
        free(so);
    if (err)
        *err = se;
    else
        free(se);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Lines in s (a last line without a newline counts). */
static inline int run_lines(const char *s)
{
    int n = 0;
    for (const char *p = s; *p; p++)
        n += *p == '\n';
    if (*s && s[strlen(s) - 1] != '\n')
        n++;
    return n;
}

#endif
