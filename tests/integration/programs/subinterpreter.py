"""A subinterpreter with its own GIL (3.12+) that sleeps, so its GIL is
released and taken back while the main interpreter's is not involved."""
try:
    import _interpreters as interpreters  # 3.13+
except ImportError:
    import _xxsubinterpreters as interpreters  # 3.12

interp = interpreters.create()
interpreters.run_string(interp, "import time\nfor _ in range(50):\n    time.sleep(0.001)\n")
interpreters.destroy(interp)
print("done")
