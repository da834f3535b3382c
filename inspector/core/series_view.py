"""What the series tab shows, made from the contract's document as it fills in (Qt-free).

The window receives the document in parts (``series.series_job``'s Partial reports):
``apply_part`` adds one to the document it holds. The rest reads that document: the x values
of the chosen axis, the metric curves, and the heatmap of one drift measure over layers
(floating-point tensors, in depth order) × checkpoints.
"""

from __future__ import annotations

import numpy as np

from inspector.core.series_discovery import file_label
from inspector.core.series_findings import is_floating

MEASURES = {"rel_step": "relative step", "dist_from_first": "distance from the first", "norm": "norm"}
FORMULAS = {"rel_step": "‖Wₜ − Wₜ₋₁‖ / ‖Wₜ₋₁‖", "dist_from_first": "‖Wₜ − W₀‖ / ‖W₀‖", "norm": "‖Wₜ‖"}
AXES = ("step", "epoch", "checkpoint")


def empty_document() -> dict:
    return {"checkpoints": [], "keys": [], "layers": {}, "skipped": []}


def apply_part(document: dict, part: dict) -> str | None:
    """Add a Partial's part: the header (checkpoints, keys, skipped files) or one key's
    numbers. Returns that key, or None for the header."""
    if "checkpoints" in part:
        document.update(checkpoints=part["checkpoints"], keys=part["keys"], skipped=part["skipped"], layers={})
        return None
    document["layers"][part["key"]] = part["layer"]
    return part["key"]


def default_axis(document: dict) -> str:
    """Steps when every checkpoint records one, else epochs when every one does, else places."""
    checkpoints = document["checkpoints"]
    for axis in ("step", "epoch"):
        if checkpoints and all(checkpoint.get(axis) is not None for checkpoint in checkpoints):
            return axis
    return "checkpoint"


def x_values(document: dict, axis: str) -> np.ndarray:
    """Each checkpoint's position on ``axis`` (NaN where it has none)."""
    if axis == "checkpoint":
        return np.arange(len(document["checkpoints"]), dtype=np.float64)
    return _floats([checkpoint.get(axis) for checkpoint in document["checkpoints"]])


def metric_curves(document: dict) -> dict[str, np.ndarray]:
    """Each recorded metric (named as the files spell it) over the checkpoints, NaN where a
    checkpoint does not record it."""
    checkpoints = document["checkpoints"]
    names = dict.fromkeys(name for checkpoint in checkpoints for name in checkpoint["metrics"])
    return {name: _floats([checkpoint["metrics"].get(name) for checkpoint in checkpoints]) for name in names}


def heatmap_keys(document: dict) -> list[str]:
    """The rows: floating-point tensors in the series' (depth) order; integer buffers such as
    ``num_batches_tracked`` count steps, not learning."""
    layers = document["layers"]
    return [key for key in document["keys"] if key not in layers or is_floating(layers[key])]


def heatmap_values(document: dict, measure: str, keys: list[str]) -> np.ndarray:
    """Rows ``keys`` × checkpoints of ``measure``; NaN where undefined or not yet known."""
    count = len(document["checkpoints"])
    values = np.full((len(keys), count), np.nan)
    for row, key in enumerate(keys):
        layer = document["layers"].get(key)
        if layer is not None:
            values[row] = _floats(layer[measure])
    return values


def non_finite_cells(document: dict, keys: list[str]) -> np.ndarray:
    """Where a tensor holds NaN or Inf (rows ``keys`` × checkpoints)."""
    cells = np.zeros((len(keys), len(document["checkpoints"])), dtype=bool)
    for row, key in enumerate(keys):
        layer = document["layers"].get(key)
        if layer is not None:
            cells[row] = [bool(nan or inf) for nan, inf in zip(layer["nan"], layer["inf"])]
    return cells


def checkpoint_label(document: dict, index: int) -> str:
    """``epoch 3 · step 1200 · epoch=3-step=1200.ckpt``: what a checkpoint is called in the tab."""
    checkpoint = document["checkpoints"][index]
    parts = [f"{name} {checkpoint[name]}" for name in ("epoch", "step") if checkpoint.get(name) is not None]
    return " · ".join([*parts, file_label(checkpoint["path"])])


def _floats(values: list) -> np.ndarray:
    return np.asarray([np.nan if value is None else float(value) for value in values], dtype=np.float64)
