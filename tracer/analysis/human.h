/*
 * human.h — figures for people, as the report and the CLI print them.
 */
#ifndef GILTRACE_HUMAN_H
#define GILTRACE_HUMAN_H

#include <stddef.h>
#include <stdint.h>

/* Human-readable figures into caller buffers: "1.25 ms", "12.3 MB", "1,234,567". */
void human_ns(char *buf, size_t cap, int64_t ns);
void human_bytes(char *buf, size_t cap, uint64_t bytes);
void human_count(char *buf, size_t cap, uint64_t n);

/* A traced process's command line for a one-line header, into `buf`
 * (always terminated): `exe`'s base name, then the arguments (argv[1] on)
 * with every run of white space shown as one space; the script of
 * `python -c` shown as its first line, with "(N lines)" when it has more;
 * an argument longer than 40 bytes cut to its first 37 and "..."; the whole
 * cut at `width` bytes with "..." (never inside a UTF-8 character). */
void human_command(char *buf, size_t cap, const char *exe, const char *const *argv, size_t argc, size_t width);

#endif
