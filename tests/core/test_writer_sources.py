"""Both writers fed from every readable source format: what comes out equals what torch (or
safetensors) saved, read back with torch.load(weights_only=True) or load_file."""

from __future__ import annotations

import warnings

import pytest
import torch
from safetensors.torch import load_file, save_file

from inspector.core.progress import run_job
from inspector.core.writers import output_format
from tests.core.export_sources import assert_same_tensor, mixed_state_dict, output_tensors
from tests.core.test_hf_sharded import write_safetensors_folder

checkpoint_api = pytest.importorskip("torch.distributed.checkpoint")


def plain_state() -> dict[str, torch.Tensor]:
    """Dtypes every source format and both outputs hold, with a transposed view and a tie."""
    state = {key: value for key, value in mixed_state_dict().items()
             if key in ("dtype.float32", "dtype.bfloat16", "dtype.float16", "dtype.int64", "dtype.bool",
                        "dtype.float64", "dtype.int8", "views.base", "views.transposed", "tied.a", "tied.b")}
    return state


def contiguous_unshared(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """What safetensors-based formats can hold: every tensor dense and on its own."""
    return {key: value.contiguous().clone() for key, value in state.items()}


def torch_legacy(folder):
    state = plain_state()
    path = str(folder / "legacy.pt")
    torch.save(state, path, _use_new_zipfile_serialization=False)
    return path, state, ""


def pickled_module(folder):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(),
                                torch.nn.Linear(4, 4).to(torch.bfloat16))
    with torch.no_grad():
        model[1].running_mean.uniform_()
    path = str(folder / "module.pt")
    torch.save(model, path)
    return path, model.state_dict(), ""


def safetensors_file(folder):
    state = contiguous_unshared(plain_state())
    path = str(folder / "source.safetensors")
    save_file(state, path)
    return path, state, ""


def hf_sharded(folder):
    state = contiguous_unshared(plain_state())
    write_safetensors_folder(folder, state)
    return str(folder), state, ""


def dcp_folder(folder):
    state = contiguous_unshared(plain_state())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        checkpoint_api.save({"model": dict(state)}, checkpoint_id=str(folder / "dcp"))
    return str(folder / "dcp"), state, "model."


SOURCES = [torch_legacy, pickled_module, safetensors_file, hf_sharded, dcp_folder]


@pytest.fixture(scope="module", params=SOURCES, ids=lambda make: make.__name__)
def source(request, tmp_path_factory):
    return request.param(tmp_path_factory.mktemp(request.param.__name__))


def load(path: str) -> dict[str, torch.Tensor]:
    return load_file(path) if path.endswith(".safetensors") else torch.load(path, weights_only=True)


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_export_equals_what_was_saved(source, suffix, tmp_path):
    path, state, strip = source
    out = str(tmp_path / f"out{suffix}")
    run_job(output_format(out).write(output_tensors(path, strip), out))
    loaded = load(out)
    aliased = suffix == ".safetensors" and "tied.b" in state and \
        state["tied.b"].data_ptr() == state["tied.a"].data_ptr()
    assert set(loaded) == set(state) - ({"tied.b"} if aliased else set())
    for key in loaded:
        assert_same_tensor(loaded[key], state[key])
