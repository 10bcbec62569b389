/*
 * python_probe.c — finding the CPython in this process. See python_probe.h.
 */
#include "python_probe.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <string.h>

#include "text_util.h"

uint32_t python_parse_hexversion(const char *v)
{
    unsigned part[3] = {0, 0, 0};
    const char *p = v;
    int n = 0;
    while (n < 3 && *p >= '0' && *p <= '9') {
        while (*p >= '0' && *p <= '9' && part[n] < 1000)
            part[n] = part[n] * 10 + (unsigned)(*p++ - '0');
        n++;
        if (n == 3 || *p != '.')
            break;
        p++;
    }
    if (n < 2 || part[0] == 0 || part[0] > 255 || part[1] > 255 || part[2] > 255)
        return 0;
    unsigned level = 0xf, serial = 0;
    if (p[0] == 'a' || p[0] == 'b' || (p[0] == 'r' && p[1] == 'c')) {
        level = p[0] == 'a' ? 0xa : p[0] == 'b' ? 0xb : 0xc;
        p += p[0] == 'r' ? 2 : 1;
        while (*p >= '0' && *p <= '9' && serial < 16)
            serial = serial * 10 + (unsigned)(*p++ - '0');
    }
    return part[0] << 24 | part[1] << 16 | part[2] << 8 | level << 4 | (serial & 0xf);
}

uintptr_t python_decode_rip_load_rdi(const uint8_t *code)
{
    static const uint8_t endbr64[4] = {0xf3, 0x0f, 0x1e, 0xfa};
    if (memcmp(code, endbr64, 4) == 0)
        code += 4;
    if (code[0] != 0x48 || code[1] != 0x8b || code[2] != 0x3d)
        return 0;
    int32_t disp;
    memcpy(&disp, code + 3, sizeof disp);
    return (uintptr_t)(code + 7) + (intptr_t)disp;
}

static uintptr_t object_base_of(const void *addr)
{
    Dl_info info;
    memset(&info, 0, sizeof info);
    if (!dladdr(addr, &info))
        return 0;
    return (uintptr_t)info.dli_fbase;
}

bool python_owns_address(const struct python_info *py, uintptr_t addr)
{
    return py->object_base && object_base_of((const void *)addr) == py->object_base;
}

bool python_probe(struct python_info *out)
{
    memset(out, 0, sizeof *out);
    const char *(*get_version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "Py_GetVersion");
    if (!get_version)
        return false;
    out->present = true;
    out->object_base = object_base_of((const void *)get_version);
    const char *v = get_version();
    if (v) {
        text_copy(out->version, sizeof out->version, v);
        out->hexversion = python_parse_hexversion(v);
        out->free_threaded = strstr(v, "free-threading build") != NULL;
    }

    void *runtime = dlsym(RTLD_DEFAULT, "_PyRuntime");
    if (runtime) {
        Dl_info info;
        const ElfW(Sym) *sym = NULL;
        memset(&info, 0, sizeof info);
        if (dladdr1(runtime, &info, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size) {
            out->runtime_lo = (uintptr_t)runtime;
            out->runtime_hi = (uintptr_t)runtime + sym->st_size;
        }
    }

#if defined(__x86_64__)
    if (out->hexversion >> 24 == 2) {
        const uint8_t *release = dlsym(RTLD_DEFAULT, "PyEval_ReleaseLock");
        uintptr_t slot = release ? python_decode_rip_load_rdi(release) : 0;
        if (slot && object_base_of((const void *)slot) == out->object_base)
            out->py2_lock_slot = slot;
    }
#endif
    return true;
}
