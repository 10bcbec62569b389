/*
 * ring.h — the on-disk layout of a giltrace ring file (contract between the
 * shim, which writes it from inside a traced process, and every reader:
 * `giltrace run`, `recover`, `snapshot`, the env-only dump, live viewers).
 *
 * One ring file per traced process, in a private run directory. It is a
 * file-backed MAP_SHARED mapping, so whatever the process stored before it
 * died is in the page cache and can be read back.
 *
 *   [ring_header: RING_HEADER_SIZE bytes]
 *   [chunk 0][chunk 1] ... [chunk chunk_count-1]     each RING_CHUNK_SIZE bytes
 *
 * A chunk belongs to one thread once claimed. Threads claim fresh chunks by
 * an atomic increment of `next_chunk`, so the recording path takes no lock;
 * a chunk is a ring_chunk_header followed by RING_RECORDS_PER_CHUNK records.
 * Every claim gets a new `seq` from `next_seq`: a thread's chunks are read
 * in seq order. In overwrite mode (a flight recorder), once no fresh chunk
 * is left, a claim takes over the oldest chunk no live thread is writing.
 *
 * A chunk header is published like a seqlock: its seq is 0 while the chunk
 * is being (re)initialised and is stored last, with release order. A reader
 * takes seq, reads the chunk, and takes seq again; if it changed, the chunk
 * was taken over meanwhile and what was read is dropped.
 *
 * A record is committed by its second 8-byte word, stored after the first
 * with release order: `check` must equal ring_record_check(chunk seq, index)
 * or the record (and everything after it in that chunk) is not valid. Fresh
 * file pages are zero, which never matches, and a recycled chunk gets a new
 * seq, so stale records never match either. A record torn by a crash
 * between its two stores fails the check and is dropped, never misread; a
 * recycled chunk's records are zeroed before reuse, so a record whose tail
 * is zero but whose timestamp is not is exactly a torn one.
 *
 * After the chunks comes the aux area (header.aux_offset, aux_size): Python
 * thread names, and with stacks on, the loaded modules, the deduplicated
 * native and Python stacks and the Python code objects (struct ring_aux
 * below). Everything in it is committed by
 * a last store with release order, like records, so what a dead process left
 * there is read back or skipped, never misread.
 *
 * All integers are little-endian (the machine's: x86-64 and aarch64 only).
 * Bump RING_VERSION on any change to this file.
 */
#ifndef GILTRACE_FORMATS_RING_H
#define GILTRACE_FORMATS_RING_H

#include <stdint.h>

#define RING_MAGIC "GILRING\0"
#define RING_VERSION 4u
#define RING_VERSION_OLDEST 3u /* version 3 has no ring_chunk_header.lost (read as 0) */

#define RING_HEADER_SIZE 16384u
#define RING_CHUNK_SIZE 65536u
#define RING_CHUNK_HEADER_SIZE 64u
#define RING_RECORD_SIZE 16u
#define RING_RECORDS_PER_CHUNK ((RING_CHUNK_SIZE - RING_CHUNK_HEADER_SIZE) / RING_RECORD_SIZE)
#define RING_MAX_GILS 64u
#define RING_CPU_UNKNOWN 0xffffu

/* Default and limits of the ring size per process, in MiB. */
#define RING_DEFAULT_MB 256u
#define RING_MIN_MB 1u
#define RING_MAX_MB 65536u

/* Event kinds: the `kind` byte of a record. Numbering is part of the file
 * format; names are the contract of the trace database (see event_kind.h). */
enum ring_event_kind {
    RING_EV_ACQUIRE = 1,
    RING_EV_RELEASE = 2,
    RING_EV_BUSY = 3,
    RING_EV_RETRY = 4,
    RING_EV_TIMEOUT = 5,
    RING_EV_DROP_REQUEST = 6,
    RING_EV_FORCED_SWITCH = 7,
    RING_EV_GIL_DISABLED = 8,
    RING_EV_GIL_ENABLED = 9,
    RING_EV_KIND_MAX = 9
};

/* A record that is no event: the native stack of the thread's previous
 * record (a RELEASE or BUSY), as raw_ts = stack id (1-based slot of the
 * stack table). Only written with stacks on. */
#define RING_REC_STACK 15u

/* A record that is no event: the Python stack of the thread's previous
 * event (a RELEASE or BUSY), as raw_ts = Python stack id (slot + 1 of the
 * stack table, a slot marked RING_STACK_PYTHON), 0 when the thread had no
 * Python frame. Only written with Python stacks on. */
