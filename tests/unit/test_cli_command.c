/*
 * test_cli_command.c — human_command, the command line in the report's
 * header: a `python -c` script of many lines shows as its first line and a
 * line count, long arguments and long command lines are cut with "...",
 * white space runs (newlines, tabs) show as one space, and a cut never
 * splits a UTF-8 character.
 */
#include <stdio.h>
#include <string.h>

#include "human.h"
#include "check.h"

static void expect(const char *exe, const char *const *argv, size_t argc, size_t width, const char *want)
{
    char buf[256];
    human_command(buf, sizeof buf, exe, argv, argc, width);
    printf("%-60s <- %zu args, width %zu\n", buf, argc, width);
    if (strcmp(buf, want) != 0) {
        printf("  wanted: %s\n", want);
        CHECK(!"human_command");
    }
}

int main(void)
{
    const char *plain[] = {"python3", "app.py", "--port", "8000"};
    expect("/usr/bin/python3.11", plain, 4, 100, "python3.11 app.py --port 8000");

    /* echo_server.py's client: a 22-line script after -c */
    const char *script[] = {"python3", "-u", "-c",
                            "\nimport socket, sys, time\ns = socket.create_connection(('127.0.0.1', 1))\n"
                            "for i in range(20):\n    s.sendall(b'x')\n    s.recv(1)\n",
                            "extra"};
    expect("/usr/bin/python3", script, 5, 100, "python3 -u -c import socket, sys, time (5 lines) extra");

    const char *one_line[] = {"python3", "-c", "print(1);   print(2)"};
    expect("/usr/bin/python3", one_line, 3, 100, "python3 -c print(1); print(2)");

    const char *long_arg[] = {"python3", "/a/very/long/path/to/some/deeply/nested/directory/app.py"};
    expect("python3", long_arg, 2, 100, "python3 /a/very/long/path/to/some/deeply/nest...");

    const char *many[] = {"python3", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"};
    expect("python3", many, 10, 20, "python3 a1 a2 a3 ...");

    /* 36 ASCII bytes then three two-byte "é" (42 bytes): the cut at 37 bytes
     * would split the first é, so it comes after the 36th byte */
    const char *utf8[] = {"python3", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaééé"};
    expect("python3", utf8, 2, 100, "python3 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...");

    const char *tabs[] = {"python3", "x\t\ty"};
    expect(NULL, tabs, 2, 100, "? x y");
    return 0;
}
