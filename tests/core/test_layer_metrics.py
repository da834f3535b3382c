"""Per-layer numbers and flags against torch: what is flagged respects what each tensor is."""

from __future__ import annotations

import math
import statistics

import pytest

from inspector.core.layer_metrics import EXPLODING_FACTOR, group_job, is_weight_kind, tensor_kind
from inspector.core.loader import open_checkpoint
from inspector.core.progress import run_job
from inspector.core.tree import build_tree

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def unhealthy(tmp_path_factory):
    """A fresh CNN (zero biases, norm weights at 1) with one layer holding 10 NaN and 5 Inf,
    one dead conv and one exploding conv, saved as a training checkpoint."""
    torch.manual_seed(0)
    convs = [torch.nn.Conv2d(8, 8, 3) for _ in range(6)]
    layers = [module for conv in convs for module in (conv, torch.nn.BatchNorm2d(8))]
    model = torch.nn.Sequential(*layers)
    with torch.no_grad():
        for conv in convs:
            conv.bias.zero_()
        convs[1].weight.view(-1)[:10] = float("nan")
        convs[1].weight.view(-1)[10:15] = float("inf")
        convs[2].weight.zero_()
        convs[3].weight.mul_(1000.0)
    path = tmp_path_factory.mktemp("metrics") / "run.pt"
    torch.save({"epoch": 3, "model": model.state_dict()}, path)
    root = build_tree(open_checkpoint(str(path)))
    model_node = next(child for child in root.children if child.name == "model")
    return model.state_dict(), run_job(group_job(model_node, 20)).layers


def test_rows_follow_the_state_dict_and_equal_torch(unhealthy):
    state, metrics = unhealthy
    floating = {key: value for key, value in state.items() if value.is_floating_point()}
    assert [row.name for row in metrics.rows] == list(floating)
    assert metrics.tensors_below == len(state)  # num_batches_tracked counted, not charted
    for row in metrics.rows:
        tensor = floating[row.name].double()
        finite = tensor[torch.isfinite(tensor)]
        assert row.count == tensor.numel()
        assert row.nan == int(torch.isnan(tensor).sum()) and row.inf == int(torch.isinf(tensor).sum())
        assert row.l2_norm == pytest.approx(finite.norm().item(), rel=1e-9, abs=1e-12)
        if finite.numel() > 1:
            assert row.std == pytest.approx(finite.std().item(), rel=1e-9, abs=1e-12)
            assert row.rms == pytest.approx(math.sqrt(finite.square().mean().item()), rel=1e-9, abs=1e-12)


def test_flags_name_nan_inf_dead_and_exploding_only(unhealthy):
    _state, metrics = unhealthy
    flagged = {row.name: row.flags for row in metrics.rows if row.flags}
    assert flagged == {"2.weight": ("nan", "inf"), "4.weight": ("dead",), "6.weight": ("exploding",)}
    nan_row = next(row for row in metrics.rows if row.name == "2.weight")
    assert (nan_row.nan, nan_row.inf) == (10, 5)


def test_kinds():
    from inspector.core.model import TensorRef

    def kind(name, shape, role="parameter"):
        return tensor_kind(name, TensorRef("float32", shape, (1,) * len(shape), None, role=role))

    assert kind("layer1.0.conv1.weight", (8, 8, 3, 3)) == "4-D weight"
    assert kind("fc.weight", (10, 512)) == "2-D weight"
    assert kind("fc.bias", (10,)) == "bias"
    assert tensor_kind("bn1.bias", TensorRef("float32", (8,), (1,), None, role="parameter"), 1) == "norm bias"
    assert kind("bn1.weight", (8,)) == "norm weight"
    assert kind("bn1.running_var", (8,), "buffer") == "norm statistics"
    assert kind("state.0.exp_avg", (8, 8), "optimizer-state") == "optimizer state (exp_avg)"


class TiedLanguageModel(torch.nn.Module):
    """Token embedding, two transformer blocks and an output layer tied to the embedding."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = torch.nn.Embedding(300, 128)
        self.blocks = torch.nn.ModuleList(
            [torch.nn.TransformerEncoderLayer(128, 4, 256, batch_first=True) for _ in range(2)])
        self.ln_f = torch.nn.LayerNorm(128)
        self.lm_head = torch.nn.Linear(128, 300, bias=False)
        self.lm_head.weight = self.embed.weight


def _metrics_of(path, node_name=None):
    root = build_tree(open_checkpoint(str(path)))
    node = root if node_name is None else next(child for child in root.children if child.name == node_name)
    return run_job(group_job(node, 20)).layers


def _rms(tensor) -> float:
    return tensor.double().square().mean().sqrt().item()


def test_tied_embeddings_are_compared_with_embeddings_not_with_linear_weights(tmp_path):
    torch.manual_seed(0)
    model = TiedLanguageModel()
    path = tmp_path / "tied_lm.bin"
    torch.save(model.state_dict(), path)
    state = model.state_dict()
    linear = [_rms(value) for key, value in state.items() if value.dim() == 2 and "blocks" in key]
    # torch makes the embedding at std 1 and the linear weights far smaller: a median over all
    # 2-D weights would call the embedding (and its tied output layer) exploding
    assert _rms(state["embed.weight"]) > EXPLODING_FACTOR * statistics.median(linear)
    metrics = _metrics_of(path)
    kinds = {row.name: row.kind for row in metrics.rows}
    assert kinds["embed.weight"] == kinds["lm_head.weight"] == "embedding"
    assert kinds["blocks.0.linear1.weight"] == "2-D weight"
    assert not [row.name for row in metrics.rows if row.flags]
    assert {"embed.weight", "lm_head.weight"} <= {row.name for row in metrics.rows if is_weight_kind(row.kind)}


def test_an_embedding_known_by_its_class_and_one_far_above_its_peers(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Sequential(*(torch.nn.Embedding(50, 16) for _ in range(3)),
                                *(torch.nn.Linear(16, 16) for _ in range(3)))
    with torch.no_grad():
        model[2].weight.mul_(100.0)  # an embedding far above the other embeddings
    path = tmp_path / "whole.pt"
    torch.save(model, path)  # the whole module: the file records each submodule's class
    rows = {row.name: row for row in _metrics_of(path).rows}
    assert [rows[f"{index}.weight"].kind for index in range(6)] == ["embedding"] * 3 + ["2-D weight"] * 3
    assert {name for name, row in rows.items() if row.flags} == {"2.weight"}
    assert rows["2.weight"].flags == ("exploding",)


@pytest.mark.parametrize("name, expected", [
    ("transformer.wte.weight", "embedding"), ("transformer.wpe.weight", "embedding"),
    ("model.embed_tokens.weight", "embedding"), ("bert.embeddings.word_embeddings.weight", "embedding"),
    ("tok_emb.weight", "embedding"), ("encoder.pos_embedding", "embedding"),
    ("time_embed.0.weight", "2-D weight"),  # a Linear inside a module named like an embedding
    ("member.weight", "2-D weight"), ("lm_head.weight", "2-D weight"),  # an untied output layer
])
def test_embedding_names(name, expected):
    from inspector.core.model import TensorRef

    assert tensor_kind(name, TensorRef("float32", (10, 4), (4, 1), None, role="parameter")) == expected
