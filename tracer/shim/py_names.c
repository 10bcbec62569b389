/*
 * py_names.c — reading Python thread names safely. See py_names.h.
 */
#include "py_names.h"

#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "ring_writer.h"
#include "shim_thread.h"
#include "text_util.h"

typedef struct py_object py_object; /* opaque: only ob_type is read, at +8 */
typedef long py_ssize_t;

static struct {
    bool on;
    uint32_t hexversion;
    const struct python_info *py;
    int (*is_initialized)(void);
    void *method_type, *str_type, *long_type, *int_type, *dict_type, *module_type;
    py_object *(*method_self)(py_object *);
    py_object *(*type_lookup)(void *, py_object *);
    void *generic_getattr;
    int (*lookup_attr)(py_object *, py_object *, py_object **);
    py_object **(*get_dict_ptr)(py_object *);
    py_object *(*dict_get_item)(py_object *, py_object *);
    py_object *(*dict_get_item_string)(py_object *, const char *);
    int (*dict_next)(py_object *, py_ssize_t *, py_object **, py_object **);
    py_object *(*str_from)(const char *);
    const char *(*unicode_utf8)(py_object *, py_ssize_t *);
    char *(*string_as)(py_object *);
    unsigned long (*long_mask)(py_object *);
    unsigned long (*int_mask)(py_object *);
    py_object *(*modules)(void);
    py_object *(*module_dict)(py_object *);
    void (*err_fetch)(py_object **, py_object **, py_object **);
    void (*err_restore)(py_object *, py_object *, py_object *);
    void (*incref)(py_object *);
    void (*decref)(py_object *);
} api;

#define RESOLVE(field, name) ((*(void **)&api.field = dlsym(RTLD_DEFAULT, name)) != NULL)

bool py_names_init(const struct python_info *py)
{
    memset(&api, 0, sizeof api);
    if (!py->present || py->free_threaded || py->hexversion < 0x02070000 ||
        dlsym(RTLD_DEFAULT, "_Py_PrintReferences") /* Py_TRACE_REFS: another object layout */)
        return false;
    bool py2 = py->hexversion < 0x03000000;
    bool ok = RESOLVE(is_initialized, "Py_IsInitialized") && RESOLVE(method_type, "PyMethod_Type") &&
              RESOLVE(method_self, "PyMethod_Self") && RESOLVE(type_lookup, "_PyType_Lookup") &&
              RESOLVE(generic_getattr, "PyObject_GenericGetAttr") && RESOLVE(dict_type, "PyDict_Type") &&
              RESOLVE(module_type, "PyModule_Type") && RESOLVE(long_type, "PyLong_Type") &&
              RESOLVE(dict_get_item, "PyDict_GetItem") && RESOLVE(dict_get_item_string, "PyDict_GetItemString") &&
              RESOLVE(dict_next, "PyDict_Next") && RESOLVE(long_mask, "PyLong_AsUnsignedLongMask") &&
              RESOLVE(modules, "PyImport_GetModuleDict") && RESOLVE(module_dict, "PyModule_GetDict") &&
              RESOLVE(err_fetch, "PyErr_Fetch") && RESOLVE(err_restore, "PyErr_Restore") &&
              RESOLVE(incref, "Py_IncRef") && RESOLVE(decref, "Py_DecRef");
    if (py2)
        ok = ok && RESOLVE(str_type, "PyString_Type") && RESOLVE(str_from, "PyString_FromString") &&
             RESOLVE(string_as, "PyString_AsString") && RESOLVE(int_type, "PyInt_Type") &&
             RESOLVE(int_mask, "PyInt_AsUnsignedLongMask");
    else
        ok = ok && RESOLVE(str_type, "PyUnicode_Type") && RESOLVE(str_from, "PyUnicode_FromString") &&
             RESOLVE(unicode_utf8, "PyUnicode_AsUTF8AndSize");
    if (py->hexversion >= 0x030b0000)
        ok = ok && (RESOLVE(lookup_attr, "PyObject_GetOptionalAttr") || RESOLVE(lookup_attr, "_PyObject_LookupAttr"));
    else
        ok = ok && RESOLVE(get_dict_ptr, "_PyObject_GetDictPtr");
    if (!ok) {
        memset(&api, 0, sizeof api);
        return false;
    }
    api.hexversion = py->hexversion;
    api.py = py;
    api.on = true;
    return true;
}

static void *type_of(py_object *o)
{
    return *(void **)((char *)o + 8);
}

/* Read `n` bytes at `addr` without faulting on a bad address. */
static bool safe_read(uintptr_t addr, void *out, size_t n)
{
    struct iovec local = {out, n}, remote = {(void *)addr, n};
    return addr && process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)n;
}

