"""The whole export on a torchvision model: output, sidecar, and the sidecar's snippet run by
torch against a fresh model (frozen parameters, BatchNorm in eval, optimizer, values)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys

import pytest
import torch
from torchvision.models import resnet18

from inspector.core.errors import CheckpointError
from inspector.core.export_job import export_checkpoint, sidecar_path
from inspector.core.plan import ExportPlan
from inspector.core.progress import run_job

FROZEN_MODULES = ("conv1", "bn1", "layer1", "layer2")
SIDECAR_FIELDS = ["source", "plan", "keys", "frozen", "trainable", "dropped", "snippet"]

CHECK_AFTER_SNIPPET = """
source = torch.load(sys.argv[1], weights_only=True)
loaded = model.state_dict()
report = {
    "requires_grad": {name: p.requires_grad for name, p in model.named_parameters()},
    "batch_norm_eval": sorted(name for name, m in model.named_modules()
                              if isinstance(m, torch.nn.BatchNorm2d) and not m.training),
    "optimizer_parameters": sum(len(group["params"]) for group in optimizer.param_groups),
    "trainable_parameters": sum(1 for p in model.parameters() if p.requires_grad),
    "equal": sorted(key for key in source if key in loaded and torch.equal(loaded[key], source[key])),
}
print("REPORT " + json.dumps(report))
"""


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    network = resnet18(weights=None)
    with torch.no_grad():  # running statistics a fresh model would not have
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.running_mean.uniform_(-1, 1)
                module.running_var.uniform_(0.5, 2)
    return network


@pytest.fixture(scope="module")
def source(model, tmp_path_factory):
    path = str(tmp_path_factory.mktemp("export_job") / "resnet18.pt")
    torch.save(model.state_dict(), path)
    return path


def run_snippet(snippet: str, source: str) -> tuple[dict, str]:
    """Run the snippet in a fresh interpreter on a freshly built resnet18 (other weights)."""
    script = ("import json, sys\nimport torch\nfrom torchvision.models import resnet18\n"
              "torch.manual_seed(1)\nmodel = resnet18(weights=None)\n" + snippet + CHECK_AFTER_SNIPPET)
    done = subprocess.run([sys.executable, "-c", script, source], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = next(line for line in done.stdout.splitlines() if line.startswith("REPORT "))
    return json.loads(report[len("REPORT "):]), done.stdout


def test_frozen_export_loads_with_its_snippet(model, source, tmp_path):
    out = str(tmp_path / "frozen.pt")
    result = run_job(export_checkpoint(source, out, ExportPlan(freeze=FROZEN_MODULES)))
    assert result.sidecar == sidecar_path(out) == str(tmp_path / "frozen.json")
    with open(result.sidecar) as file:
        document = json.load(file)
    assert list(document) == SIDECAR_FIELDS and document == result.document
    assert pickle.loads(pickle.dumps(result)).document == document  # plain data for the window
    assert document["keys"] == list(model.state_dict())
    assert document["source"] == {"path": source, "format": "torch-zip", "state_dict": []}
    report, stdout = run_snippet(document["snippet"], source)
    assert "missing keys: []" in stdout and "unexpected keys: []" in stdout
    parameters = [name for name, _ in model.named_parameters()]
    frozen = [name for name in parameters if name.split(".")[0] in FROZEN_MODULES]
    assert document["frozen"] == frozen
    assert report["requires_grad"] == {name: name not in frozen for name in parameters}
    frozen_bn = sorted(name for name, module in model.named_modules()
                       if isinstance(module, torch.nn.BatchNorm2d) and name.split(".")[0] in FROZEN_MODULES)
    assert report["batch_norm_eval"] == frozen_bn
    assert report["optimizer_parameters"] == report["trainable_parameters"] == len(parameters) - len(frozen)
    assert report["equal"] == sorted(model.state_dict())


def test_new_head_safetensors_export_reports_the_missing_head(model, source, tmp_path):
    out = str(tmp_path / "backbone.safetensors")
    plan = ExportPlan(exclude=("fc",), freeze=("layer1", "layer2", "layer3"))
    result = run_job(export_checkpoint(source, out, plan))
    assert [entry["key"] for entry in result.document["dropped"]] == ["fc.weight", "fc.bias"]
    report, stdout = run_snippet(result.document["snippet"], source)
    assert "missing keys: ['fc.weight', 'fc.bias']" in stdout
    assert report["equal"] == sorted(key for key in model.state_dict() if not key.startswith("fc."))
    assert report["requires_grad"]["fc.weight"] and not report["requires_grad"]["layer3.1.conv2.weight"]
    assert report["batch_norm_eval"] == sorted(name for name, module in model.named_modules()
                                               if isinstance(module, torch.nn.BatchNorm2d)
                                               and name.split(".")[0] in ("layer1", "layer2", "layer3"))


def test_cancelled_export_leaves_neither_file(source, tmp_path):
    out = str(tmp_path / "cancelled.pt")
    job = export_checkpoint(source, out, ExportPlan())
    for report in job:
        if 0.5 < report.fraction < 1:
            break
    job.close()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("suffix", [".pt", ".safetensors"])
def test_a_cancel_at_any_report_keeps_output_and_sidecar_a_pair(tmp_path, suffix):
    """Re-export a narrower cut over a full one, closing the job at each report in turn: the
    files left are always both of the old export or both of the new one."""
    source = str(tmp_path / "small.pt")
    torch.save(torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2)).state_dict(), source)
    out = str(tmp_path / f"out{suffix}")
    full = run_job(export_checkpoint(source, out, ExportPlan()))
    narrow = ExportPlan(include=(full.document["keys"][0],))
    reports = sum(1 for _ in export_checkpoint(source, str(tmp_path / f"count{suffix}"), narrow))
    for stop_at in range(reports):
        job = export_checkpoint(source, out, narrow)
        for index, _ in enumerate(job):
            if index == stop_at:
                break
        job.close()
        with open(sidecar_path(out)) as file:
            listed = json.load(file)["keys"]
        assert listed == full.document["keys"]
        assert sorted(_written_keys(out)) == sorted(listed)
    run_job(export_checkpoint(source, out, narrow))
    with open(sidecar_path(out)) as file:
        assert json.load(file)["keys"] == sorted(_written_keys(out)) == list(narrow.include)


def _written_keys(path: str) -> list[str]:
    if path.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(path, "pt") as file:
            return list(file.keys())
    return list(torch.load(path, weights_only=True))


def test_the_source_cannot_be_the_output_or_its_sidecar(source, tmp_path):
    with pytest.raises(CheckpointError, match="refusing to overwrite the source"):
        run_job(export_checkpoint(source, source, ExportPlan()))
    json_named = str(tmp_path / "weights.json")  # torch.save does not care about the name
    torch.save({"w": torch.ones(2)}, json_named)
    with pytest.raises(CheckpointError, match="refusing to overwrite the source"):
        run_job(export_checkpoint(json_named, str(tmp_path / "weights.pt"), ExportPlan()))
    assert sorted(os.listdir(tmp_path)) == ["weights.json"]


def test_files_of_a_source_folder_are_protected(tmp_path):
    from tests.core.test_hf_sharded import write_safetensors_folder

    folder = tmp_path / "sharded"
    folder.mkdir()
    shards = write_safetensors_folder(folder, {f"w{index}": torch.ones(2) for index in range(4)})
    index_sidecar = str(folder / "model.safetensors.index.safetensors")  # sidecar: the index's name
    for target in [*(str(folder / name) for name in shards), index_sidecar]:
        with pytest.raises(CheckpointError, match="refusing to overwrite the source"):
            run_job(export_checkpoint(str(folder), target, ExportPlan()))


def test_an_export_of_nothing_is_refused(model, source, tmp_path):
    out = str(tmp_path / "nothing.pt")
    count = len(model.state_dict())
    with pytest.raises(CheckpointError, match=f"nothing to export: all {count} tensors were left out"):
        run_job(export_checkpoint(source, out, ExportPlan(include=("layer9",))))
    assert os.listdir(tmp_path) == []
