/*
 * ring_clock.c — choosing a clock, calibration pairs and the boot id.
 * See ring_clock.h.
 */
#include "ring_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

/* Read a small file into buf (NUL-terminated); returns bytes read or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n;
    do
        n = read(fd, buf, cap - 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

unsigned ring_clock_best(void)
{
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return RING_CLOCK_MONOTONIC;
    __get_cpuid(0x80000001u, &a, &b, &c, &d);
    bool rdtscp = (d >> 27) & 1;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    bool invariant = (d >> 8) & 1;
    /* The kernel must trust the TSC: its clocksource, or one it keeps
     * available (a KVM guest runs on kvm-clock even over a stable TSC, and
     * reading kvm-clock costs tens of ns more per event; a TSC the kernel
     * found unstable is taken off the list). Calibration pairs map it to
     * CLOCK_MONOTONIC either way. */
    char source[256];
    bool kernel_uses_tsc =
        read_small_file("/sys/devices/system/clocksource/clocksource0/current_clocksource", source,
                        sizeof source) > 0 &&
        strcmp(source, "tsc\n") == 0;
    bool kernel_keeps_tsc = false;
    if (!kernel_uses_tsc &&
        read_small_file("/sys/devices/system/clocksource/clocksource0/available_clocksource", source,
                        sizeof source) > 0)
        for (char *save, *word = strtok_r(source, " \n", &save); word && !kernel_keeps_tsc;
             word = strtok_r(NULL, " \n", &save))
            kernel_keeps_tsc = strcmp(word, "tsc") == 0;
    if (rdtscp && invariant && (kernel_uses_tsc || kernel_keeps_tsc))
        return RING_CLOCK_TSC;
#endif
    return RING_CLOCK_MONOTONIC;
}

struct ring_calibration ring_clock_pair(unsigned clock)
{
    struct ring_calibration c;
    unsigned cpu;
    if (clock != RING_CLOCK_TSC) {
        c.mono_ns = ring_clock_monotonic_ns();
        c.raw = c.mono_ns;
        return c;
    }
    uint64_t before = ring_clock_read(clock, &cpu);
    c.mono_ns = ring_clock_monotonic_ns();
    uint64_t after = ring_clock_read(clock, &cpu);
    c.raw = before + (after - before) / 2;
    return c;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

bool ring_clock_boot_id(uint8_t out[16])
{
    char text[64];
    memset(out, 0, 16);
    if (read_small_file("/proc/sys/kernel/random/boot_id", text, sizeof text) <= 0)
        return false;
    int k = 0;
    for (const char *p = text; *p && k < 32; p++) {
        int v = hex_digit(*p);
        if (v < 0)
            continue;
        out[k / 2] = (uint8_t)(out[k / 2] | (k % 2 ? v : v << 4));
        k++;
    }
    return k == 32;
}
