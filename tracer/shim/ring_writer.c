/*
 * ring_writer.c — the traced process's side of its ring file. See ring_writer.h.
 *
 * The file is created with O_EXCL|O_NOFOLLOW, mode 0600, in a directory that
 * shim_config has checked is private; it is mapped MAP_SHARED and the
 * descriptor closed at once, so the process's own descriptors are never
 * disturbed. The ring is made smaller than asked when its file system has
 * less room (at most half its free space). Each chunk's pages are populated
 * when claimed (MADV_POPULATE_WRITE), so that memory is taken as the ring
 * fills (a process tree under giltrace run may have hundreds of rings, most
 * nearly empty) and a full file system shows as an error there: the events
 * are counted as lost and the chunk is never published, where a plain store
 * would have raised SIGBUS in the traced program. A kernel without
 * MADV_POPULATE_WRITE (before 5.14) cannot report that, so there the whole
 * file's blocks are reserved when it is made (fallocate).
 */
#include "ring_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "rec_clock.h"
#include "ring_file.h"
#include "text_util.h"

enum { CHILD_RING_NONE, CHILD_RING_PENDING, CHILD_RING_CREATING };

static struct {
    /* Configuration and identity: survive fork. */
    bool configured;
    char dir[4096];
    uint32_t size_mb;
    uint32_t mode;
    uint32_t trigger_wait_ms;
    uint64_t takeover_cursor; /* atomic: where overwrite mode looks for a chunk next */
    struct ring_writer_identity id;
    char exe[sizeof(((struct ring_header *)0)->exe)];
    char argv[sizeof(((struct ring_header *)0)->argv)];
    uint32_t argv_len;
    uint32_t flags;
    uint32_t gil_kind;
    uint32_t gil_count;
    struct ring_gil_info gils[RING_MAX_GILS];
    uint32_t stacks_mb;
    /* modules, replayed into every ring this process (or a fork child) makes */
    uint32_t module_count;
    struct ring_module modules[RING_MODULES];
    uint32_t strings_used;
    char strings[RING_MODULE_STRINGS];
    /* a fork child's inherited thread name, until its ring exists */
    uint32_t pending_name_tid;
    char pending_name[RING_NAME_MAX];

    /* A fork child's start, taken in the fork handler. */
    bool have_fork_start;
    struct ring_calibration fork_start;

    /* This process's mapping, and the placeholder of the one released last. */
    struct ring_header *hdr;
    size_t map_size;
    void *placeholder;
    size_t placeholder_size;
    char path[4096 + 64];
    int child_ring; /* CHILD_RING_* */
    /* The process whose ring this state describes (set when the ring is made,
     * or in a fork child when it takes over): a vfork child shares this
     * memory and must leave it alone. */
    pid_t owner_pid;
    /* atomic: events lost while there was no header yet (a fork child's
     * thread while another creates the ring); moved into it once it exists */
    uint64_t pending_lost;
} w;

void ring_writer_configure(const struct ring_writer_config *config, const struct ring_writer_identity *id)
{
    text_copy(w.dir, sizeof w.dir, config->dir);
    w.size_mb = config->size_mb;
    w.mode = config->mode;
    w.trigger_wait_ms = config->trigger_wait_ms;
    w.stacks_mb = config->stacks_mb;
    w.id = *id;
    w.configured = true;
}

uint64_t ring_writer_trigger_ns(void)
{
    return (uint64_t)w.trigger_wait_ms * 1000000u;
}

bool ring_writer_start_calibration(struct ring_calibration *out)
{
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (!h)
        return false;
    *out = h->start;
    return true;
}

bool ring_writer_tracing(void)
{
    return __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE) != NULL ||
           __atomic_load_n(&w.child_ring, __ATOMIC_RELAXED) != CHILD_RING_NONE;
}

const char *ring_writer_path(void)
{
    return w.hdr ? w.path : "";
}

/* Read a whole small /proc file into buf; returns bytes read or -1. */
static ssize_t read_proc_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t got = 0;
    while (got < cap) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    return (ssize_t)got;
}

static void read_process_identity(void)
{
    ssize_t n = readlink("/proc/self/exe", w.exe, sizeof w.exe - 1);
    w.exe[n > 0 ? n : 0] = '\0';
    char probe;
    n = read_proc_file("/proc/self/cmdline", w.argv, sizeof w.argv);
    w.argv_len = n > 0 ? (uint32_t)n : 0;
    if (n == (ssize_t)sizeof w.argv) {
        /* Truncated if there is more to read. */
        int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (lseek(fd, n, SEEK_SET) == n && read(fd, &probe, 1) == 1)
                w.flags |= RING_FLAG_ARGV_TRUNCATED;
            close(fd);
        }
    }
}

