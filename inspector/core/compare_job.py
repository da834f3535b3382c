"""The compare view's diff as a job for the window's worker process: ``diff_job`` driven by
plain arguments, its rows streamed out in batches while it runs.

``compare_job(path_a, path_b, options)`` (``options``: the plain form of ``DiffOptions``, see
``options_to_plain``) yields ``Progress`` reports and, as results become known, ``Partial``
reports whose ``items`` is a list of plain events:

- ``{"event": "aligned", "a": {…}, "b": {…}, "alignment": {…}, "objects": […], "object_rows": […],
  "rows": n}`` once both files are read and their keys matched (``alignment`` as
  ``alignment_plain`` gives it; ``object_rows`` the objects as ``compare_objects.object_rows``
  writes them for the view);
- ``{"event": "rows", "rows": [row, …]}``: a row is ``TensorDiff.to_json()`` plus
  ``"tensor_a"`` / ``"tensor_b"``, the ``TensorRef``s compared (None for a side without the key),
  which the window's plots read, and ``"non_finite"``: the NaN/Inf counts of each side and how
  many positions were finite on both (``non_finite_counts``; None when no arithmetic was done).

It returns ``{"summary": {status: count}, "rows": n}``: every row was sent before.
"""

from __future__ import annotations

import time

from inspector.core.align import Alignment, Rule
from inspector.core.compare_objects import object_rows
from inspector.core.diff import DiffOptions, DiffResult, TensorDiff, diff_job
from inspector.core.pair_metrics import PairMetrics
from inspector.core.progress import Job, Partial

ROWS_PER_BATCH = 1000
BATCH_INTERVAL_S = 0.25  # each batch costs the window a table update: a few per second are plenty


def compare_job(path_a: str, path_b: str, options: dict | None = None) -> Job[dict]:
    """Compare two checkpoints, reporting rows in batches (see the module docstring)."""
    batch = _Batch()
    job = diff_job(path_a, path_b, options_from_plain(options or {}), on_entry=batch.add_row,
                   on_aligned=batch.add_header)
    try:
        while True:
            try:
                report = next(job)
            except StopIteration as finished:
                result: DiffResult = finished.value
                break
            yield Partial(report.done, report.total, report.message, batch.take()) if batch.due() else report
    finally:
        job.close()
    if batch.pending():
        yield Partial(1, 1, "compared", batch.take())
    return {"summary": result.summary, "rows": len(result.tensors)}


class _Batch:
    """Events not yet sent, and when the last batch left."""

    def __init__(self) -> None:
        self.events: list[dict] = []
        self.rows: list[dict] = []
        self.sent_at = time.monotonic()

    def add_header(self, result: DiffResult) -> None:
        alignment = alignment_plain(result.alignment)
        self.events.append({"event": "aligned", "a": result.a, "b": result.b, "alignment": alignment,
                            "objects": result.objects,
                            "object_rows": object_rows(result.objects, result.object_values),
                            "rows": alignment["matched"] + alignment["only_a"] + alignment["only_b"]})

    def add_row(self, entry: TensorDiff) -> None:
        row = entry.to_json()
        row["tensor_a"], row["tensor_b"] = entry.tensor_a, entry.tensor_b
        row["non_finite"] = non_finite_counts(entry.metrics)
        self.rows.append(row)

    def pending(self) -> bool:
        return bool(self.events or self.rows)

    def due(self) -> bool:
        if not self.pending():
            return False
        return (bool(self.events) or len(self.rows) >= ROWS_PER_BATCH
                or time.monotonic() - self.sent_at >= BATCH_INTERVAL_S)

    def take(self) -> list[dict]:
        events = self.events
        if self.rows:
            events.append({"event": "rows", "rows": self.rows})
        self.events, self.rows = [], []
        self.sent_at = time.monotonic()
        return events


def non_finite_counts(metrics: PairMetrics | None) -> dict | None:
    """NaN and Inf on each side, the positions compared and those finite on both (where the
    contract's metrics come from); None for bit-identical pairs and keys not compared."""
    if metrics is None or metrics.identical:
        return None
    return {"nan_a": metrics.nan_a, "nan_b": metrics.nan_b, "inf_a": metrics.inf_a, "inf_b": metrics.inf_b,
            "compared": metrics.numel, "finite": metrics.finite}


def options_to_plain(options: DiffOptions) -> dict:
    """``DiffOptions`` as job arguments (plain data: what crosses to a worker process)."""
    plain = {name: getattr(options, name) for name in DiffOptions.__slots__}
    plain["disabled"] = list(options.disabled)
    return plain


def options_from_plain(plain: dict) -> DiffOptions:
    known = {name: plain[name] for name in DiffOptions.__slots__ if name in plain}
    unknown = set(plain) - set(DiffOptions.__slots__)
    if unknown:
        raise ValueError(f"unknown diff options: {', '.join(sorted(unknown))}")
    if "disabled" in known:
        known["disabled"] = tuple(known["disabled"])
    return DiffOptions(**known)


def alignment_plain(alignment: Alignment) -> dict:
    """The alignment as the compare view shows it: the contract's counts, and each applied or
    switched-off rule with its name (what ``DiffOptions.disabled`` takes) and its parts."""
    return {"rules": [rule_plain(rule) for rule in alignment.rules],
            "disabled": [rule_plain(rule) for rule in alignment.disabled],
            "matched": alignment.matched, "only_a": len(alignment.only_a), "only_b": len(alignment.only_b)}


def rule_plain(rule: Rule) -> dict:
    return {"name": rule.name, "kind": rule.kind, "side": rule.side, "old": rule.old, "new": rule.new}
