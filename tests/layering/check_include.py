#!/usr/bin/env python3
"""check_include.py — does a layering probe build as the layering says?

usage: check_include.py BUILD_DIR TARGET HEADER builds|fails

Runs the compile command meson wrote for TARGET's probe.c (its
build_by_default is false, so only this test compiles it), with the object
and dependency files sent to a scratch folder. `fails` passes only if the
compiler stops because it cannot find HEADER; `builds` only if it compiles.
"""
import json
import os
import shlex
import subprocess
import sys
import tempfile


def main():
    build, target, header, want = sys.argv[1:5]
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = [e for e in json.load(f)
                   if e["file"].endswith("probe.c") and f"/lib{target}.a.p/" in "/" + e["output"]]
    if len(entries) != 1:
        print(f"FAIL: {len(entries)} compile commands for {target} in compile_commands.json")
        return 1
    e = entries[0]
    args = shlex.split(e["command"])
    with tempfile.TemporaryDirectory(prefix="layering-") as tmp:
        for flag in ("-o", "-MF", "-MQ"):
            if flag in args:
                args[args.index(flag) + 1] = os.path.join(tmp, "probe" + flag)
        r = subprocess.run(args, cwd=e["directory"], capture_output=True, text=True)
    missing = f"{header}: No such file or directory" in r.stderr
    if want == "builds" and r.returncode == 0:
        print(f"ok: {target} may include {header}")
        return 0
    if want == "fails" and r.returncode != 0 and missing:
        print(f"ok: {target} cannot include {header}")
        return 0
    print(f"FAIL: {target} including {header}: want it to {want[:-1]}, the compiler said (rc {r.returncode}):")
    print(r.stderr.strip() or "(nothing)")
    return 1


if __name__ == "__main__":
    sys.exit(main())
