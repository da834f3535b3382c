"""The per-layer chart's words: a summary of what is drawn and flagged, and the legend."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import QWidget

from inspector.core.layer_metrics import LayerMetrics, LayerRow
from inspector.gui.panels.plot_style import CAUTION_COLOR, WARNING_COLOR, accent_color

NAMED_IN_SUMMARY = 3  # flagged tensors named before "and N more"


@dataclass
class Charted:
    """What the chart shows of the rows its scope picked."""

    drawn: int  # rows with a point, a bar or a mark
    weights_only: bool  # the weights scope (else every floating-point tensor)
    no_weights_here: bool = False  # the weights scope was asked for, but there are none
    not_drawn: dict[str, list[LayerRow]] = field(default_factory=dict)  # why -> rows
    prefix: str = ""  # the start every charted name shares, left off the axis


def summary_text(metrics: LayerMetrics, charted: Charted) -> str:
    """What is drawn out of what is below and why the rest is not, then every flag, naming
    the tensors."""
    if charted.weights_only:
        noun = f"{plural(charted.drawn, 'weight')} (≥ 2-D)"
    else:
        noun = plural(charted.drawn, "floating-point tensor")
    below = metrics.tensors_below
    first = f"{charted.drawn:,} {noun} charted of {below:,} {plural(below, 'tensor')} below"
    parts = [first + (" (no weights ≥ 2-D here)" if charted.no_weights_here else "")]
    parts += [f"not drawn, {why}: {_named(rows)}" for why, rows in charted.not_drawn.items()]
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
    if charted.prefix:
        parts.append(f"names shown without “{charted.prefix}”")
    return " · ".join(parts)


def legend_html(widget: QWidget, factor: float) -> str:
    """One line of entries that breaks, if it must, only between entries."""
    accent, caution, warning = accent_color(widget).name(), CAUTION_COLOR.name(), WARNING_COLOR.name()
    entries = [(accent, "■", "tensor"), (caution, "■", f"RMS over {factor:g}× the median of its kind"),
               (warning, "★", "NaN or Inf"), (warning, "✕", "all zeros")]
    return " &nbsp; ".join(f"<span style='color:{color}'>{mark}</span>&nbsp;{text.replace(' ', '&nbsp;')}"
                           for color, mark, text in entries)


def plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"


def _named(rows: list[LayerRow], detail=None) -> str:
    shown = [row.name + (f" ({detail(row)})" if detail else "") for row in rows[:NAMED_IN_SUMMARY]]
    more = len(rows) - len(shown)
    return ", ".join(shown) + (f" and {more:,} more" if more > 0 else "")


def _bad_value_counts(row: LayerRow) -> str:
    return ", ".join(f"{count:,} {name}" for name, count in (("NaN", row.nan), ("Inf", row.inf)) if count)
