"""Demo checkpoints built locally from torchvision's ResNet-18 architecture (no downloads).

Three files, deterministic (fixed seeds), cached and reused:
a plain state_dict, a general training checkpoint with optimizer state after one real Adam
step, and a fine-tuned variant with a new 10-class head and slightly changed weights.
torch and torchvision are imported only to build them.
"""

from __future__ import annotations

import os
from typing import Any

from inspector.core.progress import Job, Progress

STATE_DICT_FILE = "resnet18_state_dict.pt"
TRAINING_FILE = "resnet18_training_checkpoint.pt"
FINETUNED_FILE = "resnet18_finetuned_10_classes.pt"
DEMO_FILES = (STATE_DICT_FILE, TRAINING_FILE, FINETUNED_FILE)
FINETUNED_CLASSES = 10


def default_cache_dir() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "checkpoint-inspector", "demo")


def cached_demo_files(cache_dir: str) -> list[str] | None:
    """The demo files when all of them are already in ``cache_dir`` (no torch needed)."""
    paths = [os.path.join(cache_dir, name) for name in DEMO_FILES]
    return paths if all(os.path.isfile(path) for path in paths) else None


def build_demo_job(cache_dir: str) -> Job[list[str]]:
    """Write the demo files into ``cache_dir`` unless they are there; returns their paths."""
    cached = cached_demo_files(cache_dir)
    if cached is not None:
        return cached
    yield Progress(0, 4, "Importing torch and torchvision to build the demo checkpoints…")
    import torch
    from torchvision.models import resnet18

    os.makedirs(cache_dir, exist_ok=True)
    torch.manual_seed(0)
    model = resnet18(weights=None)
    _save(torch, model.state_dict(), os.path.join(cache_dir, STATE_DICT_FILE))
    yield Progress(1, 4, "Training one step for the optimizer-state demo…")
    optimizer, loss = _train_one_step(torch, model)
    training = {"epoch": 1, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict(), "loss": loss}
    _save(torch, training, os.path.join(cache_dir, TRAINING_FILE))
    yield Progress(2, 4, "Building the fine-tuned variant…")
    _fine_tune(torch, model)
    _save(torch, model.state_dict(), os.path.join(cache_dir, FINETUNED_FILE))
    yield Progress(4, 4, "Demo checkpoints ready")
    return [os.path.join(cache_dir, name) for name in DEMO_FILES]


def _train_one_step(torch: Any, model: Any) -> tuple[Any, float]:
    generator = torch.Generator().manual_seed(1)
    images = torch.randn(4, 3, 64, 64, generator=generator)
    labels = torch.randint(0, 1000, (4,), generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    loss = torch.nn.functional.cross_entropy(model(images), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return optimizer, float(loss.detach())


def _fine_tune(torch: Any, model: Any) -> None:
    """A new head for another task, and every other weight nudged a little."""
    generator = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator) * 0.01 * parameter.std().nan_to_num())
    torch.manual_seed(3)
    model.fc = torch.nn.Linear(model.fc.in_features, FINETUNED_CLASSES)


def _save(torch: Any, value: Any, path: str) -> None:
    partial = path + ".partial"
    torch.save(value, partial)
    os.replace(partial, path)  # a half-written file is never taken for a cached one
