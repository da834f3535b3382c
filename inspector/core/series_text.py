"""The text view of ``inspector series``: the checkpoints in order with what they record, then
the layers that moved most, those that stopped moving and those that went non-finite."""

from __future__ import annotations

from collections.abc import Iterator

from inspector.core.series_discovery import file_label
from inspector.core.series_findings import moved_most, non_finite, stopped_moving

MAX_NAME_WIDTH = 48
MAX_KEY_WIDTH = 60


def render_series(document: dict) -> Iterator[str]:
    checkpoints = document["checkpoints"]
    yield _summary_line(document)
    yield ""
    yield from _table(_checkpoint_rows(checkpoints))
    yield from _renamed(checkpoints)
    if document["skipped"]:
        yield ""
        yield "skipped:"
        yield from (f"  {_name(entry['path'])}: {entry['reason']}" for entry in document["skipped"])
    yield from _findings(document)


def point_name(checkpoint: dict | None, index: int) -> str:
    """How a checkpoint is named in findings: its epoch (or step), else its place."""
    for field in ("epoch", "step"):
        if checkpoint is not None and checkpoint.get(field) is not None:
            return f"{field} {_value(checkpoint[field])}"
    return f"checkpoint #{index}"


def _summary_line(document: dict) -> str:
    count, keys = len(document["checkpoints"]), len(document["keys"])
    skipped = len(document["skipped"])
    text = f"{count} checkpoint{'s' if count != 1 else ''} of one model, {keys} tensors each"
    return text + (f"; {skipped} file{'s' if skipped != 1 else ''} skipped" if skipped else "")


def _checkpoint_rows(checkpoints: list[dict]) -> list[tuple[str, ...]]:
    metrics = list(dict.fromkeys(name for checkpoint in checkpoints for name in checkpoint["metrics"]))
    rows = [("#", "file", "epoch", "step", *metrics)]
    for index, checkpoint in enumerate(checkpoints):
        values = [_value(checkpoint["metrics"].get(name, "")) for name in metrics]
        rows.append((str(index), _name(checkpoint["path"]), _value(checkpoint["epoch"]), _value(checkpoint["step"]),
                     *values))
    return rows


def _renamed(checkpoints: list[dict]) -> Iterator[str]:
    groups: dict[str, list[str]] = {}
    for checkpoint in checkpoints:
        if checkpoint["rules"]:
            groups.setdefault("; ".join(checkpoint["rules"]), []).append(_name(checkpoint["path"]))
    for rules, names in groups.items():
        yield f"keys matched with {rules}: {', '.join(names)}"


def _findings(document: dict) -> Iterator[str]:
    checkpoints = document["checkpoints"]

    def at(index: int | None) -> str:
        return point_name(checkpoints[index] if index is not None else None, index or 0)

    moved = moved_most(document)
    if moved:
        yield ""
        yield "moved most (distance from the first checkpoint, relative to its norm, at the last):"
        yield from _table([(_key(entry.key), _value(entry.distance),
                            f"largest step {_value(entry.largest_step)} at {at(entry.largest_at)}"
                            if entry.largest_at is not None else "") for entry in moved], indent="  ")
    stopped = stopped_moving(document)
    if stopped:
        yield ""
        yield "stopped moving (no step: bit-identical to the checkpoint before):"
        yield from _table([(_key(entry.key), "frozen: never moved" if entry.since is None
                            else f"no step after {at(entry.since)}") for entry in stopped], indent="  ")
    bad = non_finite(document)
    if bad:
        yield ""
        yield "went non-finite:"
        yield from _table([(_key(entry.key), f"from {at(entry.first)}: {entry.nan:,} NaN, {entry.inf:,} Inf",
                            f"at the last: {entry.nan_last:,} NaN, {entry.inf_last:,} Inf") for entry in bad],
                          indent="  ")


def _table(rows: list[tuple[str, ...]], indent: str = "") -> Iterator[str]:
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        yield indent + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()


def _value(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _name(path: str) -> str:
    name = file_label(path)
    return name if len(name) <= MAX_NAME_WIDTH else "…" + name[-(MAX_NAME_WIDTH - 1):]


def _key(key: str) -> str:
    return key if len(key) <= MAX_KEY_WIDTH else "…" + key[-(MAX_KEY_WIDTH - 1):]
