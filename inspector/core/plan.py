"""The export plan: which state dict, which keys go out under which names, which are frozen,
and an optional dtype cast. Qt-free; the window edits one, the CLI reads one from JSON.

Steps, in the contract's order: choose the state dict (``subdict``, ``align.choose_state_dict``),
rewrite keys with the ``rename`` rules in order (``key_rules.Rule``; ``{"from": "module.",
"to": ""}`` strips a prefix, ``{"from": "", "to": "backbone."}`` adds one), keep the keys an
``include`` glob matches (all when there is none), drop those an ``exclude`` glob matches,
mark the parameters a ``freeze`` glob matches as frozen, and cast floating tensors to
``dtype``. Globs match the renamed keys (``key_globs``). ``resolve`` gives the exact list of
output keys and their source tensors, and every tensor left out with the reason.
"""

from __future__ import annotations

import json

from inspector.core.errors import CheckpointError
from inspector.core.key_globs import first_match, matches
from inspector.core.key_rules import Rule, apply_rules
from inspector.core.model import Checkpoint, TensorRef
from inspector.core.state_dict_choice import StateDictView, choose_state_dict
from inspector.core.dtypes import CAST_TARGETS
from inspector.core.writers.cast import output_dtype
from inspector.core.writers.layout import OutputTensor

PLAN_VERSION = 1
PLAN_FIELDS = ("version", "subdict", "include", "exclude", "freeze", "rename", "dtype")
_GLOB_FIELDS = ("include", "exclude", "freeze")
_WRITABLE_LAYOUTS = {"strided"}


class ExportPlan:
    """An immutable plan; ``replace`` makes a changed copy. Equal by value."""

    __slots__ = ("subdict", "include", "exclude", "freeze", "rename", "dtype")

    def __init__(self, subdict: str | None = None, include: tuple[str, ...] = (),
                 exclude: tuple[str, ...] = (), freeze: tuple[str, ...] = (),
                 rename: tuple[tuple[str, str], ...] = (), dtype: str | None = None) -> None:
        setter = object.__setattr__
        setter(self, "subdict", subdict or None)
        for field, patterns in zip(_GLOB_FIELDS, (include, exclude, freeze)):
            setter(self, field, _checked_globs(field, patterns))
        setter(self, "rename", tuple((str(old), str(new)) for old, new in rename))
        setter(self, "dtype", _checked_dtype(dtype))
        self.rules()  # refuse bad renames now, not at export time

    def replace(self, **changes) -> ExportPlan:
        fields = {name: getattr(self, name) for name in self.__slots__}
        return ExportPlan(**{**fields, **changes})

    def rules(self) -> list[Rule]:
        """The ``rename`` entries as named key rules, in order."""
        return [_rule(old, new) for old, new in self.rename]

    def to_json(self) -> dict:
        return {"version": PLAN_VERSION, "subdict": self.subdict, "include": list(self.include),
                "exclude": list(self.exclude), "freeze": list(self.freeze),
                "rename": [{"from": old, "to": new} for old, new in self.rename], "dtype": self.dtype}

    @classmethod
    def from_json(cls, document: object) -> ExportPlan:
        """A plan from its JSON document; ``CheckpointError`` saying what is wrong."""
        if not isinstance(document, dict):
            raise CheckpointError("an export plan is a JSON object")
        unknown = sorted(set(document) - set(PLAN_FIELDS))
        if unknown:
            raise CheckpointError(f"unknown field {unknown[0]!r} in the export plan")
        if document.get("version", PLAN_VERSION) != PLAN_VERSION:
            raise CheckpointError(f"export plan version {document['version']!r}: this version reads {PLAN_VERSION}")
        try:
            return cls(subdict=_optional_string(document, "subdict"),
                       **{field: _string_list(document, field) for field in _GLOB_FIELDS},
                       rename=_renames(document.get("rename", [])), dtype=_optional_string(document, "dtype"))
        except ValueError as error:
            raise CheckpointError(str(error)) from None

    def save(self, path: str, protected: tuple[str, ...] = ()) -> None:
        """Write the plan's JSON to ``path``, never over one of the ``protected`` files."""
        from inspector.core.writers.destination import replacing

        with replacing(path, protected) as file:
            file.write((json.dumps(self.to_json(), indent=1) + "\n").encode())

    @classmethod
    def load(cls, path: str) -> ExportPlan:
        try:
            with open(path, "rb") as file:
                document = json.loads(file.read())
        except OSError as error:
            raise CheckpointError(f"cannot read the plan {path}: {error.strerror}") from None
        except ValueError as error:
            raise CheckpointError(f"{path} is not a JSON export plan ({error})") from None
        try:
            return cls.from_json(document)
        except CheckpointError as error:
            raise CheckpointError(f"{path}: {error}") from None

    def resolve(self, checkpoint: Checkpoint, can_write=None) -> ResolvedPlan:
        """The output of this plan for ``checkpoint``; ``can_write(dtype) -> str | None`` (a
        reason) leaves out what the output format cannot hold."""
        return _resolve(self, choose_state_dict(checkpoint, self.subdict), can_write)

    def resolve_view(self, view: StateDictView, can_write=None) -> ResolvedPlan:
        """``resolve`` over a state dict already chosen for this plan's ``subdict``."""
        return _resolve(self, view, can_write)

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExportPlan) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("an ExportPlan is immutable: use replace()")

    def __reduce__(self):
        return ExportPlan, self._fields()

    def __repr__(self) -> str:
        return f"ExportPlan({self.to_json()!r})"


