"""One BLAS thread while our own worker threads compute.

numpy's OpenBLAS splits a dot product of more than a few thousand elements over threads of its
own. Beside worker threads that already keep every core busy (or beside other processes on a
loaded machine) those threads mostly wait for each other: a 64k-element dot then runs many
times slower than on one thread, which is why ``pair_metrics.sliced_dot`` cuts dots into short
slices. ``inspector/__init__.py`` asks for one BLAS thread through the environment, which only
works when numpy is not loaded yet; ``one_blas_thread()`` makes sure of it while a job runs, by
asking numpy's OpenBLAS itself, and gives the count back after. It says whether it could, so
callers keep the short slices otherwise (another BLAS, another build of numpy). The setting is
process-wide: use it in a process whose one job it is (the CLI, the window's worker process).
"""

from __future__ import annotations

import contextlib
import ctypes
import glob
import os
from collections.abc import Iterator

# (set, get) entry points, as numpy's bundled OpenBLAS (scipy-openblas) or a system one names them
_ENTRY_POINTS = (("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
                 ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
                 ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
                 ("openblas_set_num_threads", "openblas_get_num_threads"))
_LIBRARY_PATTERNS = (("..", "numpy.libs", "*openblas*"), (".dylibs", "*openblas*"))

_control: tuple | None | bool = False  # False: not looked for yet


@contextlib.contextmanager
def one_blas_thread() -> Iterator[bool]:
    """Run the block with one OpenBLAS thread; yields whether numpy's OpenBLAS was found."""
    control = _find_control()
    if control is None:
        yield False
        return
    set_threads, get_threads = control
    before = get_threads()
    set_threads(1)
    try:
        yield True
    finally:
        set_threads(max(before, 1))


def _find_control() -> tuple | None:
    global _control
    if _control is False:
        _control = _search()
    return _control


def _search() -> tuple | None:
    import numpy

    folder = os.path.dirname(numpy.__file__)
    for pattern in _LIBRARY_PATTERNS:
        for path in sorted(glob.glob(os.path.join(folder, *pattern))):
            control = _entry_points(path)
            if control is not None:
                return control
    return None


def _entry_points(path: str) -> tuple | None:
    try:
        library = ctypes.CDLL(path)  # numpy loaded it already: this is the same library
    except OSError:
        return None
    for setter, getter in _ENTRY_POINTS:
        set_threads, get_threads = getattr(library, setter, None), getattr(library, getter, None)
        if set_threads is not None and get_threads is not None:
            set_threads.argtypes, set_threads.restype = [ctypes.c_int], None
            get_threads.argtypes, get_threads.restype = [], ctypes.c_int
            return set_threads, get_threads
    return None
