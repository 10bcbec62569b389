/*
 * shim_config.c — reading and checking the shim's environment variables.
 * See shim_config.h.
 */
#include "shim_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "text_util.h"

static bool fail(char *why, size_t n, const char *a, const char *b, const char *c)
{
    struct text_buf t = text_buf_init(why, n);
    text_buf_str(&t, a);
    text_buf_str(&t, b);
    text_buf_str(&t, c);
    return false;
}

bool shim_config_private_dir(const char *dir)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & 077) == 0;
}

bool shim_config_expand_output(const char *pattern, int pid, char *out, size_t cap)
{
    struct text_buf b = text_buf_init(out, cap);
    char one[2] = {0, 0};
    for (const char *p = pattern; *p; p++) {
        if (*p != '%') {
            one[0] = *p;
            text_buf_str(&b, one);
        } else if (p[1] == 'p') {
            text_buf_u64(&b, (uint64_t)pid);
            p++;
        } else if (p[1] == '%') {
            text_buf_str(&b, "%");
            p++;
        } else {
            return false;
        }
    }
    return !b.overflow && b.len > 0;
}

/* `dir` is a private directory (0700) of another user: giltrace run made
 * it, and this process has become another user since (a setuid program, a
 * subprocess started with user=...). */
static bool changed_user_since(const char *dir)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid != geteuid() && (st.st_mode & 077) == 0;
}

static bool parse_u32(const char *s, unsigned long min, unsigned long max, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] < '0' || s[0] > '9' || v < min || v > max)
        return false;
    *out = (uint32_t)v;
    return true;
}


/* The default env-only ring directory: <base>/giltrace-<uid> in the first
 * of /dev/shm, $TMPDIR and /tmp where it is (or can be made) a private
 * directory of this user. A name taken by something else (another user's
 * directory, a symlink) is passed over. On failure `why` says what each
 * base gave. With `make` false, only an existing one is taken. */
static bool default_ring_dir(char *out, size_t cap, char *why, size_t why_len, bool make)
{
    const char *bases[3] = {"/dev/shm", getenv("TMPDIR"), "/tmp"};
    const char *labels[3] = {"/dev/shm", "$TMPDIR", "/tmp"};
    struct text_buf t = text_buf_init(why, why_len);
    text_buf_str(&t, "no private ring directory could be made (");
    for (int i = 0; i < 3; i++) {
        const char *base = bases[i];
        if (i)
            text_buf_str(&t, "; ");
        if (!base || base[0] != '/') {
            text_buf_str(&t, labels[i]);
            text_buf_str(&t, base ? " is not an absolute path" : " is not set");
            continue;
        }
        if (i == 1 && (strcmp(base, bases[0]) == 0 || strcmp(base, bases[2]) == 0)) {
            text_buf_str(&t, "$TMPDIR is ");
            text_buf_str(&t, base);
            continue;
        }
        struct text_buf b = text_buf_init(out, cap);
        text_buf_str(&b, base);
        text_buf_str(&b, "/giltrace-");
        text_buf_u64(&b, (uint64_t)geteuid());
        text_buf_str(&t, b.overflow ? base : out);
        if (b.overflow) {
            text_buf_str(&t, ": path too long");
            continue;
        }
        if (make && mkdir(out, 0700) != 0 && errno != EEXIST) {
            text_buf_str(&t, ": ");
            text_buf_str(&t, strerror(errno));
            continue;
        }
        if (shim_config_private_dir(out))
            return true;
        text_buf_str(&t, " is not a private directory of this user");
    }
    text_buf_str(&t, "); set GILTRACE_RING_DIR to a directory of mode 0700; running untraced");
    return false;
}

static bool config_read(struct shim_config *c, char *why, size_t why_len, bool make);

bool shim_config_read(struct shim_config *c, char *why, size_t why_len)
{
    return config_read(c, why, why_len, true);
}

bool shim_config_look(struct shim_config *c, char *why, size_t why_len)
{
    return config_read(c, why, why_len, false);
}

