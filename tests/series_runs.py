"""Training runs written by torch, as the tools people use write them: the series tests' input.

Each run trains a tiny model for a few epochs on random data and saves what that tool saves:
Lightning (``epoch=E-step=S.ckpt`` with callbacks, optimizer and loop states, and
``last.ckpt``), plain ``torch.save`` dicts under names that sort apart from their epochs, a
frozen backbone, a layer that goes NaN, a switch to DistributedDataParallel, Hugging Face
Trainer ``checkpoint-N`` folders and timm ``checkpoint-N.pth.tar`` files. ``weights`` keeps
what was saved, checkpoint by checkpoint in series order, as the oracle's input.
"""

from __future__ import annotations

import json
import os

import pytest

LIGHTNING_MONITOR = "val_loss"
MODEL_CHECKPOINT_KEY = ("ModelCheckpoint{'monitor': 'val_loss', 'mode': 'min', 'every_n_train_steps': 0, "
                        "'every_n_epochs': 1, 'train_time_interval': None}")
EARLY_STOPPING_KEY = "EarlyStopping{'monitor': 'val_loss', 'mode': 'min'}"
STEPS_PER_EPOCH = 5


class Run:
    """A folder of checkpoints, what each one holds (in series order) and what it records."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.paths: list[str] = []  # in series order
        self.weights: list[dict] = []  # key -> tensor as saved, without wrapper prefixes
        self.metrics: list[dict] = []
        self.epochs: list = []
        self.steps: list = []
        self.skipped: dict[str, str] = {}  # file name -> a word the reason must hold

    def add(self, path: str, weights: dict, epoch=None, step=None, metrics=None) -> None:
        self.paths.append(path)
        self.weights.append({key: value.detach().clone() for key, value in weights.items()})
        self.epochs.append(epoch)
        self.steps.append(step)
        self.metrics.append(metrics or {})


def _net(torch):
    return torch.nn.Sequential(torch.nn.Linear(6, 12), torch.nn.ReLU(), torch.nn.Linear(12, 12),
                               torch.nn.ReLU(), torch.nn.Linear(12, 3))


def _train_epoch(torch, net, optimizer, generator) -> float:
    loss = None
    for _ in range(STEPS_PER_EPOCH):
        x = torch.randn(16, 6, generator=generator)
        y = torch.randn(16, 3, generator=generator)
        loss = torch.nn.functional.mse_loss(net(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item()


def lightning_run(torch, folder: str, epochs: int = 4) -> Run:
    """What ``Trainer(callbacks=[ModelCheckpoint(save_top_k=-1, monitor='val_loss',
    save_last=True), EarlyStopping('val_loss')])`` writes for a LightningModule whose network
    is its attribute ``model``."""
    run = Run(folder)
    generator = torch.Generator().manual_seed(1)
    torch.manual_seed(1)
    net = _net(torch)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.01)
    best, best_models = None, {}
    for epoch in range(epochs):
        _train_epoch(torch, net, optimizer, generator)
        step = (epoch + 1) * STEPS_PER_EPOCH
        val_loss = torch.tensor(0.9 / (epoch + 1) + 0.05 * (epoch == 2))
        best = val_loss if best is None or val_loss < best else best
        path = os.path.join(folder, f"epoch={epoch}-step={step}.ckpt")
        best_models[path] = val_loss
        state = {f"model.{key}": value for key, value in net.state_dict().items()}
        checkpoint = {
            "epoch": epoch, "global_step": step, "pytorch-lightning_version": "2.4.0", "state_dict": state,
            "loops": {"fit_loop": {"state_dict": {}, "epoch_progress": {"total": {"completed": epoch}}}},
            "callbacks": {
                MODEL_CHECKPOINT_KEY: {"monitor": LIGHTNING_MONITOR, "best_model_score": best,
                                       "best_model_path": path, "current_score": val_loss, "dirpath": folder,
                                       "best_k_models": dict(best_models), "kth_best_model_path": path,
                                       "kth_value": val_loss, "last_model_path": ""},
                EARLY_STOPPING_KEY: {"wait_count": int(epoch == 2), "stopped_epoch": 0, "best_score": best,
                                     "patience": 3},
            },
            "optimizer_states": [optimizer.state_dict()], "lr_schedulers": [],
            "hparams_name": "kwargs", "hyper_parameters": {"lr": 0.01, "hidden": 12},
        }
        torch.save(checkpoint, path)
        run.add(path, net.state_dict(), epoch, step,
                {LIGHTNING_MONITOR: float(val_loss), "best_model_score": float(best),
                 "best_score": float(best), "wait_count": int(epoch == 2)})
    torch.save(checkpoint, os.path.join(folder, "last.ckpt"))  # the last point again
    run.skipped["last.ckpt"] = "same epoch and step"
    return run


def plain_run(torch, folder: str) -> Run:
    """``torch.save({'epoch': i, 'model_state_dict': …, 'loss': …})`` under names whose order
    is not the epochs' order, a numpy ``best_acc1``, another model's file and a broken file."""
    import numpy as np

    run = Run(folder)
    generator = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    net = _net(torch)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    names = ["zeta.pt", "alpha.pt", "model_10.pt", "model_9.pt"]  # epochs 0, 1, 2, 3
    for epoch, name in enumerate(names):
        loss = _train_epoch(torch, net, optimizer, generator)
        path = os.path.join(folder, name)
        torch.save({"epoch": epoch, "model_state_dict": net.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                    "loss": loss, "best_acc1": np.float64(50.0 + epoch), "seed": 2}, path)
        run.add(path, net.state_dict(), epoch, None, {"loss": loss, "best_acc1": 50.0 + epoch})
    torch.save({"epoch": 1, "model_state_dict": torch.nn.Linear(40, 40).state_dict()}, os.path.join(folder, "other.pt"))
    run.skipped["other.pt"] = "not the same model"
    with open(os.path.join(folder, "notes.pt"), "w") as handle:
        handle.write("<html>not a checkpoint</html>\n")
    run.skipped["notes.pt"] = "HTML"
    return run


def frozen_run(torch, folder: str, epochs: int = 3) -> Run:
    """A frozen backbone (the first two layers) under a head that trains."""
    run = Run(folder)
    generator = torch.Generator().manual_seed(3)
    torch.manual_seed(3)
    net = _net(torch)
    for layer in (net[0], net[2]):
        layer.requires_grad_(False)
    optimizer = torch.optim.SGD([p for p in net.parameters() if p.requires_grad], lr=0.1)
    for epoch in range(epochs):
        _train_epoch(torch, net, optimizer, generator)
        path = os.path.join(folder, f"e{epoch}.pt")
        torch.save({"epoch": epoch, "model": net.state_dict()}, path)
        run.add(path, net.state_dict(), epoch)
    return run


def nan_run(torch, folder: str, epochs: int = 4) -> Run:
    """One layer goes non-finite from the third checkpoint on (NaN and Inf in its weight)."""
    run = Run(folder)
    generator = torch.Generator().manual_seed(4)
    torch.manual_seed(4)
    net = _net(torch)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    for epoch in range(epochs):
        _train_epoch(torch, net, optimizer, generator)
        state = net.state_dict()
        if epoch >= 2:
            broken = state["2.weight"].clone()
            broken[0, : epoch] = float("nan")
            broken[1, 0] = float("inf")
            state = {**state, "2.weight": broken}
        path = os.path.join(folder, f"checkpoint_epoch_{epoch}.pth")
        torch.save({"epoch": epoch, "state_dict": state}, path)
        run.add(path, state, epoch)
    return run


def ddp_run(torch, folder: str, epochs: int = 4) -> Run:
    """Plain keys for two epochs, then DistributedDataParallel's ``module.`` keys; one of the
    later checkpoints saves a transposed view of a weight (a non-contiguous tensor)."""
    run = Run(folder)
    generator = torch.Generator().manual_seed(5)
    torch.manual_seed(5)
    net = _net(torch)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    for epoch in range(epochs):
        _train_epoch(torch, net, optimizer, generator)
        state = net.state_dict()
        saved = state if epoch < 2 else {f"module.{key}": value for key, value in state.items()}
        if epoch == 3:
            saved["module.2.weight"] = state["2.weight"].t().contiguous().t()
        path = os.path.join(folder, f"step_{(epoch + 1) * 100}.pt")
        torch.save({"epoch": epoch, "step": (epoch + 1) * 100, "model": saved}, path)
        run.add(path, state, epoch, (epoch + 1) * 100)
    return run


def trainer_run(torch, folder: str, checkpoints: int = 3) -> Run:
    """Hugging Face Trainer ``checkpoint-N`` folders: ``model.safetensors`` beside
    ``trainer_state.json`` whose ``log_history`` grows."""
    from safetensors.torch import save_file

    run = Run(folder)
    generator = torch.Generator().manual_seed(6)
    torch.manual_seed(6)
    net = _net(torch)
    optimizer = torch.optim.AdamW(net.parameters(), lr=0.01)
    history = []
    for index in range(checkpoints):
        loss = _train_epoch(torch, net, optimizer, generator)
        step = (index + 1) * STEPS_PER_EPOCH
        history += [{"epoch": index + 0.5, "grad_norm": 1.0 / (index + 1), "learning_rate": 0.01, "loss": loss + 0.1,
                     "step": step - 2},
                    {"epoch": index + 1.0, "eval_loss": loss, "eval_runtime": 0.5, "step": step}]
        checkpoint = os.path.join(folder, f"checkpoint-{step}")
        os.makedirs(checkpoint)
        save_file({key: value.contiguous() for key, value in net.state_dict().items()},
                  os.path.join(checkpoint, "model.safetensors"), metadata={"format": "pt"})
        torch.save(optimizer.state_dict(), os.path.join(checkpoint, "optimizer.pt"))
        state = {"best_metric": None, "epoch": float(index + 1), "global_step": step, "log_history": list(history),
                 "max_steps": checkpoints * STEPS_PER_EPOCH, "is_world_process_zero": True}
        with open(os.path.join(checkpoint, "trainer_state.json"), "w") as handle:
            json.dump(state, handle)
        run.add(os.path.join(checkpoint, "model.safetensors"), net.state_dict(), index + 1, step,
                {"loss": loss + 0.1, "eval_loss": loss, "grad_norm": 1.0 / (index + 1), "learning_rate": 0.01,
                 "eval_runtime": 0.5})
    return run


def timm_run(torch, folder: str, epochs: int = 3) -> Run:
    """timm's CheckpointSaver: ``checkpoint-E.pth.tar`` with ``metric``, and
    ``model_best.pth.tar`` holding the best epoch again."""
    run = Run(folder)
    generator = torch.Generator().manual_seed(7)
    torch.manual_seed(7)
    net = _net(torch)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05)
    for epoch in range(epochs):
        _train_epoch(torch, net, optimizer, generator)
        state = {"epoch": epoch, "arch": "tiny", "state_dict": net.state_dict(), "optimizer": optimizer.state_dict(),
                 "version": 2, "metric": 60.0 + epoch}
        path = os.path.join(folder, f"checkpoint-{epoch}.pth.tar")
        torch.save(state, path)
        run.add(path, net.state_dict(), epoch, None, {"metric": 60.0 + epoch})
        if epoch == 1:
            torch.save(state, os.path.join(folder, "model_best.pth.tar"))
    run.skipped["model_best.pth.tar"] = "same epoch"
    return run


RUNS = {"lightning": lightning_run, "plain": plain_run, "frozen": frozen_run, "nan": nan_run,
        "ddp": ddp_run, "trainer": trainer_run, "timm": timm_run}


@pytest.fixture(scope="session")
def series_runs(tmp_path_factory) -> dict[str, Run]:
    """Every run, written once per test session."""
    import torch

    runs = {}
    for name, write in RUNS.items():
        folder = str(tmp_path_factory.mktemp(f"run-{name}"))
        runs[name] = write(torch, folder)
    return runs
