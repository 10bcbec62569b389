/*
 * py_stack.c — reading the calling thread's Python frames and interning
 * them in the ring. See py_stack.h.
 */
#include "py_stack.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gil_midrun.h"
#include "recorder.h"
#include "ring_writer.h"
#include "stack_table.h"
#include "text_util.h"

/* How a frame says where its bytecode is. */
enum instr_kind {
    INSTR_LASTI_BYTES, /* 3.6-3.9: int f_lasti, a byte offset */
    INSTR_LASTI_UNITS, /* 3.10: int f_lasti, in 2-byte code units */
    INSTR_POINTER      /* 3.11+: pointer into the code object's inline bytecode */
};

/* Offsets in bytes, x86-64 and aarch64 (LP64) release builds. */
struct py_layout {
    uint32_t minor;
    uint32_t tstate_frame;    /* tstate -> frame (3.6-3.10), cframe (3.11-3.12), current_frame (3.13+) */
    int32_t cframe_current;   /* _PyCFrame -> current_frame; -1: no cframe */
    uint32_t frame_back;      /* f_back / previous */
    uint32_t frame_code;      /* f_code / executable */
    uint32_t frame_instr;     /* f_lasti / prev_instr / instr_ptr */
    int32_t frame_owner;      /* char owner; -1: none */
    enum instr_kind instr;
    uint32_t code_bytecode;   /* co_code_adaptive (3.11+) */
    uint32_t code_firstlineno, code_filename, code_name, code_linetable;
    int32_t code_qualname;    /* -1: none (before 3.11) */
    uint32_t ascii_size, compact_size; /* sizeof(PyASCIIObject), sizeof(PyCompactUnicodeObject) */
    uint32_t bytes_sval;      /* PyBytesObject.ob_sval */
    uintptr_t code_mask;      /* clears the tag bits of f_executable (3.14+: a _PyStackRef) */
};

/* From each version's headers (offsetof, checked on pyenv's builds of
 * 3.6.15, 3.7.16, 3.8.18, 3.9.18, 3.10.13, 3.11.7 and 3.12.1). 3.13+ come
 * from their debug offsets instead (layout_debug). */
static const struct py_layout layouts[] = {
    {6, 24, -1, 24, 32, 120, -1, INSTR_LASTI_BYTES, 0, 36, 96, 104, 112, -1, 48, 72, 32, ~(uintptr_t)0},
    {7, 24, -1, 24, 32, 104, -1, INSTR_LASTI_BYTES, 0, 36, 96, 104, 112, -1, 48, 72, 32, ~(uintptr_t)0},
    {8, 24, -1, 24, 32, 104, -1, INSTR_LASTI_BYTES, 0, 40, 104, 112, 120, -1, 48, 72, 32, ~(uintptr_t)0},
    {9, 24, -1, 24, 32, 104, -1, INSTR_LASTI_BYTES, 0, 40, 104, 112, 120, -1, 48, 72, 32, ~(uintptr_t)0},
    {10, 24, -1, 24, 32, 96, -1, INSTR_LASTI_UNITS, 0, 40, 104, 112, 120, -1, 48, 72, 32, ~(uintptr_t)0},
    {11, 56, 8, 48, 32, 56, 69, INSTR_POINTER, 184, 72, 112, 120, 136, 128, 48, 72, 32, ~(uintptr_t)0},
    {12, 56, 0, 8, 0, 56, 70, INSTR_POINTER, 192, 68, 112, 120, 136, 128, 40, 56, 32, ~(uintptr_t)0},
};

