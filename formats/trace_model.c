/*
 * trace_model.c — helpers of the in-memory trace. See trace_model.h.
 */
#include "trace_model.h"

#include <stdlib.h>
#include <string.h>

uint64_t trace_process_event_count(const struct trace_process *p)
{
    uint64_t n = 0;
    for (size_t i = 0; i < p->thread_count; i++)
        n += p->threads[i].count;
    return n;
}

void trace_process_free(struct trace_process *p)
{
    free(p->exe);
    for (size_t i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p->argv);
    free(p->python_version);
    free(p->gils);
    for (size_t i = 0; i < p->thread_count; i++) {
        free(p->threads[i].name);
        free(p->threads[i].events);
    }
    free(p->threads);
    for (size_t i = 0; i < p->module_count; i++) {
        free(p->modules[i].path);
        free(p->modules[i].build_id);
    }
    free(p->modules);
    for (size_t i = 0; i < p->stack_count; i++) {
        for (uint32_t k = 0; k < p->stacks[i].depth; k++)
            free(p->stacks[i].frames[k].symbol);
        free(p->stacks[i].frames);
    }
    free(p->stacks);
    memset(p, 0, sizeof *p);
}
