"""Check -> fix -> export: each suggested remap's plan, exported, loads into the real model."""

from __future__ import annotations

import collections

import pytest

from inspector.core.check import check_checkpoint
from inspector.core.export_job import export_checkpoint
from inspector.core.plan import ExportPlan
from inspector.core.progress import run_job
from tests.check_files import cheap_state_dict, model_on_meta

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")
nn = torch.nn


@pytest.fixture(scope="module")
def resnet18():
    from torchvision.models import resnet18

    return resnet18(weights=None)


def exported(source: str, plan: dict, folder, name: str = "fixed.pt"):
    destination = str(folder / name)
    run_job(export_checkpoint(source, destination, ExportPlan.from_json(plan)))
    return torch.load(destination, weights_only=True)


def remap_of(report, kind: str) -> dict:
    return next(remap for remap in report.remaps if remap["remap"]["kind"] == kind)


def test_a_renamed_module_is_found_and_the_fixed_file_loads(tmp_path, resnet18):
    state = cheap_state_dict(model_on_meta("resnet18").state_dict())
    renamed = collections.OrderedDict((key.replace("downsample", "shortcut"), value) for key, value in state.items())
    renamed._metadata = collections.OrderedDict((name.replace("downsample", "shortcut"), entry)
                                                for name, entry in state._metadata.items())
    path = str(tmp_path / "renamed.pt")
    torch.save(renamed, path)
    report = check_checkpoint(path, {"arch": "resnet18"})
    assert report.missing and report.unexpected
    remap = remap_of(report, "segment")
    assert remap["rule"] == "rename 'shortcut' to 'downsample' in every key"
    assert remap["coverage"] == 1.0 and remap["strict"]
    resnet18.load_state_dict(exported(path, remap["plan"], tmp_path), strict=True)
    applied = check_checkpoint(path, {"arch": "resnet18"}, remaps=[remap["remap"]])
    assert applied.loads_strict and applied.applied == [remap["rule"]]


def test_layernorm_gamma_and_beta_become_weight_and_bias(tmp_path):
    net = nn.Sequential(collections.OrderedDict(ln=nn.LayerNorm(4), fc=nn.Linear(4, 2)))
    target = str(tmp_path / "target.pt")
    torch.save(net.state_dict(), target)
    old = {"ln.gamma": torch.ones(4), "ln.beta": torch.zeros(4), "fc.weight": torch.ones(2, 4), "fc.bias": torch.ones(2)}
    path = str(tmp_path / "old.pt")
    torch.save(old, path)
    report = check_checkpoint(path, {"path": target})
    assert sorted(report.missing) == ["ln.bias", "ln.weight"] and sorted(report.unexpected) == ["ln.beta", "ln.gamma"]
    remap = remap_of(report, "layernorm")
    assert remap["rule"] == "rename 'gamma'/'beta' to 'weight'/'bias'" and remap["strict"]
    assert check_checkpoint(path, {"path": target}, remaps=[remap["remap"]]).loads_strict
    net.load_state_dict(exported(path, remap["plan"], tmp_path), strict=True)


def test_dropping_the_mismatched_head_lets_strict_false_load(tmp_path, check_files, resnet18):
    path = check_files["resnet18_c10.pt"]
    with pytest.raises(RuntimeError, match="size mismatch"):
        resnet18.load_state_dict(torch.load(path, weights_only=True), strict=False)
    remap = remap_of(check_checkpoint(path, {"arch": "resnet18"}), "drop")
    result = resnet18.load_state_dict(exported(path, remap["plan"], tmp_path), strict=False)
    assert result.missing_keys == ["fc.weight", "fc.bias"] and result.unexpected_keys == []


def test_the_alignment_goes_into_the_plan(tmp_path, check_files, resnet18):
    report = check_checkpoint(check_files["resnet18_dp.pt"], {"arch": "resnet18"})
    resnet18.load_state_dict(exported(check_files["resnet18_dp.pt"], report.plan, tmp_path), strict=True)


def test_another_sub_dict_is_suggested(tmp_path, check_files, resnet18):
    head_10 = torch.load(check_files["resnet18_c10.pt"], weights_only=True)
    head_1000 = torch.load(check_files["resnet18.pt"], weights_only=True)
    path = str(tmp_path / "training.pt")
    torch.save({"epoch": 3, "model": head_10, "model_ema": head_1000}, path)
    report = check_checkpoint(path, {"arch": "resnet18"})
    assert report.source["state_dict"] == ["model"] and report.head_only
    remap = remap_of(report, "subdict")
    assert remap["rule"] == "subdict 'model_ema'" and remap["strict"] and remap["plan"]["subdict"] == "model_ema"
    resnet18.load_state_dict(exported(path, remap["plan"], tmp_path), strict=True)
    assert check_checkpoint(path, {"arch": "resnet18"}, remaps=[remap["remap"]]).loads_strict


def test_a_prefix_the_model_has_is_added(tmp_path, check_files):
    report = check_checkpoint(check_files["resnet18.pt"], {"path": check_files["resnet18_dp.pt"]}, no_align=True)
    remap = remap_of(report, "add-prefix")
    assert remap["rule"] == "add 'module.'" and remap["strict"]
    assert remap["plan"]["rename"] == [{"from": "", "to": "module."}]
