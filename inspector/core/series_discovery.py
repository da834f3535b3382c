"""Which checkpoints make a series, and what their names say about where each one sits.

``series_sources(paths)`` takes what the user gave: checkpoint files, checkpoint folders
(sharded, DCP), glob patterns, or a run's folder. A run's folder gives the checkpoint files
directly inside it, the checkpoint folders directly inside it, and Hugging Face Trainer
``checkpoint-N`` folders (each one's model file, beside its ``trainer_state.json``).

``name_position(label)`` is the fallback when a file records no epoch or step:
``epoch=3-step=1200.ckpt`` (Lightning), ``checkpoint-12.pth.tar`` (timm: an epoch),
``e10.pt``, ``iter_5000.pth``; ``best``/``last`` files are aliases, placed by what they record.
"""

from __future__ import annotations

import glob
import os
import re

from inspector.core.errors import CheckpointError
from inspector.core.natural_sort import natural_sort_key
from inspector.core.path_expansion import is_checkpoint_folder
from inspector.core.sniff import CHECKPOINT_SUFFIXES
from inspector.core.value_object import ValueObject

TRAINER_STATE = "trainer_state.json"
# what a Hugging Face Trainer checkpoint folder holds the model in, in order of preference
HF_MODEL_FILES = ("model.safetensors", "pytorch_model.bin", "adapter_model.safetensors", "adapter_model.bin")
GLOB_CHARACTERS = frozenset("*?[")

_EPOCH = re.compile(r"(?:^|[^a-z])(?:epoch|ep|e)[=_-]?(\d+)", re.IGNORECASE)
_STEP = re.compile(r"(?:^|[^a-z])(?:step|steps|iter|iteration|it)[=_-]?(\d+)", re.IGNORECASE)
_HF_FOLDER = re.compile(r"^checkpoint-(\d+)$")
_ALIAS = re.compile(r"(?:^|[^a-z])(best|last|latest|final)(?:[^a-z]|$)", re.IGNORECASE)
_NUMBER = re.compile(r"\d+")


class SeriesSource(ValueObject):
    """One checkpoint of a series: ``path`` (what to open), ``label`` (the name it is known
    by: a file name, or a ``checkpoint-N`` folder name) and the Trainer state beside it."""

    __slots__ = ("path", "label", "trainer_state")

    def __init__(self, path: str, label: str, trainer_state: str | None = None) -> None:
        setter = object.__setattr__
        setter(self, "path", path)
        setter(self, "label", label)
        setter(self, "trainer_state", trainer_state)

    def _fields(self) -> tuple:
        return (self.path, self.label, self.trainer_state)

    def __repr__(self) -> str:
        return f"SeriesSource({self.path!r}, label={self.label!r}, trainer_state={self.trainer_state!r})"


def series_sources(paths: list[str]) -> list[SeriesSource]:
    """The checkpoints the paths name, duplicates dropped; ``CheckpointError`` for a path
    that does not exist or a pattern that matches nothing."""
    sources: dict[str, SeriesSource] = {}
    for given in paths:
        for source in _sources_for(given):
            sources.setdefault(source.path, source)
    return list(sources.values())


def looks_like_series_folder(path: str) -> bool:
    """A folder holding several checkpoints (not itself one checkpoint)."""
    return os.path.isdir(path) and len(_folder_given(path)) >= 2


def _sources_for(given: str) -> list[SeriesSource]:
    path = os.path.abspath(given)
    if not os.path.exists(path):
        if GLOB_CHARACTERS & set(given):
            return _glob_sources(given)
        raise CheckpointError(f"{path}: no such file or folder")
    if os.path.isdir(path):
        return _folder_given(path)
    return [SeriesSource(path, os.path.basename(path))]


def _folder_given(folder: str) -> list[SeriesSource]:
    """A run's folder gives what it holds; a checkpoint folder is one checkpoint."""
    inner = _folder_sources(folder)
    trainer_checkpoints = [source for source in inner if _HF_FOLDER.match(source.label)]
    if trainer_checkpoints:
        final = _trainer_source(folder)  # the model a Trainer saves beside its checkpoints at the end
        return trainer_checkpoints + ([final] if final.path != folder else [])
    if _is_trainer_folder(folder):
        return [_trainer_source(folder)]
    if is_checkpoint_folder(folder):
        return [SeriesSource(folder, os.path.basename(folder))]
    return inner or [SeriesSource(folder, os.path.basename(folder))]


