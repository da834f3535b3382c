"""From check to fix: the key steps a check applied, as an export plan and as the
``inspector export`` command line that writes the fixed file.

The plan's renames are leading-path rewrites, so the key matcher's prefix rules go in as they
are; a regex rename, and a wrapper token dropped from the middle of keys, go in as one
rename per key they change. Dropped keys become ``exclude`` globs (a whole module when every
key under it goes), matched against the keys after every rename, as the plan does.
"""

from __future__ import annotations

import os
import shlex

from inspector.core.check_keys import DropStep, RuleStep
from inspector.core.plan import ExportPlan

GLOB_SPECIALS = "*?["


def fix_plan(subdict: str | None, file_keys: list[str], steps: list) -> ExportPlan:
    """The plan that writes the checkpoint's keys as ``steps`` leave them."""
    names = {key: key for key in file_keys}  # current -> original, for the keys still going out
    dropped: dict[str, str] = {}  # the same for dropped keys: later renames still apply to them
    renames: list[tuple[str, str]] = []
    for step in steps:
        if isinstance(step, DropStep):
            for key in [key for key in names if step.rewrite(key) is None]:
                dropped[key] = names.pop(key)
            continue
        renames.extend(_plan_renames(step, list(names) + list(dropped)))
        names = {step.rewrite(key): original for key, original in names.items()}
        dropped = {step.rewrite(key): original for key, original in dropped.items()}
    return ExportPlan(subdict=subdict, rename=tuple(renames), exclude=_exclude_globs(list(dropped), names))


def _plan_renames(step, keys: list[str]) -> list[tuple[str, str]]:
    if isinstance(step, RuleStep):
        rule = step.rule
        if rule.kind == "strip-prefix":
            return [(rule.old, "")]
        if rule.kind == "add-prefix":
            return [("", rule.new)]
        if rule.kind == "rename":
            return [(rule.old, rule.new)]
        changed = [key for key in keys if step.rewrite(key) != key]
        if changed and all(key.startswith(rule.old) for key in changed):  # a wrapper token in front
            return [(rule.old, "")]
    return [(key, step.rewrite(key)) for key in keys if step.rewrite(key) != key]


def _exclude_globs(dropped: list[str], kept: dict[str, str]) -> tuple[str, ...]:
    """Dropped keys as globs: a module's path when nothing under it is kept."""
    kept_modules = {key.rpartition(".")[0] for key in kept} | set(kept)
    globs: list[str] = []
    for key in dropped:
        module = key.rpartition(".")[0]
        pattern = _escaped(module if module and not _has_kept_below(module, kept_modules) else key)
        if pattern not in globs:
            globs.append(pattern)
    return tuple(globs)


def _has_kept_below(module: str, kept_modules: set[str]) -> bool:
    return any(each == module or each.startswith(module + ".") for each in kept_modules)


def _escaped(key: str) -> str:
    """``key`` as a glob matching itself only (``[`` ``*`` ``?`` put in brackets)."""
    return "".join(f"[{char}]" if char in GLOB_SPECIALS else char for char in key)


def export_command(source: str, plan: ExportPlan, output: str | None = None) -> str:
    """The ``inspector export`` command line that writes ``plan`` out of ``source``."""
    words = ["inspector", "export", source, "-o", output or fixed_file_name(source)]
    if plan.subdict:
        words += ["--subdict", plan.subdict]
    for old, new in plan.rename:
        if not new:
            words += ["--strip-prefix", old]
        elif not old:
            words += ["--add-prefix", new]
        else:
            words += ["--rename", f"{old}={new}"]
    if plan.exclude:
        words += ["--exclude", *plan.exclude]
    return " ".join(shlex.quote(word) for word in words)


def fixed_file_name(source: str) -> str:
    """``model.safetensors`` -> ``model-fixed.safetensors``; anything else -> ``…-fixed.pt``."""
    stem, extension = os.path.splitext(source.rstrip(os.sep))
    if extension not in (".pt", ".safetensors"):
        stem, extension = stem + extension if os.path.isdir(source) else stem, ".pt"
    return f"{stem}-fixed{extension}"