#define RING_REC_PYSTACK 14u

/* What the hot path stored in `raw_ts`. */
enum ring_clock {
    RING_CLOCK_TSC = 1,       /* rdtscp ticks; convert with calibration pairs */
    RING_CLOCK_MONOTONIC = 2  /* CLOCK_MONOTONIC ns already */
};

/* The kind of lock a GIL is. */
enum ring_gil_kind {
    RING_GIL_UNKNOWN = 0,   /* a Python process whose GIL was not identified */
    RING_GIL_CONDVAR = 1,   /* 3.2+: mutex + condition variables */
    RING_GIL_SEMAPHORE = 2, /* 2.7: a sem_t */
    RING_GIL_NONE = 3       /* free-threaded build running without a GIL */
};

/* What happens when no fresh chunk is left, in ring_header.mode. */
enum ring_mode {
    RING_MODE_APPEND = 0,   /* later events are counted as lost */
    RING_MODE_OVERWRITE = 1 /* the oldest chunk is reused: the last N MiB are kept */
};

/* Chunk states, in ring_chunk_header.state. */
enum ring_chunk_state {
    RING_CHUNK_DONE = 0,   /* its thread has moved on (or died): reusable */
    RING_CHUNK_CURRENT = 1 /* its thread is writing into it */
};

/* Process states, in ring_header.state. */
enum ring_state {
    RING_STATE_RUNNING = 1, /* no clean exit seen (yet): may have died */
    RING_STATE_EXITED = 2   /* the process wrote its end calibration */
};

/* A moment read on both clocks, to map raw ticks to CLOCK_MONOTONIC ns. */
struct ring_calibration {
    uint64_t raw;     /* the hot path's clock */
    uint64_t mono_ns; /* CLOCK_MONOTONIC at the same moment */
};

struct ring_gil_info {
    uint64_t mutex_addr; /* the GIL's mutex (3.x) or sem_t (2.7) in the process */
    uint32_t kind;       /* enum ring_gil_kind */
    uint32_t subinterpreter; /* 0 for the main GIL, 1 for an own-GIL subinterpreter */
    uint64_t created_raw;    /* when the shim identified it (raw clock) */
};

/* The first RING_HEADER_SIZE bytes of the file. Fields written once at
 * creation are plain; fields updated while the process runs are atomic. */
struct ring_header {
    char magic[8];              /* RING_MAGIC */
    uint32_t version;           /* RING_VERSION */
    uint32_t header_size;       /* RING_HEADER_SIZE */
    uint32_t chunk_size;        /* RING_CHUNK_SIZE */
    uint32_t chunk_count;       /* chunks after the header */
    uint32_t record_size;       /* RING_RECORD_SIZE */
    uint32_t clock;             /* enum ring_clock */
    int32_t pid;
    int32_t ppid;
    uint32_t python_hexversion; /* e.g. 0x030b07f0; 0 when unknown */
    uint32_t gil_kind;          /* enum ring_gil_kind of the main GIL */
    uint8_t boot_id[16];        /* /proc/sys/kernel/random/boot_id, raw */
    struct ring_calibration start; /* taken when the file was created */
    struct ring_calibration end;   /* taken at a clean exit (state EXITED) */
    uint64_t lost_events;       /* atomic: events dropped (ring full, ...) */
    uint64_t next_chunk;        /* atomic: fresh chunks claimed (may pass chunk_count) */
    uint64_t next_seq;          /* atomic: seq of the last claim */
    uint64_t overwritten_events;/* atomic: events of chunks taken over (overwrite mode) */
    uint32_t state;             /* atomic: enum ring_state */
    uint32_t switch_interval_us;/* atomic: last switch interval seen */
    uint32_t gil_count;         /* atomic: entries of gils[] published */
    uint32_t flags;             /* RING_FLAG_* */
    uint32_t mode;              /* enum ring_mode */
    uint32_t trigger_wait_ms;   /* a GIL wait longer than this triggers a snapshot; 0 = off */
    uint64_t trigger_count;     /* atomic: waits that passed trigger_wait_ms */
    uint64_t trigger_wait_ns;   /* atomic: how long the last of them waited */
    uint32_t trigger_tid;       /* atomic: and which thread it was */
    uint32_t reserved;
    struct ring_gil_info gils[RING_MAX_GILS];
    char python_version[128];   /* Py_GetVersion(), truncated */
    char exe[1024];             /* /proc/self/exe at creation */
    uint32_t argv_len;          /* bytes used in argv[] */
    char argv[8192];            /* NUL-separated /proc/self/cmdline, truncated */
    uint64_t aux_offset;        /* the aux area: ring_chunk_offset(chunk_count) */
    uint64_t aux_size;          /* its size in bytes (struct ring_aux first) */
};