class ResolvedPlan:
    """What a plan makes of one checkpoint.

    ``tensors``: the output entries in order. ``source_keys``: output key -> key in the chosen
    state dict. ``produced_by``: output key -> names of the rules that rewrote it. ``frozen`` /
    ``trainable``: exported parameters under a freeze glob / the other exported parameters
    (buffers are neither). ``dropped``: ``(key in the state dict, reason)`` for every tensor
    left out. ``unmatched``: ``(field, pattern)`` for globs that matched no key (likely typos).
    """

    __slots__ = ("plan", "state_dict", "tensors", "source_keys", "produced_by", "frozen",
                 "trainable", "dropped", "unmatched")

    def __init__(self, plan: ExportPlan, state_dict: StateDictView) -> None:
        self.plan = plan
        self.state_dict = state_dict
        self.tensors: list[OutputTensor] = []
        self.source_keys: dict[str, str] = {}
        self.produced_by: dict[str, list[str]] = {}
        self.frozen: list[str] = []
        self.trainable: list[str] = []
        self.dropped: list[tuple[str, str]] = []
        self.unmatched: list[tuple[str, str]] = []

    @property
    def keys(self) -> list[str]:
        return [tensor.key for tensor in self.tensors]

    @property
    def nbytes(self) -> int:
        return sum(tensor.nbytes for tensor in self.tensors)

    def __repr__(self) -> str:
        return (f"ResolvedPlan(tensors={len(self.tensors)}, frozen={len(self.frozen)}, "
                f"dropped={len(self.dropped)})")


def _resolve(plan: ExportPlan, view: StateDictView, can_write) -> ResolvedPlan:
    resolved = ResolvedPlan(plan, view)
    rules = plan.rules()
    renamed = apply_rules(view.tensors, rules)
    for key, source_key in renamed.items():
        tensor = view.tensors[source_key]
        reason = _reason_to_leave_out(plan, key, tensor, can_write)
        if reason:
            resolved.dropped.append((source_key, reason))
            continue
        resolved.tensors.append(OutputTensor(key, tensor, output_dtype(tensor.dtype, plan.dtype)))
        resolved.source_keys[key] = source_key
        resolved.produced_by[key] = _rules_that_changed(rules, source_key)
        if tensor.role != "buffer":
            frozen = first_match(key, plan.freeze) is not None
            (resolved.frozen if frozen else resolved.trainable).append(key)
    resolved.unmatched = _unmatched_globs(plan, renamed)
    return resolved


def _unmatched_globs(plan: ExportPlan, keys) -> list[tuple[str, str]]:
    return [(field, pattern) for field in _GLOB_FIELDS for pattern in getattr(plan, field)
            if not any(matches(key, pattern) for key in keys)]


def _reason_to_leave_out(plan: ExportPlan, key: str, tensor: TensorRef, can_write) -> str | None:
    if plan.include and first_match(key, plan.include) is None:
        return "not matched by any include pattern"
    excluded = first_match(key, plan.exclude)
    if excluded is not None:
        return f"excluded by {excluded!r}"
    if tensor.storage is None:
        return "no data in the file (a meta tensor)"
    if tensor.layout not in _WRITABLE_LAYOUTS:
        return f"a {tensor.layout} tensor has no plain values to export"
    return can_write(output_dtype(tensor.dtype, plan.dtype)) if can_write else None


def _rules_that_changed(rules: list[Rule], key: str) -> list[str]:
    names = []
    for rule in rules:
        rewritten = rule.apply(key)
        if rewritten != key:
            names.append(rule.name)
            key = rewritten
    return names


def _rule(old: str, new: str) -> Rule:
    if not old and not new:
        raise ValueError("a rename needs a 'from' or a 'to' prefix")
    if not old:
        return Rule.add_prefix(new)
    if not new:
        return Rule.strip_prefix(old)
    return Rule.rename(old, new)


def _checked_globs(field: str, patterns) -> tuple[str, ...]:
    patterns = tuple(patterns)
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            raise ValueError(f"{field} patterns must be non-empty strings, not {pattern!r}")
    return patterns


def _checked_dtype(dtype: str | None) -> str | None:
    if dtype is not None and dtype not in CAST_TARGETS:
        raise ValueError(f"cannot cast to {dtype!r}: choose one of {', '.join(CAST_TARGETS)}")
    return dtype


def _optional_string(document: dict, field: str) -> str | None:
    value = document.get(field)
    if value is not None and not isinstance(value, str):
        raise CheckpointError(f"{field!r} of the export plan must be a string or null")
    return value


def _string_list(document: dict, field: str) -> tuple[str, ...]:
    value = document.get(field, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise CheckpointError(f"{field!r} of the export plan must be a list of strings")
    return tuple(value)


def _renames(value: object) -> tuple[tuple[str, str], ...]:
    entries = value if isinstance(value, list) else None
    if entries is None or not all(isinstance(entry, dict) and set(entry) <= {"from", "to"}
                                  and all(isinstance(part, str) for part in entry.values())
                                  for entry in entries):
        raise CheckpointError("'rename' of the export plan must be a list of {\"from\": ..., \"to\": ...}")
    return tuple((entry.get("from", ""), entry.get("to", "")) for entry in entries)
