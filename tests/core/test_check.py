"""The check against torch itself: the real torchvision model, built on CPU, loading the real
tensors ``torch.load`` reads from the same file (same missing, unexpected, mismatched keys and
the same error text)."""

from __future__ import annotations

import collections

import pytest

from inspector.core.check import check_checkpoint
from inspector.core.errors import CheckpointError

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")


class TorchAnswer:
    """What the real model says: strict error text, then, with the size mismatches left out,
    strict=False's lists, and the loaded count (target entries that got a value from the file)."""

    def __init__(self, model, state_dict) -> None:
        self.strict_error = _load_error(model, state_dict, strict=True)
        target = model.state_dict()
        self.mismatched = [{"key": key, "checkpoint": list(value.shape), "model": list(target[key].shape)}
                           for key, value in state_dict.items() if key in target and not _fits(value, target[key])]
        kept = collections.OrderedDict((key, value) for key, value in state_dict.items()
                                       if key not in {entry["key"] for entry in self.mismatched})
        if hasattr(state_dict, "_metadata"):
            kept._metadata = state_dict._metadata
        result = model.load_state_dict(kept, strict=False)
        self.missing, self.unexpected = result.missing_keys, result.unexpected_keys
        self.self_filled = [key for key in target if key.endswith("num_batches_tracked")
                            and key not in state_dict and key not in self.missing]
        self.loaded = len(target) - len(self.missing) - len(self.self_filled)
        self.target_tensors = len(target)


def _fits(given, wanted) -> bool:
    return tuple(given.shape) == tuple(wanted.shape) or (wanted.dim() == 0 and tuple(given.shape) == (1,))


def _load_error(model, state_dict, strict: bool) -> str | None:
    try:
        model.load_state_dict(state_dict, strict=strict)
    except RuntimeError as error:
        return str(error)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    return None


@pytest.fixture(scope="module")
def real_model():
    """``real_model(arch, **options)``: the torchvision model on CPU, as a user builds it (once
    per module: loading only changes its values, which no answer depends on)."""
    from torchvision.models import get_model

    built = {}

    def build(arch: str, **options):
        key = (arch, tuple(sorted(options.items())))
        if key not in built:
            built[key] = get_model(arch, weights=None, **options)
        return built[key]
    return build


def read(path: str):
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        return load_file(path)
    return torch.load(path, weights_only=True)


def assert_same_answer(report, answer: TorchAnswer) -> None:
    assert report.strict_error == answer.strict_error
    assert report.mismatched == answer.mismatched
    assert report.missing == answer.missing
    assert report.unexpected == answer.unexpected
    assert report.self_filled == answer.self_filled
    assert (report.loaded, report.target_tensors) == (answer.loaded, answer.target_tensors)
    assert report.coverage == answer.loaded / answer.target_tensors


def test_a_matching_file_loads_strictly(check_files, real_model):
    path = check_files["resnet18.pt"]
    report = check_checkpoint(path, {"arch": "resnet18"})
    assert_same_answer(report, TorchAnswer(real_model("resnet18"), read(path)))
    assert report.loads_strict and report.strict_error is None and report.coverage == 1.0
    assert report.remaps == [] and report.warnings == [] and report.alignment == {"rules": []}
    assert {fate for _path, fate in report.fates} == {"loads"}


def test_another_num_classes_is_a_head_only_mismatch(check_files, real_model):
    path = check_files["resnet18_c10.pt"]
    report = check_checkpoint(path, {"arch": "resnet18"})
    assert_same_answer(report, TorchAnswer(real_model("resnet18"), read(path)))
    assert [entry["key"] for entry in report.mismatched] == ["fc.weight", "fc.bias"]
    assert report.head_only and not report.loads_strict
    assert report.groups["missing"] == [{"module": "fc", "names": ["weight", "bias"], "count": 2}]
    fates = {tuple(path): fate for path, fate in report.fates}
    assert fates[("fc.weight",)] == "mismatched" and fates[("layer1.0.conv1.weight",)] == "loads"
    assert report.module_fates["fc"] == "mismatched" and report.module_fates["layer1.0"] == "loads"
    assert "" not in report.module_fates  # the whole file: some load, some do not
    assert any("still raises on the 2 size mismatches" in warning for warning in report.warnings)
    hint = report.class_count_hint
    assert hint["num_classes"] == 10 and hint["strict"] and hint["coverage"] == 1.0
    drop = next(remap for remap in report.remaps if remap["remap"]["kind"] == "drop")
    assert drop["rule"] == "drop the mismatched head (fc.weight, fc.bias)"
    assert drop["plan"]["exclude"] == ["fc"] and drop["loaded"] == report.loaded
    fixed = check_checkpoint(path, {"arch": "resnet18", "num_classes": 10})
    assert fixed.loads_strict and fixed.target == {"arch": "resnet18", "num_classes": 10}


