"""What a checkpoint records about its place in training and how training went.

Read from the values the reader already parsed, never from weights: the only tensor data read
is a one-element tensor holding a score (Lightning keeps its scores as tensors).

- epoch and step: ``epoch``, ``global_step`` (Lightning), ``step``/``iteration``/``iter``,
  mmengine's ``meta`` dict; a Trainer folder's ``trainer_state.json`` (``epoch``,
  ``global_step``).
- metrics, named as the files spell them: Lightning ``callbacks`` (a ``ModelCheckpoint``'s
  ``current_score`` under the name it monitors, ``best_model_score``; EarlyStopping's
  ``best_score`` and ``wait_count``), every top-level floating-point value (timm's ``metric``,
  ``loss``, ``val_loss``, ``acc``, numpy ``best_acc1``, a scalar tensor ``loss``), the
  entries of a top-level ``metrics`` dict, and a Trainer's ``log_history`` (each name's
  latest value) and ``best_metric``. A NaN or infinite value is recorded as None.
"""

from __future__ import annotations

import json
import math
import re

from inspector.core.dtypes import FLOATING, ITEMSIZE
from inspector.core.errors import CheckpointError
from inspector.core.model import TensorRef
from inspector.core.pickled_values import NumpyScalar

EPOCH_KEYS = ("epoch",)
STEP_KEYS = ("global_step", "step", "iteration", "iter")
POSITION_KEYS = frozenset(EPOCH_KEYS + STEP_KEYS)
NESTED_POSITION = "meta"  # mmengine: {"meta": {"epoch": 12, "iter": 3000}}
METRICS_DICT = "metrics"
HISTORY_SKIPPED = frozenset({"epoch", "step"})
MAX_TRAINER_STATE_BYTES = 64 << 20
_MONITOR_IN_KEY = re.compile(r"'monitor':\s*'([^']*)'")


class Record:
    """Epoch, step (None when not recorded) and metric values of one checkpoint."""

    __slots__ = ("epoch", "step", "metrics")

    def __init__(self, epoch: int | float | None = None, step: int | None = None,
                 metrics: dict[str, float | None] | None = None) -> None:
        self.epoch = epoch
        self.step = step
        self.metrics = {} if metrics is None else metrics

    def __repr__(self) -> str:
        return f"Record(epoch={self.epoch!r}, step={self.step!r}, metrics={self.metrics!r})"


def checkpoint_record(root: object) -> Record:
    """What the file's own values say (an empty Record for a file that is not a dict)."""
    if not isinstance(root, dict):
        return Record()
    epoch, step = _position(root)
    meta = root.get(NESTED_POSITION)
    if isinstance(meta, dict):
        nested_epoch, nested_step = _position(meta)
        epoch = epoch if epoch is not None else nested_epoch
        step = step if step is not None else nested_step
    metrics = lightning_metrics(root.get("callbacks"))
    for name, value in _plain_metrics(root):
        metrics.setdefault(name, value)
    return Record(epoch, step, metrics)


def trainer_state_record(path: str) -> Record:
    """A Trainer's ``trainer_state.json``: position, best metric and the latest logged values;
    ``CheckpointError`` when it cannot be read as one."""
    state = _read_json(path)
    metrics: dict[str, float | None] = {}
    history = state.get("log_history")
    for entry in history if isinstance(history, list) else ():
        if isinstance(entry, dict):
            for name, value in entry.items():
                if name not in HISTORY_SKIPPED and _is_number(value):
                    metrics[str(name)] = _finite(value)
    if _is_number(state.get("best_metric")):
        metrics["best_metric"] = _finite(state["best_metric"])
    epoch = state.get("epoch") if _is_number(state.get("epoch")) else None
    step = state.get("global_step") if isinstance(state.get("global_step"), int) else None
    return Record(epoch, step, metrics)


