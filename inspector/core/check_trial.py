"""One load of meta tensors into a target model: torch's own answer, and which key went where.

``run_trial`` builds the target on the meta device, feeds its real ``load_state_dict`` an
OrderedDict of meta tensors shaped like the checkpoint's, with the checkpoint's version table
as ``_metadata``, and records, at the moment each module loads (a load pre-hook, so after a
module's own legacy-key handling), which fed tensor each target entry would receive. That tells
"loaded" from a ``num_batches_tracked`` that BatchNorm fills in itself, and the file key behind
a size mismatch even when a module renamed it first. torch is imported here only.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict

TORCH_REPORT_START = "Error(s) in loading state_dict for "


class TrialResult:
    """What one ``load_state_dict`` call made of the fed tensors.

    ``error``: the exception text (torch's own report for a ``RuntimeError`` it assembled,
    else ``Type: message``) or None. ``torch_report``: the error is torch's list of problems
    (missing, unexpected, size mismatches), not an exception raised inside a module.
    ``target_keys``: the model's ``state_dict()`` keys after the load. ``received``: target
    key -> fed key it gets. ``mismatched``: ``(target key, fed key, fed shape, model shape)``.
    ``self_filled``: target keys a module filled in itself. ``missing`` / ``unexpected``:
    torch's lists (empty when the load raised).
    """

    __slots__ = ("error", "torch_report", "target_keys", "received", "mismatched", "self_filled",
                 "missing", "unexpected")

    def __init__(self) -> None:
        self.error: str | None = None
        self.torch_report = False
        self.target_keys: list[str] = []
        self.received: dict[str, str] = {}
        self.mismatched: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] = []
        self.self_filled: list[str] = []
        self.missing: list[str] = []
        self.unexpected: list[str] = []

    @property
    def raised_inside(self) -> bool:
        """A module raised while loading: torch gives no lists, nothing loads."""
        return self.error is not None and not self.torch_report

    @property
    def loads_strict(self) -> bool:
        return self.error is None and not self.missing and not self.unexpected and not self.mismatched

    def __repr__(self) -> str:
        return (f"TrialResult(received={len(self.received)}, mismatched={len(self.mismatched)}, "
                f"missing={len(self.missing)}, unexpected={len(self.unexpected)}, error={self.error is not None})")


class MetaTensors:
    """Meta tensors for the checkpoint's keys, made once and fed again under other names."""

    def __init__(self, shapes: dict[str, tuple[tuple[int, ...], str]]) -> None:
        import torch

        self._tensors = {key: _meta_tensor(torch, shape, dtype) for key, (shape, dtype) in shapes.items()}

    def state_dict(self, names: dict[str, str], version_table: dict | None) -> OrderedDict:
        """``{fed key: tensor of the original key}`` for ``names`` (fed key -> original key),
        with a fresh copy of ``version_table`` as ``_metadata`` (torch writes into it)."""
        fed = OrderedDict((key, self._tensors[original]) for key, original in names.items())
        if version_table is not None:
            fed._metadata = OrderedDict((prefix, dict(entry)) for prefix, entry in version_table.items())
        return fed


def run_trial(build, tensors: MetaTensors, names: dict[str, str], version_table: dict | None,
              strict: bool) -> TrialResult:
    """Load ``names`` (fed key -> original key) into a fresh model from ``build()``."""
    fed = tensors.state_dict(names, version_table)
    model = build()
    recorder = _Recorder(fed)
    result = TrialResult()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "copying from a non-meta parameter ... is a no-op" and the like
        with recorder.watching(model):
            try:
                outcome = model.load_state_dict(fed, strict=strict)
                result.missing, result.unexpected = list(outcome.missing_keys), list(outcome.unexpected_keys)
            except Exception as error:  # torch's report, or a module's own error: the answer either way
                result.error, result.torch_report = _error_text(error)
        result.target_keys = list(model.state_dict().keys())
    result.received, result.mismatched = recorder.received, recorder.mismatched
    result.self_filled = recorder.self_filled
    return result


def _error_text(error: Exception) -> tuple[str, bool]:
    text = str(error)
    if isinstance(error, RuntimeError) and text.startswith(TORCH_REPORT_START):
        return text, True
    return f"{type(error).__name__}: {text}", False


class _Recorder:
    """Load pre-hooks on every module of the model, also on modules added while it loads."""

    def __init__(self, fed: OrderedDict) -> None:
        self.sources = {id(tensor): key for key, tensor in fed.items()}
        self.received: dict[str, str] = {}
        self.mismatched: list[tuple[str, str, tuple[int, ...], tuple[int, ...]]] = []
        self.self_filled: list[str] = []
        self._watched: set[int] = set()

    def watching(self, model):
        from contextlib import contextmanager

        from torch.nn.modules.module import register_module_module_registration_hook

        @contextmanager
        def context():
            self.watch(model)
            handle = register_module_module_registration_hook(lambda _parent, _name, child: self.watch(child))
            try:
                yield
            finally:
                handle.remove()
        return context()

    def watch(self, module) -> None:
        if module is None:
            return
        for each in module.modules():
            if id(each) not in self._watched:
                self._watched.add(id(each))
                each.register_load_state_dict_pre_hook(self._on_module_loading)

    def _on_module_loading(self, module, state_dict, prefix, *_rest) -> None:
        from torch.nn.parameter import is_lazy

        for name, value in _local_state(module):
            key = prefix + name
            given = state_dict.get(key)
            if given is None:
                continue
            source = self.sources.get(id(given))
            if source is None:
                self.self_filled.append(key)
            elif is_lazy(value) or _shapes_fit(tuple(given.shape), tuple(value.shape)):
                self.received[key] = source
            else:
                self.mismatched.append((key, source, tuple(given.shape), tuple(value.shape)))


def _local_state(module):
    """The entries ``Module._load_from_state_dict`` looks for: parameters and persistent buffers."""
    for name, value in module._parameters.items():
        if value is not None:
            yield name, value
    for name, value in module._buffers.items():
        if value is not None and name not in module._non_persistent_buffers_set:
            yield name, value


def _shapes_fit(given: tuple[int, ...], model: tuple[int, ...]) -> bool:
    """torch's rule, with its backward compatibility: a [1] tensor loads into a 0-d one."""
    if not model and given == (1,):
        return True
    return given == model


_DTYPES: dict[str, object] = {}


def _meta_tensor(torch, shape: tuple[int, ...], dtype: str):
    kind = _DTYPES.get(dtype)
    if kind is None:
        kind = getattr(torch, dtype, None)
        kind = kind if isinstance(kind, torch.dtype) else torch.float32
        _DTYPES[dtype] = kind
    try:
        return torch.empty(shape, dtype=kind, device="meta")
    except (RuntimeError, TypeError):  # a dtype meta tensors cannot have (quantized): the shape is what counts
        return torch.empty(shape, dtype=torch.float32, device="meta")
