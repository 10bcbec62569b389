#!/usr/bin/env python3
"""What giltrace and gilview write, and what they read, when the paths are
not what they seem: --force never replaces a device or FIFO (only a regular
file, or a symlink itself); pictures obey the same rules as traces (no
silent overwrite, no writing through a symlink); outputs are private (0600);
a file that appears during a run is not replaced; `recover -o -` makes no
file named "-"; a FIFO given to recover is refused, not waited on; a ring
cut short and a trace cut short are reported as such; a trace with a damaged process time is
read without overflow; gilview does not write into the trace it shows.

usage: test_output_safety.py GILTRACE GILVIEW SHIM FAKE_CPYTHON_PLAIN
"""
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gilcheck import Cases, one_line  # noqa: E402

case = Cases()


def run(cmd, env_extra=None):
    """Run a command as a user would (gilcheck.run_cli); one that blocks is a
    failure of its own, not a hang of the test."""
    env = dict(os.environ)
    env.update(env_extra or {})
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(cmd, -1, "", "(blocked for 60 s)")


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def main():
    giltrace, gilview, shim, fake = sys.argv[1:5]
    work = tempfile.mkdtemp(prefix="giltrace-out-")
    W = lambda name: os.path.join(work, name)  # noqa: E731
    prog = [fake, "cpu", "2", "300", "1000"]

    db = W("t.db")
    p = run([giltrace, "run", "-q", "-o", db, "--"] + prog)
    case("a trace to work with", p.returncode == 0 and mode(db) == 0o600, p.stderr.strip())

    # --force replaces a regular file or a symlink, never a FIFO or a device
    os.mkfifo(W("fifo"))
    specials = [W("fifo")]
    if os.geteuid() == 0:
        os.mknod(W("null"), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        specials.append(W("null"))
    else:
        print("note: not root, so no device node was made; the FIFO stands for it")
    for sp in specials:
        kind = "FIFO" if sp.endswith("fifo") else "device node"
        for cmd in ([giltrace, "run", "-q", "-f", "-o", sp, "--", "true"],
                    [giltrace, "export", "-q", "-f", "-o", sp, db],
                    [giltrace, "report", "-f", "--png", sp, db],
                    [gilview, "--force", "--screenshot", sp, db]):
            p = run(cmd)
            st = os.lstat(sp)
            still = stat.S_ISFIFO(st.st_mode) if kind == "FIFO" else stat.S_ISCHR(st.st_mode)
            what = "gilview --screenshot" if cmd[0] == gilview else "giltrace " + cmd[1]
            case("%s --force onto a %s: refused, left as it was" % (what, kind),
                 p.returncode != 0 and one_line(p.stderr) and still, p.stderr.strip())

    # pictures: no silent overwrite, never through a symlink, 0600
    for name, cmd in (("report --png", lambda out, *f: [giltrace, "report"] + list(f) + ["--png", out, db]),
                      ("gilview --screenshot", lambda out, *f: [gilview] + list(f) + ["--screenshot", out, db])):
        out = W(name.split()[0] + ".png")
        p = run(cmd(out))
        ok = p.returncode == 0 and os.path.exists(out)
        if not ok and "font" in p.stderr:
            print("note: %s not checked: %s" % (name, p.stderr.strip()))
            continue
        case("%s writes a 0600 picture" % name, ok and mode(out) == 0o600, p.stderr.strip())
        with open(out, "rb") as f:
            before = f.read()
        p = run(cmd(out))
        with open(out, "rb") as f:
            case("%s onto an existing file: refused without --force" % name,
                 p.returncode != 0 and one_line(p.stderr) and "--force" in p.stderr and f.read() == before,
                 p.stderr.strip())
        p = run(cmd(out, "--force") if name.startswith("gilview") else cmd(out, "-f"))
        case("%s --force replaces it" % name, p.returncode == 0, p.stderr.strip())
        victim, link = W(name.split()[0] + "-victim.txt"), W(name.split()[0] + "-link.png")
        with open(victim, "w") as f:
            f.write("precious")
        os.symlink(victim, link)
        p = run(cmd(link))
        case("%s onto a symlink: refused" % name, p.returncode != 0 and one_line(p.stderr), p.stderr.strip())
        p = run(cmd(link, "--force") if name.startswith("gilview") else cmd(link, "-f"))
        with open(victim) as f:
            case("%s --force onto a symlink: the link is replaced, its target untouched" % name,
                 p.returncode == 0 and f.read() == "precious" and not os.path.islink(link), p.stderr.strip())

    # a tile set: private, never over an earlier one without --force, never
    # through a symlink (the folder, or a file planted in it)
    tiles = W("tiles")
    p = run([gilview, "tiles", db, "-o", tiles, "-q", "--max-zoom", "2"])
    pngs = [os.path.join(r, f) for r, _, fs in os.walk(tiles) for f in fs if f.endswith(".png")]
    case("gilview tiles: folders 0700, files 0600",
         p.returncode == 0 and pngs and mode(tiles) == 0o700 and mode(os.path.join(tiles, "index.html")) == 0o600
         and all(mode(f) == 0o600 for f in pngs), p.stderr.strip())
    p = run([gilview, "tiles", db, "-o", tiles, "-q", "--max-zoom", "2"])
    case("gilview tiles over an earlier set: refused without --force",
         p.returncode != 0 and one_line(p.stderr) and "--force" in p.stderr, p.stderr.strip())
    victim = W("tile-victim.txt")
    with open(victim, "w") as f:
        f.write("precious")
    if pngs:
        os.remove(pngs[0])
        os.symlink(victim, pngs[0])
    os.remove(os.path.join(tiles, "index.html"))
    os.symlink(victim, os.path.join(tiles, "index.html"))
    p = run([gilview, "tiles", db, "-o", tiles, "-q", "--force", "--max-zoom", "2"])
    with open(victim) as f:
        case("gilview tiles --force over symlinks planted in the set: replaced, their target untouched",
             p.returncode == 0 and f.read() == "precious" and not os.path.islink(pngs[0]) and
             not os.path.islink(os.path.join(tiles, "index.html")), p.stderr.strip())
    os.symlink(tiles, W("tiles-link"))
    p = run([gilview, "tiles", db, "-o", W("tiles-link"), "-q", "--force"])
    case("gilview tiles into a symlink: refused", p.returncode != 0 and one_line(p.stderr), p.stderr.strip())

    out = W("t.json")
    p = run([giltrace, "export", "-q", "-o", out, db])
    case("export writes a 0600 file", p.returncode == 0 and mode(out) == 0o600, p.stderr.strip())

    # a file that appears during the run is kept, and the trace goes beside it
    late = W("late.db")
    p = run([giltrace, "run", "-o", late, "--", "sh", "-c", "echo mine > %s && exec %s" % (late, " ".join(prog))])
    with open(late, "rb") as f:
        mine = f.read()
    case("a file that appeared during the run is not replaced; the trace is FILE.1, and one line says so",
         p.returncode == 0 and mine == b"mine\n" and os.path.exists(late + ".1") and
         sum("appeared" in line for line in p.stderr.splitlines()) == 1 and late + ".1" in p.stderr,
         p.stderr.strip())

    # rings: one kept by an env-only run whose output cannot be written
    rings = W("rings")
    os.mkdir(rings, 0o700)
    env = {"LD_PRELOAD": shim, "GILTRACE_RING_DIR": rings, "GILTRACE_OUTPUT": W("no/such/dir/x.db")}
    p = run(prog, env_extra=env)
    kept = [r for r in os.listdir(rings) if r.endswith(".ring")]
    case("an env-only run that cannot write its trace keeps its ring", len(kept) == 1, p.stderr.strip())
    if kept:
        ring = os.path.join(rings, kept[0])
        os.chdir(work)
        p = run([giltrace, "recover", "-q", "-o", "-", ring])
        case("recover -o -: refused in one line, no file named '-'",
             p.returncode != 0 and one_line(p.stderr) and not os.path.exists(W("-")), p.stderr.strip())
        p = run([giltrace, "recover", "-o", W("whole.db"), ring])
        case("recover of the whole ring: exit 0, no warning", p.returncode == 0 and "cut short" not in p.stderr,
             p.stderr.strip())
        with open(ring, "rb") as f:
            data = f.read()
        cut = W("cut.ring")
        with open(cut, "wb") as f:  # the header and the first chunk (formats/ring/ring.h: 16 KiB, 64 KiB)
            f.write(data[:16384 + 65536])
        p = run([giltrace, "recover", "-o", W("cut.db"), cut])
        warn = [line for line in p.stderr.splitlines() if "cut short" in line]
        case("recover of a ring cut short: one warning with the figures, exit 1, the rest written",
             p.returncode == 1 and len(warn) == 1 and "missing" in warn[0] and os.path.exists(W("cut.db")),
             p.stderr.strip())
    os.mkfifo(W("fifo.ring"))
    p = run([giltrace, "recover", "-o", W("fifo.db"), W("fifo.ring")])
    case("recover of a FIFO: refused, not waited on", p.returncode != 0 and one_line(p.stderr) and
         "regular file" in p.stderr, p.stderr.strip())
    fdir = W("fifodir")
    os.mkdir(fdir)
    os.mkfifo(os.path.join(fdir, "2.ring"))
    p = run([giltrace, "recover", "-o", W("fifodir.db"), fdir])
    case("recover of a directory holding a FIFO: it does not block", p.returncode != -1, p.stderr.strip())

    # a trace cut short is called damaged, in SQLite's words
    with open(db, "rb") as f:
        data = f.read()
    with open(W("cut.db"), "wb") as f:
        f.write(data[:len(data) // 2])
    p = run([giltrace, "report", W("cut.db")])
    case("a trace cut short: 'malformed', not 'not an SQLite database'",
         p.returncode == 1 and one_line(p.stderr) and "malformed" in p.stderr, p.stderr.strip())

    # a damaged process time (a fuzzed ring gave INT64_MIN): readers clamp it,
    # and under the sanitizers no signed overflow is reported
    bad = W("int64min.db")
    shutil.copy(db, bad)
    con = sqlite3.connect(bad)
    con.execute("UPDATE process SET start_ns = -9223372036854775808")
    con.commit()
    con.close()
    for cmd in ([giltrace, "report", bad], [giltrace, "report", "--json", bad],
                [giltrace, "export", "-q", "-o", W("int64min.json"), bad],
                [gilview, "--screenshot", W("int64min.png"), bad]):
        p = run(cmd)
        case("%s on a trace whose process started at INT64_MIN" % os.path.basename(cmd[0]) + " " + cmd[1],
             p.returncode == 0 and "runtime error" not in p.stderr, p.stderr.strip()[-300:])

    # gilview never writes into its input: a trace without summaries (an older
    # one) is shown from summaries built elsewhere, and stays as it was
    nosum = W("nosummary.db")
    shutil.copy(db, nosum)
    con = sqlite3.connect(nosum)
    con.executescript("DELETE FROM summary_lane; DELETE FROM summary_chunk; DELETE FROM summary_wait;"
                      " DELETE FROM summary_events; VACUUM;")
    con.close()
    with open(nosum, "rb") as f:
        before = f.read()
    p = run([gilview, "--screenshot", W("nosummary.png"), nosum])
    with open(nosum, "rb") as f:
        after = f.read()
    case("gilview on a trace without summaries: drawn, and the trace is not modified",
         p.returncode == 0 and os.path.exists(W("nosummary.png")) and after == before, p.stderr.strip())

    # an event moved near 2^63 ns (one changed byte in a ring once did it),
    # summaries to rebuild: gilview and report finish
    huge = W("hugets.db")
    shutil.copy(db, huge)
    con = sqlite3.connect(huge)
    con.executescript("UPDATE event SET ts = ts + 8286623314361710592 WHERE (lane, ts) ="
                      " (SELECT lane, max(ts) FROM event GROUP BY lane ORDER BY lane LIMIT 1);"
                      " DELETE FROM summary_lane; DELETE FROM summary_chunk; DELETE FROM summary_wait;"
                      " DELETE FROM summary_events;")
    con.close()
    for cmd in ([gilview, "--screenshot", W("hugets.png"), huge], [giltrace, "report", huge]):
        p = run(cmd)
        case("%s on a trace with an event near 2^63 ns: finishes" % os.path.basename(cmd[0]),
             p.returncode == 0, p.stderr.strip()[-300:])

    leftovers = [f for f in os.listdir(work) if ".tmp-" in f]
    case("no temporary files left", leftovers == [], " ".join(leftovers))
    if case.failures == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("files kept in " + work)
    return 1 if case.failures else 0


if __name__ == "__main__":
    sys.exit(main())
