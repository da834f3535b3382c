"""The pair being compared, the user's alignment choices, and what the latest run found.

Qt-free: the compare view observes it and only draws. Every run gets a new ``generation``;
events of an older run (a rule switched off, the pair swapped, a cancel) are refused, so a
stale row never lands in the table of a newer request.
"""

from __future__ import annotations

import math
import os

from inspector.core.compare_job import options_to_plain
from inspector.core.diff import STATUSES, DiffOptions
from inspector.core.model import TensorRef

PHASES = ("idle", "running", "done", "error", "cancelled")
METRIC_STATUSES = ("changed", "close", "dtype")  # statuses whose rows carry value metrics
# rows without a relative change sort below every number, in this order (most changed first)
NO_METRIC_SCORE = {"shape": -1.0, "only_a": -2.0, "only_b": -3.0, "equal": -4.0}


class CompareRow:
    """One key of the comparison, as the table, the chart and the key panel show it.

    ``index`` is the row's place in depth order (A's file order, then keys only in B);
    ``tensor_a`` / ``tensor_b`` are the tensors compared (None on a side without the key);
    ``nan_a`` … ``finite`` are the compare job's ``non_finite`` counts (None when not computed).
    """

    __slots__ = ("index", "key", "status", "shape_a", "shape_b", "dtype_a", "dtype_b", "numel",
                 "max_abs", "mean_abs", "rms", "rel_l2", "cosine", "mismatched", "error",
                 "path_a", "path_b", "tensor_a", "tensor_b",
                 "nan_a", "nan_b", "inf_a", "inf_b", "compared", "finite")

    def __init__(self, index: int, key: str, status: str, **fields: object) -> None:
        self.index = index
        self.key = key
        self.status = status
        for name in self.__slots__[3:]:
            setattr(self, name, fields.get(name))

    @classmethod
    def from_plain(cls, index: int, entry: dict) -> CompareRow:
        """A row from the compare job's plain form (``TensorDiff.to_json()`` plus tensors)."""
        fields = {name: entry.get(name) for name in cls.__slots__[3:]}
        fields.update(entry.get("non_finite") or {})
        for name in ("shape_a", "shape_b", "path_a", "path_b"):
            if fields[name] is not None:
                fields[name] = tuple(fields[name])
        for name in ("tensor_a", "tensor_b"):
            if not isinstance(fields[name], TensorRef):
                fields[name] = None
        return cls(index, entry["key"], entry["status"], **fields)

    @property
    def change_score(self) -> float:
        """How much this key changed, for "most changed first": the relative L2 change (∞ when
        values differ beyond tolerance where A is all zeros, or could not be read), then shape
        mismatches, keys only in A, only in B, and equal tensors last. NaN or Inf on one side
        only counts as the largest change, whatever the metrics over the finite positions say."""
        if self.status not in METRIC_STATUSES:
            return NO_METRIC_SCORE[self.status]
        if self.non_finite_differs:
            return math.inf
        if self.rel_l2 is not None:
            return self.rel_l2
        return math.inf if self.error or self.mismatched else 0.0

    @property
    def moved_from_zero(self) -> bool:
        """A is all zeros and B is not: a relative change has no value."""
        return self.rel_l2 is None and self.status in METRIC_STATUSES and bool(self.max_abs)

    @property
    def non_finite_differs(self) -> bool:
        """A and B hold NaN or Inf at different places (on one side only, or more on one)."""
        if self.nan_a is None or self.status not in METRIC_STATUSES:
            return False
        return self.nan_a != self.nan_b or self.inf_a != self.inf_b or self._non_finite_moved()

    @property
    def non_finite_note(self) -> str | None:
        """How the NaN/Inf of A and B differ ("NaN in B", "Inf in A", "NaN 3 → 10"), or None
        when they agree (none on either side, or the same positions on both)."""
        if not self.non_finite_differs:
            return None
        return non_finite_note((self.nan_a, self.nan_b), (self.inf_a, self.inf_b), self._non_finite_moved())

    def non_finite_details(self) -> str:
        """Each side's NaN/Inf counts, and where the metrics come from."""
        if self.nan_a is None:
            return ""
        sides = [f"{side}: {nan:,} NaN, {inf:,} Inf" for side, nan, inf in
                 (("A", self.nan_a, self.inf_a), ("B", self.nan_b, self.inf_b))]
        return (" · ".join(sides) + f"\nmetrics over the {self.finite:,} of {self.compared:,} positions "
                "finite on both sides")

    def _non_finite_moved(self) -> bool:
        """Non-finite somewhere on one side only although both sides have as many: at the
        same positions, the positions not finite on both would be exactly either side's."""
        return self.compared - self.finite > max(self.nan_a + self.inf_a, self.nan_b + self.inf_b)

    @property
    def ndim(self) -> int:
        shape = self.shape_a if self.shape_a is not None else self.shape_b
        return len(shape or ())

    def __repr__(self) -> str:
        return f"CompareRow({self.index}, {self.key!r}, {self.status!r}, rel_l2={self.rel_l2!r})"


