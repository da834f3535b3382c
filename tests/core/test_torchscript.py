"""TorchScript archives read without running their code; torch's scripted modules are the oracle."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
import zipfile

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.formats import torchscript
from inspector.core.model import ModuleObject
from inspector.core.progress import run_job

torch = pytest.importorskip("torch")
nn = torch.nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, bias=False)
        self.bn = nn.BatchNorm2d(4)
        self.register_buffer("scale", torch.full((4,), 2.0))
        self.register_buffer("scratch", torch.zeros(2), persistent=False)
        self.offsets = torch.arange(4)  # a tensor attribute, not state
        self.depth = 3

    def forward(self, x):
        return self.bn(self.conv(x)) * self.scale[:, None, None] + self.offsets.sum()


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.layers = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 4, bias=False)])
        self.heads = nn.ModuleDict({"a": nn.Linear(4, 2), "b": nn.Sequential(nn.ReLU(), nn.Linear(4, 1))})
        self.gate = nn.Parameter(torch.ones(4, dtype=torch.float64))

    def forward(self, x):
        y = self.block(x).mean((2, 3)) * self.gate.float()
        for layer in self.layers:
            y = layer(y)
        return self.heads["a"](y).sum() + self.heads["b"](y).sum() + torch.arange(3.0).sum()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """kind -> (path, scripted module) for a scripted and a traced model."""
    folder = tmp_path_factory.mktemp("torchscript")
    torch.manual_seed(0)
    model = Net().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripts = {"scripted": torch.jit.script(model),
                   "traced": torch.jit.trace(model, torch.randn(2, 3, 6, 6))}
    result = {}
    for kind, script in scripts.items():
        path = folder / f"{kind}.pt"
        script.save(str(path))
        result[kind] = (str(path), script)
    return result


def _read(path: str):
    from inspector.core.loader import open_checkpoint

    return open_checkpoint(path)


def _dtype(tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")


@pytest.mark.parametrize("kind", ["scripted", "traced"])
def test_state_dict_matches_the_scripted_module(archives, kind):
    path, script = archives[kind]
    checkpoint = _read(path)
    assert checkpoint.format == "torchscript"
    root = checkpoint.root
    assert isinstance(root, ModuleObject)
    expected = script.state_dict()
    assert list(root.state_dict) == list(expected)
    params = {name for name, _ in script.named_parameters()}
    for key, tensor in expected.items():
        ref = root.state_dict[key]
        assert (ref.shape, ref.dtype) == (tuple(tensor.shape), _dtype(tensor)), key
        assert ref.role == ("parameter" if key in params else "buffer"), key


@pytest.mark.parametrize("kind", ["scripted", "traced"])
def test_class_names_raw_and_cleaned(archives, kind):
    path, script = archives[kind]
    checkpoint = _read(path)
    raw = {name: module._c._type().qualified_name() for name, module in script.named_modules()}
    assert checkpoint.metadata["raw_class_names"] == raw
    cleaned = checkpoint.root.submodule_classes
    assert cleaned == {name: re.sub(r"\.___torch_mangle_\d+", "", value) for name, value in raw.items()}
    assert not any("mangle" in name for name in cleaned.values())
    assert set(raw.values()) <= set(checkpoint.globals)


def test_tensor_values_equal_torch(archives):
    from inspector.core.values import read_array

    path, script = archives["scripted"]
    root = _read(path).root
    for key, tensor in script.state_dict().items():
        assert (read_array(root.state_dict[key]) == tensor.numpy()).all(), key


def test_constants_and_plain_attributes_are_shown(archives):
    path, script = archives["traced"]
    attributes = _read(path).root.attributes
    referenced = set(re.findall(r"CONSTANTS\.c\d+", script.code + script.block.code))
    assert referenced and referenced <= set(attributes)
    path, script = archives["scripted"]
    attributes = _read(path).root.attributes
    assert attributes["training"] is script.training
    assert tuple(attributes["block.offsets"].shape) == tuple(script.block.offsets.shape)
    assert attributes["block.offsets"].role == "tensor"


def test_reading_imports_neither_torch_nor_numpy(archives):
    path, _ = archives["scripted"]
    program = (
        "import sys\n"
        "from inspector.core.loader import open_checkpoint\n"
        f"checkpoint = open_checkpoint({path!r})\n"
        "assert checkpoint.format == 'torchscript', checkpoint.format\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules, 'imported'\n"
    )
    subprocess.run([sys.executable, "-c", program], check=True, timeout=60)


def _copy_without(source: str, target: str, skip) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if not skip(info.filename):
                new.writestr(info, old.read(info.filename))


def test_archive_without_code_guesses_roles_and_warns(archives, tmp_path):
    path, script = archives["scripted"]
    stripped = str(tmp_path / "no_code.pt")
    _copy_without(path, stripped, lambda name: "/code/" in name)
    checkpoint = run_job(torchscript.read(stripped))
    found = checkpoint.root.state_dict
    assert set(script.state_dict()) <= set(found)  # undeclared tensor attributes count as buffers
    params = [name for name, _ in script.named_parameters()]
    assert [key for key, ref in found.items() if ref.role == "parameter"] == params
    assert any("no parameter/buffer declarations" in warning for warning in checkpoint.warnings)


def test_declarations_are_parsed_as_text_only():
    text = (
        "class Linear(Module):\n"
        "  __parameters__ = [\"weight\", \"bias\", ]\n"
        "  __buffers__ = []\n"
        "  def forward(self):\n"
        "    __parameters__ = [\"not_me\"]\n"
        "class Norm(Module):\n"
        "  __parameters__ = ['gamma']\n"
        "  __buffers__ = [\"running_mean\", \"num_batches_tracked\", ]\n"
        "__buffers__ = [\"outside\"]\n"
    )
    found = torchscript.parse_declarations("__torch__.m", text)
    assert found["__torch__.m.Linear"].parameters == {"weight", "bias", "not_me"}
    assert found["__torch__.m.Norm"].parameters == {"gamma"}
    assert found["__torch__.m.Norm"].buffers == {"running_mean", "num_batches_tracked"}


def test_missing_data_pickle_is_a_clear_error(archives, tmp_path):
    path, _ = archives["scripted"]
    broken = str(tmp_path / "broken.pt")
    _copy_without(path, broken, lambda name: name.endswith("data.pkl"))
    with pytest.raises(CheckpointError, match="data.pkl"):
        run_job(torchscript.read(broken))


def test_module_that_contains_itself_is_cut_not_looped(tmp_path):
    loop = (b"\x80\x02c__torch__\nLoop\nq\x00)\x81q\x01}q\x02(X\x08\x00\x00\x00trainingq\x03\x88"
            b"X\x04\x00\x00\x00selfq\x04h\x01ub.")
    path = str(tmp_path / "loop.pt")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("loop/data.pkl", loop)
        archive.writestr("loop/constants.pkl", b"\x80\x02).")
        archive.writestr("loop/code/__torch__.py", "class Loop(Module):\n  __parameters__ = []\n")
    checkpoint = run_job(torchscript.read(path))
    assert checkpoint.root.state_dict == {}
    assert len(checkpoint.root.submodule_classes) == torchscript.MAX_DEPTH + 1
    assert any("nested deeper" in warning for warning in checkpoint.warnings)


def test_oversized_code_files_are_skipped_with_a_warning(archives, monkeypatch):
    monkeypatch.setattr(torchscript, "MAX_CODE_FILE_BYTES", 64)
    path, script = archives["scripted"]
    checkpoint = run_job(torchscript.read(path))
    assert checkpoint.metadata["code_files"] == []
    assert any("too large to scan" in warning for warning in checkpoint.warnings)
    assert set(script.state_dict()) <= set(checkpoint.root.state_dict)


@pytest.mark.parametrize("kind", ["scripted", "traced"])
def test_torchscript_own_classes_raise_no_import_warning(archives, kind):
    checkpoint = _read(archives[kind][0])
    assert any(name.startswith("__torch__.") for name in checkpoint.globals)
    assert not any("__torch__" in warning for warning in checkpoint.warnings)
