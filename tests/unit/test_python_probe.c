/*
 * test_python_probe.c — reading an interpreter's version string, and
 * decoding the 2.7 `mov interpreter_lock(%rip),%rdi` instruction.
 */
#include "../../tracer/shim/python_probe.h"
#include "check.h"

int main(void)
{
    CHECK_EQ_INT(python_parse_hexversion("3.11.7 (main, May  9 2026) [GCC 12.2.0]"), 0x030b07f0);
    CHECK_EQ_INT(python_parse_hexversion("2.7.18 (default)"), 0x020712f0);
    CHECK_EQ_INT(python_parse_hexversion("3.13.0rc1 experimental"), 0x030d00c1);
    CHECK_EQ_INT(python_parse_hexversion("3.14.0a3+ free-threading build"), 0x030e00a3);
    CHECK_EQ_INT(python_parse_hexversion("3.12"), 0x030c00f0);
    CHECK_EQ_INT(python_parse_hexversion("hello"), 0);
    CHECK_EQ_INT(python_parse_hexversion("3"), 0);
    CHECK_EQ_INT(python_parse_hexversion("300.1.1"), 0);

    /* mov 0x107bb9(%rip),%rdi ; jmp ... */
    static const unsigned char plain[] = {0x48, 0x8b, 0x3d, 0xb9, 0x7b, 0x10, 0x00, 0xe9};
    CHECK(python_decode_rip_load_rdi(plain) == (uintptr_t)(plain + 7) + 0x107bb9);
    static const unsigned char cet[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x3d, 0xf0, 0xff, 0xff, 0xff};
    CHECK(python_decode_rip_load_rdi(cet) == (uintptr_t)(cet + 11) - 16);
    static const unsigned char other[] = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0};
    CHECK(python_decode_rip_load_rdi(other) == 0);
    return 0;
}
