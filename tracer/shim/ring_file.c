/*
 * ring_file.c — sizing and backing a new ring file. See ring_file.h.
 */
#include "ring_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ring.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* Fault in pages for writing now, so that a full file system shows up as an
 * error here instead of SIGBUS at a store. True if done (or not supported
 * by this kernel, where nothing better can be done). */
bool ring_file_populate(void *p, size_t n)
{
    return madvise(p, n, MADV_POPULATE_WRITE) == 0 || errno == EINVAL;
}

/* Size of a ring file of `chunks` chunks and an aux area of `aux_size`. */
static uint64_t ring_file_size(uint64_t chunks, uint64_t aux_size)
{
    return ring_chunk_offset((uint32_t)chunks) + aux_size;
}

/* Size the file `fd` for `*chunks` chunks and the aux area: fewer chunks
 * when its file system has less room, at most half of its free space (the
 * program, and other rings, need the rest). Returns false with errno when
 * not even one chunk fits; *free_mb is the free space seen (MiB). */
bool ring_file_fit(int fd, uint64_t *chunks, uint64_t aux_size, uint64_t *free_mb)
{
    struct statvfs sv;
    *free_mb = UINT64_MAX;
    if (fstatvfs(fd, &sv) == 0 && sv.f_frsize) {
        uint64_t free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
        uint64_t fixed = ring_file_size(0, aux_size);
        uint64_t fit = free_bytes / 2 > fixed ? (free_bytes / 2 - fixed) / RING_CHUNK_SIZE : 0;
        *free_mb = free_bytes >> 20;
        if (fit < *chunks)
            *chunks = fit;
    }
    if (*chunks < 1) {
        errno = ENOSPC;
        return false;
    }
    return ftruncate(fd, (off_t)ring_file_size(*chunks, aux_size)) == 0;
}

/* Make sure stores into the new mapping `map` of file `fd` (`size` bytes,
 * aux area at `aux_offset`) can never raise SIGBUS: populate the header and
 * the aux area now, and where the kernel cannot populate on demand, reserve
 * the whole file. Returns false with errno. */
bool ring_file_back(int fd, void *map, size_t size, size_t aux_offset)
{
    if (madvise(map, RING_HEADER_SIZE, MADV_POPULATE_WRITE) != 0) {
        if (errno != EINVAL)
            return false;
        if (fallocate(fd, 0, 0, (off_t)size) != 0 && errno != EOPNOTSUPP)
            return false; /* a file system that cannot reserve either: nothing better can be done */
    }
    return ring_file_populate((char *)map + aux_offset, size - aux_offset);
}