static bool config_read(struct shim_config *c, char *why, size_t why_len, bool make)
{
    memset(c, 0, sizeof *c);
    c->size_mb = RING_DEFAULT_MB;

    const char *size = getenv("GILTRACE_BUFFER_MB");
    if (size && !parse_u32(size, RING_MIN_MB, RING_MAX_MB, &c->size_mb))
        return fail(why, why_len, "GILTRACE_BUFFER_MB=\"", size,
                    "\" is not a size in MiB from 1 to 65536; running untraced");
    const char *mode = getenv("GILTRACE_RING_MODE");
    if (mode && strcmp(mode, "append") != 0 && strcmp(mode, "overwrite") != 0)
        return fail(why, why_len, "GILTRACE_RING_MODE=\"", mode,
                    "\" is neither append nor overwrite; running untraced");
    c->ring_mode = mode && strcmp(mode, "overwrite") == 0 ? RING_MODE_OVERWRITE : RING_MODE_APPEND;

    const char *stacks = getenv("GILTRACE_STACKS");
    if (stacks && *stacks && strcmp(stacks, "0") != 0 && strcmp(stacks, "1") != 0)
        return fail(why, why_len, "GILTRACE_STACKS=\"", stacks, "\" is neither 0 nor 1; running untraced");
    c->native_stacks = stacks && strcmp(stacks, "1") == 0;
    const char *py_stacks = getenv("GILTRACE_PYSTACKS");
    if (py_stacks && *py_stacks && strcmp(py_stacks, "0") != 0 && strcmp(py_stacks, "1") != 0)
        return fail(why, why_len, "GILTRACE_PYSTACKS=\"", py_stacks, "\" is neither 0 nor 1; running untraced");
    c->py_stacks = py_stacks && *py_stacks ? strcmp(py_stacks, "1") == 0 : c->native_stacks;
    if (c->native_stacks || c->py_stacks) {
        c->stacks_mb = SHIM_STACKS_DEFAULT_MB;
        const char *mb = getenv("GILTRACE_STACKS_MB");
        if (mb && *mb && !parse_u32(mb, 1, SHIM_STACKS_MAX_MB, &c->stacks_mb))
            return fail(why, why_len, "GILTRACE_STACKS_MB=\"", mb,
                        "\" is not a size in MiB from 1 to 1024; running untraced");
    }

    const char *run_dir = getenv("GILTRACE_RUN_DIR");
    const char *output = getenv("GILTRACE_OUTPUT");
    const char *trigger = getenv("GILTRACE_TRIGGER_WAIT_MS");
    if (trigger && !parse_u32(trigger, 1, 3600000, &c->trigger_wait_ms))
        return fail(why, why_len, "GILTRACE_TRIGGER_WAIT_MS=\"", trigger,
                    "\" is not a number of ms from 1 to 3600000; running untraced");
    if (trigger && !(run_dir && *run_dir))
        return fail(why, why_len, "GILTRACE_TRIGGER_WAIT_MS needs giltrace run --trigger-wait-ms", "",
                    " (nothing else writes the snapshots); running untraced");
    if (run_dir && *run_dir) {
        if (run_dir[0] == '/' && changed_user_since(run_dir)) {
            why[0] = '\0'; /* nothing to say: this process's stderr is the program's */
            return false;
        }
        if (run_dir[0] != '/' || !shim_config_private_dir(run_dir) ||
            !text_copy(c->ring_dir, sizeof c->ring_dir, run_dir))
            return fail(why, why_len, "GILTRACE_RUN_DIR=\"", run_dir,
                        "\" is not a private directory of this user; running untraced");
        c->mode = SHIM_MODE_RUN;
        return true;
    }
    if (!output || !*output)
        return true; /* SHIM_MODE_OFF */

    char probe[4096];
    if (!shim_config_expand_output(output, 1, probe, sizeof probe))
        return fail(why, why_len, "GILTRACE_OUTPUT=\"", output,
                    "\" is not a usable path (only %p and %% may follow a %); running untraced");
    if (output[0] == '/') {
        text_copy(c->output, sizeof c->output, output);
    } else {
        char cwd[2048];
        struct text_buf b = text_buf_init(c->output, sizeof c->output);
        if (!getcwd(cwd, sizeof cwd))
            return fail(why, why_len, "GILTRACE_OUTPUT=\"", output,
                        "\" is relative and the working directory is unknown; running untraced");
        text_buf_str(&b, cwd);
        text_buf_str(&b, "/");
        text_buf_str(&b, output);
        if (b.overflow)
            return fail(why, why_len, "GILTRACE_OUTPUT=\"", output, "\" is too long; running untraced");
    }

    const char *ring_dir = getenv("GILTRACE_RING_DIR");
    if (ring_dir && *ring_dir) {
        if (ring_dir[0] != '/' || !shim_config_private_dir(ring_dir) ||
            !text_copy(c->ring_dir, sizeof c->ring_dir, ring_dir))
            return fail(why, why_len, "GILTRACE_RING_DIR=\"", ring_dir,
                        "\" is not a private directory of this user (mode 0700); running untraced");
    } else if (!default_ring_dir(c->ring_dir, sizeof c->ring_dir, why, why_len, make)) {
        return false;
    }
    c->mode = SHIM_MODE_ENV;
    return true;
}
