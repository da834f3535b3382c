"""One-click fixes to a checkpoint's keys, as plain data, and where to look for them.

A remap is a dict (it crosses to the window and back as a job argument):
``{"kind": "strip-prefix", "prefix": "module."}``, ``{"kind": "add-prefix", "prefix": …}``,
``{"kind": "subdict", "subdict": "state_dict_ema"}``, ``{"kind": "drop", "keys": […],
"what": "the mismatched head"}``, ``{"kind": "regex", "pattern": …, "replacement": …}``,
``{"kind": "segment", "old": "shortcut", "new": "downsample"}`` (one path segment renamed in
every key) and ``{"kind": "layernorm"}`` (``gamma``/``beta`` -> ``weight``/``bias``). ``remap_steps`` turns
one into key steps; ``candidates`` proposes some from what a check found (each is then
tried, and kept only when it helps).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator

from inspector.core.align import Rule, matching_prefixes
from inspector.core.check_keys import DropStep, RegexStep, RuleStep
from inspector.core.errors import CheckpointError
from inspector.core.model import ModuleObject
from inspector.core.tree import is_mostly_tensors

KINDS = ("strip-prefix", "add-prefix", "subdict", "drop", "regex", "segment", "layernorm")
LAYERNORM_RENAMES = ((r"(^|\.)gamma$", r"\1weight"), (r"(^|\.)beta$", r"\1bias"))
PREFIX_CANDIDATES = 3
SEGMENT_CANDIDATES = 3
SUBDICT_CANDIDATES = 6
RENAME_SCAN_LIMIT = 5000  # unexpected keys looked at for a renamed segment: enough to see a pattern
LISTED_KEYS = 3


def checked_remap(remap: object) -> dict:
    """``remap`` if it is a well-formed remap; ``CheckpointError`` saying what is wrong."""
    if not isinstance(remap, dict) or remap.get("kind") not in KINDS:
        raise CheckpointError(f"not a remap: {remap!r} (kinds: {', '.join(KINDS)})")
    fields = {"strip-prefix": ("prefix",), "add-prefix": ("prefix",), "subdict": ("subdict",),
              "regex": ("pattern", "replacement"), "segment": ("old", "new"), "layernorm": (),
              "drop": ()}[remap["kind"]]
    for field in fields:
        if not isinstance(remap.get(field), str) or (field != "replacement" and not remap[field]):
            raise CheckpointError(f"a {remap['kind']} remap needs a non-empty {field!r}")
    if remap["kind"] == "drop" and not (isinstance(remap.get("keys"), list)
                                        and all(isinstance(key, str) for key in remap["keys"])):
        raise CheckpointError("a drop remap needs a list of 'keys'")
    remap_steps(remap)  # a bad regex fails now
    return remap


def remap_name(remap: dict) -> str:
    """What the report calls the remap: ``strip 'module.'``, ``subdict 'ema'``, …"""
    kind = remap["kind"]
    if kind == "strip-prefix":
        return Rule.strip_prefix(remap["prefix"]).name
    if kind == "add-prefix":
        return Rule.add_prefix(remap["prefix"]).name
    if kind == "subdict":
        return f"subdict {remap['subdict']!r}"
    if kind == "layernorm":
        return "rename 'gamma'/'beta' to 'weight'/'bias'"
    if kind == "regex":
        return f"rename /{remap['pattern']}/ to {remap['replacement']!r}"
    if kind == "segment":
        return f"rename {remap['old']!r} to {remap['new']!r} in every key"
    keys = remap["keys"]
    listed = ", ".join(keys[:LISTED_KEYS]) + (f" and {len(keys) - LISTED_KEYS} more" if len(keys) > LISTED_KEYS else "")
    return f"drop {remap.get('what') or f'{len(keys)} tensors'} ({listed})"


def remap_steps(remap: dict) -> list:
    """The key steps of ``remap`` (none for a subdict: it chooses where the keys come from)."""
    kind = remap["kind"]
    if kind == "strip-prefix":
        return [RuleStep(Rule.strip_prefix(remap["prefix"]))]
    if kind == "add-prefix":
        return [RuleStep(Rule.add_prefix(remap["prefix"]))]
    if kind == "regex":
        return [RegexStep(remap["pattern"], remap["replacement"])]
    if kind == "segment":
        return [RegexStep(rf"(?<![^.]){re.escape(remap['old'])}(?![^.])", remap["new"].replace("\\", "\\\\"),
                          remap_name(remap))]
    if kind == "layernorm":
        return [RegexStep(pattern, replacement, "rename 'gamma'/'beta' to 'weight'/'bias'")
                for pattern, replacement in LAYERNORM_RENAMES]
    if kind == "drop":
        return [DropStep(remap["keys"], remap_name(remap))]
    return []


def candidates(unexpected: list[str], missing: list[str], mismatched: list[tuple[str, str]],
               head_only: bool, subdicts: list[str]) -> list[dict]:
    """Remaps worth trying: prefixes that turn unexpected keys into missing ones, a segment
    renamed throughout, LayerNorm's old names, another sub-dict, dropping the size
    mismatches (``(target key, fed key)``) or the unexpected keys."""
    found = [*_prefix_remaps(unexpected, missing), *_rename_remaps(unexpected, missing)]
    found += [{"kind": "subdict", "subdict": name} for name in subdicts]
    if mismatched:
        what = "the mismatched head" if head_only else f"the {len(mismatched)} mismatched tensors"
        found.append({"kind": "drop", "keys": [fed for _target, fed in mismatched], "what": what})
    if unexpected and not missing and not mismatched:  # then the file loads strictly without them
        found.append({"kind": "drop", "keys": list(unexpected), "what": f"the {len(unexpected)} unexpected tensors"})
    return found


def _prefix_remaps(unexpected: list[str], missing: list[str]) -> list[dict]:
    """Prefixes matching at least half as many keys as the best one (``module.layer1.0.`` also
    turns a few keys of a DataParallel file into model keys, but ``module.`` turns them all)."""
    missing_set, unexpected_set = set(missing), set(unexpected)
    strips = Counter(matching_prefixes(unexpected, missing_set)).most_common(PREFIX_CANDIDATES)
    adds = Counter(matching_prefixes(missing, unexpected_set)).most_common(PREFIX_CANDIDATES)
    found = [(count, "strip-prefix", prefix) for prefix, count in strips]
    found += [(count, "add-prefix", prefix) for prefix, count in adds]
    best = max((count for count, _kind, _prefix in found), default=0)
    return [{"kind": kind, "prefix": prefix} for count, kind, prefix in found if 2 * count >= best]


def _rename_remaps(unexpected: list[str], missing: list[str]) -> list[dict]:
    """LayerNorm's gamma/beta, and one path segment renamed in many keys (``downsample`` ->
    ``shortcut``, ``norm`` -> ``bn``), found by pairing keys that differ in that segment only."""
    remaps = []
    if any(re.search(pattern, key) for key in unexpected for pattern, _ in LAYERNORM_RENAMES):
        remaps.append({"kind": "layernorm"})
    renames = Counter(_segment_renames(unexpected, missing))
    for (old, new), _count in renames.most_common(SEGMENT_CANDIDATES):
        if remaps and (old, new) in (("gamma", "weight"), ("beta", "bias")):
            continue
        remaps.append({"kind": "segment", "old": old, "new": new})
    return remaps


def _segment_renames(unexpected: list[str], missing: list[str]) -> Iterator[tuple[str, str]]:
    wanted: dict[tuple, list[str]] = {}
    for key in missing[:RENAME_SCAN_LIMIT]:
        for signature, segment in _signatures(key):
            wanted.setdefault(signature, []).append(segment)
    for key in unexpected[:RENAME_SCAN_LIMIT]:
        for signature, segment in _signatures(key):
            for new in wanted.get(signature, ()):
                if segment != new:
                    yield segment, new


def _signatures(key: str) -> Iterator[tuple[tuple, str]]:
    parts = key.split(".")
    for index, part in enumerate(parts):
        yield (index, tuple(parts[:index]), tuple(parts[index + 1:])), part


def other_subdicts(root: object, chosen_path: tuple) -> list[str]:
    """Top-level entries of the file that are state dicts, other than the one checked."""
    if not isinstance(root, dict):
        return []
    names = [key for key, value in root.items()
             if isinstance(key, str) and (key,) != tuple(chosen_path[:1]) and _is_state_dict(value)]
    return names[:SUBDICT_CANDIDATES]


def _is_state_dict(value: object) -> bool:
    return isinstance(value, ModuleObject) and bool(value.state_dict) or is_mostly_tensors(value)


def applied_subdict(remaps: Iterable[dict], default: str | None) -> str | None:
    """The sub-dict the remaps choose (the last one wins), else ``default``."""
    chosen = default
    for remap in remaps:
        if remap["kind"] == "subdict":
            chosen = remap["subdict"]
    return chosen
