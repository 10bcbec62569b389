"""Finding the interpreters the integration tests run against.

A spec is "X.Y" (any Python X.Y: pyenv's, then the system's),
"debian-X.Y" (Debian's own /usr/bin/pythonX.Y, stripped and LTO-built) or
"ft" (any free-threaded build: pyenv's 3.13t+, /usr/bin/python3.*t, /opt/*)
or "any" (the interpreter GILTRACE_TEST_PYTHON_any names, whatever its
version: test_distro.py's, inside a chroot).
Set GILTRACE_TEST_PYTHON_<spec with . and - as _> to force a path.
"""
import glob
import os
import subprocess


def _version_of(path):
    try:
        out = subprocess.run([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _pyenv_roots():
    roots = []
    if os.environ.get("PYENV_ROOT"):
        roots.append(os.path.join(os.environ["PYENV_ROOT"], "versions"))
    roots.append(os.path.expanduser("~/.pyenv/versions"))
    roots.append("/root/.pyenv/versions")
    return roots


def candidates(spec):
    """Paths that might be the interpreter for `spec`, best first."""
    override = os.environ.get("GILTRACE_TEST_PYTHON_" + spec.replace(".", "_").replace("-", "_"))
    if override:
        return [override]
    if spec.startswith("debian-"):
        return ["/usr/bin/python" + spec[len("debian-"):]]
    if spec == "ft":
        found = []
        for root in _pyenv_roots():
            found += sorted(glob.glob(os.path.join(root, "3.*t", "bin", "python3.*t")), reverse=True)
        return found + sorted(glob.glob("/usr/bin/python3.*t") + glob.glob("/opt/*/bin/python3.*t"), reverse=True)
    found = []
    for root in _pyenv_roots():
        found += sorted(glob.glob(os.path.join(root, spec + ".*", "bin", "python" + spec)), reverse=True)
    found += ["/usr/bin/python" + spec, "/usr/local/bin/python" + spec]
    return found


def _is_free_threaded(path):
    try:
        out = subprocess.run([path, "-c", "import sys; print('free-threading' in sys.version)"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "True"


def find(spec):
    """(path, full version) of a working interpreter for spec, or (None, why)."""
    if spec == "ft":
        for path in candidates(spec):
            if os.access(path, os.X_OK) and _is_free_threaded(path):
                return path, _version_of(path)
        return None, "no free-threaded Python found (looked at %s)" % ", ".join(candidates(spec) or ["nothing"])
    if spec == "any":
        path = os.environ.get("GILTRACE_TEST_PYTHON_any")
        version = path and _version_of(path)
        return (path, version) if version else (None, "GILTRACE_TEST_PYTHON_any names no working Python: %r" % path)
    want = spec[len("debian-"):] if spec.startswith("debian-") else spec
    looked = []
    for path in candidates(spec):
        looked.append(path)
        if not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        if spec.startswith("debian-") and os.path.realpath(path).startswith(os.path.expanduser("~/.pyenv")):
            continue
        version = _version_of(path)
        if version and (version == want or version.startswith(want + ".")):
            return path, version
    return None, "no Python %s found (looked at %s)" % (spec, ", ".join(looked) or "nothing")


def first_of(specs):
    """The path of the first interpreter of `specs` on this machine, or None."""
    for spec in specs:
        py, _ = find(spec)
        if py:
            return py
    return None


def traced_child(giltrace_pid):
    """The process `giltrace run` (pid `giltrace_pid`) started, or None while
    it has not started it yet or once it is gone."""
    try:
        with open("/proc/%d/task/%d/children" % (giltrace_pid, giltrace_pid)) as f:
            kids = f.read().split()
        return int(kids[0]) if kids else None
    except OSError:
        return None
