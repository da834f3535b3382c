"""The export plan on files torch wrote: which keys go out under which names, which are frozen,
what is dropped and why; torch's own module tree and parameter list are the oracle."""

from __future__ import annotations

import json

import pytest
import torch
from torchvision.models import resnet18

from inspector.core.errors import CheckpointError
from inspector.core.loader import open_checkpoint
from inspector.core.plan import ExportPlan
from inspector.core.writers import PT, SAFETENSORS


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return resnet18(weights=None)


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    """A training checkpoint: the model under "model" (as DataParallel saves it), an optimizer."""
    path = str(tmp_path_factory.mktemp("plan") / "train.pt")
    wrapped = torch.nn.DataParallel(model)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    torch.save({"epoch": 3, "model": wrapped.state_dict(), "optimizer": optimizer.state_dict()}, path)
    return open_checkpoint(path)


STRIP_MODULE = (("module.", ""),)


def prefixed(module: torch.nn.Module, prefix: str) -> list[str]:
    return [prefix + key for key in module.state_dict()]


def test_json_round_trip_and_contract_shape(tmp_path):
    plan = ExportPlan(subdict="model", include=("layer4", "fc"), exclude=("*.num_batches_tracked",),
                      freeze=("layer4.0",), rename=(("module.", ""), ("", "backbone.")), dtype="bfloat16")
    document = plan.to_json()
    assert document == {"version": 1, "subdict": "model", "include": ["layer4", "fc"],
                        "exclude": ["*.num_batches_tracked"], "freeze": ["layer4.0"],
                        "rename": [{"from": "module.", "to": ""}, {"from": "", "to": "backbone."}],
                        "dtype": "bfloat16"}
    assert ExportPlan.from_json(json.loads(json.dumps(document))) == plan
    path = str(tmp_path / "plan.json")
    plan.save(path)
    assert ExportPlan.load(path) == plan
    assert ExportPlan.from_json({"version": 1}) == ExportPlan()


@pytest.mark.parametrize("document, message", [
    ({"version": 2}, "version"),
    ({"inclde": ["x"]}, "unknown field 'inclde'"),
    ({"include": "layer4"}, "list of strings"),
    ({"include": [""]}, "non-empty"),
    ({"dtype": "int8"}, "cannot cast"),
    ({"rename": [{"from": "a."}], "subdict": 3}, "subdict"),
    ({"rename": [{"old": "a."}]}, "rename"),
    ({"rename": [{"from": "", "to": ""}]}, "rename needs"),
    ([], "JSON object"),
])
def test_bad_plans_are_refused_with_a_reason(document, message):
    with pytest.raises(CheckpointError, match=message):
        ExportPlan.from_json(document)


def test_plan_file_errors_name_the_file(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CheckpointError, match="broken.json is not a JSON export plan"):
        ExportPlan.load(str(broken))
    with pytest.raises(CheckpointError, match="cannot read the plan"):
        ExportPlan.load(str(tmp_path / "missing.json"))


def test_rename_strips_the_data_parallel_prefix(model, saved):
    resolved = ExportPlan(rename=STRIP_MODULE).resolve(saved)
    assert list(resolved.state_dict.path) == ["model"]
    assert resolved.keys == list(model.state_dict())
    assert resolved.produced_by["fc.weight"] == ["strip 'module.'"]
    assert resolved.source_keys["fc.weight"] == "module.fc.weight"
    assert resolved.dropped == []


def test_include_exclude_by_module_prefix_and_glob(model, saved):
    plan = ExportPlan(rename=STRIP_MODULE, include=("layer4", "fc"), exclude=("*.running_*",))
    resolved = plan.resolve(saved)
    expected = [key for key in prefixed(model.layer4, "layer4.") + prefixed(model.fc, "fc.")
                if "running_mean" not in key and "running_var" not in key]
    assert resolved.keys == expected
    reasons = dict(resolved.dropped)
    assert reasons["module.layer4.0.bn1.running_mean"] == "excluded by '*.running_*'"
    assert reasons["module.conv1.weight"] == "not matched by any include pattern"
    assert len(resolved.dropped) + len(resolved.keys) == len(model.state_dict())


def test_freeze_marks_parameters_only(model, saved):
    frozen_modules = ("conv1", "bn1", "layer1", "layer2")
    resolved = ExportPlan(rename=STRIP_MODULE, freeze=frozen_modules).resolve(saved)
    parameters = [name for name, _ in model.named_parameters()]
    assert resolved.frozen == [name for name in parameters if name.split(".")[0] in frozen_modules]
    assert resolved.trainable == [name for name in parameters if name.split(".")[0] not in frozen_modules]
    buffers = {name for name, _ in model.named_buffers()}
    assert not buffers & set(resolved.frozen + resolved.trainable)


def test_a_prefix_pattern_stops_at_a_dot():
    from inspector.core.key_globs import matches

    assert matches("layer4.0.conv1.weight", "layer4")
    assert not matches("layer40.weight", "layer4")
    assert matches("layer1.0.bn1.running_mean", "*.bn*.running_*")
    assert matches("layer4.1.conv2.weight", "layer4.*")


def test_renames_that_collide_are_refused(saved):
    plan = ExportPlan(rename=(("module.layer1", "x"), ("module.layer2", "x")))
    with pytest.raises(CheckpointError, match="ambiguous"):
        plan.resolve(saved)


def test_subdict_and_dtype(model, saved):
    resolved = ExportPlan(subdict="model", rename=STRIP_MODULE, dtype="float16").resolve(saved)
    dtypes = {tensor.key: tensor.dtype for tensor in resolved.tensors}
    for key, value in model.state_dict().items():
        expected = "float16" if value.is_floating_point() else str(value.dtype).removeprefix("torch.")
        assert dtypes[key] == expected


def test_missing_subdict_names_what_is_there(saved):
    with pytest.raises(CheckpointError, match="'model'"):
        ExportPlan(subdict="ema").resolve(saved)


def test_what_the_format_cannot_hold_is_dropped_with_the_reason(tmp_path):
    path = str(tmp_path / "mixed.pt")
    torch.save({"w": torch.randn(2, 2), "z": torch.randn(2, dtype=torch.complex128),
                "m": torch.empty(3, device="meta")}, path)
    checkpoint = open_checkpoint(path)
    assert ExportPlan().resolve(checkpoint, PT.cannot_hold).keys == ["w", "z"]
    resolved = ExportPlan().resolve(checkpoint, SAFETENSORS.cannot_hold)
    assert resolved.keys == ["w"]
    assert dict(resolved.dropped) == {"z": "safetensors has no complex128 type",
                                      "m": "no data in the file (a meta tensor)"}


def test_plans_are_immutable_values():
    plan = ExportPlan(include=("a",))
    assert plan.replace(freeze=("a",)) == ExportPlan(include=("a",), freeze=("a",))
    assert plan == ExportPlan(include=("a",))
    with pytest.raises(AttributeError):
        plan.include = ("b",)


def test_globs_that_match_nothing_are_reported(saved):
    plan = ExportPlan(rename=STRIP_MODULE, include=("layer4", "layr3"), freeze=("layer4.0", "layer5"))
    assert plan.resolve(saved).unmatched == [("include", "layr3"), ("freeze", "layer5")]
