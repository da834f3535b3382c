"""Will it load? A checkpoint checked against a torchvision architecture or another checkpoint.

``check_job`` reads the file, builds the target on the meta device, and asks the target's own
``load_state_dict`` (``check_trial``): once with ``strict=True`` for torch's exact error text,
once with the size mismatches left out and ``strict=False`` for its missing and unexpected
lists. Keys go through the key matcher and the chosen remaps first (``check_keys``); remaps
worth suggesting are each tried the same way, for the coverage they would reach. The result is
the report's plain document (``check_report.CheckReport`` reads it). torch is imported only
while the job runs: in the worker process or the CLI, never by the window.
"""

from __future__ import annotations

import os

from inspector.core.check_keys import align_to_target, apply_steps, rewrite_version_table
from inspector.core.check_remaps import (
    applied_subdict, candidates, checked_remap, other_subdicts, remap_name, remap_steps,
)
from inspector.core.check_report import CheckReport, assemble_report
from inspector.core.check_targets import ArchTarget, CheckpointTarget
from inspector.core.errors import CheckpointError
from inspector.core.loader import load_checkpoint
from inspector.core.model import Checkpoint
from inspector.core.progress import Job, Progress, sub_job
from inspector.core.state_dict_choice import StateDictView, choose_state_dict

READ_SHARE = 0.3


def check_job(path: str, target: dict, subdict: str | None = None, strip_prefix: str | None = None,
              no_align: bool = False, remaps: list[dict] | tuple = ()) -> Job[dict]:
    """Check ``path`` against ``target`` (``{"arch": name, "num_classes": n, "options": {…}}``
    or ``{"path": other checkpoint, "subdict": …}``); returns the report document."""
    remaps = [checked_remap(remap) for remap in remaps]
    yield Progress(0, 1000, f"Reading {os.path.basename(path) or path}")
    checkpoint = yield from sub_job(load_checkpoint(path), 0.0, READ_SHARE)
    built = yield from _open_target(target)
    yield Progress(int(READ_SHARE * 1000) + 100, 1000, f"Building {built.label} on the meta device")
    checker = Checker(checkpoint, built, Settings(subdict, strip_prefix, no_align, remaps))
    report = yield from checker.run()
    return report.document


def check_checkpoint(path: str, target: dict, **settings) -> CheckReport:
    """``check_job`` run to its end, as a ``CheckReport`` (for scripts and tests)."""
    from inspector.core.progress import run_job

    return CheckReport(run_job(check_job(path, target, **settings)))


def _open_target(target: dict) -> Job:
    if not isinstance(target, dict) or ("arch" in target) == ("path" in target):
        raise CheckpointError("a check needs a target: an architecture or another checkpoint")
    if "path" in target:
        other = yield from sub_job(load_checkpoint(target["path"]), READ_SHARE, 2 * READ_SHARE)
        view = choose_state_dict(other, target.get("subdict"))
        root = other.root
        return CheckpointTarget(target["path"], view, getattr(root, "class_name", "") if not view.path else "")
    yield Progress(int(READ_SHARE * 1000), 1000, "Importing torch and torchvision")
    _need_torchvision()
    arch = ArchTarget(str(target["arch"]), target.get("num_classes"), target.get("options"))
    arch.check_name()
    return arch


def _need_torchvision() -> None:
    try:
        import torchvision  # noqa: F401  (the check builds its models)
    except ImportError as error:
        raise CheckpointError(f"checking against an architecture needs torch and torchvision ({error})") from None


class Settings:
    """How the checkpoint's keys are taken: the sub-dict, the key matcher's options, remaps."""

    __slots__ = ("subdict", "strip_prefix", "no_align", "remaps")

    def __init__(self, subdict: str | None, strip_prefix: str | None, no_align: bool, remaps: list[dict]) -> None:
        self.subdict = subdict
        self.strip_prefix = strip_prefix
        self.no_align = no_align
        self.remaps = list(remaps)

    def plus(self, remap: dict) -> Settings:
        return Settings(self.subdict, self.strip_prefix, self.no_align, [*self.remaps, remap])

    def to_json(self) -> dict:
        return {"subdict": self.subdict, "strip_prefix": self.strip_prefix, "no_align": self.no_align,
                "remaps": list(self.remaps)}


class Feed:
    """The keys as one setting feeds them: the state dict, the steps, ``names`` (fed key ->
    key in the state dict) and the version table renamed to match."""

    __slots__ = ("view", "subdict", "alignment", "steps", "names", "version_table")

    def __init__(self, view: StateDictView, subdict: str | None, alignment: list, steps: list) -> None:
        self.view = view
        self.subdict = subdict
        self.alignment = alignment
        self.steps = steps
        self.names = apply_steps({key: key for key in view.tensors}, steps)
        self.version_table = rewrite_version_table(view.version_table, steps)


