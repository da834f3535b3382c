"""Named, immutable rewrites of dotted state-dict keys, and applying them without collisions.

A ``Rule`` replaces ``old`` with ``new`` at dotted-name boundaries: a leading prefix
(``strip-prefix``, ``add-prefix``, ``rename``) or a wrapper segment anywhere in the key
(``drop-token``). Its ``name`` is the text reports and JSON show, e.g. ``strip 'module.' from A``;
a rule with no side reads ``strip 'module.'``.
"""

from __future__ import annotations

from collections.abc import Iterable

from inspector.core.errors import CheckpointError
from inspector.core.value_object import ValueObject

KINDS = ("drop-token", "strip-prefix", "add-prefix", "rename")
SIDES = ("a", "b", None)


class Rule(ValueObject):
    """One key rewrite on side ``"a"``, ``"b"`` or either (None). Equal and hashable by value."""

    __slots__ = ("kind", "side", "old", "new")

    def __init__(self, kind: str, old: str = "", new: str = "", side: str | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown rule kind {kind!r}")
        if side not in SIDES:
            raise ValueError(f"unknown side {side!r}")
        if kind == "add-prefix" and not new or kind != "add-prefix" and not old:
            raise ValueError(f"a {kind} rule needs a non-empty prefix or token")
        setter = object.__setattr__
        setter(self, "kind", kind)
        setter(self, "side", side)
        setter(self, "old", old)
        setter(self, "new", new)

    @classmethod
    def drop_token(cls, token: str, side: str | None = None) -> Rule:
        """Remove the wrapper segment ``token`` (``_orig_mod.``) wherever it occurs."""
        return cls("drop-token", _dotted(token), "", side)

    @classmethod
    def strip_prefix(cls, prefix: str, side: str | None = None) -> Rule:
        return cls("strip-prefix", _dotted(prefix), "", side)

    @classmethod
    def add_prefix(cls, prefix: str, side: str | None = None) -> Rule:
        return cls("add-prefix", "", _dotted(prefix), side)

    @classmethod
    def rename(cls, old: str, new: str, side: str | None = None) -> Rule:
        """Replace the leading module path ``old`` by ``new`` (``layer1`` → ``block1``;
        ``module.`` → ``""`` strips it)."""
        if new and old.endswith(".") != new.endswith("."):
            new = _dotted(new) if old.endswith(".") else new.rstrip(".")
        return cls("rename", old, new, side)

    @property
    def name(self) -> str:
        where = "" if self.side is None else f" {'to' if self.kind == 'add-prefix' else 'from'} {self.side.upper()}"
        if self.kind == "drop-token":
            return f"drop {self.old!r}{where}"
        if self.kind == "strip-prefix":
            return f"strip {self.old!r}{where}"
        if self.kind == "add-prefix":
            return f"add {self.new!r}{where}"
        side = "" if self.side is None else f" in {self.side.upper()}"
        return f"rename {self.old!r} to {self.new!r}{side}"

    def apply(self, key: str) -> str:
        """``key`` rewritten; unchanged when the rule does not concern it."""
        if self.kind == "drop-token":
            return _drop_segment(key, self.old[:-1])
        if self.kind == "add-prefix":
            return self.new + key
        if not has_prefix(key, self.old):
            return key
        rest = key[len(self.old):]
        if self.kind == "strip-prefix":
            return rest or key
        renamed = self.new + rest if self.new else rest.lstrip(".")
        return renamed or key

    def _fields(self) -> tuple:
        return (self.kind, self.side, self.old, self.new)

    def __reduce__(self):
        return Rule, (self.kind, self.old, self.new, self.side)

    def __repr__(self) -> str:
        return f"Rule({self.name!r})"


def has_prefix(key: str, prefix: str) -> bool:
    """``prefix`` is a leading module path of ``key`` (``layer1`` is one of ``layer1.0.w``,
    not of ``layer10.w``)."""
    if not key.startswith(prefix):
        return False
    return prefix.endswith(".") or len(key) == len(prefix) or key[len(prefix)] == "."


def _dotted(prefix: str) -> str:
    return prefix if not prefix or prefix.endswith(".") else prefix + "."


def _drop_segment(key: str, segment: str) -> str:
    """``key`` without its module-path parts named ``segment`` (the last part is the leaf name)."""
    parts = key.split(".")
    kept = [part for part in parts[:-1] if part != segment]
    if len(kept) == len(parts) - 1:
        return key
    return ".".join([*kept, parts[-1]])


def rewrite(mapping: dict[str, str], rule: Rule, side_label: str = "") -> dict[str, str]:
    """``{rule.apply(new): old}`` for a ``{new: old}`` mapping, in the same order.

    Raises ``CheckpointError`` when two keys would become one: a rule never picks between them.
    """
    result: dict[str, str] = {}
    for current, original in mapping.items():
        renamed = rule.apply(current)
        earlier = result.get(renamed)
        if earlier is not None:
            where = f" in {side_label}" if side_label else ""
            raise CheckpointError(f"ambiguous key alignment: {rule.name} turns both {earlier!r} and "
                                  f"{original!r}{where} into {renamed!r}")
        result[renamed] = original
    return result


def apply_rules(keys: Iterable[str], rules: Iterable[Rule], side: str | None = None) -> dict[str, str]:
    """``{new_key: old_key}`` after ``rules`` in order (with ``side``: only the rules for that
    side or for either). Raises ``CheckpointError`` on collisions."""
    mapping = {key: key for key in keys}
    label = side.upper() if side else ""
    for rule in rules:
        if side is None or rule.side in (None, side):
            mapping = rewrite(mapping, rule, label)
    return mapping