/* Open <dir>/<pid>.ring, or <pid>-<k>.ring if an earlier image of this pid
 * (before an exec) left one. */
static int create_ring_file(pid_t pid)
{
    for (unsigned k = 0; k < 100; k++) {
        struct text_buf b = text_buf_init(w.path, sizeof w.path);
        text_buf_str(&b, w.dir);
        text_buf_str(&b, "/");
        text_buf_u64(&b, (uint64_t)pid);
        if (k) {
            text_buf_str(&b, "-");
            text_buf_u64(&b, k);
        }
        text_buf_str(&b, ".ring");
        if (b.overflow)
            return -1;
        int fd = open(w.path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 || errno != EEXIST)
            return fd;
    }
    errno = EEXIST;
    return -1;
}

/* Move the events counted while there was no header into `h`. */
static void take_pending_lost(struct ring_header *h)
{
    uint64_t n = __atomic_exchange_n(&w.pending_lost, 0, __ATOMIC_SEQ_CST);
    if (n)
        __atomic_fetch_add(&h->lost_events, n, __ATOMIC_RELAXED);
}

/* The one line saying the ring is smaller than asked, and why. */
static void note_shrunk(char *why, size_t why_len, uint64_t chunks, uint64_t free_mb)
{
    struct text_buf b = text_buf_init(why, why_len);
    text_buf_str(&b, "the file system of ");
    text_buf_str(&b, w.dir);
    text_buf_str(&b, " has ");
    text_buf_u64(&b, free_mb);
    text_buf_str(&b, " MiB free: ring of ");
    text_buf_u64(&b, chunks * RING_CHUNK_SIZE >> 10);
    text_buf_str(&b, " KiB instead of ");
    text_buf_u64(&b, w.size_mb);
    text_buf_str(&b, " MiB; events past it will be counted as lost (free space there, or set GILTRACE_RING_DIR "
                     "or --ring-dir elsewhere)");
}

bool ring_writer_open(bool read_proc, char *why, size_t why_len)
{
    if (why_len)
        why[0] = '\0';
    if (!w.configured) {
        text_copy(why, why_len, "tracing is not configured");
        return false;
    }
    if (read_proc)
        read_process_identity();

    uint64_t chunks = ((uint64_t)w.size_mb << 20) / RING_CHUNK_SIZE;
    if (chunks < 1)
        chunks = 1;
    struct ring_aux_layout aux = ring_aux_layout(w.stacks_mb);

    pid_t pid = getpid();
    int fd = create_ring_file(pid);
    if (fd < 0) {
        int e = errno;
        struct text_buf b = text_buf_init(why, why_len);
        text_buf_str(&b, "cannot create a ring file in ");
        text_buf_str(&b, w.dir);
        text_buf_str(&b, ": ");
        text_buf_str(&b, strerror(e));
        return false;
    }
    uint64_t asked = chunks, free_mb;
    void *map = MAP_FAILED;
    bool sized = ring_file_fit(fd, &chunks, aux.size, &free_mb);
    size_t aux_offset = (size_t)ring_chunk_offset((uint32_t)chunks);
    size_t size = aux_offset + (size_t)aux.size;
    if (sized)
        map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    bool backed = map != MAP_FAILED && ring_file_back(fd, map, size, aux_offset);
    int e = errno;
    close(fd);
    if (!backed) {
        if (map != MAP_FAILED)
            munmap(map, size);
        e = e == EFAULT || e == ENOMEM ? ENOSPC : e; /* what a full file system gives ring_file_populate() */
        unlink(w.path);
        struct text_buf b = text_buf_init(why, why_len);
        text_buf_str(&b, "cannot make a ring file in ");
        text_buf_str(&b, w.dir);
        text_buf_str(&b, ": ");
        text_buf_str(&b, strerror(e));
        if (free_mb != UINT64_MAX) {
            text_buf_str(&b, " (");
            text_buf_u64(&b, free_mb);
            text_buf_str(&b, " MiB free there)");
        }
        return false;
    }
    if (chunks < asked)
        note_shrunk(why, why_len, chunks, free_mb);

    struct ring_header *h = map;
    ring_header_init(h, (uint32_t)chunks, rec_clock_kind);
    h->pid = pid;
    h->ppid = getppid();
    h->python_hexversion = w.id.python_hexversion;
    h->gil_kind = w.gil_kind;
    ring_clock_boot_id(h->boot_id);
    h->start = w.have_fork_start ? w.fork_start : rec_clock_calibrate();
    h->flags = w.flags;
    h->mode = w.mode;
    h->trigger_wait_ms = w.trigger_wait_ms;
    memcpy(h->python_version, w.id.python_version, sizeof h->python_version);
    memcpy(h->exe, w.exe, sizeof h->exe);
    memcpy(h->argv, w.argv, sizeof h->argv);
    h->argv_len = w.argv_len;
    memcpy(h->gils, w.gils, sizeof h->gils);
    __atomic_store_n(&h->gil_count, w.gil_count, __ATOMIC_RELEASE);
    h->aux_offset = aux_offset;
    h->aux_size = aux.size;
    struct ring_aux *a = (struct ring_aux *)((char *)map + aux_offset);
    ring_aux_init(a, &aux);
    if (w.stacks_mb) {
        h->flags |= RING_FLAG_STACKS;
        memcpy((char *)a + a->strings_offset, w.strings, w.strings_used);
        a->strings_used = w.strings_used;
        struct ring_module *m = (struct ring_module *)((char *)a + a->modules_offset);
        memcpy(m, w.modules, w.module_count * sizeof *m);
        a->modules_count = w.module_count;
    }
    __atomic_store_n(&h->state, RING_STATE_RUNNING, __ATOMIC_RELEASE);

    w.map_size = size;
    w.owner_pid = pid;
    __atomic_store_n(&w.hdr, h, __ATOMIC_SEQ_CST);
    take_pending_lost(h);
    if (w.pending_name_tid) {
        ring_writer_add_name(w.pending_name_tid, w.pending_name);
        w.pending_name_tid = 0;
    }
    return true;
}