def lightning_metrics(callbacks: object) -> dict[str, float | None]:
    """Scores from Lightning's ``callbacks`` entry ({state key: callback state})."""
    metrics: dict[str, float | None] = {}
    if not isinstance(callbacks, dict):
        return metrics
    states = [(str(key), state) for key, state in callbacks.items() if isinstance(state, dict)]
    checkpoints = [(key, state) for key, state in states if key.startswith("ModelCheckpoint")]
    stoppers = [(key, state) for key, state in states if key.startswith("EarlyStopping")]
    for group, fields in ((checkpoints, ("best_model_score",)), (stoppers, ("best_score", "wait_count"))):
        qualify = len(group) > 1
        for key, state in group:
            monitor = _monitor(key, state)
            suffix = f" ({monitor})" if qualify and monitor else ""
            if group is checkpoints and monitor:
                _put(metrics, monitor, state.get("current_score"))
            for name in fields:
                _put(metrics, name + suffix, state.get(name))
    return metrics


def _monitor(key: str, state: dict) -> str | None:
    monitor = state.get("monitor")
    if isinstance(monitor, str):
        return monitor
    found = _MONITOR_IN_KEY.search(key)
    return found.group(1) if found else None


def _put(metrics: dict, name: str, value: object) -> None:
    number = _scalar_number(value, integers=True)
    if number is not _MISSING and name not in metrics:
        metrics[name] = number


def _plain_metrics(root: dict):
    """(name, value) of top-level floating-point values, then of a ``metrics`` dict's entries."""
    for key, value in root.items():
        if isinstance(key, str) and key not in POSITION_KEYS:
            number = _scalar_number(value, integers=False)
            if number is not _MISSING:
                yield key, number
    nested = root.get(METRICS_DICT)
    if isinstance(nested, dict):
        for key, value in nested.items():
            number = _scalar_number(value, integers=True)
            if isinstance(key, str) and number is not _MISSING:
                yield key, number


def _position(values: dict) -> tuple[int | float | None, int | None]:
    epoch = _first_count(values, EPOCH_KEYS, allow_float=True)
    step = _first_count(values, STEP_KEYS, allow_float=False)
    return epoch, step


def _first_count(values: dict, keys: tuple[str, ...], allow_float: bool) -> int | float | None:
    for key in keys:
        number = _scalar_number(values.get(key), integers=True)
        if number is _MISSING or number is None:
            continue
        if float(number).is_integer():
            return int(number)
        if allow_float:
            return number
    return None


_MISSING = object()


def _scalar_number(value: object, integers: bool) -> float | int | None | object:
    """The number a plain value, numpy scalar or one-element tensor holds (None when NaN or
    infinite), or ``_MISSING`` when it holds none; ``integers=False`` accepts only
    floating-point values."""
    if isinstance(value, NumpyScalar):
        value = value.value
    if isinstance(value, TensorRef):
        return _tensor_number(value, integers)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return _MISSING
    if isinstance(value, int) and not integers:
        return _MISSING
    return _finite(value)


def _tensor_number(tensor: TensorRef, integers: bool) -> float | int | None | object:
    if tensor.numel != 1 or tensor.storage is None or tensor.dtype not in ITEMSIZE:
        return _MISSING
    floating = tensor.dtype in FLOATING
    if not floating and not (integers and tensor.dtype.startswith(("int", "uint"))):
        return _MISSING
    from inspector.core.values import read_array

    try:
        number = read_array(tensor, max_elements=1).reshape(-1)[0].item()
    except CheckpointError:
        return _MISSING
    return _finite(float(number)) if floating else int(number)


def _finite(value: int | float) -> int | float | None:
    return value if isinstance(value, int) or math.isfinite(value) else None


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _read_json(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_TRAINER_STATE_BYTES + 1)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_TRAINER_STATE_BYTES:
        raise CheckpointError(f"{path}: larger than {MAX_TRAINER_STATE_BYTES >> 20} MB")
    try:
        state = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: holds no Trainer state")
    return state
