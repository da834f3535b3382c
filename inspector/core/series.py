"""A checkpoint series (DESIGN.md, "series"): how a training run moved, from its files alone.

``series_job(paths)`` finds the checkpoints (``series_discovery``), reads what each records
(``series_records``: the pickle and a Trainer's JSON, no weights), orders them
(``series_order``), keeps those holding the same model under one set of keys
(``series_alignment``), then measures every key across the series (``series_dynamics``, run
on every core by ``series_runner``).
It returns a ``SeriesResult`` whose ``to_json()`` is the contract's document.

The job yields ``Partial`` reports as it goes: first the ordered checkpoints with their
metrics (``{"checkpoints", "keys", "skipped"}``), then each key's numbers once they are known
(``{"key", "layer"}``), so a view can fill in while the files are read.
"""

from __future__ import annotations

import os

from inspector.core.errors import CheckpointError
from inspector.core.progress import Job, Partial, Progress
from inspector.core.series_alignment import MemberKeys, match_member, reference_index, series_keys
from inspector.core.series_discovery import SeriesSource, name_position, series_sources
from inspector.core.series_dynamics import LayerSeries
from inspector.core.series_runner import dynamics_job
from inspector.core.series_order import Placement, copies, order_series
from inspector.core.series_records import Record, checkpoint_record, trainer_state_record

READING_SHARE = 0.05  # of the progress bar: reading the files' pickles and records
SCALE = 1000  # progress is reported in thousandths


class SeriesCheckpoint:
    """One checkpoint of the series, in order."""

    __slots__ = ("path", "label", "epoch", "step", "metrics", "rules")

    def __init__(self, source: SeriesSource, placement: Placement, record: Record, rules: list[str]) -> None:
        self.path = source.path
        self.label = source.label
        self.epoch = placement.epoch
        self.step = placement.step
        self.metrics = record.metrics
        self.rules = rules  # key rules that matched its keys to the series' keys

    def to_json(self) -> dict:
        return {"path": self.path, "epoch": self.epoch, "step": self.step, "metrics": dict(self.metrics),
                "rules": list(self.rules)}

    def __repr__(self) -> str:
        return f"SeriesCheckpoint({self.label!r}, epoch={self.epoch!r}, step={self.step!r})"


class SeriesResult:
    """The ordered checkpoints, the series' keys, each key's numbers and the skipped files."""

    __slots__ = ("checkpoints", "keys", "layers", "skipped")

    def __init__(self, checkpoints: list[SeriesCheckpoint], keys: list[str], skipped: list[dict]) -> None:
        self.checkpoints = checkpoints
        self.keys = keys
        self.layers: dict[str, LayerSeries] = {}
        self.skipped = skipped  # [{"path": …, "reason": …}]

    def header_json(self) -> dict:
        """What is known before any weight is read."""
        return {"checkpoints": [checkpoint.to_json() for checkpoint in self.checkpoints],
                "keys": list(self.keys), "skipped": list(self.skipped)}

    def to_json(self) -> dict:
        document = self.header_json()
        skipped = document.pop("skipped")
        document["layers"] = {key: self.layers[key].to_json() for key in self.keys if key in self.layers}
        document["skipped"] = skipped
        return document

    def __repr__(self) -> str:
        return f"SeriesResult(checkpoints={len(self.checkpoints)}, keys={len(self.keys)}, skipped={len(self.skipped)})"


class _Member:
    """A readable checkpoint: where it came from, what it records, its state dict."""

    __slots__ = ("source", "record", "view", "placement")

    def __init__(self, source: SeriesSource, record: Record, view) -> None:
        self.source = source
        self.record = record
        self.view = view
        self.placement = Placement.of(source.label, record.epoch, record.step, name_position(source.label))


def series_job(paths: list[str]) -> Job[SeriesResult]:
    """Find, order, match and measure the checkpoints ``paths`` name (see the module docs)."""
    sources = series_sources([os.fspath(path) for path in paths])
    members, skipped = yield from _read_members(sources)
    ordered = _ordered(members, skipped)
    keys, matched = _matched(ordered, skipped)
    matched = _without_copies(matched, skipped)
    checkpoints = [SeriesCheckpoint(member.source, member.placement, member.record, found.rules)
                   for member, found in matched]
    result = SeriesResult(checkpoints, keys, [_skip_entry(source, reason) for source, reason in skipped])
    yield Partial(int(READING_SHARE * SCALE), SCALE, "measuring", result.header_json())
    rows = [[found.tensors.get(key) for _, found in matched] for key in keys]
    result.layers = yield from _measured(keys, rows)
    return result