def test_a_backbone_mismatch_is_not_head_only(check_files, real_model):
    path = check_files["mnasnet0_5.pt"]
    report = check_checkpoint(path, {"arch": "mnasnet1_0"})
    assert_same_answer(report, TorchAnswer(real_model("mnasnet1_0"), read(path)))
    assert report.mismatched and not report.head_only and report.class_count_hint is None
    assert any("would load only" in warning for warning in report.warnings)


def test_a_data_parallel_file_loads_once_aligned(check_files, real_model):
    from torch.nn.modules.utils import consume_prefix_in_state_dict_if_present

    path = check_files["resnet18_dp.pt"]
    report = check_checkpoint(path, {"arch": "resnet18"})
    state_dict = read(path)
    consume_prefix_in_state_dict_if_present(state_dict, "module.")  # what a user does, version table included
    assert_same_answer(report, TorchAnswer(real_model("resnet18"), state_dict))
    assert report.loads_strict and report.alignment == {"rules": ["strip 'module.'"]}
    assert report.plan["rename"] == [{"from": "module.", "to": ""}]


def test_a_data_parallel_file_without_alignment_loads_nothing(check_files, real_model):
    path = check_files["resnet18_dp.pt"]
    report = check_checkpoint(path, {"arch": "resnet18"}, no_align=True)
    assert_same_answer(report, TorchAnswer(real_model("resnet18"), read(path)))
    assert report.loaded == 0 and report.alignment == {"rules": []}
    assert any("NOTHING" in warning for warning in report.warnings)
    best = report.remaps[0]
    assert best["rule"] == "strip 'module.'" and best["coverage"] == 1.0 and best["strict"]
    assert {fate for _path, fate in report.fates} == {"unexpected"}


def test_batchnorm_without_num_batches_tracked_from_a_version_2_file_misses_them(check_files, real_model):
    path = check_files["shufflenet_no_nbt.pt"]
    report = check_checkpoint(path, {"arch": "shufflenet_v2_x0_5"})
    assert_same_answer(report, TorchAnswer(real_model("shufflenet_v2_x0_5"), read(path)))
    assert report.missing and all(key.endswith("num_batches_tracked") for key in report.missing)


def test_batchnorm_without_num_batches_tracked_from_safetensors_is_filled_in(check_files, real_model):
    path = check_files["shufflenet_no_nbt.safetensors"]
    report = check_checkpoint(path, {"arch": "shufflenet_v2_x0_5"})
    assert_same_answer(report, TorchAnswer(real_model("shufflenet_v2_x0_5"), read(path)))
    assert report.loads_strict and report.self_filled and report.missing == []
    assert report.loaded + len(report.self_filled) == report.target_tensors


def test_a_regnet_is_checked_on_meta(check_files, real_model):
    path = check_files["regnet_x_400mf.pt"]
    report = check_checkpoint(path, {"arch": "regnet_x_400mf"})
    assert_same_answer(report, TorchAnswer(real_model("regnet_x_400mf"), read(path)))
    assert report.loads_strict
    other = check_checkpoint(path, {"arch": "regnet_x_400mf", "num_classes": 10})
    assert_same_answer(other, TorchAnswer(real_model("regnet_x_400mf", num_classes=10), read(path)))
    assert other.head_only and other.class_count_hint["num_classes"] == 1000


