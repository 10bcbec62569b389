/*
 * trace_model.h — one traced process in memory: what a ring file decodes
 * to, what the database writer stores, what generators build for tests.
 * Times are CLOCK_MONOTONIC nanoseconds.
 */
#ifndef GILTRACE_TRACE_MODEL_H
#define GILTRACE_TRACE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* CLOCK_MONOTONIC times lie in [0, TRACE_TIME_MAX_NS] (146 years of
 * uptime), so that the difference of any two fits int64; a time outside is
 * damage (a ring's torn calibration, an edited trace). */
#define TRACE_TIME_MAX_NS (INT64_C(1) << 62)

static inline bool trace_time_valid(int64_t t)
{
    return t >= 0 && t <= TRACE_TIME_MAX_NS;
}

/* `t` brought into [0, TRACE_TIME_MAX_NS]: what readers of a trace do with
 * a damaged process or trace time before they subtract. */
static inline int64_t trace_time_clamp(int64_t t)
{
    return t < 0 ? 0 : t > TRACE_TIME_MAX_NS ? TRACE_TIME_MAX_NS : t;
}

struct trace_event {
    int64_t ts_ns;
    uint8_t kind;   /* enum ring_event_kind */
    uint8_t gil;    /* 0 = main GIL, 1.. = subinterpreter GILs */
    uint16_t cpu;   /* RING_CPU_UNKNOWN if not known */
    uint32_t stack; /* native stack (trace_process.stacks[stack - 1]); 0: none */
};

/* An event of a thread that has a Python stack (traces with Python stacks). */
struct trace_py_mark {
    size_t event;   /* index into trace_thread.events */
    uint32_t stack; /* trace_process.py_stacks[stack - 1] */
};

/* A thread's events, in the order it recorded them (ts_ns never decreases). */
struct trace_thread {
    uint32_t tid;
    char *name; /* NULL when unknown */
    size_t count;
    struct trace_event *events;
    size_t py_mark_count;          /* events with a Python stack, in event order */
    struct trace_py_mark *py_marks;
};

/* A loaded object (executable, shared library) that stack frames point into. */
struct trace_module {
    char *path;
    uint64_t bias;     /* load bias: address = bias + ELF virtual address */
    uint64_t lo, hi;   /* its executable range [lo, hi) in the process */
    char *build_id;    /* hex GNU build id, NULL if none */
};

/* One frame of a native stack. */
struct trace_frame {
    uint64_t address;       /* instruction: the call's return address, except frame 0 */
    int32_t module;         /* index into trace_process.modules, -1 if unknown */
    char *symbol;           /* NULL when not symbolised */
    uint64_t symbol_offset; /* address - symbol start */
};

/* A deduplicated native stack, innermost frame first. */
struct trace_stack {
    uint32_t depth;
    bool truncated; /* the stack went on, deeper than was recorded or could be unwound */
    struct trace_frame *frames;
};

/* A Python code object (formats/ring/ring.h struct ring_py_code). */
struct trace_py_code {
    char *qualname;     /* the qualified name (3.11+), else the name; never NULL */
    char *name;
    char *filename;
    int32_t first_line;
};

/* One frame of a Python stack. */
struct trace_py_frame {
    uint32_t code;   /* trace_process.py_codes[code - 1]; 0: not known */
    uint32_t offset; /* instruction offset in bytes in the code object */
    int32_t line;    /* resolved from the line table; -1 when none */
};

/* A deduplicated Python stack, innermost frame first. */
struct trace_py_stack {
    uint32_t depth;
    bool truncated; /* deeper than was recorded */
    struct trace_py_frame *frames;
};

struct trace_gil {
    uint32_t index;
    uint32_t kind; /* enum ring_gil_kind */
    uint64_t address;
    bool subinterpreter;
};

struct trace_process {
    int32_t pid;
    int32_t ppid;
    char *exe;
    char **argv;
    size_t argc;
    char *python_version;
    uint32_t python_hexversion;
    uint32_t gil_kind;          /* enum ring_gil_kind of the main GIL */
    int64_t switch_interval_us; /* -1 when unknown */
    int64_t start_ns;
    int64_t end_ns;
    bool exited;                /* a clean exit was seen */
    uint64_t lost_events;       /* recorded as lost by the shim */
    uint64_t overwritten_events;/* overwritten in a flight-recorder ring */
    uint64_t dropped_records;   /* torn or invalid records the reader dropped */
    uint64_t chunks_used;       /* ring chunks the process had claimed (0: not read from a ring) */
    uint64_t chunks_missing;    /* of those, how many lay past the end of a ring file cut short */
    size_t gil_count;
    struct trace_gil *gils;
    size_t thread_count;
    struct trace_thread *threads;
    /* Native stacks (giltrace run --stacks); an event's `stack` is 1-based. */
    size_t module_count;
    struct trace_module *modules;
    size_t stack_count;
    struct trace_stack *stacks;
    uint64_t lost_stacks;       /* RELEASE/BUSY events whose stack could not be kept */
    bool stacks_recorded;       /* stacks were asked for */
    /* Python stacks (with --stacks); a trace_py_mark's stack is 1-based. */
    size_t py_code_count;
    struct trace_py_code *py_codes;
    size_t py_stack_count;
    struct trace_py_stack *py_stacks;
    uint64_t lost_py_stacks;    /* RELEASE/BUSY events whose Python stack could not be kept */
    bool py_stacks_recorded;    /* the ring had room for Python stacks */
};

/* Give event `event` of `t` Python stack `stack`; events are marked in
 * order. Returns 0, or -1 when out of memory. */
int trace_thread_add_py_mark(struct trace_thread *t, size_t event, uint32_t stack);

/* Total events of all threads. */
uint64_t trace_process_event_count(const struct trace_process *p);

/* Free everything `p` owns and zero it. */
void trace_process_free(struct trace_process *p);

#endif
