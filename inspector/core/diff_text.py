"""The text view of ``inspector diff``: summary and alignment on top, then the keys that differ,
most changed (relative L2) first, then the non-tensor values that differ."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

from inspector.core.diff import DiffResult, TensorDiff

MAX_KEY_WIDTH = 60
MAX_VALUE_CHARS = 60
STATUS_LABELS = {"equal": "equal", "close": "close", "changed": "changed", "shape": "shape",
                 "dtype": "dtype", "only_a": "only in A", "only_b": "only in B"}
DIFFERENCE_ORDER = ("changed", "dtype", "shape", "only_a", "only_b")
HEADER = ("status", "key", "shape", "dtype", "max|Δ|", "rel-L2", "cosine", "mismatched")


def render_diff(result: DiffResult) -> Iterator[str]:
    """Lines of the text view. Bit-identical tensors are only counted, not listed."""
    yield summary_line(result)
    yield f"A: {result.a['path']} ({result.a['format']})"
    yield f"B: {result.b['path']} ({result.b['format']})"
    alignment = result.alignment
    rules = "; ".join(rule.name for rule in alignment.rules) or "none needed"
    yield (f"alignment: {rules} ({alignment.matched} matched, {len(alignment.only_a)} only in A, "
           f"{len(alignment.only_b)} only in B)")
    listed = sorted((entry for entry in result.tensors if entry.status != "equal"), key=_most_changed_first)
    if listed:
        yield ""
        yield from _table([HEADER, *(_cells(entry) for entry in listed)])
    if result.objects:
        yield ""
        yield "other values that differ:"
        yield from (f"  {_object_line(difference)}" for difference in result.objects)


def summary_line(result: DiffResult) -> str:
    summary = result.summary
    differences = [f"{summary[status]} {STATUS_LABELS[status]}" for status in DIFFERENCE_ORDER if summary[status]]
    same = f"{summary['equal']} equal, {summary['close']} close"
    if not differences:
        return f"no differences beyond tolerance: {same}"
    return f"{len(result.tensors) - summary['equal'] - summary['close']} differ: {', '.join(differences)}; {same}"


def _most_changed_first(entry: TensorDiff) -> tuple:
    if entry.status in ("changed", "close", "dtype"):
        rel_l2 = entry.number("rel_l2")
        changed = entry.error is not None or bool(entry.mismatched) or bool(entry.number("max_abs"))
        return (0, -(rel_l2 if rel_l2 is not None else (math.inf if changed else 0.0)))
    return (1 + DIFFERENCE_ORDER.index(entry.status), 0.0)


def _cells(entry: TensorDiff) -> tuple[str, ...]:
    return (STATUS_LABELS[entry.status], entry.key, _pair(entry.shape_a, entry.shape_b, _shape),
            _pair(entry.dtype_a, entry.dtype_b, str), _number(entry.number("max_abs")),
            _number(entry.number("rel_l2")), _number(entry.number("cosine"), ".6f"),
            entry.error or ("-" if entry.mismatched is None else str(entry.mismatched)))


def _pair(a, b, show) -> str:
    if a is None or b is None:
        return show(a if b is None else b)
    return show(a) if a == b else f"{show(a)} → {show(b)}"


def _shape(shape: tuple) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"


def _number(value: float | None, spec: str = ".3g") -> str:
    return "-" if value is None else format(value, spec)


def _table(rows: list[tuple[str, ...]]) -> Iterator[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    widths[1] = min(widths[1], MAX_KEY_WIDTH)
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()


def _object_line(difference: dict) -> str:
    path = ".".join(str(part) for part in difference["path"]) or "(top level)"
    return f"{path}: {_value(difference, 'a')} → {_value(difference, 'b')}"


def _value(difference: dict, side: str) -> str:
    if side not in difference:
        return "(absent)"
    text = json.dumps(difference[side], ensure_ascii=False)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS - 1] + "…"