/* obj.<name> as a new reference, or NULL; never leaves an exception set and
 * never runs Python code (see py_names.h). */
static py_object *read_attr(py_object *obj, const char *name)
{
    py_object *et, *ev, *etb;
    api.err_fetch(&et, &ev, &etb);
    py_object *v = NULL, *key = api.str_from(name);
    if (key && !api.type_lookup(type_of(obj), key)) {
        if (api.lookup_attr) {
            void *getattro = *(void **)((char *)type_of(obj) + 144); /* tp_getattro */
            if (getattro == api.generic_getattr && api.lookup_attr(obj, key, &v) <= 0)
                v = NULL;
        } else {
            py_object **dp = api.get_dict_ptr(obj);
            if (dp && *dp && type_of(*dp) == api.dict_type && (v = api.dict_get_item(*dp, key)))
                api.incref(v);
        }
    }
    if (key)
        api.decref(key);
    api.err_restore(et, ev, etb); /* drops anything raised above */
    return v;
}

/* A str as UTF-8 into out (cut at a character boundary); false if not a str. */
static bool str_text(py_object *s, char *out, size_t cap)
{
    if (!s || type_of(s) != api.str_type || cap == 0)
        return false;
    const char *t;
    py_ssize_t len = 0;
    if (api.unicode_utf8) {
        py_object *et, *ev, *etb;
        api.err_fetch(&et, &ev, &etb);
        t = api.unicode_utf8(s, &len);
        api.err_restore(et, ev, etb);
    } else {
        t = api.string_as(s);
        len = t ? (py_ssize_t)strlen(t) : 0;
    }
    if (!t)
        return false;
    size_t n = (size_t)len < cap - 1 ? (size_t)len : cap - 1;
    while (n > 0 && n < (size_t)len && ((unsigned char)t[n] & 0xc0) == 0x80)
        n--; /* do not cut a UTF-8 sequence */
    memcpy(out, t, n);
    out[n] = '\0';
    return true;
}

static bool int_value(py_object *o, unsigned long *v)
{
    if (!o)
        return false;
    if (type_of(o) == api.long_type)
        *v = api.long_mask(o);
    else if (api.int_type && type_of(o) == api.int_type)
        *v = api.int_mask(o);
    else
        return false;
    return true;
}

/* ---- idents (pthread_t) to kernel tids, for interpreters without native_id ---- */

#define IDENTS 4096
static struct {
    uintptr_t ident;
    uint32_t tid;
} idents[IDENTS];

static void ident_put(uintptr_t ident, uint32_t tid)
{
    size_t h = (ident >> 12) * 0x9e3779b97f4a7c15ull >> 52;
    for (unsigned p = 0; p < 32; p++) {
        size_t i = (h + p) % IDENTS;
        uintptr_t k = __atomic_load_n(&idents[i].ident, __ATOMIC_ACQUIRE);
        if (k == 0 && __atomic_compare_exchange_n(&idents[i].ident, &k, ident, false, __ATOMIC_ACQ_REL,
                                                  __ATOMIC_ACQUIRE))
            k = ident; /* else k is the ident that took the slot */
        if (k == ident) {
            __atomic_store_n(&idents[i].tid, tid, __ATOMIC_RELEASE);
            return;
        }
    }
}

static uint32_t ident_tid(uintptr_t ident)
{
    size_t h = (ident >> 12) * 0x9e3779b97f4a7c15ull >> 52;
    for (unsigned p = 0; p < 32; p++) {
        size_t i = (h + p) % IDENTS;
        uintptr_t k = __atomic_load_n(&idents[i].ident, __ATOMIC_ACQUIRE);
        if (k == ident)
            return __atomic_load_n(&idents[i].tid, __ATOMIC_ACQUIRE);
        if (k == 0)
            return 0;
    }
    return 0;
}

/* ---- names already written, so each is written once per change ---- */

#define WRITTEN 4096
static struct {
    uint32_t tid;
    uint32_t hash;
    char name[RING_NAME_MAX];
} written[WRITTEN];

static uint32_t text_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h | 1;
}

static void record(uint32_t tid, const char *name)
{
    if (!tid || !name[0])
        return;
    uint32_t h = text_hash(name);
    size_t i = (tid * 2654435761u) % WRITTEN;
    for (unsigned p = 0; p < 16; p++, i = (i + 1) % WRITTEN) {
        uint32_t k = __atomic_load_n(&written[i].tid, __ATOMIC_ACQUIRE);
        if (k == 0 && __atomic_compare_exchange_n(&written[i].tid, &k, tid, false, __ATOMIC_ACQ_REL,
                                                  __ATOMIC_ACQUIRE))
            k = tid; /* else k is the tid that took the slot */
        if (k != tid)
            continue;
        if (__atomic_exchange_n(&written[i].hash, h, __ATOMIC_ACQ_REL) == h)
            return; /* unchanged */
        text_copy(written[i].name, sizeof written[i].name, name);
        break;
    }
    ring_writer_add_name(tid, name);
}

