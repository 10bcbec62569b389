/*
 * experiment_spec.c — parsing giltrace run --experiment. See experiment_spec.h.
 */
#include "experiment_spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool bad(char *why, size_t n, const char *item, const char *what)
{
    snprintf(why, n, "\"%s\" %s", item, what);
    return false;
}

/* "WHO:MS" into `r`. */
static bool parse_rule(const char *item, struct experiment_rule *r)
{
    const char *colon = strrchr(item, ':');
    if (!colon || colon == item || (size_t)(colon - item) >= sizeof r->name)
        return false;
    char *end;
    errno = 0;
    unsigned long ms = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || colon[1] < '0' || colon[1] > '9' || ms > EXPERIMENT_MAX_MS)
        return false;
    memset(r, 0, sizeof *r);
    memcpy(r->name, item, (size_t)(colon - item));
    r->interval_us = (uint32_t)ms * 1000u;
    errno = 0;
    unsigned long tid = strtoul(r->name, &end, 10);
    if (!errno && *end == '\0' && r->name[0] >= '1' && r->name[0] <= '9' && tid <= UINT32_MAX)
        r->tid = (uint32_t)tid;
    return true;
}

bool experiment_spec_parse(const char *spec, struct experiment_spec *out, char *why, size_t why_len)
{
    memset(out, 0, sizeof *out);
    char item[256];
    bool in_rules = false;
    const char *p = spec;
    do {
        size_t len = strcspn(p, ",");
        if (len == 0 || len >= sizeof item)
            return bad(why, why_len, spec, "has an empty or overlong item");
        memcpy(item, p, len);
        item[len] = '\0';
        p += len;
        const char *rule = NULL;
        if (strcmp(item, "priority-gil") == 0) {
            out->priority = true;
            in_rules = false;
        } else if (strncmp(item, "switch-interval=", 16) == 0) {
            rule = item + 16;
            in_rules = true;
        } else if (in_rules) {
            rule = item;
        } else {
            return bad(why, why_len, item, "is no experiment (priority-gil, switch-interval=WHO:MS,...)");
        }
        if (!rule)
            continue;
        if (out->nrules == EXPERIMENT_MAX_RULES)
            return bad(why, why_len, rule, "is one switch-interval rule too many (16 at most)");
        if (!parse_rule(rule, &out->rules[out->nrules]))
            return bad(why, why_len, rule, "is not WHO:MS (a tid or a thread name, and ms from 0 to 10000)");
        out->nrules++;
    } while (*p++ == ',');
    return true;
}
