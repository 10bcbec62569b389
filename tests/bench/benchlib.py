"""What the Python benchmarks share: the interpreter they run, and how a
figure is printed beside its goal."""
import glob
import os
import sys


def find_python():
    """$GILTRACE_BENCH_PYTHON, else pyenv's newest 3.12 or 3.11, else the system's."""
    if os.environ.get("GILTRACE_BENCH_PYTHON"):
        return os.environ["GILTRACE_BENCH_PYTHON"]
    for pattern in ["/root/.pyenv/versions/3.12.*/bin/python3.12", "/root/.pyenv/versions/3.11.*/bin/python3.11",
                    "/usr/bin/python3"]:
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    return sys.executable


def spread(values, digits=3):
    """The middle half of the runs, as "low-high"."""
    v = sorted(values)
    return "%.*f-%.*f" % (digits, v[len(v) // 4], digits, v[(3 * len(v)) // 4])


def report(name, value, unit, goal):
    print("%-62s %10.2f %-8s (goal %s)" % (name, value, unit, goal))
