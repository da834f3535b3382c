"""`inspector check` on the command line: the JSON contract, the text with its fix, exit codes."""

from __future__ import annotations

import json
import shlex

import pytest

from inspector.core.check import check_checkpoint
from tests.core.test_cli import inspector

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision")

CONTRACT_FIELDS = ["target", "alignment", "loaded", "target_tensors", "coverage", "missing", "unexpected",
                   "mismatched", "head_only", "strict_error", "remaps"]


def test_json_is_the_contract_and_the_core_result(check_files):
    path = check_files["resnet18_c10.pt"]
    result = inspector("check", path, "--arch", "resnet18", "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert list(document) == CONTRACT_FIELDS
    assert document == check_checkpoint(path, {"arch": "resnet18"}).to_json()
    assert document["remaps"] == [{"rule": "drop the mismatched head (fc.weight, fc.bias)",
                                   "coverage": document["coverage"]}]
    assert "warning: load_state_dict(strict=False) still raises" in result.stderr


def run_in_process(capsys, *args: str) -> tuple[int, str, str]:
    """The command through ``cli.main`` in this process (torch is already imported here)."""
    from inspector.cli import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_printed_export_line_writes_a_file_that_loads(check_files, tmp_path, capsys):
    from torchvision.models import resnet18

    code, out, _err = run_in_process(capsys, "check", check_files["resnet18_dp.pt"], "--arch", "resnet18", "--no-align")
    assert code == 1
    lines = out.splitlines()
    assert "WARNING: strict=False would load NOTHING" in out
    remap_line = "  strip 'module.': 122 of 122 (100%), then strict=True passes"
    words = shlex.split(lines[lines.index(remap_line) + 1])
    output = str(tmp_path / "fixed.pt")
    words[words.index("-o") + 1] = output
    assert run_in_process(capsys, *words[1:])[0] == 0
    resnet18(weights=None).load_state_dict(torch.load(output, weights_only=True), strict=True)
    code, out, _err = run_in_process(capsys, "check", output, "--arch", "resnet18")
    assert code == 0 and "strict=True: loads" in out.splitlines()


def test_trouble_exits_2_with_one_line(check_files, capsys):
    code, out, err = run_in_process(capsys, "check", check_files["resnet18.pt"], "--arch", "resnet19")
    assert code == 2 and out == ""
    assert err.strip().splitlines() == [
        "inspector: error: torchvision has no architecture 'resnet19'; did you mean resnet18, resnet152, "
        "resnet101, resnet50, resnet34?"]
    code, _out, err = run_in_process(capsys, "check", check_files["resnet18.pt"], "--against", check_files["resnet18.pt"],
                                     "--num-classes", "3")
    assert code == 2 and "use them with --arch" in err
