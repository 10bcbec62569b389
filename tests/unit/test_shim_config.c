/*
 * test_shim_config.c — the shim's environment: %p expansion, private
 * directory checks, and one clear reason for every unusable value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ring.h"
#include "../../tracer/shim/shim_config.h"
#include "check.h"

static void clear_env(void)
{
    unsetenv("GILTRACE_RUN_DIR");
    unsetenv("GILTRACE_OUTPUT");
    unsetenv("GILTRACE_RING_DIR");
    unsetenv("GILTRACE_BUFFER_MB");
}

int main(void)
{
    char out[64], why[512];
    CHECK(shim_config_expand_output("/t/gil-%p.db", 1234, out, sizeof out));
    CHECK_STR(out, "/t/gil-1234.db");
    CHECK(shim_config_expand_output("/t/100%%-%p", 7, out, sizeof out));
    CHECK_STR(out, "/t/100%-7");
    CHECK(!shim_config_expand_output("/t/%d.db", 7, out, sizeof out));
    CHECK(!shim_config_expand_output("/t/%", 7, out, sizeof out));
    CHECK(!shim_config_expand_output("/a/very/long/path/that/does/not/fit/in/the/buffer/%p", 7, out, 16));

    char dir[] = "/tmp/giltrace-cfg-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(shim_config_private_dir(dir));
    chmod(dir, 0755);
    CHECK(!shim_config_private_dir(dir));
    chmod(dir, 0700);

    struct shim_config c;
    clear_env();
    CHECK(shim_config_read(&c, why, sizeof why));
    CHECK_EQ_INT(c.mode, SHIM_MODE_OFF);

    setenv("GILTRACE_RUN_DIR", dir, 1);
    setenv("GILTRACE_BUFFER_MB", "64", 1);
    CHECK(shim_config_read(&c, why, sizeof why));
    CHECK_EQ_INT(c.mode, SHIM_MODE_RUN);
    CHECK_EQ_INT(c.size_mb, 64);
    CHECK_STR(c.ring_dir, dir);

    /* the run directory of another user: this process changed user under
     * giltrace run, and runs untraced without a word */
    if (geteuid() == 0) {
        CHECK(chown(dir, 65534, 65534) == 0);
        CHECK(!shim_config_read(&c, why, sizeof why));
        CHECK_STR(why, "");
        CHECK(chown(dir, 0, 0) == 0);
    } else {
        printf("n/a   a run directory of another user (needs root to chown one)\n");
    }

    setenv("GILTRACE_BUFFER_MB", "0", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));
    CHECK(strstr(why, "GILTRACE_BUFFER_MB") != NULL);
    setenv("GILTRACE_BUFFER_MB", "12abc", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));
    unsetenv("GILTRACE_BUFFER_MB");

    setenv("GILTRACE_RING_MODE", "overwrite", 1);
    setenv("GILTRACE_TRIGGER_WAIT_MS", "250", 1);
    CHECK(shim_config_read(&c, why, sizeof why));
    CHECK_EQ_INT(c.ring_mode, RING_MODE_OVERWRITE);
    CHECK_EQ_INT(c.trigger_wait_ms, 250);
    setenv("GILTRACE_RING_MODE", "circular", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));
    CHECK(strstr(why, "GILTRACE_RING_MODE") != NULL);
    unsetenv("GILTRACE_RING_MODE");
    setenv("GILTRACE_TRIGGER_WAIT_MS", "0", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));
    unsetenv("GILTRACE_TRIGGER_WAIT_MS");

    chmod(dir, 0777);
    CHECK(!shim_config_read(&c, why, sizeof why));
    CHECK(strstr(why, "GILTRACE_RUN_DIR") != NULL);
    chmod(dir, 0700);
    setenv("GILTRACE_RUN_DIR", "relative/dir", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));

    clear_env();
    setenv("GILTRACE_OUTPUT", "trace-%p.db", 1);
    setenv("GILTRACE_RING_DIR", dir, 1);
    CHECK(shim_config_read(&c, why, sizeof why));
    CHECK_EQ_INT(c.mode, SHIM_MODE_ENV);
    CHECK(c.output[0] == '/' && strstr(c.output, "/trace-%p.db") != NULL);
    setenv("GILTRACE_TRIGGER_WAIT_MS", "100", 1); /* nothing would write the snapshots */
    CHECK(!shim_config_read(&c, why, sizeof why));
    CHECK(strstr(why, "GILTRACE_TRIGGER_WAIT_MS") != NULL);
    unsetenv("GILTRACE_TRIGGER_WAIT_MS");
    setenv("GILTRACE_OUTPUT", "x-%z.db", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));
    CHECK(strstr(why, "GILTRACE_OUTPUT") != NULL);
    setenv("GILTRACE_OUTPUT", "x.db", 1);
    setenv("GILTRACE_RING_DIR", "/", 1);
    CHECK(!shim_config_read(&c, why, sizeof why));
    CHECK(strstr(why, "GILTRACE_RING_DIR") != NULL);
    rmdir(dir);
    return 0;
}
