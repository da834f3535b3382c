"""Whole checkpoints as people save them: general training checkpoints, GAN-style files with
several models and optimizers, and a Lightning-like ``.ckpt``. ``torch.load`` of the file the
test wrote is the oracle for every tensor path, shape, dtype and role."""

from __future__ import annotations

import sys
import types
from collections import OrderedDict

import pytest

from inspector.core.model import ModuleObject, PickledObject

torch = pytest.importorskip("torch")
nn = torch.nn

GHOST = "ghost_hparams_for_shape_tests"


def _small_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 4 * 4, 3))


def _train_step(model: nn.Module, optimizer) -> float:
    loss = model(torch.randn(5, 1, 6, 6)).pow(2).mean()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def _ghost_config_class() -> type:
    """A user class that exists only while saving: the reader can never import it."""
    module = types.ModuleType(GHOST)

    class ModelConfig:
        def __init__(self) -> None:
            self.width = 64
            self.dropout = 0.1
            self.names = ["a", "b"]

    ModelConfig.__module__, ModelConfig.__qualname__ = GHOST, "ModelConfig"
    module.ModelConfig = ModelConfig
    sys.modules[GHOST] = module
    return ModelConfig


def _general(model, optimizer, loss) -> dict:
    return {"epoch": 5, "model_state_dict": model.state_dict(),
            "optimizer_state_dict": optimizer.state_dict(), "loss": loss.item(), "last_loss": loss.detach()}


def _gan() -> dict:
    generator, discriminator = _small_cnn(), _small_cnn()
    opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.SGD(discriminator.parameters(), lr=0.01, momentum=0.9)
    _train_step(generator, opt_g)
    _train_step(discriminator, opt_d)
    return {"epoch": 7, "generator": generator.state_dict(), "discriminator": discriminator.state_dict(),
            "optimizer_G": opt_g.state_dict(), "optimizer_D": opt_d.state_dict(),
            "models": [generator, discriminator], "optimizers": (opt_g.state_dict(), opt_d.state_dict())}


def _lightning(config_class) -> dict:
    model = _small_cnn()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)
    _train_step(model, optimizer)
    scheduler.step()
    return {
        "epoch": 3, "global_step": 120, "pytorch-lightning_version": "2.4.0",
        "state_dict": OrderedDict((f"model.{key}", value) for key, value in model.state_dict().items()),
        "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"ready": 4, "completed": 3}}}},
        "callbacks": {"ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}": {
            "best_model_score": torch.tensor(0.25), "best_model_path": "/runs/epoch=3.ckpt",
            "best_k_models": {"/runs/epoch=3.ckpt": torch.tensor(0.25)}}},
        "optimizer_states": [optimizer.state_dict()],
        "lr_schedulers": [scheduler.state_dict()],
        "hparams_name": "kwargs",
        "hyper_parameters": {"lr": 1e-3, "config": config_class()},
    }


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """name -> path of every checkpoint the tests read."""
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("shapes")
    model = _small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss = _train_step(model, optimizer)
    checkpoints = {"general": _general(model, optimizer, loss), "gan": _gan(),
                   "lightning": _lightning(_ghost_config_class())}
    paths = {}
    for name, checkpoint in checkpoints.items():
        paths[name] = str(folder / f"{name}.ckpt")
        torch.save(checkpoint, paths[name])
    yield paths
    sys.modules.pop(GHOST, None)


def _read(path: str):
    from inspector.core.loader import open_checkpoint

    return open_checkpoint(path)


STATE_DICTS = ("model_state_dict", "generator", "discriminator", "state_dict")  # as the tests save them
BUFFER_NAMES = ("running_mean", "running_var", "num_batches_tracked")  # the test models' only buffers


def _oracle(path: str) -> list[tuple[tuple, object, str]]:
    """(path, tensor, role) for every tensor torch.load gives, walked like the info contract."""
    found = []
    stack = [((), torch.load(path, weights_only=False), "tensor")]
    while stack:
        where, value, role = stack.pop()
        if isinstance(value, torch.Tensor):
            found.append((where, value, role))
        elif isinstance(value, nn.Module):
            params = {name for name, _ in value.named_parameters(remove_duplicate=False)}
            stack.extend((where + (key,), tensor, "parameter" if key in params else "buffer")
                         for key, tensor in reversed(value.state_dict().items()))
        elif isinstance(value, dict):
            if {"state", "param_groups"} <= set(value):
                role = "optimizer-state"
            stack.extend((where + (key,), child, _entry_role(where, key, role))
                         for key, child in reversed(value.items()))
        elif isinstance(value, (list, tuple)):
            stack.extend((where + (index,), child, role) for index, child in reversed(list(enumerate(value))))
    return found


def _entry_role(where: tuple, key, role: str) -> str:
    if where in [(name,) for name in STATE_DICTS]:
        return "buffer" if key.rsplit(".", 1)[-1] in BUFFER_NAMES else "parameter"
    return role


@pytest.mark.parametrize("name", ["general", "gan", "lightning"])
def test_every_tensor_path_shape_dtype_and_role_matches_torch(files, name):
    found = list(_read(files[name]).iter_tensors())
    expected = _oracle(files[name])
    assert [path for path, _ in found] == [path for path, _, _ in expected]
    for (path, ref), (_, tensor, role) in zip(found, expected):
        assert ref.shape == tuple(tensor.shape), path
        assert ref.dtype == str(tensor.dtype).removeprefix("torch."), path
        assert ref.role == role, path


def test_general_checkpoint_plain_values_are_visible(files):
    root = _read(files["general"]).root
    oracle = torch.load(files["general"], weights_only=False)
    assert root["epoch"] == oracle["epoch"] and root["loss"] == oracle["loss"]
    groups = root["optimizer_state_dict"]["param_groups"]
    assert groups[0]["lr"] == oracle["optimizer_state_dict"]["param_groups"][0]["lr"]
    assert groups[0]["params"] == oracle["optimizer_state_dict"]["param_groups"][0]["params"]
    assert root["last_loss"].role == "tensor"


def test_gan_file_holds_each_model_and_optimizer(files):
    root = _read(files["gan"]).root
    oracle = torch.load(files["gan"], weights_only=False)
    for found, model in zip(root["models"], oracle["models"]):
        assert isinstance(found, ModuleObject)
        assert list(found.state_dict) == list(model.state_dict())
    assert set(root["optimizer_G"]["state"][0]) == set(oracle["optimizer_G"]["state"][0])
    assert set(root["optimizer_D"]["state"][0]) == {"momentum_buffer"}


def test_lightning_checkpoint_values_and_user_hyper_parameters(files):
    checkpoint = _read(files["lightning"])
    root = checkpoint.root
    oracle = torch.load(files["lightning"], weights_only=False)
    for key in ("epoch", "global_step", "pytorch-lightning_version", "hparams_name", "lr_schedulers", "loops"):
        assert root[key] == oracle[key], key
    config = root["hyper_parameters"]["config"]
    assert isinstance(config, PickledObject)
    assert config.class_name == f"{GHOST}.ModelConfig"
    assert config.state == vars(oracle["hyper_parameters"]["config"])
    assert f"{GHOST}.ModelConfig" in checkpoint.globals
    assert all(key.startswith("model.") for key in root["state_dict"])
    callback = root["callbacks"]["ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min'}"]
    assert callback["best_model_score"].role == "tensor"
    assert callback["best_k_models"]["/runs/epoch=3.ckpt"].role == "tensor"  # not a state dict
