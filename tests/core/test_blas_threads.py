"""One BLAS thread while a series is measured, and the count given back after."""

from __future__ import annotations

import numpy as np

from inspector.core import blas_threads


def test_numpys_openblas_runs_one_thread_inside_and_its_count_comes_back():
    control = blas_threads._find_control()
    if control is None:  # another BLAS: the caller keeps its short dot slices
        with blas_threads.one_blas_thread() as single:
            assert single is False
        return
    set_threads, get_threads = control
    np.dot(np.ones(1 << 16), np.ones(1 << 16))  # OpenBLAS has started
    before = get_threads()
    set_threads(2)
    try:
        with blas_threads.one_blas_thread() as single:
            assert single is True and get_threads() == 1
        assert get_threads() == 2
    finally:
        set_threads(before)
