"""Writes tests/unit/py_lines_tables.h: line tables of two functions as
real interpreters compile them, with the line of every instruction offset
as that interpreter reports it (dis.findlinestarts before 3.10, co_lines()
after). Run with each interpreter and concatenate:
  for py in python3.6 python3.7 python3.8 python3.9 python3.10 python3.11 python3.12 python3.13; do
      $py tests/unit/py_lines_tables.py; done > tests/unit/py_lines_tables.h
(then put the header comment back). The functions have a loop, a statement
over two lines, a comprehension and line gaps of 200 and 300 lines (jumps
that need more than one table entry)."""
import sys, dis
SRC = '''
def sample(n):
    total = 0
    for i in range(n):
        if i % 3 == 0:
            total += (i *
                      2)
        else:
            total -= 1
    return total
''' + "\n" * 300 + '''
def far():
    x = 1''' + "\n" * 200 + '''
    y = x + 1
    return [y
            for _ in range(3)]
'''
ns = {}
exec(compile(SRC, "tables.py", "exec"), ns)
v = sys.version_info
hexv = (v[0] << 24) | (v[1] << 16) | (v[2] << 8) | 0xf0
for fn in ("sample", "far"):
    co = ns[fn].__code__
    table = co.co_lnotab if v < (3, 10) else co.co_linetable
    size = len(co.co_code)
    expect = []
    if v < (3, 10):
        starts = list(dis.findlinestarts(co))
        for off in range(0, size, 2):
            line = co.co_firstlineno
            for s, l in starts:
                if s <= off:
                    line = l
            expect.append((off, line))
    else:
        for start, end, line in co.co_lines():
            for off in range(start, end, 2):
                expect.append((off, -1 if line is None else line))
    name = "t_%d%d_%s" % (v[0], v[1], fn)
    print("static const uint8_t %s_table[] = {%s};" % (name, ", ".join(str(b) for b in table)))
    print("static const int32_t %s_expect[][2] = {%s};" % (name, ", ".join("{%d, %d}" % e for e in expect)))
    print("#define %s_CASE {0x%08x, %d, %s_table, sizeof %s_table, %s_expect, sizeof %s_expect / sizeof %s_expect[0], \"%d.%d %s\"}" % (name.upper(), hexv, co.co_firstlineno, name, name, name, name, name, v[0], v[1], fn))
