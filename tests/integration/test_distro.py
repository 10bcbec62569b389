#!/usr/bin/env python3
"""The integration checks of one interpreter of a newer Debian, run inside a
chroot of it (distros.py) by the giltrace built on this machine.

usage: test_distro.py DISTRO PROGRAM MODE SOURCE_ROOT BUILD_ROOT
  DISTRO   trixie | sid
  PROGRAM  the interpreter, e.g. the chroot's /usr/bin/python3.14; one
           outside /usr (a pyenv build) is the host's, its prefix mounted in
  run      test_interpreter.py's checks: event kinds, no overlaps,
           switch_number fidelity, sleep pairs, subinterpreters, names, stacks
  attach   test_attach.py's checks: holds of every thread, no overlaps,
           fidelity, subinterpreters, and the GIL found through
           _Py_DebugOffsets
  py-stacks              test_py_stacks.py's checks: Python functions and
                         lines in run, attach, report, --folded, echo convoy
  py-stacks-wrong-layout test_py_stacks.py --wrong-layout: a wrong frame
                         layout turns Python stacks off with one line
  exec     PROGRAM is a test program of the build, run as it is

The interpreter under test runs the check scripts. Exits 77 (SKIP) with
the reason if the chroot cannot be made here or a host interpreter is
missing.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import distros  # noqa: E402
from gilcheck import SKIP, Skip  # noqa: E402

# mode -> (check script, GILTRACE_TEST_CHECKS, its arguments)
CHECKS = {
    "run": ("test_interpreter.py", "check_cpu_pair,check_forced_holds,check_fidelity,check_interval_follows,"
            "check_sleeper,check_subinterpreter,check_names,check_stack_sleep,check_forced_site", ["any"]),
    "attach": ("test_attach.py", "check_cpu_pair,check_subinterpreter", ["any"]),
    "py-stacks": ("test_py_stacks.py", "", ["any"]),
    "py-stacks-wrong-layout": ("test_py_stacks.py", "", ["--wrong-layout", "any"]),
    "exec": (None, None, None),
}


def main(distro, program, mode, source, build):
    binds = [source, build]
    if mode != "exec" and not program.startswith("/usr/"):
        prefix = os.path.dirname(os.path.dirname(program))
        if not os.access(program, os.X_OK):
            print("SKIP: %s is not on this machine" % program)
            return SKIP
        binds.append(prefix)
    try:
        root = distros.prepare(distro)
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    print("chroot: %s (%s)" % (distro, root), flush=True)
    if mode == "exec":
        return distros.enter(root, binds, [program], {"PATH": "/usr/bin:/bin"})
    script, checks, args = CHECKS[mode]
    here = os.path.dirname(os.path.abspath(__file__))
    env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "GILTRACE": os.environ["GILTRACE"],
        "PYTHONDONTWRITEBYTECODE": "1",
        "GILTRACE_TEST_PYTHON_any": program,
        "GILTRACE_TEST_CHECKS": checks,
    }
    return distros.enter(root, binds, [program, os.path.join(here, script)] + args, env)


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[3] not in CHECKS:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