def series_document_job(paths: list[str]) -> Job[dict]:
    """``series_job`` for the window's worker process: the contract's document (plain data)."""
    result = yield from series_job(paths)
    return result.to_json()


def _read_members(sources: list[SeriesSource]) -> Job[tuple[list[_Member], list[tuple]]]:
    from inspector.core.align import choose_state_dict
    from inspector.core.loader import load_checkpoint

    members, skipped = [], []
    for index, source in enumerate(sources):
        done = int(READING_SHARE * SCALE * index / max(len(sources), 1))
        try:
            checkpoint = yield from _reported(load_checkpoint(source.path), done, f"reading {source.label}")
            view = choose_state_dict(checkpoint)
            record = _record(checkpoint.root, source)
        except CheckpointError as error:
            skipped.append((source, _without_path(str(error), source.path)))
            continue
        members.append(_Member(source, record, view))
    return members, skipped


def _reported(job: Job, done: int, message: str) -> Job:
    """Run a sub-job, reporting ``done`` (thousandths of the whole) at each of its steps."""
    try:
        while True:
            next(job)
            yield Progress(done, SCALE, message)
    except StopIteration as finished:
        return finished.value
    finally:
        job.close()


def _record(root: object, source: SeriesSource) -> Record:
    record = checkpoint_record(root)
    if source.trainer_state is None:
        return record
    state = trainer_state_record(source.trainer_state)
    for name, value in record.metrics.items():
        state.metrics.setdefault(name, value)
    state.epoch = state.epoch if state.epoch is not None else record.epoch
    state.step = state.step if state.step is not None else record.step
    return state


def _ordered(members: list[_Member], skipped: list[tuple]) -> list[_Member]:
    order, unplaced = order_series([member.placement for member in members])
    skipped.extend((members[index].source, reason) for index, reason in sorted(unplaced.items()))
    return [members[index] for index in order]


def _matched(ordered: list[_Member], skipped: list[tuple]) -> tuple[list[str], list[tuple[_Member, MemberKeys]]]:
    if not ordered:
        raise CheckpointError(_nothing_left(skipped))
    reference = ordered[reference_index([member.view for member in ordered])]
    shapes = series_keys(reference.view)
    matched = []
    for member in ordered:
        try:
            matched.append((member, match_member(shapes, member.view, reference.source.label)))
        except CheckpointError as error:
            skipped.append((member.source, str(error)))
    return list(shapes), matched


def _without_copies(matched: list[tuple[_Member, MemberKeys]], skipped: list[tuple]) -> list[tuple]:
    found = copies([member.placement for member, _ in matched])
    skipped.extend((matched[index][0].source, reason) for index, reason in found.items())
    return [pair for index, pair in enumerate(matched) if index not in found]


def _measured(keys: list[str], rows: list[list]) -> Job[dict[str, LayerSeries]]:
    """Drive the dynamics, handing over each finished key as a Partial."""
    finished: list[LayerSeries] = []
    job = dynamics_job(keys, rows, on_layer=finished.append)
    try:
        while True:
            progress = next(job)
            done = int((READING_SHARE + (1 - READING_SHARE) * progress.fraction) * SCALE)
            for layer in finished:
                yield Partial(done, SCALE, layer.key, {"key": layer.key, "layer": layer.to_json()})
            finished.clear()
            yield Progress(done, SCALE, "measuring")
    except StopIteration as stopped:
        return stopped.value
    finally:
        job.close()


def _skip_entry(source: SeriesSource, reason: str) -> dict:
    return {"path": source.path, "reason": reason}


def _without_path(message: str, path: str) -> str:
    """A reader's message without the path in front (the skipped entry names the file)."""
    for prefix in (f"{path}: ", f"{os.path.basename(path)}: "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


def _nothing_left(skipped: list[tuple]) -> str:
    if not skipped:
        return "no checkpoints found"
    reasons = "; ".join(f"{source.label}: {reason}" for source, reason in skipped[:3])
    more = f" (and {len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f"no checkpoint to summarise: {reasons}{more}"
