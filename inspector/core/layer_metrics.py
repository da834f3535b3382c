"""Per-layer numbers below a tree node: one row per floating-point tensor, in depth order,
flagged where something looks wrong ("is this training checkpoint healthy?").

The per-layer chart draws them; the statistics come from ``stats.tensor_stats_job`` (exact,
streamed), so a group's combined histogram can reuse them without reading twice. Flags
compare each tensor with tensors of its own kind (``tensor_kind``): a norm weight at 1.0 or a
zero bias is what it was made as, an embedding table starts at std 1, while a conv weight of
zeros is dead.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from inspector.core.dtypes import FLOATING
from inspector.core.model import TensorRef
from inspector.core.progress import Job, sub_job

GROUP_MAX_TENSORS = 1000  # per-layer chart and combined histogram look at this many tensors
METRICS = ("std", "l2_norm", "max_abs")
FLAGS = ("nan", "inf", "dead", "exploding")
EXPLODING_FACTOR = 10.0  # an RMS this many times the median of its kind is "exploding"
MIN_PEERS = 3  # a kind needs this many non-zero tensors to have a meaningful median
NORM_STATISTICS = frozenset({"running_mean", "running_var"})
EMBEDDING_NAMES = frozenset({"emb", "embs", "wte", "wpe"})  # "_"-separated words of a module name
EMBEDDING_CLASSES = ("Embedding", "EmbeddingBag")  # endings of a module's class name


@dataclass
class LayerEntry:
    name: str  # dotted path from the selected node, in depth order
    node: object  # the tree node, handed back when the user clicks its bar
    tensor: TensorRef


@dataclass
class LayerRow:
    """The numbers of one tensor, over its finite values."""

    name: str
    node: object
    kind: str  # see ``tensor_kind``: tensors are compared with others of the same kind
    ndim: int
    count: int  # every element
    std: float | None  # None with fewer than two finite values
    l2_norm: float
    rms: float  # sqrt(mean of squares): a size-independent scale, used for the flags
    max_abs: float | None  # None without finite values
    nan: int = 0
    inf: int = 0
    zeros: int = 0
    flags: tuple[str, ...] = ()  # of FLAGS

    @property
    def finite(self) -> int:
        return self.count - self.nan - self.inf


@dataclass
class LayerMetrics:
    rows: list[LayerRow] = field(default_factory=list)
    tensors_below: int = 0  # every tensor below the node, floating-point or not
    skipped: int = 0  # tensors beyond GROUP_MAX_TENSORS
    unreadable: int = 0  # tensors whose values could not be read

    def flagged(self, flag: str) -> list[LayerRow]:
        return [row for row in self.rows if flag in row.flags]


@dataclass
class GroupData:
    layers: LayerMetrics
    histogram: object  # core.histogram.Histogram, or None without finite values
    entries: list[LayerEntry] = field(default_factory=list)  # the tensors looked at
    stats: list = field(default_factory=list)  # their TensorStats, to rebin without rereading


def is_plottable(tensor: TensorRef) -> bool:
    return tensor.dtype in FLOATING and tensor.storage is not None and tensor.numel > 0


def layer_entries(node: object) -> list[LayerEntry]:
    """Floating-point tensors below a tree node in depth order, named by key or dotted path."""
    entries: list[LayerEntry] = []
    stack = [(child, str(child.name)) for child in reversed(_children(node))]
    while stack:
        child, name = stack.pop()
        tensor = getattr(child, "tensor", None)
        if tensor is None:
            stack.extend((grandchild, f"{name}.{grandchild.name}") for grandchild in reversed(_children(child)))
        elif is_plottable(tensor):
            entries.append(LayerEntry(_entry_name(child, name), child, tensor))
    return entries


def _entry_name(node: object, dotted: str) -> str:
    """A state dict's key ("layer1.0.conv1.weight") when the tensor has one longer than its own
    name, else its dotted path from the selected node ("state.0.exp_avg")."""
    key = getattr(node, "key", "") or ""
    return key if key != getattr(node, "name", key) else dotted


def _children(node: object) -> list:
    return list(getattr(node, "children", None) or ())


def group_job(node: object, bins: int) -> Job[GroupData]:
    """Per-tensor metrics below ``node`` in depth order, flagged, then their combined histogram."""
    from inspector.core import stats
    from inspector.core.errors import CheckpointError

    entries = layer_entries(node)
    chosen = entries[:GROUP_MAX_TENSORS]
    metrics = LayerMetrics(tensors_below=getattr(node, "tensor_count", len(entries)),
                           skipped=len(entries) - len(chosen))
    readable, all_stats = [], []
    share = 0.5 / max(len(chosen), 1)  # statistics take the first half of the progress bar
    for index, entry in enumerate(chosen):
        steps = sub_job(stats.tensor_stats_job(entry.tensor), index * share, (index + 1) * share, entry.name)
        try:
            result = yield from steps
        except CheckpointError:
            metrics.unreadable += 1
            continue
        readable.append(entry)
        all_stats.append(result)
        metrics.rows.append(layer_row(entry, result))
    flag_rows(metrics.rows)
    histogram = yield from sub_job(combined_histogram_job(readable, all_stats, bins), 0.5, 1.0, "histogram")
    return GroupData(metrics, histogram, readable, all_stats)


def layer_row(entry: LayerEntry, result) -> LayerRow:
    """The row of one tensor from its exact statistics (``stats.TensorStats``)."""
    finite = result.count - result.nan - result.inf
    mean = result.mean if result.mean is not None else 0.0
    std = result.std if result.std is not None else 0.0
    # sum of squares of the finite values, recovered from mean and (n-1)-corrected variance
    square_sum = max((finite - 1) * std * std + finite * mean * mean, 0.0) if finite else 0.0
    max_abs = float(max(abs(result.min), abs(result.max))) if result.min is not None else None
    node = entry.node
    module_class = getattr(getattr(node, "parent", None), "class_name", "") or ""
    kind = tensor_kind(entry.name, entry.tensor, _sibling_weight_rank(node), module_class,
                       getattr(node, "shared_with", "") or "")
    return LayerRow(entry.name, entry.node, kind, len(entry.tensor.shape), result.count,
                    None if result.std is None else float(result.std), math.sqrt(square_sum),
                    math.sqrt(square_sum / finite) if finite else 0.0, max_abs,
                    result.nan, result.inf, result.zeros)


def _sibling_weight_rank(node: object) -> int | None:
    parent = getattr(node, "parent", None)
    for sibling in getattr(parent, "children", ()):
        if sibling.name == "weight" and sibling.tensor is not None:
            return len(sibling.tensor.shape)
    return None


def tensor_kind(name: str, tensor: TensorRef, sibling_weight_rank: int | None = None,
                module_class: str = "", tied_to: str = "") -> str:
    """What a tensor is, from its role, name and rank: "embedding", "4-D weight", "bias", "norm
    weight", "norm bias", "norm statistics", "buffer", "optimizer state (exp_avg)", "scalar" or
    "vector". A bias beside a 1-D weight belongs to a norm layer (made as zeros, like the
    weight is made as ones), not to a conv or linear layer. ``module_class`` is the class of
    the tensor's module when the file records it; ``tied_to`` the key of another tensor over
    the same bytes (an output layer tied to the input embedding is an embedding table too)."""
    leaf = name.rsplit(".", 1)[-1]
    if tensor.role == "optimizer-state":
        return f"optimizer state ({leaf})"
    if leaf in NORM_STATISTICS:
        return "norm statistics"
    if tensor.role == "buffer":
        return "buffer"
    ndim = len(tensor.shape)
    if ndim == 2 and (is_embedding_table(name, module_class) or (tied_to and is_embedding_table(tied_to))):
        return "embedding"
    if ndim >= 2:
        return f"{ndim}-D weight"
    if ndim == 0:
        return "scalar"
    if leaf.endswith("bias"):
        return "norm bias" if sibling_weight_rank == 1 else "bias"
    if leaf.endswith(("weight", "gamma", "scale")):
        return "norm weight"
    return "vector"


def is_embedding_table(name: str, module_class: str = "") -> bool:
    """A lookup table of vectors, made at std 1 (``nn.Embedding``) or 0.02, not like a layer's
    weight: the weight of a module whose class is an embedding, or whose name says it is one
    (``embed_tokens``, ``word_embeddings``, ``tok_emb``, GPT-2's ``wte``/``wpe``), or a
    parameter so named itself."""
    module, _, leaf = name.rpartition(".")
    if leaf == "weight" and module_class.rsplit(".", 1)[-1].endswith(EMBEDDING_CLASSES):
        return True
    owner = module.rpartition(".")[2] if leaf == "weight" else leaf
    words = owner.lower().split("_")
    return "embed" in owner.lower() or any(word in EMBEDDING_NAMES for word in words)


def flag_rows(rows: list[LayerRow]) -> None:
    """Set each row's flags: "nan" and "inf" when it holds any; "dead" for a weight (2-D or
    more, embeddings included) that is all zeros; "exploding" for a parameter whose RMS is over
    EXPLODING_FACTOR times the median RMS of the other tensors of its kind (at least MIN_PEERS
    of them non-zero). Norm weights at 1.0, zero biases and embedding tables at std 1 are what
    they are made as: not flagged."""
    peers: dict[str, list[float]] = {}
    for row in rows:
        if _is_parameter_kind(row.kind) and row.rms > 0:
            peers.setdefault(row.kind, []).append(row.rms)
    medians = {kind: statistics.median(values) for kind, values in peers.items() if len(values) >= MIN_PEERS}
    for row in rows:
        flags = [flag for flag, count in (("nan", row.nan), ("inf", row.inf)) if count]
        if is_weight_kind(row.kind) and row.count and row.zeros == row.count:
            flags.append("dead")
        median = medians.get(row.kind)
        if median and row.rms > EXPLODING_FACTOR * median:
            flags.append("exploding")
        row.flags = tuple(flags)


def _is_parameter_kind(kind: str) -> bool:
    return kind.endswith(("weight", "bias")) or kind == "embedding"


def is_weight_kind(kind: str) -> bool:
    """A conv, linear or embedding weight (2-D or more), not an optimizer state of that shape."""
    return kind.endswith("-D weight") or kind == "embedding"


def combined_histogram_job(entries: list[LayerEntry], all_stats: list, bins: int) -> Job:
    """One histogram over every value of ``entries``, on the range their stats span (None
    when no value is finite)."""
    from inspector.core import histogram

    if not any(result.min is not None for result in all_stats):
        return None
    tensors = [entry.tensor for entry in entries]
    return (yield from histogram.combined_histogram_job(tensors, bins, stats=all_stats))