/* ---- the thread start ---- */

static bool in_python(uintptr_t addr)
{
    return python_owns_address(api.py, addr);
}

/* The Thread object being started, from pthread_create's argument. */
static py_object *starting_thread(void *(*fn)(void *), void *arg)
{
    if (!in_python((uintptr_t)fn))
        return NULL;
    uintptr_t w[2];
    if (!safe_read((uintptr_t)arg, w, sizeof w))
        return NULL;
    /* 3.7+: pythread_callback {func, arg} around the bootstate */
    uintptr_t boot = in_python(w[0]) ? w[1] : (uintptr_t)arg;
    uintptr_t func, type;
    if (!safe_read(boot + 8, &func, sizeof func) || !safe_read(func + 8, &type, sizeof type) ||
        type != (uintptr_t)api.method_type)
        return NULL;
    return api.method_self((py_object *)func);
}

/* Snapshots of the running threads cost a little per thread: with many
 * threads starting at once, take one at most this often, of so many. */
#define SNAPSHOT_EVERY_NS 50000000ull
#define SNAPSHOT_MAX_THREADS 4096

/* This process is a fork child (of a traced process). */
static bool forked;

static void snapshot_running(void)
{
    py_object *modules = api.modules();
    py_object *threading = modules ? api.dict_get_item_string(modules, "threading") : NULL;
    if (!threading || type_of(threading) != api.module_type)
        return;
    py_object *d = api.module_dict(threading);
    py_object *active = d ? api.dict_get_item_string(d, "_active") : NULL;
    if (!active || type_of(active) != api.dict_type)
        return;
    bool py2 = api.hexversion < 0x03000000;
    py_ssize_t pos = 0;
    py_object *k, *v;
    for (int guard = 0; guard < SNAPSHOT_MAX_THREADS && api.dict_next(active, &pos, &k, &v); guard++) {
        char name[RING_NAME_MAX];
        py_object *n = read_attr(v, py2 ? "_Thread__name" : "_name");
        bool have = str_text(n, name, sizeof name);
        if (n)
            api.decref(n);
        if (!have)
            continue;
        /* In a fork child, the shim's own ident -> tid map first: the
         * Thread that forked keeps the parent's _native_id (CPython updates
         * only its ident). Elsewhere _native_id first: it also covers
         * threads started before the shim was watching (attach). */
        unsigned long tid = 0, ident;
        if (forked && int_value(k, &ident))
            tid = ident_tid((uintptr_t)ident);
        if (!tid && api.hexversion >= 0x03080000) {
            py_object *nid = read_attr(v, "_native_id");
            if (!int_value(nid, &tid))
                tid = 0;
            if (nid)
                api.decref(nid);
        }
        if (!tid && int_value(k, &ident))
            tid = ident_tid((uintptr_t)ident);
        record((uint32_t)tid, name);
    }
}

static uint64_t coarse_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void py_names_thread_start(void *(*fn)(void *), void *arg, char *name, size_t cap)
{
    name[0] = '\0';
    if (!api.on || !shim_self.holds_gil || !api.is_initialized())
        return;
    py_object *t = starting_thread(fn, arg);
    if (t) {
        py_object *n = read_attr(t, api.hexversion < 0x03000000 ? "_Thread__name" : "_name");
        if (!str_text(n, name, cap))
            name[0] = '\0';
        if (n)
            api.decref(n);
    }
    static uint64_t last; /* threads that start threads hold the GIL: no race */
    uint64_t now = coarse_now_ns();
    if (last == 0 || now - last >= SNAPSHOT_EVERY_NS) {
        last = now ? now : 1;
        snapshot_running();
    }
}

void py_names_thread_started(uintptr_t pthread_self_id, uint32_t tid, const char *name)
{
    if (!api.on)
        return;
    ident_put(pthread_self_id, tid);
    record(tid, name);
}

void py_names_after_fork_child(uint32_t old_tid, uint32_t new_tid)
{
    if (!api.on)
        return;
    char name[RING_NAME_MAX] = "";
    for (size_t i = 0; old_tid && i < WRITTEN; i++)
        if (written[i].tid == old_tid && written[i].hash)
            text_copy(name, sizeof name, written[i].name);
    memset(written, 0, sizeof written); /* the child's ring starts empty */
    forked = true;
    ident_put((uintptr_t)pthread_self(), new_tid);
    record(new_tid, name);
}
