"""The check's answer as plain data: the ``check --json`` contract and what the views need.

``CheckReport`` wraps one document (a dict of plain values, so it crosses from the worker
process to the window as it is). ``to_json`` gives exactly the contract's fields; the rest
(groups of keys, each file tensor's fate, warnings, export plans, the applied remaps) serves
the text output and the window.
"""

from __future__ import annotations

from inspector.core.check_groups import group_keys
from inspector.core.check_plan import fix_plan
from inspector.core.check_remaps import remap_name

CONTRACT_FIELDS = ("target", "alignment", "loaded", "target_tensors", "coverage", "missing", "unexpected",
                   "mismatched", "head_only", "strict_error", "remaps")
FATES = ("loads", "mismatched", "unexpected", "dropped", "unused")
MIXED = "mixed"
FEW_LOADED_SHARE = 0.5
NO_VERSIONS_NOTE = "the file records no module versions (_metadata); safetensors files never do"


class CheckReport:
    """Read access to a check's document; the job builds it, the CLI and the window read it."""

    def __init__(self, document: dict) -> None:
        self.document = document

    def __getattr__(self, name: str):
        try:
            return self.__dict__["document"][name]
        except KeyError:
            raise AttributeError(name) from None

    def to_json(self) -> dict:
        """The ``check --json`` document: the contract's fields, in its order."""
        document = {field: self.document[field] for field in CONTRACT_FIELDS}
        document["remaps"] = [{"rule": remap["rule"], "coverage": remap["coverage"]} for remap in self.remaps]
        return document

    def add_remap(self, remap: dict, loaded: int, total: int, loads_strict: bool, feed) -> None:
        self.document["remaps"].append({
            "rule": remap_name(remap), "coverage": _coverage(loaded, total), "loaded": loaded,
            "target_tensors": total, "strict": loads_strict, "remap": remap, "plan": _plan(feed).to_json()})
        self.document["remaps"].sort(key=lambda entry: (-entry["coverage"], not entry["strict"]))

    def set_class_count_hint(self, count: int, loaded: int, total: int, loads_strict: bool) -> None:
        self.document["class_count_hint"] = {"num_classes": count, "loaded": loaded, "target_tensors": total,
                                             "coverage": _coverage(loaded, total), "strict": loads_strict}

    def __repr__(self) -> str:
        return f"CheckReport(loaded={self.loaded}, target_tensors={self.target_tensors}, strict={self.loads_strict})"


def assemble_report(checker, feed, strict, loose, head_keys: set[str]) -> CheckReport:
    """The report of the settings asked for: ``strict`` and ``loose`` trials (the same one
    when the strict load passed or a module raised)."""
    raised = strict.error if strict.error is not None and not strict.torch_report else None
    raised = raised or (loose.error if loose is not strict and loose.error is not None else None)
    target_keys = loose.target_keys or strict.target_keys
    loaded = 0 if raised else len(loose.received)
    missing = list(target_keys) if raised else loose.missing
    unexpected = [] if raised else loose.unexpected
    mismatched = [{"key": key, "checkpoint": list(shape), "model": list(model)}
                  for key, _fed, shape, model in strict.mismatched]
    head_only = bool(mismatched) and all(entry["key"] in head_keys for entry in mismatched)
    document = {
        "target": checker.target.describe(), "alignment": {"rules": [step.name for step in feed.alignment]},
        "loaded": loaded, "target_tensors": len(target_keys), "coverage": _coverage(loaded, len(target_keys)),
        "missing": missing, "unexpected": unexpected, "mismatched": mismatched, "head_only": head_only,
        "strict_error": strict.error, "remaps": [],
        "label": checker.target.label, "source": _source(checker.checkpoint, feed),
        "settings": checker.settings.to_json(),
        "applied": [remap_name(remap) for remap in checker.settings.remaps],
        "loads_strict": strict.error is None, "raised": raised, "self_filled": [] if raised else loose.self_filled,
        "groups": {"missing": group_keys(missing), "unexpected": group_keys(unexpected),
                   "mismatched": group_keys([entry["key"] for entry in mismatched])},
        "plan": _plan(feed).to_json(), "class_count_hint": None,
    }
    document["fates"], document["module_fates"] = _fates(feed, strict, loose, raised)
    document["warnings"] = _warnings(document, feed)
    return CheckReport(document)


def _coverage(loaded: int, total: int) -> float:
    return loaded / total if total else 1.0


def _plan(feed):
    return fix_plan(feed.subdict, list(feed.view.tensors), feed.steps)


def _source(checkpoint, feed) -> dict:
    return {"path": checkpoint.path, "format": checkpoint.format, "state_dict": list(feed.view.path),
            "subdict": feed.subdict, "tensors": len(feed.view.tensors),
            "version_table": feed.view.version_table is not None}


def _fates(feed, strict, loose, raised: str | None) -> tuple[list[list], dict[str, str]]:
    """``[contract path, fate]`` for every tensor of the checked state dict, and the fate of
    each module prefix (``""``: the whole state dict) whose tensors all share one."""
    fed_fate: dict[str, str] = {}
    if not raised:
        fed_fate.update((fed, "loads") for fed in loose.received.values())
        fed_fate.update((fed, "mismatched") for _key, fed, _shape, _model in strict.mismatched)
        fed_fate.update((fed, "unexpected") for fed in loose.unexpected)
    fate_of = {original: fed_fate.get(fed, "unused") for fed, original in feed.names.items()}
    fates, modules = [], {}
    for key in feed.view.tensors:
        fate = fate_of.get(key, "dropped")
        fates.append([list(feed.view.paths[key]), fate])
        for module in _module_paths(key):
            modules[module] = fate if modules.get(module, fate) == fate else MIXED
    return fates, {module: fate for module, fate in modules.items() if fate != MIXED}


def _module_paths(key: str):
    yield ""
    dot = key.find(".")
    while dot > 0:
        yield key[:dot]
        dot = key.find(".", dot + 1)


def _warnings(document: dict, feed) -> list[str]:
    loaded, total = document["loaded"], document["target_tensors"]
    warnings = []
    if document["raised"]:
        note = "" if feed.view.version_table is not None else f" ({NO_VERSIONS_NOTE})"
        warnings.append(f"torch raises while loading, with strict=True or False: {document['raised']}{note}. "
                        "Nothing loads.")
    elif loaded == 0 and total:
        warnings.append(f"strict=False would load NOTHING: none of the model's {total} tensors gets a value "
                        f"from the file's {len(feed.names)} (the keys do not match)")
    elif loaded < FEW_LOADED_SHARE * (total - len(document["self_filled"])):
        warnings.append(f"strict=False would load only {loaded} of the model's {total} tensors")
    if document["mismatched"] and not document["raised"]:
        count = len(document["mismatched"])
        warnings.append(f"load_state_dict(strict=False) still raises on the {count} size mismatch"
                        f"{'es' if count != 1 else ''}: leave them out of the file first")
    return warnings
