/*
 * probe.c — one #include of PROBE_HEADER, compiled by tests/layering with
 * exactly a library's include directories and dependencies: it builds
 * only if that library may use the header.
 */
#include PROBE_HEADER

int layering_probe(void);
int layering_probe(void)
{
    return 0;
}
