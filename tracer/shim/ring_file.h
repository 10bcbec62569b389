/*
 * ring_file.h — sizing and backing a new ring file, so that stores into it
 * never raise SIGBUS. Used by ring_writer.c.
 */
#ifndef GILTRACE_RING_FILE_H
#define GILTRACE_RING_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Fault in pages for writing now, so that a full file system shows up as an
 * error here instead of SIGBUS at a store. True if done (or not supported
 * by this kernel, where nothing better can be done). */
bool ring_file_populate(void *p, size_t n);

/* Size the file `fd` for `*chunks` chunks and the aux area: fewer chunks
 * when its file system has less room, at most half of its free space (the
 * program, and other rings, need the rest). Returns false with errno when
 * not even one chunk fits; *free_mb is the free space seen (MiB). */
bool ring_file_fit(int fd, uint64_t *chunks, uint64_t aux_size, uint64_t *free_mb);

/* Make sure stores into the new mapping `map` of file `fd` (`size` bytes,
 * aux area at `aux_offset`) can never raise SIGBUS: populate the header and
 * the aux area now, and where the kernel cannot populate on demand, reserve
 * the whole file. Returns false with errno. */
bool ring_file_back(int fd, void *map, size_t size, size_t aux_offset);

#endif
