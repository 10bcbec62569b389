/*
 * stress_alloc.c — C work for the attach stress test, called through ctypes
 * with the GIL released: a thread that lives inside malloc, realloc and
 * free, and now and then inside dlopen and dlclose, so that giltrace attach
 * keeps finding threads stopped in the allocator and the loader, which it
 * must never make call dlopen.
 */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64

/* Until *stop: free and allocate blocks of 16 B to 256 KiB, touch them,
 * sometimes grow them; every 4096 rounds load and unload libm. Counts the
 * rounds in *rounds as it goes. */
void stress_alloc(const volatile int *stop, volatile long *rounds)
{
    void *slots[SLOTS] = {0};
    unsigned x = 12345;
    while (!*stop) {
        x = x * 1103515245u + 12345u;
        unsigned i = (x >> 8) % SLOTS;
        size_t size = (size_t)16 << ((x >> 16) % 15);
        free(slots[i]);
        slots[i] = malloc(size);
        if (slots[i])
            memset(slots[i], (int)i, size < 64 ? size : 64);
        if ((x & 7) == 0) {
            void *grown = realloc(slots[i], size * 2);
            if (grown)
                slots[i] = grown;
        }
        if (++*rounds % 4096 == 0) {
            void *h = dlopen("libm.so.6", RTLD_NOW);
            if (h)
                dlclose(h);
        }
    }
    for (unsigned i = 0; i < SLOTS; i++)
        free(slots[i]);
}