struct ring_aux *ring_writer_aux(bool stacks)
{
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (!h || !h->aux_size)
        return NULL;
    struct ring_aux *a = (struct ring_aux *)((char *)h + h->aux_offset);
    return !stacks || a->slots_cap ? a : NULL;
}

void ring_writer_add_name(uint32_t tid, const char *name)
{
    struct ring_aux *a = ring_writer_aux(false);
    if (!a) {
        if (__atomic_load_n(&w.child_ring, __ATOMIC_RELAXED) != CHILD_RING_NONE) {
            w.pending_name_tid = tid;
            text_copy(w.pending_name, sizeof w.pending_name, name);
        }
        return;
    }
    uint32_t i = __atomic_fetch_add(&a->names_count, 1, __ATOMIC_RELAXED);
    if (i >= a->names_cap) {
        __atomic_fetch_add(&a->lost_names, 1, __ATOMIC_RELAXED);
        return;
    }
    struct ring_thread_name *n = (struct ring_thread_name *)((char *)a + a->names_offset) + i;
    n->tid = tid;
    text_copy(n->name, sizeof n->name, name);
    __atomic_store_n(&n->commit, ring_aux_commit(i), __ATOMIC_RELEASE);
}

void ring_writer_add_module(uint64_t bias, uint64_t lo, uint64_t hi, const char *path, const uint8_t *build_id,
                            uint32_t build_id_len)
{
    size_t len = strlen(path) + 1;
    if (w.module_count >= RING_MODULES || w.strings_used + len > sizeof w.strings)
        return;
    struct ring_module m = {.bias = bias, .lo = lo, .hi = hi, .path_offset = w.strings_used};
    if (build_id_len > sizeof m.build_id)
        build_id_len = sizeof m.build_id;
    memcpy(m.build_id, build_id, build_id_len);
    m.build_id_len = build_id_len;
    memcpy(w.strings + w.strings_used, path, len);
    w.strings_used += (uint32_t)len;
    uint32_t i = w.module_count++;
    m.commit = ring_aux_commit(i);
    w.modules[i] = m;
    struct ring_aux *a = ring_writer_aux(true);
    if (!a)
        return;
    /* Rings made since the last module keep their own count: append there. */
    uint32_t at = __atomic_load_n(&a->modules_count, __ATOMIC_RELAXED);
    if (at >= a->modules_cap || a->strings_used + len > a->strings_cap)
        return;
    memcpy((char *)a + a->strings_offset + a->strings_used, path, len);
    m.path_offset = a->strings_used;
    a->strings_used += (uint32_t)len;
    m.commit = 0;
    struct ring_module *slot = (struct ring_module *)((char *)a + a->modules_offset) + at;
    *slot = m;
    __atomic_store_n(&slot->commit, ring_aux_commit(at), __ATOMIC_RELEASE);
    __atomic_store_n(&a->modules_count, at + 1, __ATOMIC_RELEASE);
}

