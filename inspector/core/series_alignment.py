"""Which checkpoints of a series hold the same model, and which tensor of each is which key.

The model is the one most checkpoints share: the commonest list of tensor shapes (renaming
keys, as a run that switched to DistributedDataParallel does, leaves it unchanged). The first
checkpoint in series order that holds it is the reference; its keys, without wrapper tokens or
a DataParallel ``module.`` prefix, are the series' keys (``series_keys``). Every checkpoint is
matched to them by the one key matcher (``align.align_keys``), its rules reported by name; one
whose tensors match fewer than half of the keys by key and shape is another model, skipped.
"""

from __future__ import annotations

from collections import Counter

from inspector.core.align import StateDictView, align_keys, choose_state_dict
from inspector.core.errors import CheckpointError
from inspector.core.key_rules import Rule
from inspector.core.model import Checkpoint, TensorPath, TensorRef

SAME_MODEL_SHARE = 0.5


class MemberKeys:
    """One checkpoint's tensors under the series' keys (None where it has no tensor of that
    key and shape), and the rules that renamed its keys."""

    __slots__ = ("tensors", "rules")

    def __init__(self, tensors: dict[str, TensorRef], rules: list[str]) -> None:
        self.tensors = tensors
        self.rules = rules

    def __repr__(self) -> str:
        return f"MemberKeys(tensors={len(self.tensors)}, rules={self.rules!r})"


def reference_index(views: list[StateDictView]) -> int:
    """The first view (in series order) holding the commonest list of shapes."""
    fingerprints = [_fingerprint(view) for view in views]
    commonest = Counter(fingerprints).most_common(1)[0][0]
    return fingerprints.index(commonest)


def _fingerprint(view: StateDictView) -> tuple:
    return tuple(sorted(tensor.shape for tensor in view.tensors.values()))


def series_keys(reference: StateDictView) -> dict[str, tuple[int, ...]]:
    """The series' keys (the reference's, without wrapper tokens and ``module.``, in its
    order) with their shapes."""
    alignment = align_keys(reference.tensors, ())
    return {alignment.aligned_a[original]: tensor.shape for original, tensor in reference.tensors.items()}


def match_member(shapes: dict[str, tuple[int, ...]], view: StateDictView, reference_label: str) -> MemberKeys:
    """``view`` under the series' keys (``shapes``); ``CheckpointError`` (the reason to skip
    it) when it is not the same model or its keys cannot be matched without guessing."""
    keys = list(shapes)
    shared = sum((Counter(shapes.values()) & Counter(tensor.shape for tensor in view.tensors.values())).values())
    if shared < max(1, SAME_MODEL_SHARE * len(keys)):
        raise CheckpointError(_other_model(reference_label, shared, len(keys), "by shape"))
    alignment = align_keys(keys, view.tensors)
    tensors = {}
    for _, key_a, key_b in alignment.pairs:
        tensor = view.tensors[key_b]
        if tensor.shape == shapes[key_a]:
            tensors[key_a] = tensor
    if len(tensors) < max(1, SAME_MODEL_SHARE * len(keys)):
        raise CheckpointError(_other_model(reference_label, len(tensors), len(keys), "by key and shape"))
    return MemberKeys(tensors, [_member_rule(rule).name for rule in alignment.rules])


def _other_model(reference_label: str, matching: int, total: int, how: str) -> str:
    return f"not the same model as {reference_label}: {matching} of its {total} tensors match {how}"


def _member_rule(rule: Rule) -> Rule:
    """A rule as it reads for one checkpoint: rewriting the series' keys (side A) by stripping
    a prefix is adding it to the checkpoint's."""
    if rule.side == "a" and rule.kind == "strip-prefix":
        return Rule.add_prefix(rule.old)
    return Rule(rule.kind, rule.old, rule.new)


def tensor_in(checkpoint: Checkpoint, keys: list[str], key: str) -> tuple[TensorPath, TensorRef] | None:
    """Where the series' ``key`` is in ``checkpoint`` (a contract path) and its tensor, matched
    as the series matched it; None when the checkpoint has no such tensor."""
    view = choose_state_dict(checkpoint)
    alignment = align_keys(keys, view.tensors)
    for _, key_a, key_b in alignment.pairs:
        if key_a == key:
            return view.paths[key_b], view.tensors[key_b]
    return None
