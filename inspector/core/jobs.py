"""Named long jobs that a worker process can run: a job name plus keyword arguments of plain data.

Each entry names the function that makes the job (``"module:function"``, imported only when
the job starts), so registering a job is one line. The function takes keyword arguments made
of plain data (paths, keys, a plan as dicts and lists: what can cross a process boundary and be
written to a file) and returns a generator job: it yields ``Progress`` and returns its result.
"""

from __future__ import annotations

import importlib

from inspector.core.progress import Job

JOBS: dict[str, str] = {
    "load": "inspector.core.loader:load_checkpoint",  # path
    "demo": "inspector.demo:build_demo_job",  # cache_dir
    "compare": "inspector.core.compare_job:compare_job",  # path_a, path_b, options (DiffOptions as a dict)
    "export": "inspector.core.export_job:export_job",  # source, destination, plan (its JSON)
    "check": "inspector.core.check:check_job",  # path, target, subdict, strip_prefix, no_align, remaps
    "series": "inspector.core.series:series_document_job",  # paths
    "series_histograms": "inspector.core.series_histograms:series_histograms_job",  # paths, keys, key, bins
}

PLAIN_SCALARS = (str, int, float, bool, type(None))
MAX_ARGUMENT_DEPTH = 32


def make_job(name: str, arguments: dict[str, object]) -> Job:
    """The job registered as ``name``, made with ``arguments``; raises ``ValueError`` for an
    unknown name or arguments that are not plain data."""
    target = JOBS.get(name)
    if target is None:
        raise ValueError(f"no job named {name!r} (known: {', '.join(sorted(JOBS))})")
    check_plain(arguments)
    module_name, _, function_name = target.partition(":")
    factory = getattr(importlib.import_module(module_name), function_name)
    return factory(**arguments)


def check_plain(value: object) -> None:
    """Raise ``ValueError`` unless ``value`` is plain data: scalars, and lists, tuples and
    str-keyed dicts of plain data."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, PLAIN_SCALARS):
            continue
        if depth >= MAX_ARGUMENT_DEPTH:
            raise ValueError("job arguments nest too deeply")
        if isinstance(item, (list, tuple)):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict) and all(isinstance(key, str) for key in item):
            stack.extend((child, depth + 1) for child in item.values())
        else:
            raise ValueError(f"job arguments must be plain data, not {type(item).__name__}")