#define RING_FLAG_ARGV_TRUNCATED 1u
#define RING_FLAG_STACKS 2u /* stacks were asked for */

/* ---- the aux area ---- */

#define RING_NAME_MAX 56u
#define RING_NAMES 4096u             /* thread names per process */
#define RING_MODULES 1024u           /* loaded objects stack frames may point into */
#define RING_MODULE_STRINGS 262144u  /* bytes of module paths */
#define RING_STACK_MAX_DEPTH 64u     /* frames kept per stack, innermost first */
#define RING_STACK_TRUNCATED 0x80000000u /* in ring_stack_slot.depth */
#define RING_STACK_PYTHON 0x40000000u    /* in ring_stack_slot.depth: a Python stack */
#define RING_PY_CODES 16384u             /* Python code objects per process (slots) */
#define RING_PY_DATA (4u << 20)          /* bytes of their names, files and line tables */
#define RING_PY_TEXT_MAX 255u            /* bytes kept of a name or file name */
#define RING_PY_LINETABLE_MAX 65535u     /* bytes kept of a line table */

/* The commit value of aux entry `index` (names, modules): never 0. */
#define RING_CHECK_KEY_AUX 0x7e3a9c15u
static inline uint32_t ring_aux_commit(uint32_t index)
{
    return (index + 1u) ^ RING_CHECK_KEY_AUX;
}

/* A thread's Python name (threading.Thread.name), as read inside the
 * process. Later entries for a tid supersede earlier ones. */
struct ring_thread_name {
    uint32_t tid;
    uint32_t commit;            /* ring_aux_commit(index), stored last */
    char name[RING_NAME_MAX];   /* UTF-8, NUL-terminated, cut at a character boundary */
};

/* A loaded object (executable or shared library). */
struct ring_module {
    uint64_t bias;              /* load bias (dl_iterate_phdr's dlpi_addr) */
    uint64_t lo, hi;            /* its executable segment(s), [lo, hi) */
    uint32_t path_offset;       /* into the module strings, NUL-terminated */
    uint32_t build_id_len;      /* bytes of build_id used (0: none) */
    uint8_t build_id[20];       /* NT_GNU_BUILD_ID */
    uint32_t commit;            /* ring_aux_commit(index), stored last */
};

/* One stack of the dedup table: open addressing on `hash`, which is never 0
 * in a used slot. A slot is claimed by a compare-and-swap of its hash; the
 * stack's frames are then copied into the frame pool and `frames` is stored
 * last (release): 0 means not (yet) complete, RING_STACK_DEAD that the pool
 * was full. The id of a stack is its slot index + 1. */
struct ring_stack_slot {
    uint64_t hash;
    uint32_t frames;            /* offset in the frame pool, in 8-byte words (>= 1) */
    uint32_t depth;             /* frames | RING_STACK_TRUNCATED */
};
#define RING_STACK_DEAD 0xffffffffu

/* A Python stack is a stack slot whose depth has RING_STACK_PYTHON set and
 * whose pool words are, innermost frame first,
 *   (uint64_t)code_id << 32 | instruction offset in bytes
 * with code_id the 1-based slot of struct ring_py_code. */
static inline uint64_t ring_py_frame_word(uint32_t code_id, uint32_t offset)
{
    return (uint64_t)code_id << 32 | offset;
}

/* A Python code object, stored once: open addressing on `key` (a
 * fingerprint of the object: its address, name, file, line table and
 * first line; never 0), claimed by a compare-and-swap of the key. Its
 * texts are then copied into the Python data area as
 *   qualname, name, filename (each NUL-terminated), then the line table
 * (data_len bytes in all), and `data` is stored last (release): 0 means
 * not (yet) complete, RING_STACK_DEAD that the data area was full. The
 * line table is the interpreter's own (co_lnotab on 3.8-3.9, co_linetable
 * after), decoded at dump time with python_hexversion (formats/ring/py_lines.h). */
struct ring_py_code {
    uint64_t key;
    uint32_t data;            /* offset in the Python data area, in bytes (>= 1) */
    uint32_t data_len;
    int32_t first_line;       /* co_firstlineno */
    uint16_t qualname_len;    /* bytes before each NUL; qualname == name before 3.11 */
    uint16_t name_len;
    uint16_t filename_len;
    uint16_t reserved16;
    uint32_t reserved;
};
#define RING_FLAG_PYSTACKS 4u /* ring_aux.flags: the Python code table exists */

