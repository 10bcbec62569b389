"""Debian chroots the integration tests run giltrace in: the interpreters
and glibc of newer distributions, traced by the giltrace built here.

Each chroot is made once per machine with `debootstrap --variant=minbase`,
its packages installed with its own apt-get, and cached as a tarball under
GILTRACE_CHROOT_CACHE (default /var/cache/giltrace/chroots), with the tree
unpacked beside it: a fresh clone elsewhere on the machine reuses both.
Making one needs root, debootstrap and Debian's mirror (or the one
GILTRACE_DEBIAN_MIRROR names); without them prepare() raises Skip with the
reason.

enter() runs a command inside, in a mount namespace of its own (unshare -m):
/proc, /dev, /dev/shm and the source and build trees are bind-mounted at
their own paths, so the host's giltrace runs unchanged with the chroot's
libraries and interpreters; the mounts go away with the namespace, whatever
way the command ends.
"""
import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile

from gilcheck import Skip

MIRROR = os.environ.get("GILTRACE_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# What the host's giltrace needs from the chroot, besides its libc.
RUNTIME = ["libsqlite3-0", "libjansson4", "libelf1t64", "libfreetype6", "libpng16-16t64", "libunwind8"]
DISTROS = {
    # Debian 13: python3 3.13, glibc 2.41.
    "trixie": {"suite": "trixie", "packages": ["python3"]},
    # Debian unstable: 3.14 and 3.15, a debug build of 3.14, glibc 2.43.
    # Its Release file may be past its Valid-Until date.
    "sid": {"suite": "sid", "packages": ["python3.14", "python3.15", "python3.14-dbg"],
            "apt_conf": 'Acquire::Check-Valid-Until "false";\n'},
}


def cache_dir():
    return os.environ.get("GILTRACE_CHROOT_CACHE", "/var/cache/giltrace/chroots")


def _key(name):
    d = DISTROS[name]
    text = "%s %s %s" % (d["suite"], " ".join(d["packages"] + RUNTIME), d.get("apt_conf", ""))
    return "%s-%s" % (name, hashlib.sha256(text.encode()).hexdigest()[:12])


def _run(cmd, what, log):
    log.write("$ %s\n" % " ".join(cmd))
    log.flush()
    p = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    if p.returncode != 0:
        with open(log.name) as f:
            last = (f.read().strip().splitlines() or [""])[-1]
        raise Skip("cannot make the %s chroot: `%s` exited %d: %s (log: %s)" % (what, " ".join(cmd[:3]), p.returncode,
                                                                              last, log.name))


def _make_tarball(name, tarball):
    d = DISTROS[name]
    if not shutil.which("debootstrap"):
        raise Skip("cannot make the %s chroot: debootstrap is not installed (script/bootstrap installs it)" % name)
    work = tempfile.mkdtemp(prefix=name + "-", dir=cache_dir())
    root = os.path.join(work, "root")
    with open(tarball + ".log", "w") as log:
        try:
            _run(["debootstrap", "--variant=minbase", d["suite"], root, MIRROR], name, log)
            if d.get("apt_conf"):
                with open(os.path.join(root, "etc/apt/apt.conf.d/99giltrace"), "w") as f:
                    f.write(d["apt_conf"])
            _run(["chroot", root, "apt-get", "update", "-q"], name, log)
            _run(["chroot", root, "env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-q",
                  "--no-install-recommends"] + d["packages"] + RUNTIME, name, log)
            _run(["chroot", root, "apt-get", "clean"], name, log)
            _run(["tar", "-C", root, "-cf", tarball + ".part", "."], name, log)
            os.rename(tarball + ".part", tarball)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _root_is_mount():
    """Is this process's / a mount point? Not inside a plain chroot, where
    /proc/self/mountinfo lists no mount at "/"."""
    try:
        with open("/proc/self/mountinfo") as f:
            return any(line.split()[4] == "/" for line in f if len(line.split()) > 4)
    except OSError:
        return True  # no /proc to tell: let unshare say


def prepare(name):
    """The root of the unpacked chroot `name`, made and cached if missing.
    Raises Skip (saying why) if it cannot be made or entered here."""
    if os.geteuid() != 0:
        raise Skip("the %s chroot needs root (debootstrap, mount, chroot)" % name)
    if not _root_is_mount():
        raise Skip("/ is not a mount point here (this runs in a chroot?), so enter() cannot make its bind "
                   "mounts private (unshare --propagation private); bind-mount the chroot onto itself "
                   "(mount --bind DIR DIR) before entering it to run the %s tests" % name)
    os.makedirs(cache_dir(), exist_ok=True)
    base = os.path.join(cache_dir(), _key(name))
    tarball, root = base + ".tar", base + ".root"
    with open(base + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one maker per chroot, whoever runs
        if not os.path.exists(tarball):
            print("making the %s chroot (once per machine): %s" % (name, tarball), flush=True)
            _make_tarball(name, tarball)
        stamp = os.path.join(root, ".giltrace-unpacked")
        if not os.path.exists(stamp):
            shutil.rmtree(root, ignore_errors=True)
            os.makedirs(root)
            subprocess.run(["tar", "-C", root, "-xf", tarball], check=True)
            open(stamp, "w").close()
    return root


def enter(root, binds, cmd, env):
    """Run `cmd` (a list) inside chroot `root` with environment `env`, the
    host directories `binds` mounted at their own paths; its exit status."""
    script = ["set -e"]
    for src in ["/proc", "/dev", "/dev/shm"] + list(binds):
        script.append('mkdir -p "%s%s" && mount --bind "%s" "%s%s"' % (root, src, src, root, src))
    script.append('exec chroot "$0" /usr/bin/env -i "$@"')
    args = ["%s=%s" % kv for kv in sorted(env.items())] + list(cmd)
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(script), root]
                          + args).returncode
