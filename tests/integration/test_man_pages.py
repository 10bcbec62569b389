#!/usr/bin/env python3
"""The man pages (docs/giltrace.1, docs/gilview.1) against --help, both ways.

For each command, the long options its --help lists must be in the man
page's section for that command, and the man page's section may list no
option that --help lacks; every giltrace command has a section and every
section a command. groff renders both pages without warnings.

usage: test_man_pages.py GILTRACE GILVIEW DOCS_DIR
"""
import os
import re
import shutil
import subprocess
import sys

OPT = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def help_text(*argv):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, f"{argv} exited {r.returncode}: {r.stderr}"
    return r.stdout


def options(text):
    return set(OPT.findall(text))


def man_sections(path):
    """{heading: text} for every .SH/.SS of a man page, dashes unescaped."""
    sections, name, body = {}, "", []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith('.\\"'):
                continue
            line = line.replace("\\-", "-")
            m = re.match(r'\.(SH|SS)\s+"?([^"\n]*)"?', line)
            if m:
                sections[name] = "".join(body)
                name, body = m.group(2).strip(), []
            else:
                body.append(line)
    sections[name] = "".join(body)
    return sections


failures = []


def compare(what, in_help, in_man):
    for o in sorted(in_help - in_man):
        failures.append(f"{what}: --{o} is in --help but not in the man page")
    for o in sorted(in_man - in_help):
        failures.append(f"{what}: --{o} is in the man page but not in --help")
    print(f"{what}: {len(in_help)} options in --help, {len(in_man)} in the man page")


def main():
    giltrace, gilview, docs = sys.argv[1:4]
    gt = man_sections(os.path.join(docs, "giltrace.1"))
    top = help_text(giltrace, "--help")
    cmds = re.findall(r"^  ([a-z]+) ", top.split("commands:")[1].split("\n\n")[0], re.M)
    man_cmds = sorted(k.split()[1] for k in gt if k.startswith("giltrace "))
    if sorted(cmds) != man_cmds:
        failures.append(f"giltrace commands: --help has {sorted(cmds)}, the man page {man_cmds}")
    whole = "".join(gt.values())
    for o in sorted(options(top) - options(whole)):
        failures.append(f"giltrace: --{o} (giltrace --help) is nowhere in the man page")
    for c in cmds:
        compare(f"giltrace {c}", options(help_text(giltrace, c, "--help")), options(gt.get(f"giltrace {c}", "")))

    gv = man_sections(os.path.join(docs, "gilview.1"))
    compare("gilview", options(help_text(gilview, "--help")),
            options(gv.get("SYNOPSIS", "") + gv.get("OPTIONS", "")))
    compare("gilview tiles", options(help_text(gilview, "tiles", "--help")), options(gv.get("gilview tiles", "")))

    if shutil.which("groff"):
        for page in ("giltrace.1", "gilview.1"):
            r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", os.path.join(docs, page)],
                               capture_output=True, text=True, timeout=60)
            if r.returncode != 0 or r.stderr.strip():
                failures.append(f"groff on {page}: rc {r.returncode}: {r.stderr.strip()}")
    else:
        print("note: groff is not installed; the pages were not rendered")

    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
