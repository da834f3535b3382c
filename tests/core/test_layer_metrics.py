"""Per-layer numbers and flags against torch: what is flagged respects what each tensor is."""

from __future__ import annotations

import math

import pytest

from inspector.core.layer_metrics import group_job, tensor_kind
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