/* 3.13+: where, in _PyRuntime's _Py_DebugOffsets (a row of uint64 words
 * after the 8-byte cookie, as in gil_locate.c), each version keeps what is
 * read here, as word indexes: thread_state.current_frame, the first word
 * (size) of the interpreter_frame and code_object sections, and
 * bytes_object.ob_sval and unicode_object.asciiobject_size. The sections
 * themselves keep their order (frame: size, previous, executable,
 * instr_ptr, localsplus, owner; code: size, filename, name, qualname,
 * linetable, firstlineno, argcount, localsplusnames, localspluskinds,
 * co_code_adaptive); the sections before them grew (3.14: interpreter_state
 * 16 words, frame 8, code 11; 3.15: thread_state 16 words and
 * err_stackitem, and a section before tuple_object). From CPython's
 * Include/internal/pycore_debug_offsets.h, checked against Debian's 3.13.5,
 * 3.14.10, 3.14.10-dbg and 3.15.2. The offsets are the running build's,
 * read from the struct, and used only if they are sane (layout_debug). */
struct debug_words {
    uint8_t minor, current_frame, frame, code, bytes_sval, ascii_size;
};

static const struct debug_words debug_words[] = {
    {13, 23, 28, 34, 66, 70},
    {14, 26, 31, 39, 76, 80},
    {15, 26, 39, 47, 88, 92},
};

#define DEBUG_WORDS_READ 93u /* up to the last index above */
#define DEBUG_FRAME_MAX 512u /* sane sizes of _PyInterpreterFrame and PyCodeObject */
#define DEBUG_CODE_MAX 1024u

/* An entry frame of the eval loop, no Python code: FRAME_OWNED_BY_CSTACK in
 * 3.12-3.13, FRAME_OWNED_BY_INTERPRETER (the same value) in 3.14-3.15. */
#define FRAME_OWNED_BY_CSTACK 3
#define MAX_WALK 4096u          /* frames looked at per walk, to stop on a cycle */
#define MAX_PROBES 32u

enum layout_state { LAYOUT_UNCHECKED = 0, LAYOUT_VALID = 1, LAYOUT_WRONG = 2 };

bool py_stacks_on;
static struct py_layout layout;
static int layout_state; /* enum layout_state, atomic */
static uintptr_t code_type, unicode_type, bytes_type;
/* _Py_InitCleanup (exported from 3.14): the code object of the shim frame
 * CPython pushes under a class's __init__ to check what it returned; no
 * line of anyone's source, never in a traceback, so not in a stack here. */
static uintptr_t init_cleanup;
static void *(*this_thread_state)(void);
static int (*is_initialized)(void);

/* One walk: whether its reads must be safe (layout not yet validated). */
struct walk {
    bool safe;
    bool bad;      /* something that the layout cannot explain */
    bool good;     /* a code object with a str name was met */
    struct ring_aux *aux;
};

static bool rd(struct walk *w, void *dst, uintptr_t src, size_t n)
{
    if (!src)
        return false;
    if (w->safe) {
        if (gil_safe_read(dst, src, n))
            return true;
        w->bad = true;
        return false;
    }
    memcpy(dst, (const void *)src, n);
    return true;
}

static uintptr_t rd_ptr(struct walk *w, uintptr_t src)
{
    uintptr_t v = 0;
    return rd(w, &v, src, sizeof v) ? v : 0;
}

static uintptr_t type_of(struct walk *w, uintptr_t obj)
{
    return obj ? rd_ptr(w, obj + 8) : 0;
}

/* A str as UTF-8 into out[0..cap) (cut at a character boundary, no NUL);
 * its length, 0 when it is no compact str. */
