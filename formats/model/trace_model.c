/*
 * trace_model.c — helpers of the in-memory trace. See trace_model.h.
 */
#include "trace_model.h"

#include <stdlib.h>
#include <string.h>

int trace_thread_add_py_mark(struct trace_thread *t, size_t event, uint32_t stack)
{
    size_t n = t->py_mark_count;
    if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) { /* capacity: 16, then doubled when full */
        struct trace_py_mark *more = realloc(t->py_marks, (n ? n * 2 : 16) * sizeof *more);
        if (!more)
            return -1;
        t->py_marks = more;
    }
    t->py_marks[t->py_mark_count++] = (struct trace_py_mark){event, stack};
    return 0;
}

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
        free(p->threads[i].py_marks);
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
    for (size_t i = 0; i < p->py_code_count; i++) {
        free(p->py_codes[i].qualname);
        free(p->py_codes[i].name);
        free(p->py_codes[i].filename);
    }
    free(p->py_codes);
    for (size_t i = 0; i < p->py_stack_count; i++)
        free(p->py_stacks[i].frames);
    free(p->py_stacks);
    memset(p, 0, sizeof *p);
}
