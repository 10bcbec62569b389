/*
 * experiment_spec.h — the grammar of giltrace run --experiment (and of
 * GILTRACE_EXPERIMENT), shared by the CLI, which checks it before the
 * command starts, and the shim, which applies it (gil_experiment.h):
 *
 *   SPEC  := ITEM[,ITEM...]
 *   ITEM  := priority-gil | switch-interval=WHO:MS | WHO:MS (after a
 *            switch-interval= item: one more rule)
 *   WHO   := a kernel tid, or a Python thread name (threading.Thread.name
 *            at its start; MainThread is the main thread)
 *   MS    := 0..10000
 */
#ifndef GILTRACE_EXPERIMENT_SPEC_H
#define GILTRACE_EXPERIMENT_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXPERIMENT_MAX_RULES 16u
#define EXPERIMENT_MAX_MS 10000u
#define EXPERIMENT_NAME_MAX 56u
/* priority-gil: a priority waiter's later timed waits in one take_gil last
 * at most this long (its first times out at once). */
#define EXPERIMENT_PRIORITY_RETRY_US 100u

struct experiment_rule {
    uint32_t tid;                    /* 0: by name */
    char name[EXPERIMENT_NAME_MAX];  /* WHO as written */
    uint32_t interval_us;
};

struct experiment_spec {
    bool priority; /* priority-gil */
    unsigned nrules;
    struct experiment_rule rules[EXPERIMENT_MAX_RULES];
};

/* Parse `spec` into `out`. Returns false with a one-line reason in `why`
 * (which names the item at fault) when it is not valid. */
bool experiment_spec_parse(const char *spec, struct experiment_spec *out, char *why, size_t why_len);

#endif
