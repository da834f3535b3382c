"""The value diff of two checkpoints (DESIGN.md, "diff"): a job the CLI, the GUI's worker
process and tests all drive.

``diff_job(path_a, path_b, options)`` reads both files, chooses and aligns their state dicts
(``align.py``), compares every matched pair by value (``pair_metrics.py``), lists the keys
found on one side only and the non-tensor values that differ (``object_diff.py``), and returns
a ``DiffResult``: plain objects, the contract's document via ``to_json()``.
Progress is reported in bytes of tensor data; cancelling is closing the generator.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

from inspector.core.align import Alignment, StateDictView, align_keys, choose_state_dict
from inspector.core.errors import CheckpointError
from inspector.core.model import Checkpoint, TensorRef
from inspector.core.object_diff import object_differences
from inspector.core.pair_metrics import PairMetrics, pair_metrics_job
from inspector.core.progress import Job, Progress
from inspector.core.sharing import stored_nbytes
from inspector.core.value_object import ValueObject
from inspector.core.values import FileCache, Scratch

STATUSES = ("equal", "close", "changed", "shape", "dtype", "only_a", "only_b")
SAME = ("equal", "close")  # statuses that are not a difference for the exit status


class DiffOptions(ValueObject):
    """What to compare and how: tolerances (None: torch's defaults per dtype), the state dict in
    each file (``subdict_a/b``, dotted), and the key alignment (see ``align.align_keys``)."""

    __slots__ = ("rtol", "atol", "subdict_a", "subdict_b", "no_align", "strip_a", "strip_b", "disabled")

    def __init__(self, rtol: float | None = None, atol: float | None = None, subdict_a: str | None = None,
                 subdict_b: str | None = None, no_align: bool = False, strip_a: str | None = None,
                 strip_b: str | None = None, disabled: tuple[str, ...] = ()) -> None:
        setter = object.__setattr__
        setter(self, "rtol", rtol)
        setter(self, "atol", atol)
        setter(self, "subdict_a", subdict_a)
        setter(self, "subdict_b", subdict_b)
        setter(self, "no_align", no_align)
        setter(self, "strip_a", strip_a)
        setter(self, "strip_b", strip_b)
        setter(self, "disabled", tuple(disabled))  # rule names switched off

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __reduce__(self):
        return DiffOptions, self._fields()

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"DiffOptions({fields})"


class TensorDiff:
    """One row of the diff: a matched pair, or a key found on one side only."""

    __slots__ = ("key", "path_a", "path_b", "status", "shape_a", "shape_b", "dtype_a", "dtype_b",
                 "numel", "metrics", "error", "tensor_a", "tensor_b")

    def __init__(self, key: str, path_a: tuple | None, path_b: tuple | None, status: str,
                 a: TensorRef | None, b: TensorRef | None, metrics: PairMetrics | None = None,
                 error: str | None = None) -> None:
        self.key = key
        self.path_a = path_a
        self.path_b = path_b
        self.status = status
        self.shape_a = None if a is None else a.shape
        self.shape_b = None if b is None else b.shape
        self.dtype_a = None if a is None else a.dtype
        self.dtype_b = None if b is None else b.dtype
        self.numel = _numel(a, b, status)
        self.metrics = metrics
        self.error = error  # why the values could not be compared
        self.tensor_a = a  # the tensors compared (not in the JSON): the compare view reads them
        self.tensor_b = b

    def number(self, name: str) -> float | None:
        """A metric (``max_abs``, ``mean_abs``, ``rms``, ``rel_l2``, ``cosine``) or None."""
        value = None if self.metrics is None else getattr(self.metrics, name)
        return value if value is None or math.isfinite(value) else None

    @property
    def mismatched(self) -> int | None:
        return None if self.metrics is None else self.metrics.mismatched

    def to_json(self) -> dict:
        entry = {
            "key": self.key, "path_a": _listed(self.path_a), "path_b": _listed(self.path_b),
            "status": self.status, "shape_a": _listed(self.shape_a), "shape_b": _listed(self.shape_b),
            "dtype_a": self.dtype_a, "dtype_b": self.dtype_b, "numel": self.numel,
        }
        for name in ("max_abs", "mean_abs", "rms", "rel_l2", "cosine"):
            entry[name] = self.number(name)
        entry["mismatched"] = self.mismatched
        if self.error is not None:
            entry["error"] = self.error
        return entry

    def __getstate__(self) -> dict:
        """Pickled without the tensors (a TensorRef refuses plain pickles; the window gets
        them through the worker's own transfer): they come back as None."""
        return {name: getattr(self, name) for name in self.__slots__ if name not in ("tensor_a", "tensor_b")}

    def __setstate__(self, state: dict) -> None:
        for name in self.__slots__:
            setattr(self, name, state.get(name))

    def __repr__(self) -> str:
        return f"TensorDiff({self.key!r}, {self.status!r}, rel_l2={self.number('rel_l2')!r})"


def _numel(a: TensorRef | None, b: TensorRef | None, status: str) -> int | None:
    if status == "shape":
        return None
    return (a if a is not None else b).numel


def _listed(values: tuple | None) -> list | None:
    return None if values is None else list(values)


class DiffResult:
    """Everything the diff found; ``to_json()`` is the contract's document."""

    __slots__ = ("a", "b", "alignment", "tensors", "objects", "object_values")

    def __init__(self, a: dict, b: dict, alignment: Alignment) -> None:
        self.a = a  # {"path": …, "format": …}
        self.b = b
        self.alignment = alignment
        self.tensors: list[TensorDiff] = []
        self.objects: list[dict] = []
        self.object_values: list[tuple] = []  # each object's (A, B) values as read (not in the JSON)

    @property
    def summary(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for entry in self.tensors:
            counts[entry.status] += 1
        return counts

    @property
    def differs(self) -> bool:
        """Some tensor differs beyond tolerance (objects do not count)."""
        return any(entry.status not in SAME for entry in self.tensors)

    def __getstate__(self) -> dict:
        """Pickled without ``object_values`` (values as read, tensors among them): they come back empty."""
        return {name: getattr(self, name) for name in self.__slots__ if name != "object_values"}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            setattr(self, name, value)
        self.object_values = []

    def to_json(self) -> dict:
        return {"a": self.a, "b": self.b, "alignment": self.alignment.to_json(),
                "tensors": [entry.to_json() for entry in self.tensors],
                "summary": self.summary, "objects": self.objects}

    def __repr__(self) -> str:
        return f"DiffResult({self.a['path']!r}, {self.b['path']!r}, summary={self.summary!r})"


def diff_job(path_a: str | os.PathLike, path_b: str | os.PathLike, options: DiffOptions | None = None,
             on_entry: Callable[[TensorDiff], object] | None = None,
             on_aligned: Callable[[DiffResult], object] | None = None) -> Job[DiffResult]:
    """Read and compare two checkpoints; ``on_entry`` sees each row as soon as it is known,
    ``on_aligned`` the result once the files are read and the keys matched (no rows yet)."""
    from inspector.core.loader import load_checkpoint

    options = options or DiffOptions()
    checkpoint_a = yield from load_checkpoint(path_a)
    checkpoint_b = yield from load_checkpoint(path_b)
    view_a = choose_state_dict(checkpoint_a, options.subdict_a)
    view_b = choose_state_dict(checkpoint_b, options.subdict_b)
    alignment = align_keys(view_a.tensors, view_b.tensors, no_align=options.no_align,
                           strip_a=options.strip_a, strip_b=options.strip_b, disabled=options.disabled)
    result = DiffResult(_source(checkpoint_a), _source(checkpoint_b), alignment)
    result.objects = object_differences(checkpoint_a.root, checkpoint_b.root, view_a.path, view_b.path,
                                        values=result.object_values)
    rows = _planned_rows(view_a, view_b, alignment)
    if on_aligned is not None:
        on_aligned(result)
    yield from _compare_rows(rows, options, result, on_entry or (lambda entry: None))
    return result


def _source(checkpoint: Checkpoint) -> dict:
    return {"path": checkpoint.path, "format": checkpoint.format}


class _Row:
    """A key to report: both tensors for a pair, one for a key found on one side only."""

    __slots__ = ("key", "a", "b", "path_a", "path_b")

    def __init__(self, key: str, a: TensorRef | None, b: TensorRef | None, path_a, path_b) -> None:
        self.key, self.a, self.b, self.path_a, self.path_b = key, a, b, path_a, path_b

    @property
    def compares_values(self) -> bool:
        return self.a is not None and self.b is not None and self.a.shape == self.b.shape

    @property
    def nbytes(self) -> int:
        """Bytes the comparison reads (what its progress counts): the stored bytes of both."""
        return stored_nbytes(self.a) + stored_nbytes(self.b) if self.compares_values else 0


def _planned_rows(view_a: StateDictView, view_b: StateDictView, alignment: Alignment) -> list[_Row]:
    """Pairs and A-only keys in A's file order, then B-only keys in B's."""
    partners = {key_a: (key, key_b) for key, key_a, key_b in alignment.pairs}
    rows = []
    for key_a, tensor in view_a.tensors.items():
        if key_a in partners:
            key, key_b = partners[key_a]
            rows.append(_Row(key, tensor, view_b.tensors[key_b], view_a.paths[key_a], view_b.paths[key_b]))
        else:
            rows.append(_Row(alignment.aligned_a[key_a], tensor, None, view_a.paths[key_a], None))
    for key_b in alignment.only_b:
        rows.append(_Row(alignment.aligned_b[key_b], None, view_b.tensors[key_b], None, view_b.paths[key_b]))
    return rows


def _compare_rows(rows: list[_Row], options: DiffOptions, result: DiffResult,
                  on_entry: Callable[[TensorDiff], object]) -> Job[None]:
    total = sum(row.nbytes for row in rows)
    done = 0
    scratch = (Scratch(), Scratch())
    with FileCache() as files:
        for row in rows:
            entry = yield from _compare_row(row, options, files, scratch, done, total)
            done += row.nbytes
            result.tensors.append(entry)
            on_entry(entry)
    yield Progress(total, total, "compared")


def _compare_row(row: _Row, options: DiffOptions, files: FileCache, scratch: tuple[Scratch, Scratch],
                 done: int, total: int) -> Job[TensorDiff]:
    if row.a is None or row.b is None:
        status = "only_a" if row.b is None else "only_b"
        return TensorDiff(row.key, row.path_a, row.path_b, status, row.a, row.b)
    if not row.compares_values:
        return TensorDiff(row.key, row.path_a, row.path_b, "shape", row.a, row.b)
    job = pair_metrics_job(row.a, row.b, options.rtol, options.atol, files=files, scratch=scratch)
    try:
        while True:
            report = next(job)
            yield Progress(done + report.done, total, row.key)
    except StopIteration as finished:
        metrics = finished.value
    except CheckpointError as error:
        return TensorDiff(row.key, row.path_a, row.path_b, "changed", row.a, row.b, error=str(error))
    finally:
        job.close()
    return TensorDiff(row.key, row.path_a, row.path_b, _status(row, metrics), row.a, row.b, metrics)


def _status(row: _Row, metrics: PairMetrics) -> str:
    if row.a.dtype != row.b.dtype:
        return "dtype"
    if metrics.identical:
        return "equal"
    return "changed" if metrics.mismatched else "close"
