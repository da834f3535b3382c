"""load_checkpoint/open_checkpoint: dispatch per format (torch as the oracle), errors, safety."""

from __future__ import annotations

import json
import os
import pickle
import struct
import sys
import types
import warnings

import pytest

from inspector.core.errors import Cancelled, CheckpointError
from inspector.core.loader import load_checkpoint, open_checkpoint
from inspector.core.progress import Progress

torch = pytest.importorskip("torch")


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                               torch.nn.Linear(4, 3))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """One file or folder per format, with the state dict torch should find in it."""
    from safetensors.torch import save_file

    folder = tmp_path_factory.mktemp("loader")
    model = _model()
    state = model.state_dict()
    files = {}
    files["torch-zip"] = folder / "zip.pt"
    torch.save({"model": state, "epoch": 2}, files["torch-zip"])
    files["torch-legacy"] = folder / "legacy.pt"
    torch.save({"model": state, "epoch": 2}, files["torch-legacy"], _use_new_zipfile_serialization=False)
    files["module"] = folder / "module.pt"
    torch.save(model, files["module"])
    files["torchscript"] = folder / "script.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.jit.save(torch.jit.script(model), files["torchscript"])
    files["safetensors"] = folder / "model.safetensors"
    save_file(dict(state), files["safetensors"])
    files["hf-sharded"] = _write_shards(folder / "shards", state, save_file)
    files["dcp"] = _write_dcp(folder / "dcp", state)
    files["pickle"] = folder / "plain.pkl"
    files["pickle"].write_bytes(pickle.dumps({"epoch": 2, "model": state}, protocol=4))
    return {name: str(path) for name, path in files.items()}, state


def _write_shards(folder, state, save_file):
    folder.mkdir()
    keys = list(state)
    halves = {"model-00001-of-00002.safetensors": keys[: len(keys) // 2],
              "model-00002-of-00002.safetensors": keys[len(keys) // 2:]}
    weight_map = {}
    for shard, shard_keys in halves.items():
        save_file({key: state[key].contiguous() for key in shard_keys}, folder / shard)
        weight_map.update(dict.fromkeys(shard_keys, shard))
    index = {"metadata": {"total_size": 0}, "weight_map": weight_map}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def _write_dcp(folder, state):
    import torch.distributed.checkpoint as dcp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "assuming ... a single process"
        dcp.save({"model": dict(state), "step": 3}, checkpoint_id=str(folder))
    return folder


def _described(checkpoint) -> dict:
    return {path: (tensor.shape, tensor.dtype) for path, tensor in checkpoint.iter_tensors()}


def _expected(state, prefix=()) -> dict:
    return {prefix + (key,): (tuple(value.shape), str(value.dtype).removeprefix("torch."))
            for key, value in state.items()}


@pytest.mark.parametrize("name, prefix", [
    ("torch-zip", ("model",)), ("torch-legacy", ("model",)), ("pickle", ("model",)),
    ("safetensors", ()), ("hf-sharded", ()), ("dcp", ("model",)), ("module", ()), ("torchscript", ()),
])
def test_every_format_lists_torchs_state_dict(written, name, prefix):
    files, state = written
    checkpoint = open_checkpoint(files[name])
    assert checkpoint.format == ("torch-zip" if name == "module" else name)
    described = _described(checkpoint)
    expected = _expected(state, prefix)
    assert {path: described[path] for path in expected if path in described} == expected


def test_pickled_module_becomes_state_dict_with_roles(written):
    files, state = written
    checkpoint = open_checkpoint(files["module"])
    roles = {path[-1]: tensor.role for path, tensor in checkpoint.iter_tensors()}
    assert list(roles) == list(state)
    assert roles["0.weight"] == "parameter" and roles["1.running_var"] == "buffer"


def test_progress_is_reported_and_cancel_stops(written):
    files, _ = written
    reports: list[Progress] = []
    open_checkpoint(files["torch-zip"], reports.append)
    assert reports and all(isinstance(report, Progress) for report in reports)

    def cancel(_report):
        raise Cancelled()

    with pytest.raises(Cancelled):
        open_checkpoint(files["torch-zip"], cancel)


def test_code_running_globals_are_warned_about_and_never_run(tmp_path):
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"weights": [1.0], "payload": Exploit()}, protocol=2))
    checkpoint = open_checkpoint(str(path))
    assert any("system" in warning for warning in checkpoint.warnings)
    assert any(name.endswith(".system") for name in checkpoint.globals)
    assert not marker.exists()


@pytest.mark.parametrize("error", [RuntimeError("boom"), MemoryError(), RecursionError("deep"),
                                   KeyError("x"), struct.error("bad")])
def test_reader_crashes_become_one_line_checkpoint_errors(written, monkeypatch, error):
    files, _ = written

    def read(path):
        yield Progress(0, 0)
        raise error

    fake = types.ModuleType("inspector.core.formats.torch_zip")
    fake.read = read
    monkeypatch.setitem(sys.modules, "inspector.core.formats.torch_zip", fake)
    with pytest.raises(CheckpointError) as caught:
        open_checkpoint(files["torch-zip"])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(files["torch-zip"] + ": cannot be read as a checkpoint (")
    assert type(error).__name__ in message


def test_sniff_errors_come_through_before_any_reader(tmp_path):
    path = tmp_path / "empty.pt"
    path.write_bytes(b"")
    job = load_checkpoint(str(path))
    with pytest.raises(CheckpointError, match="empty"):
        next(job)