/* A fork child creates its ring at its first event, not in the fork handler:
 * a child that only execs another program must leave no file behind. */
static struct ring_header *header_or_create_child_ring(void)
{
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (h)
        return h;
    int expect = CHILD_RING_PENDING;
    if (!__atomic_compare_exchange_n(&w.child_ring, &expect, CHILD_RING_CREATING, false,
                                     __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return NULL;
    char why[8];
    ring_writer_open(false, why, sizeof why);
    __atomic_store_n(&w.child_ring, CHILD_RING_NONE, __ATOMIC_RELEASE);
    return __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
}

static struct ring_chunk_header *chunk_at(struct ring_header *h, uint64_t index)
{
    return (struct ring_chunk_header *)((char *)h + ring_chunk_offset((uint32_t)index));
}

/* Is thread `tid` of this process still alive? */
static bool thread_alive(uint32_t tid)
{
    return syscall(SYS_tgkill, getpid(), (pid_t)tid, 0) == 0 || errno != ESRCH;
}

/* Committed records of chunk `c` claimed as `seq`. */
static uint64_t committed_records(struct ring_chunk_header *c, uint64_t seq)
{
    const struct ring_record *r = ring_chunk_records(c);
    uint32_t i = 0;
    while (i < RING_RECORDS_PER_CHUNK && ring_tail_check(r[i].tail) == ring_record_check(seq, i))
        i++;
    return i;
}

/* Overwrite mode: take over a chunk no live thread is writing, going round
 * the ring in physical order (the order chunks were claimed in, so the
 * oldest first, save those held by long-lived threads). The chunk's seq
 * becomes 0 (readers skip it) until the caller publishes a new one. */
static struct ring_chunk_header *take_over_chunk(struct ring_header *h, uint32_t tid)
{
    uint32_t n = h->chunk_count;
    for (uint32_t tries = 0; tries < 2 * n; tries++) {
        uint64_t at = __atomic_fetch_add(&w.takeover_cursor, 1, __ATOMIC_RELAXED) % n;
        struct ring_chunk_header *c = chunk_at(h, at);
        uint64_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
        if (seq == 0)
            continue; /* being taken over by another thread */
        if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == RING_CHUNK_CURRENT &&
            (c->tid == tid || thread_alive(c->tid)))
            continue; /* a live thread is writing it */
        if (!__atomic_compare_exchange_n(&c->seq, &seq, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            continue;
        __atomic_fetch_add(&h->overwritten_events, committed_records(c, seq), __ATOMIC_RELAXED);
        memset(ring_chunk_records(c), 0, RING_CHUNK_SIZE - RING_CHUNK_HEADER_SIZE);
        return c;
    }
    return NULL;
}

struct ring_chunk_header *ring_writer_claim_chunk(uint32_t tid, uint64_t *seq)
{
    struct ring_header *h = header_or_create_child_ring();
    if (!h)
        return NULL;
    struct ring_chunk_header *c = NULL;
    /* A full append-mode ring stops here, without writing the shared word. */
    if (__atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED) < h->chunk_count) {
        uint64_t fresh = __atomic_fetch_add(&h->next_chunk, 1, __ATOMIC_RELAXED);
        if (fresh < h->chunk_count) {
            c = chunk_at(h, fresh);
            if (!ring_file_populate(c, RING_CHUNK_SIZE))
                return NULL; /* out of space: count as lost rather than risk SIGBUS */
        }
    }
    if (!c && w.mode == RING_MODE_OVERWRITE)
        c = take_over_chunk(h, tid);
    if (!c)
        return NULL;
    uint64_t s = __atomic_add_fetch(&h->next_seq, 1, __ATOMIC_RELAXED);
    c->tid = tid;
    c->claimed = rec_clock_calibrate();
    __atomic_store_n(&c->lost, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&c->state, RING_CHUNK_CURRENT, __ATOMIC_RELAXED);
    __atomic_store_n(&c->seq, s, __ATOMIC_RELEASE);
    *seq = s;
    return c;
}

bool ring_writer_exhausted(void)
{
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    return h && w.mode == RING_MODE_APPEND && __atomic_load_n(&h->next_chunk, __ATOMIC_RELAXED) >= h->chunk_count;
}

void ring_writer_trigger(uint32_t tid, uint64_t wait_ns)
{
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (!h)
        return;
    __atomic_store_n(&h->trigger_wait_ns, wait_ns, __ATOMIC_RELAXED);
    __atomic_store_n(&h->trigger_tid, tid, __ATOMIC_RELAXED);
    __atomic_fetch_add(&h->trigger_count, 1, __ATOMIC_RELEASE);
}

void ring_writer_count_lost(struct ring_chunk_header *last, uint64_t n)
{
    if (last && w.mode == RING_MODE_APPEND) {
        /* Only its owner writes it, and no one takes an append chunk over. */
        __atomic_store_n(&last->lost, __atomic_load_n(&last->lost, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
        return;
    }
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (h) {
        __atomic_fetch_add(&h->lost_events, n, __ATOMIC_RELAXED);
        return;
    }
    /* No header yet: park the count. Whoever publishes the header takes
     * what is parked after publishing it; if it was published meanwhile,
     * take it here (sequentially consistent: one of the two sees it). */
    __atomic_fetch_add(&w.pending_lost, n, __ATOMIC_SEQ_CST);
    h = __atomic_load_n(&w.hdr, __ATOMIC_SEQ_CST);
    if (h)
        take_pending_lost(h);
}

bool ring_writer_owned_here(void)
{
    return w.owner_pid == 0 || w.owner_pid == (pid_t)syscall(SYS_getpid);
}

int ring_writer_add_gil(uint64_t mutex_addr, uint32_t kind, bool subinterpreter)
{
    uint32_t i = w.gil_count;
    if (i >= RING_MAX_GILS)
        return -1;
    unsigned cpu;
    struct ring_gil_info g = {
        .mutex_addr = mutex_addr,
        .kind = kind,
        .subinterpreter = subinterpreter ? 1u : 0u,
        .created_raw = rec_clock_now(false, &cpu),
    };
    w.gils[i] = g;
    w.gil_count = i + 1;
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (h) {
        h->gils[i] = g;
        __atomic_store_n(&h->gil_count, i + 1, __ATOMIC_RELEASE);
    }
    return (int)i;
}

void ring_writer_set_gil_kind(uint32_t kind)
{
    w.gil_kind = kind;
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (h)
        __atomic_store_n(&h->gil_kind, kind, __ATOMIC_RELEASE);
}

void ring_writer_note_interval(uint32_t us)
{
    struct ring_header *h = __atomic_load_n(&w.hdr, __ATOMIC_ACQUIRE);
    if (h && __atomic_load_n(&h->switch_interval_us, __ATOMIC_RELAXED) != us)
        __atomic_store_n(&h->switch_interval_us, us, __ATOMIC_RELAXED);
}

bool ring_writer_finish(void)
{
    struct ring_header *h = header_or_create_child_ring();
    if (!h)
        return false;
    h->end = rec_clock_calibrate();
    __atomic_store_n(&h->state, RING_STATE_EXITED, __ATOMIC_RELEASE);
    return true;
}

bool ring_writer_exec_begin(const char *new_path)
{
    struct ring_header *h = w.hdr;
    if (!h)
        return false; /* a fork child that recorded nothing leaves no ring */
    if (new_path && rename(w.path, new_path) == 0)
        text_copy(w.path, sizeof w.path, new_path);
    h->end = rec_clock_calibrate();
    __atomic_store_n(&h->state, RING_STATE_EXITED, __ATOMIC_RELEASE);
    return true;
}

void ring_writer_exec_failed(void)
{
    struct ring_header *h = w.hdr;
    if (h)
        __atomic_store_n(&h->state, RING_STATE_RUNNING, __ATOMIC_RELEASE);
}

void ring_writer_forget_parent(void)
{
    w.owner_pid = (pid_t)syscall(SYS_getpid);
    __atomic_store_n(&w.pending_lost, 0, __ATOMIC_RELAXED); /* the parent's, not ours */
    struct ring_header *h = w.hdr;
    if (!h)
        return;
    __atomic_store_n(&w.hdr, NULL, __ATOMIC_RELEASE);
    munmap(h, w.map_size);
    w.path[0] = '\0';
    w.fork_start = rec_clock_calibrate();
    w.have_fork_start = true;
    __atomic_store_n(&w.child_ring, CHILD_RING_PENDING, __ATOMIC_RELEASE);
}

void ring_writer_release(void)
{
    struct ring_header *h = w.hdr;
    if (!h)
        return;
    __atomic_store_n(&w.hdr, NULL, __ATOMIC_RELEASE);
    w.path[0] = '\0';
    /* The previous placeholder has been idle for a whole session. */
    if (w.placeholder)
        munmap(w.placeholder, w.placeholder_size);
    w.placeholder = NULL;
    if (mmap(h, w.map_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
             -1, 0) == MAP_FAILED)
        return; /* the file stays mapped: its pages stay in use, nothing breaks */
    w.placeholder = h;
    w.placeholder_size = w.map_size;
}
