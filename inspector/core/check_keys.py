"""How a checkpoint's keys become the names fed to the target: key steps, in order.

A step rewrites one key (``rewrite(key) -> new key``, or None when the step drops it) and
has a ``name`` the report shows. The key matcher's rules (``align.Rule``) are steps; so are a
regex rename and dropping listed keys. ``align_to_target`` runs the key matcher against the
target's keys and returns rules on the checkpoint's side only: the target's keys are what
the model has, so a prefix the matcher would strip from the target becomes one added to the
checkpoint. The version table (``_metadata``: module prefix -> version) follows the renames.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from inspector.core.align import Rule, align_keys
from inspector.core.errors import CheckpointError

VERSION_LEAF = "\x00"  # stands for a tensor name under a module prefix while the prefix is renamed


class RuleStep:
    """A key matcher rule, on the checkpoint's side."""

    renames = True

    def __init__(self, rule: Rule) -> None:
        self.rule = rule if rule.side is None else Rule(rule.kind, rule.old, rule.new, None)

    @property
    def name(self) -> str:
        return self.rule.name

    def rewrite(self, key: str) -> str:
        return self.rule.apply(key)


class RegexStep:
    """``re.sub(pattern, replacement, key)``; the pattern is checked when the step is made."""

    renames = True

    def __init__(self, pattern: str, replacement: str, name: str | None = None) -> None:
        try:
            self.compiled = re.compile(pattern)
            self.compiled.sub(replacement, "")  # a bad group reference fails here, not later
        except (re.error, IndexError) as error:
            raise CheckpointError(f"bad regex rename {pattern!r} -> {replacement!r}: {error}") from None
        self.pattern = pattern
        self.replacement = replacement
        self.name = name or f"rename /{pattern}/ to {replacement!r}"

    def rewrite(self, key: str) -> str:
        return self.compiled.sub(self.replacement, key)


class DropStep:
    """Leaves the listed keys out (named as they are at this step)."""

    renames = False

    def __init__(self, keys: Iterable[str], name: str) -> None:
        self.keys = frozenset(keys)
        self.name = name

    def rewrite(self, key: str) -> str | None:
        return None if key in self.keys else key


def apply_steps(names: dict[str, str], steps: Iterable) -> dict[str, str]:
    """``{current key: original key}`` after ``steps``, in order, keeping the order of keys.
    ``CheckpointError`` when a step turns two keys into one: the check never picks one."""
    for step in steps:
        rewritten: dict[str, str] = {}
        for key, original in names.items():
            new = step.rewrite(key)
            if new is None:
                continue
            if new in rewritten:
                raise CheckpointError(f"{step.name} turns both {rewritten[new]!r} and {original!r} into {new!r}")
            rewritten[new] = original
        names = rewritten
    return names


def align_to_target(file_keys: list[str], target_keys: list[str], *, no_align: bool = False,
                    strip_prefix: str | None = None) -> list[RuleStep]:
    """The key matcher's rules that bring the checkpoint's keys to the target's, as steps on the
    checkpoint's side (a prefix stripped from the target is added to the checkpoint)."""
    disabled: set[str] = set()
    while True:
        alignment = align_keys(file_keys, target_keys, no_align=no_align, strip_a=strip_prefix, disabled=disabled)
        untranslatable = [rule for rule in alignment.rules if rule.side == "b" and rule.kind != "strip-prefix"]
        if not untranslatable:
            return [RuleStep(rule if rule.side == "a" else Rule.add_prefix(rule.old)) for rule in alignment.rules]
        disabled.update(rule.name for rule in untranslatable)


def rewrite_version_table(table: dict | None, steps: Iterable) -> dict | None:
    """``table`` with its module prefixes renamed as the keys under them are. Where two
    prefixes become one (``""`` of a DataParallel wrapper and ``module``), the renamed one
    wins, as ``torch.nn.modules.utils.consume_prefix_in_state_dict_if_present`` does."""
    if table is None:
        return None
    renames = [step for step in steps if step.renames]
    result: dict[str, dict] = {}
    renamed: set[str] = set()
    for prefix, entry in table.items():
        key = f"{prefix}.{VERSION_LEAF}" if prefix else VERSION_LEAF
        for step in renames:
            key = step.rewrite(key)
        if not key.endswith(VERSION_LEAF):
            continue  # a rename that swallowed the name: this entry has no module any more
        new = key[:-len(VERSION_LEAF)].rstrip(".")
        if new in renamed and new == prefix:
            continue
        if new != prefix:
            renamed.add(new)
        result[new] = entry
    return result
