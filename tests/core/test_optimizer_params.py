"""Optimizer state mapped to parameter names, against torch's own pairing of the optimizer's
parameters with ``model.named_parameters()``; nothing is claimed where the file is ambiguous."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from inspector.core.jsonview import info_json
from inspector.core.loader import open_checkpoint


class Generator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 6))


class Discriminator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 3), nn.Linear(3, 1))


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(5, 4)
        self.norm = nn.LayerNorm(4)
        self.head = nn.Linear(4, 5, bias=False)
        self.head.weight = self.emb.weight


def _trained(model: nn.Module, parameters=None, steps: int = 2) -> torch.optim.Optimizer:
    optimizer = torch.optim.Adam(model.parameters() if parameters is None else parameters, lr=1e-2)
    width = next(model.parameters()).shape[-1] if not isinstance(model, Tied) else None
    for _ in range(steps):
        optimizer.zero_grad()
        output = model.emb(torch.arange(5)) if isinstance(model, Tied) else model.net(torch.randn(8, width))
        (model.head(model.norm(output)) if isinstance(model, Tied) else output).square().mean().backward()
        optimizer.step()
    return optimizer


def torch_mapping(model: nn.Module, optimizer: torch.optim.Optimizer, prefix: str = "") -> dict[int, str]:
    """Optimizer parameter index -> name, paired by object identity: torch's own answer."""
    names = {id(parameter): prefix + name for name, parameter in model.named_parameters()}
    ordered = [parameter for group in optimizer.param_groups for parameter in group["params"]]
    return {index: names[id(parameter)] for index, parameter in enumerate(ordered)}


def ours(path: str, optimizer_path: tuple) -> dict[tuple, str | None]:
    """(parameter index, state name) -> the mapped parameter, for optimizer-state tensors."""
    found = {}
    for entry in info_json(open_checkpoint(path))["tensors"]:
        where = tuple(entry["path"])
        if where[:len(optimizer_path)] == optimizer_path and where[len(optimizer_path)] == "state":
            found[where[len(optimizer_path) + 1:]] = entry.get("param")
    return found


def expected(optimizer: torch.optim.Optimizer, mapping: dict[int, str]) -> dict[tuple, str]:
    return {(index, name): mapping[index] for index, state in optimizer.state_dict()["state"].items()
            for name, value in state.items() if torch.is_tensor(value)}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    torch.manual_seed(0)
    return tmp_path_factory.mktemp("optimizers")


def test_general_checkpoint_maps_every_state(folder):
    model = Generator()
    optimizer = _trained(model)
    path = str(folder / "general.pt")
    torch.save({"epoch": 2, "model_state_dict": model.state_dict(), "optimizer_state_dict": optimizer.state_dict()}, path)
    assert ours(path, ("optimizer_state_dict",)) == expected(optimizer, torch_mapping(model, optimizer))


def test_tied_parameters_count_once(folder):
    model = Tied()
    optimizer = _trained(model)
    path = str(folder / "tied.pt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, path)
    assert ours(path, ("optimizer",)) == expected(optimizer, torch_mapping(model, optimizer))


def test_lightning_layout_with_prefixed_keys(folder):
    model = Generator()
    optimizer = _trained(model)
    path = str(folder / "lightning.ckpt")
    state = {f"model.{key}": value for key, value in model.state_dict().items()}
    torch.save({"epoch": 1, "global_step": 4, "state_dict": state, "optimizer_states": [optimizer.state_dict()]}, path)
    assert ours(path, ("optimizer_states", 0)) == expected(optimizer, torch_mapping(model, optimizer, "model."))


def test_gan_optimizers_each_find_their_model(folder):
    generator, discriminator = Generator(), Discriminator()
    opt_g, opt_d = _trained(generator), _trained(discriminator)
    path = str(folder / "gan.pt")
    torch.save({"generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
                "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict()}, path)
    assert ours(path, ("opt_g",)) == expected(opt_g, torch_mapping(generator, opt_g))
    assert ours(path, ("opt_d",)) == expected(opt_d, torch_mapping(discriminator, opt_d))


def test_pickled_module_beside_its_optimizer(folder):
    model = Generator()
    optimizer = _trained(model)
    path = str(folder / "pickled.pt")
    torch.save({"model": model, "optimizer": optimizer.state_dict()}, path)
    assert ours(path, ("optimizer",)) == expected(optimizer, torch_mapping(model, optimizer))


def test_nothing_is_claimed_when_ambiguous_or_not_matching(folder):
    first, second = Generator(), Generator()
    optimizer = _trained(first)
    twins = str(folder / "twins.pt")
    torch.save({"a": first.state_dict(), "b": second.state_dict(), "optimizer": optimizer.state_dict()}, twins)
    assert set(ours(twins, ("optimizer",)).values()) == {None}
    frozen = Generator()
    partial = _trained(frozen, parameters=frozen.net[3].parameters())  # only the head is trained
    path = str(folder / "head_only.pt")
    torch.save({"model": frozen.state_dict(), "optimizer": partial.state_dict()}, path)
    assert set(ours(path, ("optimizer",)).values()) == {None}


def test_trainable_parameters_when_the_file_records_requires_grad(folder):
    """An optimizer over the trainable parameters only, beside a keep_vars state dict that says which."""
    model = Generator()
    model.net[0].requires_grad_(False)
    optimizer = _trained(model, parameters=[p for p in model.parameters() if p.requires_grad])
    path = str(folder / "fine_tune.pt")
    torch.save({"model": model.state_dict(keep_vars=True), "optimizer": optimizer.state_dict()}, path)
    assert ours(path, ("optimizer",)) == expected(optimizer, torch_mapping(model, optimizer))
    plain = str(folder / "fine_tune_plain.pt")  # without requires_grad recorded, nothing is claimed
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, plain)
    assert set(ours(plain, ("optimizer",)).values()) == {None}


def test_long_lists_beside_the_model_stay_cheap(folder):
    """A loss history of many floats: finding the optimizer must not copy it per element."""
    import tracemalloc

    from inspector.core.optimizer_params import map_optimizer_params

    model = Generator()
    optimizer = _trained(model)
    path = str(folder / "history.pt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "loss_history": [0.5] * 200_000, "logs": [[{"loss": 0.1}] * 1000] * 50}, path)
    assert ours(path, ("optimizer",)) == expected(optimizer, torch_mapping(model, optimizer))
    root = open_checkpoint(path).root
    tracemalloc.start()
    map_optimizer_params(root)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 8 << 20