static size_t str_text(struct walk *w, uintptr_t s, char *out, size_t cap)
{
    if (type_of(w, s) != unicode_type)
        return 0;
    int64_t length = 0;
    uint32_t state = 0;
    if (!rd(w, &length, s + 16, sizeof length) || !rd(w, &state, s + 32, sizeof state) || length <= 0)
        return 0;
    unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
    if (!compact || (kind != 1 && kind != 2 && kind != 4))
        return 0;
    uintptr_t data = s + (ascii ? layout.ascii_size : layout.compact_size);
    size_t chars = (size_t)length < cap ? (size_t)length : cap;
    if (ascii)
        return rd(w, out, data, chars) ? chars : 0;
    uint8_t raw[RING_PY_TEXT_MAX * 4];
    if (chars * kind > sizeof raw)
        chars = sizeof raw / kind;
    if (!rd(w, raw, data, chars * kind))
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < chars; i++) {
        uint32_t c = kind == 1 ? raw[i] : kind == 2 ? ((const uint16_t *)raw)[i] : ((const uint32_t *)raw)[i];
        uint8_t u[4];
        size_t k = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (c < 0x80) {
            u[0] = (uint8_t)c;
        } else if (k == 2) {
            u[0] = (uint8_t)(0xc0 | c >> 6);
            u[1] = (uint8_t)(0x80 | (c & 0x3f));
        } else if (k == 3) {
            u[0] = (uint8_t)(0xe0 | c >> 12);
            u[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
            u[2] = (uint8_t)(0x80 | (c & 0x3f));
        } else {
            u[0] = (uint8_t)(0xf0 | (c >> 18 & 7));
            u[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
            u[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
            u[3] = (uint8_t)(0x80 | (c & 0x3f));
        }
        if (n + k > cap)
            break;
        memcpy(out + n, u, k);
        n += k;
    }
    return n;
}

/* What a code object is made of, as read for its key. */
struct code_refs {
    uintptr_t name, qualname, filename, linetable;
    int32_t first_line;
};

static bool code_refs(struct walk *w, uintptr_t code, struct code_refs *r)
{
    r->qualname = 0;
    if (!rd(w, &r->name, code + layout.code_name, sizeof r->name) ||
        !rd(w, &r->filename, code + layout.code_filename, sizeof r->filename) ||
        !rd(w, &r->linetable, code + layout.code_linetable, sizeof r->linetable) ||
        !rd(w, &r->first_line, code + layout.code_firstlineno, sizeof r->first_line) ||
        (layout.code_qualname >= 0 && !rd(w, &r->qualname, code + (uint32_t)layout.code_qualname, sizeof r->qualname)))
        return false;
    if (!w->safe) /* the layout is known good: the code object's type was checked */
        return true;
    if (type_of(w, r->name) != unicode_type) {
        w->bad = true;
        return false;
    }
    w->good = true;
    return true;
}

/* The objects' addresses are 16-byte aligned: shifted apart, xored, then
 * mixed once (one multiply per frame, no chain). */
static uint64_t code_key(uintptr_t code, const struct code_refs *r)
{
    uint64_t h = (uint64_t)code ^ (uint64_t)r->name << 7 ^ (uint64_t)r->qualname << 13 ^
                 (uint64_t)r->filename << 19 ^ (uint64_t)r->linetable << 25 ^ (uint64_t)(uint32_t)r->first_line << 40;
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h | 1; /* 0 marks an empty slot */
}

/* Copy a claimed code entry's texts and line table into the data area,
 * then publish it. */
static void code_fill(struct walk *w, struct ring_py_code *c, const struct code_refs *r)
{
    struct ring_aux *a = w->aux;
    char text[3 * RING_PY_TEXT_MAX + 3];
    size_t nq = 0, nn, nf;
    nn = str_text(w, r->name, text, RING_PY_TEXT_MAX);
    if (r->qualname)
        nq = str_text(w, r->qualname, text + nn + 1, RING_PY_TEXT_MAX);
    if (nq == 0) { /* before 3.11 (or unreadable): the name */
        memcpy(text + nn + 1, text, nn);
        nq = nn;
    }
    text[nn] = '\0';
    text[nn + 1 + nq] = '\0';
    nf = str_text(w, r->filename, text + nn + nq + 2, RING_PY_TEXT_MAX);
    text[nn + nq + 2 + nf] = '\0';
    size_t ntext = nn + nq + nf + 3;
    int64_t nlt = 0;
    uintptr_t lt_data = r->linetable + layout.bytes_sval;
    if (type_of(w, r->linetable) != bytes_type || !rd(w, &nlt, r->linetable + 16, sizeof nlt) || nlt < 0 ||
        nlt > (int64_t)RING_PY_LINETABLE_MAX)
        nlt = 0;
    uint32_t len = (uint32_t)(ntext + (size_t)nlt);
    uint32_t at = __atomic_fetch_add(&a->py_data_used, len, __ATOMIC_RELAXED);
    if ((uint64_t)at + len > a->py_data_cap) {
        __atomic_store_n(&c->data, RING_STACK_DEAD, __ATOMIC_RELEASE);
        return;
    }
    char *data = (char *)a + a->py_data_offset + at;
    /* text holds name, then qualname, then filename: stored as qualname,
     * name, filename */
    memcpy(data, text + nn + 1, nq + 1);
    memcpy(data + nq + 1, text, nn + 1);
    memcpy(data + nq + nn + 2, text + nn + nq + 2, nf + 1);
    if (nlt && !rd(w, data + ntext, lt_data, (size_t)nlt))
        len = (uint32_t)ntext;
    c->data_len = len;
    c->first_line = r->first_line;
    c->qualname_len = (uint16_t)nq;
    c->name_len = (uint16_t)nn;
    c->filename_len = (uint16_t)nf;
    __atomic_store_n(&c->data, at, __ATOMIC_RELEASE);
}

/* The 1-based id of code object `code` in the ring, storing it if new; 0
 * when it cannot be read or the table is full. */
static uint32_t code_id(struct walk *w, uintptr_t code)
{
    struct code_refs r;
    if (!code_refs(w, code, &r))
        return 0;
    struct ring_aux *a = w->aux;
    struct ring_py_code *codes = (struct ring_py_code *)((char *)a + a->py_codes_offset);
    uint64_t key = code_key(code, &r);
    uint32_t mask = a->py_codes_cap - 1;
    for (uint32_t probe = 0, i = (uint32_t)key & mask; probe < MAX_PROBES; probe++, i = (i + 1) & mask) {
        uint64_t cur = __atomic_load_n(&codes[i].key, __ATOMIC_ACQUIRE);
        if (cur == 0 &&
            __atomic_compare_exchange_n(&codes[i].key, &cur, key, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
            code_fill(w, &codes[i], &r);
            return i + 1;
        }
        if (cur == key)
            return i + 1; /* being filled by another thread at worst: the reader waits for nothing */
    }
    return 0;
}

/* The instruction offset in bytes of `frame` running `code`. 3.11+: the
 * pointer must lie in the code object's own bytecode (ob_size code units
 * from co_code_adaptive; one unit before it for a frame not yet started),
 * else the layout is wrong (checked walks) or the offset is unknown
 * (UINT32_MAX, no line). */
static bool frame_offset(struct walk *w, uintptr_t frame, uintptr_t code, uint32_t *out)
{
    if (layout.instr == INSTR_POINTER) {
        uintptr_t p = rd_ptr(w, frame + layout.frame_instr), start = code + layout.code_bytecode;
        int64_t units = 0;
        if (!p || !rd(w, &units, code + 16, sizeof units))
            return false;
        if (p + 2 < start || units <= 0 || units > (1 << 28) || p >= start + (uintptr_t)units * 2) {
            if (w->safe)
                return false;
            *out = UINT32_MAX;
            return true;
        }
        *out = p > start ? (uint32_t)(p - start) : 0;
        return true;
    }
    int32_t lasti = 0;
    if (!rd(w, &lasti, frame + layout.frame_instr, sizeof lasti))
        return false;
    if (lasti < 0)
        lasti = 0;
    *out = layout.instr == INSTR_LASTI_UNITS ? (uint32_t)lasti * 2 : (uint32_t)lasti;
    return true;
}

/* Walk the frames of thread state `ts` into words[]; the count. */
static unsigned walk_frames(struct walk *w, uintptr_t ts, uint64_t *words, bool *truncated)
{
    uintptr_t frame = rd_ptr(w, ts + layout.tstate_frame);
    if (frame && layout.cframe_current >= 0)
        frame = rd_ptr(w, frame + (uint32_t)layout.cframe_current);
    unsigned n = 0;
    for (unsigned seen = 0; frame && n < RING_STACK_MAX_DEPTH && seen < MAX_WALK && !w->bad; seen++) {
        uint8_t owner = 0;
        if (layout.frame_owner >= 0 && !rd(w, &owner, frame + (uint32_t)layout.frame_owner, 1))
            break;
        if (owner != FRAME_OWNED_BY_CSTACK || layout.minor < 12) {
            uintptr_t code = rd_ptr(w, frame + layout.frame_code) & layout.code_mask;
            uint32_t offset;
            if (type_of(w, code) != code_type || !frame_offset(w, frame, code, &offset)) {
                w->bad = true;
                break;
            }
            if (code != init_cleanup)
                words[n++] = ring_py_frame_word(code_id(w, code), offset);
        }
        frame = rd_ptr(w, frame + layout.frame_back);
    }
    *truncated = frame != 0 && !w->bad;
    return n;
}

static void say_off(const char *why)
{
    char line[256];
    struct text_buf t = text_buf_init(line, sizeof line);
    text_buf_str(&t, "giltrace: Python stacks off: ");
    text_buf_str(&t, why);
    text_buf_str(&t, "; GIL events and native stacks are still recorded\n");
    (void)!write(2, line, t.len);
}

uint32_t py_stack_capture_id(void)
{
    int state = __atomic_load_n(&layout_state, __ATOMIC_ACQUIRE);
    if (state == LAYOUT_WRONG || !py_stacks_on)
        return 0;
    struct walk w = {.safe = state != LAYOUT_VALID, .aux = ring_writer_aux(true)};
    if (!w.aux || !(w.aux->flags & RING_FLAG_PYSTACKS) || !is_initialized())
        return 0;
    int saved_errno = errno;
    uint32_t id = 0;
    uintptr_t ts = (uintptr_t)this_thread_state();
    if (ts) {
        uint64_t words[RING_STACK_MAX_DEPTH];
        bool truncated = false;
        unsigned n = walk_frames(&w, ts, words, &truncated);
        if (w.safe && w.bad) {
            int expected = LAYOUT_UNCHECKED;
            if (__atomic_compare_exchange_n(&layout_state, &expected, LAYOUT_WRONG, false, __ATOMIC_ACQ_REL,
                                            __ATOMIC_ACQUIRE)) {
                __atomic_store_n(&py_stacks_on, false, __ATOMIC_RELEASE);
                say_off("this interpreter's frames are not laid out as expected (a frame's code object is not "
                        "a PyCode_Type with a str name)");
            }
            n = 0;
        } else if (w.safe && w.good) {
            int expected = LAYOUT_UNCHECKED;
            __atomic_compare_exchange_n(&layout_state, &expected, LAYOUT_VALID, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE);
        }
        if (n)
            id = stack_table_intern_words(w.aux, words, n, RING_STACK_PYTHON | (truncated ? RING_STACK_TRUNCATED : 0));
        if (n && !id)
            __atomic_fetch_add(&w.aux->lost_py_stacks, 1, __ATOMIC_RELAXED);
    }
    errno = saved_errno;
    return id;
}

void py_stack_record_id(struct shim_entered self, uint32_t id)
{
    if (id && !rec_raw(self, RING_REC_PYSTACK, id)) {
        struct ring_aux *a = ring_writer_aux(true);
        if (a)
            __atomic_fetch_add(&a->lost_py_stacks, 1, __ATOMIC_RELAXED);
    }
}

/* 3.13+: the layout from _PyRuntime's debug offsets, if this version's
 * words are known and what they say is sane. */
static bool layout_debug(const struct python_info *py, uint32_t minor)
{
    const struct debug_words *dw = NULL;
    for (size_t i = 0; i < sizeof debug_words / sizeof debug_words[0]; i++)
        if (debug_words[i].minor == minor)
            dw = &debug_words[i];
    uint64_t w[DEBUG_WORDS_READ];
    if (!dw || !py->runtime_lo || py->runtime_hi - py->runtime_lo < sizeof w)
        return false;
    memcpy(w, (const void *)py->runtime_lo, sizeof w);
    if (memcmp(w, "xdebugpy", 8) != 0 || w[1] >> 16 != (0x0300u | minor) || w[2] /* free-threaded */)
        return false;
    const uint64_t *f = &w[dw->frame], *c = &w[dw->code];
    /* frame: previous, executable, instr_ptr, owner inside it; code: filename .. co_code_adaptive */
    bool sane = f[0] && f[0] <= DEBUG_FRAME_MAX && f[1] < f[0] && f[2] < f[0] && f[3] < f[0] && f[5] < f[0] &&
                c[0] && c[0] <= DEBUG_CODE_MAX && w[dw->current_frame] < 4096 && w[dw->ascii_size] >= 32 &&
                w[dw->ascii_size] <= 64 && w[dw->bytes_sval] >= 24 && w[dw->bytes_sval] <= 64;
    for (unsigned k = 1; sane && k <= 9; k++)
        sane = c[k] < c[0];
    if (!sane)
        return false;
    layout = (struct py_layout){
        .minor = minor,
        .tstate_frame = (uint32_t)w[dw->current_frame],
        .cframe_current = -1,
        .frame_back = (uint32_t)f[1],
        .frame_code = (uint32_t)f[2],
        .frame_instr = (uint32_t)f[3],
        .frame_owner = (int32_t)f[5],
        .instr = INSTR_POINTER,
        .code_bytecode = (uint32_t)c[9],
        .code_firstlineno = (uint32_t)c[5],
        .code_filename = (uint32_t)c[1],
        .code_name = (uint32_t)c[2],
        .code_linetable = (uint32_t)c[4],
        .code_qualname = (int32_t)c[3],
        .ascii_size = (uint32_t)w[dw->ascii_size],
        .compact_size = (uint32_t)w[dw->ascii_size] + 16, /* + utf8_length, utf8 */
        .bytes_sval = (uint32_t)w[dw->bytes_sval],
        /* 3.14+: f_executable is a _PyStackRef, its low two bits a tag
         * (Include/internal/pycore_stackref.h) */
        .code_mask = minor >= 14 ? ~(uintptr_t)3 : ~(uintptr_t)0,
    };
    return true;
}

bool py_stack_init(const struct python_info *py)
{
    uint32_t major = py->hexversion >> 24, minor = (py->hexversion >> 16) & 0xff;
    bool known = false, debug = major == 3 && minor >= 13;
    if (major == 3 && !py->free_threaded) {
        for (size_t i = 0; i < sizeof layouts / sizeof layouts[0]; i++)
            if (layouts[i].minor == minor) {
                layout = layouts[i];
                known = true;
            }
        if (minor >= 13)
            known = layout_debug(py, minor);
    }
    code_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyCode_Type");
    unicode_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    bytes_type = (uintptr_t)dlsym(RTLD_DEFAULT, "PyBytes_Type");
    init_cleanup = (uintptr_t)dlsym(RTLD_DEFAULT, "_Py_InitCleanup");
    this_thread_state = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    is_initialized = (int (*)(void))dlsym(RTLD_DEFAULT, "Py_IsInitialized");
    if (!known) {
        say_off(py->free_threaded ? "free-threaded builds are not supported yet"
                : debug ? "this version's _Py_DebugOffsets (in _PyRuntime) are not laid out as expected"
                        : "no frame layout is known for this Python version");
        return false;
    }
    if (!code_type || !unicode_type || !bytes_type || !this_thread_state || !is_initialized) {
        say_off("the interpreter does not export PyCode_Type, PyGILState_GetThisThreadState or their kin");
        return false;
    }
    const char *skew = getenv("GILTRACE_TEST_PY_SKEW");
    if (skew && *skew)
        layout.frame_code += (uint32_t)strtoul(skew, NULL, 10);
    __atomic_store_n(&py_stacks_on, true, __ATOMIC_RELEASE);
    return true;
}
