"""Fixtures shared by core and GUI tests: small real checkpoints written by torch and
safetensors once per session, and broken files. Qt-free."""

from __future__ import annotations

import os
import pickle

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class SmallNet:
    """Built lazily so that importing this conftest does not import torch."""

    @staticmethod
    def build():
        import torch

        layers = [torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.ReLU()]
        layers += [torch.nn.Conv2d(4, 4, 1) for _ in range(10)]  # layers.12 must sort after layers.2
        layers += [torch.nn.Flatten(), torch.nn.Linear(4 * 6 * 6, 5)]
        return torch.nn.Sequential(*layers)


@pytest.fixture(scope="session")
def checkpoint_files(tmp_path_factory):
    """Small real checkpoints: a general training checkpoint, a plain state dict, a
    safetensors file; written once per session by torch and safetensors."""
    import torch
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("checkpoints")
    torch.manual_seed(0)
    net = SmallNet.build()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    net(torch.randn(2, 3, 8, 8)).square().mean().backward()
    optimizer.step()
    files = {name: str(folder / name) for name in ("general.pt", "state_dict.pt", "weights.safetensors")}
    torch.save({"epoch": 7, "model_state_dict": net.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
                "loss": 0.125, "hyper_parameters": {"lr": 0.1, "name": "run-1"}}, files["general.pt"])
    torch.save(net.state_dict(), files["state_dict.pt"])
    save_file({key: value.contiguous() for key, value in net.state_dict().items()
               if value.dtype.is_floating_point}, files["weights.safetensors"])
    return files


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    files = {"random.pt": os.urandom(4096),
             "page.pt": b"<!DOCTYPE html><html><head><title>404 Not Found</title></head></html>\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: str(folder / name) for name in files}


@pytest.fixture(scope="session")
def slow_file(tmp_path_factory):
    """A plain pickle with 300k entries: seconds to read, well under a second to write."""
    path = tmp_path_factory.mktemp("slow") / "slow.pkl"
    data = {f"layers.{index}.weight": [index, float(index)] for index in range(300_000)}
    path.write_bytes(pickle.dumps(data, protocol=2))
    return str(path)


@pytest.fixture(scope="session")
def check_files(tmp_path_factory):
    """Checkpoints of torchvision architectures (values shared: a check never reads them)."""
    from tests.check_files import write_check_files

    return write_check_files(tmp_path_factory.mktemp("check"))


from tests.series_runs import series_runs  # noqa: E402,F401  (a session fixture: training runs written by torch)