/* At aux_offset. Offsets are from the start of the aux area. */
struct ring_aux {
    uint32_t size;              /* sizeof(struct ring_aux) */
    uint32_t flags;             /* RING_FLAG_STACKS when the stack parts exist */
    uint32_t names_offset, names_cap;
    uint32_t names_count;       /* atomic: entries claimed (may exceed cap) */
    uint32_t modules_offset, modules_cap;
    uint32_t modules_count;     /* atomic */
    uint32_t strings_offset, strings_cap;
    uint32_t strings_used;      /* atomic */
    uint32_t slots_cap;         /* a power of two (0: no stacks) */
    uint64_t slots_offset;
    uint64_t pool_offset;
    uint64_t pool_cap;          /* 8-byte words; word 0 is never used */
    uint64_t pool_used;         /* atomic */
    uint64_t lost_names;        /* atomic: names that did not fit */
    uint64_t lost_stacks;       /* atomic: RELEASE/BUSY events left without a stack */
    uint64_t py_codes_offset;   /* struct ring_py_code[py_codes_cap] (RING_FLAG_PYSTACKS) */
    uint32_t py_codes_cap;      /* a power of two */
    uint32_t py_data_used;      /* atomic: bytes claimed; byte 0 is never used */
    uint64_t py_data_offset;    /* the Python data area */
    uint32_t py_data_cap;
    uint32_t lost_py_stacks;    /* atomic: RELEASE/BUSY events left without a Python stack */
};

struct ring_chunk_header {
    uint64_t seq;   /* claim number, >= 1; 0 = never claimed, or being taken over */
    uint32_t tid;   /* owning thread */
    uint32_t state; /* atomic: enum ring_chunk_state */
    struct ring_calibration claimed; /* both clocks when the chunk was claimed */
    /* Append mode: events its thread could not record once the ring was
     * full, counted here by that thread alone (relaxed stores, no shared
     * cache line per lost event); readers add it to the header's lost_events. */
    uint64_t lost;
    uint8_t pad[RING_CHUNK_HEADER_SIZE - 40];
};

/* One event. `tail` packs kind, gil index, cpu and the commit check:
 *   bits  0..7  kind (enum ring_event_kind)
 *   bits  8..15 gil index (0 = main GIL; order of identification)
 *   bits 16..31 cpu (RING_CPU_UNKNOWN when not known)
 *   bits 32..63 check = ring_record_check(seq, index) */
struct ring_record {
    uint64_t raw_ts;
    uint64_t tail;
};

_Static_assert(sizeof(struct ring_header) <= RING_HEADER_SIZE, "ring header too big");
_Static_assert(sizeof(struct ring_chunk_header) == RING_CHUNK_HEADER_SIZE, "chunk header size");
_Static_assert(sizeof(struct ring_record) == RING_RECORD_SIZE, "record size");
_Static_assert(RING_RECORDS_PER_CHUNK < 4096u, "record index must fit 12 bits");
_Static_assert(sizeof(struct ring_thread_name) == 64, "name entry size");
_Static_assert(sizeof(struct ring_stack_slot) == 16, "stack slot size");
_Static_assert(sizeof(struct ring_aux) % 8 == 0, "aux header alignment");
_Static_assert(sizeof(struct ring_py_code) == 32, "Python code entry size");

/* The commit check of record `index` in the chunk claimed as `seq`: the low
 * 32 bits of (seq << 12 | index), xored with a key so that no simple pattern
 * (zeros, a repeated byte) ever passes. */
#define RING_CHECK_KEY 0x5a17c0deu

static inline uint32_t ring_record_check(uint64_t seq, uint32_t index)
{
    return (uint32_t)((seq << 12) | index) ^ RING_CHECK_KEY;
}

static inline uint64_t ring_record_tail(unsigned kind, unsigned gil, unsigned cpu, uint32_t check)
{
    return (uint64_t)(kind & 0xffu) | ((uint64_t)(gil & 0xffu) << 8) |
           ((uint64_t)(cpu & 0xffffu) << 16) | ((uint64_t)check << 32);
}

static inline unsigned ring_tail_kind(uint64_t tail) { return (unsigned)(tail & 0xffu); }
static inline unsigned ring_tail_gil(uint64_t tail) { return (unsigned)((tail >> 8) & 0xffu); }
static inline unsigned ring_tail_cpu(uint64_t tail) { return (unsigned)((tail >> 16) & 0xffffu); }
static inline uint32_t ring_tail_check(uint64_t tail) { return (uint32_t)(tail >> 32); }