def test_mnasnet_from_safetensors_raises_inside_torch_and_the_check_says_so(check_files, real_model):
    path = check_files["mnasnet0_5.safetensors"]
    report = check_checkpoint(path, {"arch": "mnasnet0_5"})
    expected = _load_error(real_model("mnasnet0_5"), read(path), strict=True)
    assert expected.startswith("ValueError: version should be set to 1 or 2")
    assert report.strict_error == expected and report.raised == expected
    assert report.loaded == 0 and not report.loads_strict and len(report.missing) == report.target_tensors
    assert "_metadata" in report.warnings[0] and "Nothing loads" in report.warnings[0]
    assert check_checkpoint(check_files["mnasnet0_5.pt"], {"arch": "mnasnet0_5"}).loads_strict


def test_vit_b_16_loads_and_so_do_its_legacy_keys(check_files, real_model):
    model = real_model("vit_b_16")
    for name in ("vit_b_16.pt", "vit_b_16_legacy.pt"):
        report = check_checkpoint(check_files[name], {"arch": "vit_b_16"})
        assert_same_answer(report, TorchAnswer(model, read(check_files[name])))
        assert report.loads_strict
    legacy_keys = set(read(check_files["vit_b_16_legacy.pt"]))
    assert legacy_keys != set(model.state_dict())  # comparing key sets alone would call it broken


def test_against_another_checkpoint(check_files, real_model):
    path, other = check_files["resnet18_c10.pt"], check_files["resnet18.pt"]
    report = check_checkpoint(path, {"path": other})
    answer = TorchAnswer(real_model("resnet18"), read(path))
    assert report.target == {"path": other}
    assert report.mismatched == answer.mismatched and report.missing == answer.missing
    assert report.strict_error.split("\n", 1)[1] == answer.strict_error.split("\n", 1)[1]
    assert report.head_only  # fc is the last module of the other file


def test_against_a_data_parallel_checkpoint_adds_its_prefix(check_files):
    report = check_checkpoint(check_files["resnet18.pt"], {"path": check_files["resnet18_dp.pt"]})
    assert report.alignment == {"rules": ["add 'module.'"]} and report.loads_strict


def test_an_unknown_architecture_names_close_ones(check_files):
    with pytest.raises(CheckpointError, match=r"no architecture 'resnet19'; did you mean resnet18"):
        check_checkpoint(check_files["resnet18.pt"], {"arch": "resnet19"})


def test_a_builder_option_it_does_not_take_is_one_line(check_files):
    with pytest.raises(CheckpointError, match=r"cannot build raft_small \(num_classes=10\)"):
        check_checkpoint(check_files["resnet18.pt"], {"arch": "raft_small", "num_classes": 10})


@pytest.mark.parametrize("remap, message", [
    ({"kind": "rotate"}, "not a remap"), ({"kind": "strip-prefix"}, "needs a non-empty 'prefix'"),
    ({"kind": "regex", "pattern": "(", "replacement": ""}, "bad regex rename"),
    ({"kind": "drop", "keys": "fc.weight"}, "list of 'keys'")])
def test_bad_remaps_are_refused(check_files, remap, message):
    with pytest.raises(CheckpointError, match=message):
        check_checkpoint(check_files["resnet18.pt"], {"arch": "resnet18"}, remaps=[remap])


@pytest.mark.parametrize("arch", ["fasterrcnn_mobilenet_v3_large_320_fpn", "lraspp_mobilenet_v3_large", "r3d_18",
                                  "raft_small", "quantized_mobilenet_v2", "regnet_y_400mf"])
def test_every_family_builds_on_meta_without_a_download(arch, monkeypatch):
    from torchvision.models import get_model
    from torchvision.models._api import WeightsEnum

    from inspector.core.check_targets import ArchTarget

    def no_download(*args, **kwargs):
        raise AssertionError(f"{arch} asked for weights")
    monkeypatch.setattr(WeightsEnum, "get_state_dict", no_download)  # every builder's way to weights
    state = ArchTarget(arch).build().state_dict()
    assert state and all(tensor.is_meta for tensor in state.values())
    backbone = {"weights_backbone": None} if arch.startswith(("fasterrcnn", "lraspp")) else {}
    assert list(state) == list(get_model(arch, weights=None, **backbone).state_dict())
    with pytest.raises(AssertionError, match="asked for weights"):  # the guard does catch a download
        get_model(arch, weights="DEFAULT")
