"""What an export would write, in the numbers the window's summary bar shows, and the job that
works them out off the GUI thread (a large state dict takes a noticeable fraction of a second)."""

from __future__ import annotations

from collections.abc import Callable

from inspector.core.export_selection import ExportSelection
from inspector.core.plan import ResolvedPlan
from inspector.core.progress import Job, Progress
from inspector.core.units import human_size, short_count


class ExportSummary:
    """Counts of a ``ResolvedPlan``: exported tensors (of the state dict's ``available``), the
    parameters among them and their values, the frozen ones, the output's bytes, and the
    tensors left out."""

    __slots__ = ("tensors", "available", "parameters", "parameter_values", "frozen", "frozen_values",
                 "nbytes", "dropped")

    def __init__(self, resolved: ResolvedPlan) -> None:
        numel = {tensor.key: tensor.source.numel for tensor in resolved.tensors}
        self.tensors = len(resolved.tensors)
        self.available = len(resolved.state_dict.tensors)
        self.parameters = len(resolved.frozen) + len(resolved.trainable)
        self.parameter_values = sum(numel[key] for key in (*resolved.frozen, *resolved.trainable))
        self.frozen = len(resolved.frozen)
        self.frozen_values = sum(numel[key] for key in resolved.frozen)
        self.nbytes = resolved.nbytes
        self.dropped = len(resolved.dropped)

    def text(self) -> str:
        """One line: ``120 of 122 tensors · 60 parameters (11.2 M values) · 30 frozen (683.1 k) · 42.7 MiB``."""
        frozen = f"{self.frozen:,} frozen" + (f" ({short_count(self.frozen_values)})" if self.frozen else "")
        return (f"{self.tensors:,} of {self.available:,} tensors · {self.parameters:,} parameters "
                f"({short_count(self.parameter_values)} values) · {frozen} · {human_size(self.nbytes)}")

    def __repr__(self) -> str:
        return f"ExportSummary({self.text()!r})"


def resolve_job(selection: ExportSelection, can_write: Callable[[str], str | None] | None = None
                ) -> Job[ResolvedPlan]:
    """``selection``'s plan resolved over its state dict (no file is read)."""
    yield Progress(0, 2, "making the plan")
    plan = selection.plan()
    yield Progress(1, 2, "resolving the plan")
    return plan.resolve_view(selection.rows.view, can_write)