def non_finite_note(nan: tuple[int, int], inf: tuple[int, int], moved: bool = False) -> str | None:
    """"NaN in B", "NaN, Inf in B", "NaN in B · Inf in A", "Inf 3 → 10", "NaN/Inf moved" or None,
    from the (A, B) counts of NaN and of Inf; ``moved``: the positions differ."""
    where: dict[str, list[str]] = {}
    counted = []
    for kind, (a, b) in (("NaN", nan), ("Inf", inf)):
        if a != b and a and b:
            counted.append(f"{kind} {a:,} → {b:,}")
        elif a != b:
            where.setdefault("in B" if not a else "in A", []).append(kind)
    notes = [f"{', '.join(kinds)} {side}" for side, kinds in where.items()] + counted
    if not notes and moved:
        notes.append("NaN/Inf moved")
    return " · ".join(notes) or None


class CompareState:
    """What is compared (paths, ``DiffOptions``) and the latest run's header, rows and outcome."""

    def __init__(self, path_a: str, path_b: str, options: DiffOptions | None = None) -> None:
        self.path_a = os.path.abspath(path_a)
        self.path_b = os.path.abspath(path_b)
        self.options = options or DiffOptions()
        self.generation = 0
        self.phase = "idle"
        self.error = ""
        self.header: dict | None = None  # the "aligned" event: sources, alignment, objects
        self.rows: list[CompareRow] = []
        self.summary = dict.fromkeys(STATUSES, 0)

    # -- requests ----------------------------------------------------------------------
    def start(self, options: DiffOptions | None = None) -> int:
        """A new run (with new options): forget the last one's results; its generation."""
        if options is not None:
            self.options = options
        self.generation += 1
        self.phase, self.error, self.header = "running", "", None
        self.rows = []
        self.summary = dict.fromkeys(STATUSES, 0)
        return self.generation

    def swap(self) -> None:
        """B becomes the reference: paths, sub-dicts and forced prefixes change sides; rules
        switched off by name are forgotten (their names say which side they were for)."""
        options = self.options
        self.path_a, self.path_b = self.path_b, self.path_a
        self.options = DiffOptions(options.rtol, options.atol, options.subdict_b, options.subdict_a,
                                   options.no_align, options.strip_b, options.strip_a)

    def job_arguments(self) -> dict:
        """Keyword arguments of the ``compare`` job for the current request."""
        return {"path_a": self.path_a, "path_b": self.path_b, "options": options_to_plain(self.options)}

    def with_rule(self, name: str, enabled: bool) -> DiffOptions:
        """The options with the alignment rule ``name`` switched on or off."""
        disabled = [rule for rule in self.options.disabled if rule != name]
        if not enabled:
            disabled.append(name)
        return self.with_options(disabled=tuple(disabled))

    def with_options(self, **changes: object) -> DiffOptions:
        fields = {name: getattr(self.options, name) for name in DiffOptions.__slots__}
        fields.update(changes)
        return DiffOptions(**fields)

    # -- results -----------------------------------------------------------------------
    def accept(self, generation: int, events: list[dict]) -> list[CompareRow] | None:
        """Take a batch of the job's events; the new rows, or None when the batch is stale."""
        if generation != self.generation or self.phase != "running":
            return None
        added: list[CompareRow] = []
        for event in events:
            if event.get("event") == "aligned":
                self.header = event
            elif event.get("event") == "rows":
                added.extend(self._add_rows(event["rows"]))
        return added

    def _add_rows(self, entries: list[dict]) -> list[CompareRow]:
        rows = [CompareRow.from_plain(len(self.rows) + offset, entry) for offset, entry in enumerate(entries)]
        self.rows.extend(rows)
        for row in rows:
            self.summary[row.status] += 1
        return rows

    def finish(self, generation: int, result: dict) -> bool:
        if generation != self.generation or self.phase != "running":
            return False
        if result.get("rows") != len(self.rows):
            self.phase, self.error = "error", f"{len(self.rows)} of {result.get('rows')} rows arrived"
            return True
        self.phase = "done"
        return True

    def fail(self, generation: int, message: str) -> bool:
        if generation != self.generation or self.phase != "running":
            return False
        self.phase, self.error = "error", message
        return True

    def cancel(self) -> bool:
        """The running job was stopped: rows so far stay, later events are refused."""
        if self.phase != "running":
            return False
        self.generation += 1
        self.phase = "cancelled"
        return True

    # -- reading -----------------------------------------------------------------------
    @property
    def expected_rows(self) -> int | None:
        return None if self.header is None else self.header["rows"]

    @property
    def alignment(self) -> dict | None:
        return None if self.header is None else self.header["alignment"]

    def row_for_key(self, key: str) -> CompareRow | None:
        return next((row for row in self.rows if row.key == key), None)
