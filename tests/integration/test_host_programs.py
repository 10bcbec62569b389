#!/usr/bin/env python3
"""Programs that are not Python run under the shim exactly as without it:
same output, same exit status, same files, and no file of ours left behind.

usage: test_host_programs.py SHIM
"""
import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77


def run(cmd, env_extra, cwd):
    env = dict(os.environ)
    env.update(env_extra)
    p = subprocess.run(cmd, capture_output=True, cwd=cwd, env=env, timeout=300)
    return p.returncode, p.stdout, p.stderr


def tree(path):
    out = []
    for root, dirs, files in os.walk(path):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), path))
    return sorted(out)


def main():
    shim = sys.argv[1]
    work = tempfile.mkdtemp(prefix="giltrace-host-")
    ring_dir = tempfile.mkdtemp(prefix="giltrace-rings-")
    env_ring_dir = tempfile.mkdtemp(prefix="giltrace-envrings-")
    with open(os.path.join(work, "hello.c"), "w") as f:
        f.write('#include <stdio.h>\nint main(void) { puts("hello"); return 0; }\n')
    cases = [
        ("sh", ["sh", "-c", "echo out; echo err >&2; exit 3"]),
        ("ls", ["ls", "-la", "/usr/share/doc/libc6"]),
        ("git", ["git", "--version"]),
        ("gcc", ["gcc", "-O2", "-o", "hello", "hello.c"]),
        ("sort", ["sh", "-c", "seq 1 20000 | sort -r | head -3"]),
    ]
    modes = [
        ("run mode", {"LD_PRELOAD": shim, "GILTRACE_RUN_DIR": ring_dir}),
        ("env-only mode", {"LD_PRELOAD": shim, "GILTRACE_OUTPUT": os.path.join(work, "gil-%p.db"),
                           "GILTRACE_RING_DIR": env_ring_dir}),
        ("preload alone", {"LD_PRELOAD": shim}),
    ]
    failures = 0
    for name, cmd in cases:
        if shutil.which(cmd[0]) is None:
            print("SKIP  %s: %s is not installed" % (name, cmd[0]))
            continue
        plain_dir = os.path.join(work, "plain-" + name)
        os.mkdir(plain_dir)
        shutil.copy(os.path.join(work, "hello.c"), plain_dir)
        want = run(cmd, {}, plain_dir)
        for mode, env in modes:
            traced_dir = os.path.join(work, "traced-%s-%s" % (name, mode.replace(" ", "-")))
            os.mkdir(traced_dir)
            shutil.copy(os.path.join(work, "hello.c"), traced_dir)
            got = run(cmd, env, traced_dir)
            problems = []
            if got != want:
                problems.append("exit/stdout/stderr differ: %r vs %r" % (got, want))
            if tree(traced_dir) != tree(plain_dir):
                problems.append("files differ: %s vs %s" % (tree(traced_dir), tree(plain_dir)))
            elif name == "gcc" and not filecmp.cmp(os.path.join(traced_dir, "hello"),
                                                   os.path.join(plain_dir, "hello"), shallow=False):
                problems.append("gcc built a different binary")
            for d in (ring_dir, env_ring_dir):
                if os.listdir(d):
                    problems.append("files left in %s: %s" % (d, os.listdir(d)))
            if [f for f in os.listdir(work) if f.endswith(".db")]:
                problems.append("a trace was written for a program that is not Python")
            if problems:
                failures += 1
                print("FAIL  %s (%s): %s" % (name, mode, "; ".join(problems)))
            else:
                print("ok    %s (%s): exit %d, %d bytes of output, identical" % (name, mode, got[0], len(got[1])))
    if failures == 0:
        for d in (work, ring_dir, env_ring_dir):
            shutil.rmtree(d, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