/* Fill in the layout fields of a new header (magic, version, sizes, chunk
 * count, clock); everything else is left as it is (zero in a new file). */
static inline void ring_header_init(struct ring_header *h, uint32_t chunk_count, uint32_t clock)
{
    for (unsigned i = 0; i < sizeof h->magic; i++)
        h->magic[i] = RING_MAGIC[i];
    h->version = RING_VERSION;
    h->header_size = RING_HEADER_SIZE;
    h->chunk_size = RING_CHUNK_SIZE;
    h->chunk_count = chunk_count;
    h->record_size = RING_RECORD_SIZE;
    h->clock = clock;
}

/* Sizes of the aux area's parts, for `stacks_mb` MiB of stack table (0: no
 * stacks): names always; modules, strings, slots, pool and the Python code
 * table and data with stacks. The slots take 1/16 of the stack table, the
 * pool the rest (native and Python stacks share them). */
struct ring_aux_layout {
    uint32_t names_offset, modules_offset, strings_offset;
    uint64_t slots_offset, pool_offset;
    uint32_t slots_cap;
    uint64_t pool_cap;
    uint64_t py_codes_offset, py_data_offset;
    uint64_t size;
};

static inline struct ring_aux_layout ring_aux_layout(uint32_t stacks_mb)
{
    struct ring_aux_layout l = {0};
    uint64_t at = (sizeof(struct ring_aux) + 63u) & ~63ull;
    l.names_offset = (uint32_t)at;
    at += (uint64_t)RING_NAMES * sizeof(struct ring_thread_name);
    if (stacks_mb) {
        l.modules_offset = (uint32_t)at;
        at += (uint64_t)RING_MODULES * sizeof(struct ring_module);
        l.strings_offset = (uint32_t)at;
        at += RING_MODULE_STRINGS;
        uint64_t bytes = (uint64_t)stacks_mb << 20;
        uint32_t slots = 1024;
        while ((uint64_t)slots * 2 * sizeof(struct ring_stack_slot) <= bytes / 16)
            slots *= 2;
        l.slots_cap = slots;
        l.slots_offset = at;
        at += (uint64_t)slots * sizeof(struct ring_stack_slot);
        l.pool_offset = at;
        l.pool_cap = (bytes - (uint64_t)slots * sizeof(struct ring_stack_slot)) / 8;
        at += l.pool_cap * 8;
        l.py_codes_offset = at;
        at += (uint64_t)RING_PY_CODES * sizeof(struct ring_py_code);
        l.py_data_offset = at;
        at += RING_PY_DATA;
    }
    l.size = (at + 4095u) & ~4095ull;
    return l;
}

/* Fill in the header of a new, zeroed aux area laid out as `l`: the names
 * table, and the stack tables when the layout has them. */
static inline void ring_aux_init(struct ring_aux *a, const struct ring_aux_layout *l)
{
    a->size = sizeof *a;
    a->names_offset = l->names_offset;
    a->names_cap = RING_NAMES;
    if (!l->slots_cap)
        return;
    a->flags = RING_FLAG_STACKS;
    a->modules_offset = l->modules_offset;
    a->modules_cap = RING_MODULES;
    a->strings_offset = l->strings_offset;
    a->strings_cap = RING_MODULE_STRINGS;
    a->slots_cap = l->slots_cap;
    a->slots_offset = l->slots_offset;
    a->pool_offset = l->pool_offset;
    a->pool_cap = l->pool_cap;
    a->pool_used = 1; /* word 0 is never a stack */
    a->flags |= RING_FLAG_PYSTACKS;
    a->py_codes_offset = l->py_codes_offset;
    a->py_codes_cap = RING_PY_CODES;
    a->py_data_offset = l->py_data_offset;
    a->py_data_cap = RING_PY_DATA;
    a->py_data_used = 1; /* offset 0 means "not complete" */
}

/* The first record of a chunk. */
static inline struct ring_record *ring_chunk_records(struct ring_chunk_header *c)
{
    return (struct ring_record *)((char *)c + RING_CHUNK_HEADER_SIZE);
}

/* Byte offset of chunk `index` (0-based) in the file. */
static inline uint64_t ring_chunk_offset(uint32_t index)
{
    return (uint64_t)RING_HEADER_SIZE + (uint64_t)index * RING_CHUNK_SIZE;
}

#endif