def _glob_sources(pattern: str) -> list[SeriesSource]:
    matches = sorted(glob.glob(pattern), key=natural_sort_key)
    if not matches:
        raise CheckpointError(f"{pattern}: matches no file")
    return [source for match in matches for source in _sources_for(match)]


def _folder_sources(folder: str) -> list[SeriesSource]:
    """Checkpoint files, checkpoint folders and Trainer folders directly inside ``folder``."""
    try:
        names = sorted(os.listdir(folder), key=natural_sort_key)
    except OSError:
        return []
    sources = []
    for name in names:
        path = os.path.join(folder, name)
        if os.path.isdir(path):
            if _is_trainer_folder(path):
                sources.append(_trainer_source(path))
            elif is_checkpoint_folder(path):
                sources.append(SeriesSource(path, name))
        elif name.lower().endswith(CHECKPOINT_SUFFIXES) and os.path.isfile(path):
            sources.append(SeriesSource(path, name))
    return sources


def _is_trainer_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, TRAINER_STATE)) or bool(_HF_FOLDER.match(os.path.basename(path)))


def _trainer_source(folder: str) -> SeriesSource:
    """A Trainer ``checkpoint-N`` folder: its model file (the folder itself when sharded)."""
    state = os.path.join(folder, TRAINER_STATE)
    state = state if os.path.isfile(state) else None
    label = os.path.basename(folder)
    if is_checkpoint_folder(folder):
        return SeriesSource(folder, label, state)
    for name in HF_MODEL_FILES:
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate):
            return SeriesSource(candidate, label, state)
    return SeriesSource(folder, label, state)  # the reader will say what is wrong with it


class NamePosition(ValueObject):
    """What a name says: ``epoch`` and ``step`` (None when it does not say), and whether it
    is an alias (``best``, ``last``) of another checkpoint rather than a point of its own."""

    __slots__ = ("epoch", "step", "alias")

    def __init__(self, epoch: int | None, step: int | None, alias: str | None) -> None:
        setter = object.__setattr__
        setter(self, "epoch", epoch)
        setter(self, "step", step)
        setter(self, "alias", alias)

    def _fields(self) -> tuple:
        return (self.epoch, self.step, self.alias)

    def __repr__(self) -> str:
        return f"NamePosition(epoch={self.epoch!r}, step={self.step!r}, alias={self.alias!r})"


def name_position(label: str) -> NamePosition:
    """Epoch and step from a checkpoint's name; a bare number counts as an epoch (timm's
    ``checkpoint-12.pth.tar``), except in a Trainer's ``checkpoint-N`` folder (a step)."""
    stem = strip_suffixes(label)
    folder = _HF_FOLDER.match(label)
    if folder:
        return NamePosition(None, int(folder.group(1)), None)
    alias = _ALIAS.search(stem)
    epoch, step = _last_number(_EPOCH, stem), _last_number(_STEP, stem)
    if alias is not None:
        return NamePosition(epoch, step, alias.group(1).lower())
    if epoch is None and step is None:
        numbers = _NUMBER.findall(stem)
        epoch = int(numbers[-1]) if numbers else None
    return NamePosition(epoch, step, None)


def strip_suffixes(name: str) -> str:
    """``checkpoint-12.pth.tar`` → ``checkpoint-12``."""
    stem = name
    while True:
        base, dot, suffix = stem.rpartition(".")
        if not dot or not base or "." + suffix.lower() not in CHECKPOINT_SUFFIXES:
            return stem
        stem = base


def _last_number(pattern: re.Pattern, text: str) -> int | None:
    found = pattern.findall(text)
    return int(found[-1]) if found else None


def file_label(path: str) -> str:
    """A checkpoint's name for people: the file name, with its Trainer folder for a Trainer
    checkpoint's model file (``checkpoint-500/model.safetensors``)."""
    name = os.path.basename(path.rstrip(os.sep))
    parent = os.path.basename(os.path.dirname(path.rstrip(os.sep)))
    return f"{parent}/{name}" if _HF_FOLDER.match(parent) else name
