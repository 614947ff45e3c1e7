# Loaded by the notebook kernels of the test suite (tests/course_env.py points IPYTHONDIR here).
# nbval runs cells with store_history=False, and IPython decides whether a trailing ";" hides a
# cell's result by reading the last *stored* cell, so under nbval `plot(...);` would show a
# "<Figure ...>" result that Jupyter hides. Read the cell being run instead, as Jupyter does.
from IPython.core.displayhook import DisplayHook

_stored_cell_quiet = DisplayHook.quiet


def _quiet(self):
    cell = getattr(getattr(getattr(self, "exec_result", None), "info", None), "raw_cell", None)
    return _stored_cell_quiet(self) if cell is None else self.semicolon_at_end_of_expression(cell)


DisplayHook.quiet = _quiet
