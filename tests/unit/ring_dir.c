/*
 * ring_dir.c — run a traced program and decode its ring. See ring_dir.h.
 */
#include "ring_dir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ring_read.h"
#include "check.h"

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    while (d && (de = readdir(d)))
        if (de->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    rmdir(dir);
}

int run_traced(char *const argv[], char *out, size_t cap, struct trace_process *proc)
{
    char dir[] = "/tmp/giltrace-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        setenv("GILTRACE_RUN_DIR", dir, 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while (got + 1 < cap && (n = read(fds[0], out + got, cap - 1 - got)) > 0)
        got += (size_t)n;
    out[got] = '\0';
    close(fds[0]);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);

    DIR *d = opendir(dir);
    CHECK(d != NULL);
    struct dirent *de;
    int rings = 0;
    char path[4096], err[256];
    while ((de = readdir(d)))
        if (strstr(de->d_name, ".ring")) {
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (ring_read_file(path, proc, err, sizeof err) != 0) {
                fprintf(stderr, "%s\n", err);
                exit(1);
            }
            rings++;
        }
    closedir(d);
    remove_dir(dir);
    CHECK(rings == 1);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
