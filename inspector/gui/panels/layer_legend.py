"""The per-layer chart's words: a summary of what is charted and flagged, and the legend."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from inspector.core.layer_metrics import LayerMetrics, LayerRow
from inspector.gui.panels.plot_style import CAUTION_COLOR, WARNING_COLOR, accent_color

NAMED_IN_SUMMARY = 3  # flagged tensors named before "and N more"


def summary_text(metrics: LayerMetrics, shown: int, weights_only: bool) -> str:
    """What is charted out of what is below, then every flag, naming the tensors."""
    what = "weights (≥ 2-D)" if weights_only else "floating-point tensors"
    parts = [f"{shown:,} {what} charted of {metrics.tensors_below:,} tensor{_s(metrics.tensors_below)} below"]
    for note, count in (("not charted (over the limit)", metrics.skipped),
                        ("unreadable", metrics.unreadable)):
        if count:
            parts.append(f"{count:,} {note}")
    bad_values = [row for row in metrics.rows if row.nan or row.inf]
    if bad_values:
        parts.append(f"NaN/Inf in {_named(bad_values, _bad_value_counts)}")
    for flag, title in (("dead", "all zeros"), ("exploding", "far above the median of their kind")):
        rows = metrics.flagged(flag)
        if rows:
            parts.append(f"{title}: {_named(rows)}")
    return " · ".join(parts)


def legend_html(widget: QWidget, factor: float) -> str:
    accent, caution, warning = accent_color(widget).name(), CAUTION_COLOR.name(), WARNING_COLOR.name()
    return (f"<span style='color:{accent}'>■</span> tensor &nbsp; "
            f"<span style='color:{caution}'>■</span> RMS over {factor:g}× the median of its kind &nbsp; "
            f"<span style='color:{warning}'>★</span> holds NaN/Inf &nbsp; "
            f"<span style='color:{warning}'>✕</span> weight of all zeros")


def _named(rows: list[LayerRow], detail=None) -> str:
    shown = [row.name + (f" ({detail(row)})" if detail else "") for row in rows[:NAMED_IN_SUMMARY]]
    more = len(rows) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _bad_value_counts(row: LayerRow) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in (("NaN", row.nan), ("Inf", row.inf)) if count)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