class Checker:
    """Runs the trials of one check: the settings asked for, then each candidate remap."""

    def __init__(self, checkpoint: Checkpoint, target, settings: Settings) -> None:
        from inspector.core.check_trial import MetaTensors

        self.checkpoint = checkpoint
        self.target = target
        self.settings = settings
        self.target_keys = list(target.build().state_dict())
        self._tensors: dict[tuple, MetaTensors] = {}

    def feed(self, settings: Settings) -> Feed:
        subdict = applied_subdict(settings.remaps, settings.subdict)
        view = choose_state_dict(self.checkpoint, subdict)
        alignment = align_to_target(list(view.tensors), self.target_keys, no_align=settings.no_align,
                                    strip_prefix=settings.strip_prefix)
        steps = [*alignment, *(step for remap in settings.remaps for step in remap_steps(remap))]
        return Feed(view, subdict, alignment, steps)

    def trial(self, feed: Feed, strict: bool, leave_out: set[str] = frozenset(), target=None):
        from inspector.core.check_trial import MetaTensors, run_trial

        tensors = self._tensors.get(feed.view.path)
        if tensors is None:
            shapes = {key: (tensor.shape, tensor.dtype) for key, tensor in feed.view.tensors.items()}
            tensors = self._tensors[feed.view.path] = MetaTensors(shapes)
        names = {key: original for key, original in feed.names.items() if key not in leave_out}
        return run_trial((target or self.target).build, tensors, names, feed.version_table, strict)

    def run(self) -> Job[CheckReport]:
        feed = self.feed(self.settings)
        strict = self.trial(feed, strict=True)
        loose = strict
        if strict.error is not None and strict.torch_report:
            yield Progress(500, 1000, "Loading with strict=False")
            loose = self.trial(feed, strict=False, leave_out={fed for _key, fed, _shape, _model in strict.mismatched})
        head_keys = self.target.head_keys() if strict.mismatched else set()
        report = assemble_report(self, feed, strict, loose, head_keys)
        if not report.loads_strict:
            yield from self._suggest(report, feed, strict, loose)
        return report

    def _suggest(self, report: CheckReport, feed: Feed, strict, loose) -> Job:
        mismatched = [(key, fed) for key, fed, _shape, _model in strict.mismatched]
        mismatched_keys = {key for key, _fed in mismatched}
        found = candidates(loose.unexpected, [key for key in loose.missing if key not in mismatched_keys],
                           mismatched, report.head_only, other_subdicts(self.checkpoint.root, feed.view.path))
        for index, remap in enumerate(found):
            yield Progress(600 + 350 * index // len(found), 1000, f"Trying {remap_name(remap)}")
            outcome = self._try(self.settings.plus(remap))
            if outcome is not None and _helps(remap, outcome, report):
                report.add_remap(remap, *outcome)
        yield from self._suggest_class_count(report, feed, strict)

    def _try(self, settings: Settings):
        """``(loaded, target tensors, loads strict, feed)`` for ``settings``, or None when its
        keys cannot be fed (two keys become one, a sub-dict without tensors)."""
        try:
            feed = self.feed(settings)
        except CheckpointError:
            return None
        trial = self.trial(feed, strict=False)
        loaded = 0 if trial.raised_inside else len(trial.received)
        return loaded, len(trial.target_keys), trial.loads_strict, feed

    def _suggest_class_count(self, report: CheckReport, feed: Feed, strict) -> Job:
        count = self.target.class_count_of([(key, shape) for key, _fed, shape, _model in strict.mismatched])
        if count is None or not report.head_only or count == getattr(self.target, "num_classes", None):
            return
        yield Progress(960, 1000, f"Trying num_classes={count}")
        other = self.target.with_num_classes(count)
        trial = self.trial(feed, strict=False, target=other)
        if not trial.raised_inside:
            report.set_class_count_hint(count, len(trial.received), len(trial.target_keys), trial.loads_strict)


def _helps(remap: dict, outcome: tuple, report: CheckReport) -> bool:
    """A remap is suggested when it loads more, or (dropping keys) when it makes the file load
    without a size-mismatch error or strictly."""
    loaded, _total, loads_strict, _feed = outcome
    if remap["kind"] == "drop":
        return loaded >= report.loaded
    return loaded > report.loaded or loads_strict
