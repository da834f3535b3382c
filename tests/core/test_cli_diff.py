"""`inspector diff` on the command line: text, JSON and exit codes, checked against torch."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from inspector.core.diff import DiffOptions, diff_job
from inspector.core.progress import run_job
from tests.core.test_cli import inspector

torch = pytest.importorskip("torch")
nn = torch.nn


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A DataParallel save before training against a Lightning-style checkpoint after it."""
    folder = tmp_path_factory.mktemp("cli_diff")
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    before = str(folder / "before.pt")
    torch.save({"epoch": 1, "model": nn.DataParallel(net).state_dict()}, before)
    with torch.no_grad():
        net[2].weight.mul_(1.5)
        net[0].bias.add_(1e-6)  # within float32's default tolerance
    after = str(folder / "after.ckpt")
    state = {f"model.{key}": value for key, value in net.state_dict().items()}
    state["model.extra.weight"] = torch.ones(3)
    torch.save({"epoch": 2, "global_step": 10, "state_dict": state}, after)
    copy = str(folder / "copy.ckpt")
    shutil.copyfile(after, copy)
    return before, after, copy


def test_json_is_the_core_result(pair):
    before, after, _ = pair
    result = inspector("diff", "--json", before, after)
    assert result.returncode == 1, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    expected = run_job(diff_job(before, after)).to_json()
    assert document == expected
    assert document["alignment"]["rules"] == ["strip 'module.' from A", "strip 'model.' from B"]
    statuses = {entry["key"]: entry["status"] for entry in document["tensors"]}
    assert statuses == {"0.weight": "equal", "0.bias": "close", "2.weight": "changed", "2.bias": "equal",
                        "extra.weight": "only_b"}
    weight = torch.load(before, weights_only=True)["model"]["module.2.weight"].double()
    entry = next(entry for entry in document["tensors"] if entry["key"] == "2.weight")
    assert entry["rel_l2"] == pytest.approx(0.5, rel=1e-7)
    assert entry["max_abs"] == pytest.approx((0.5 * weight).abs().max().item(), rel=1e-7)
    assert {"path": ["epoch"], "a": 1, "b": 2} in document["objects"]
    tensor_lines = [line for line in result.stdout.splitlines() if line.startswith('  {"key": ')]
    assert len(tensor_lines) == len(document["tensors"])


def test_text_puts_summary_and_rules_on_top_and_the_most_changed_first(pair):
    before, after, _ = pair
    result = inspector("diff", before, after)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "2 differ: 1 changed, 1 only in B; 2 equal, 1 close"
    assert lines[1] == f"A: {before} (torch-zip)" and lines[2] == f"B: {after} (torch-zip)"
    assert lines[3].startswith("alignment: strip 'module.' from A; strip 'model.' from B (4 matched, 0 only in A, 1 only in B)")
    assert lines[5].split()[:2] == ["status", "key"]
    columns = [re.split(r"\s{2,}", line) for line in lines[6:9]]
    assert [row[:2] for row in columns] == [["changed", "2.weight"], ["close", "0.bias"], ["only in B", "extra.weight"]]
    assert not any(" 0.weight " in line for line in lines)  # equal tensors are counted, not listed
    assert "  epoch: 1 → 2" in lines and "  global_step: (absent) → 10" in lines


def test_identical_copy_exits_zero(pair):
    _, after, copy = pair
    result = inspector("diff", after, copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "no differences beyond tolerance: 5 equal, 0 close"


def test_tolerances_and_alignment_options(pair):
    before, after, _ = pair
    loose = json.loads(inspector("diff", "--json", "--rtol", "1", "--atol", "1", before, after).stdout)
    assert loose["summary"]["changed"] == 0 and loose["summary"]["close"] == 2
    unaligned = inspector("diff", "--json", "--no-align", before, after)
    assert unaligned.returncode == 1
    assert json.loads(unaligned.stdout)["summary"]["only_a"] == 4
    forced = json.loads(inspector("diff", "--json", "--strip-prefix-b", "model", before, after).stdout)
    assert forced["alignment"]["rules"] == ["strip 'model.' from B", "strip 'module.' from A"]
    chosen = inspector("diff", "--json", "--subdict-a", "model", "--subdict-b", "state_dict", before, after)
    assert json.loads(chosen.stdout) == run_job(diff_job(before, after, DiffOptions(subdict_a="model", subdict_b="state_dict"))).to_json()


def test_trouble_exits_two_with_one_line(pair, tmp_path):
    before, _, _ = pair
    missing = inspector("diff", before, str(tmp_path / "missing.pt"))
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "Traceback" not in missing.stderr
    bad_subdict = inspector("diff", "--subdict-a", "nope", before, before)
    assert bad_subdict.returncode == 2 and "no 'nope'" in bad_subdict.stderr
    assert inspector("diff", before).returncode == 2
    assert inspector("diff", before, before, "--rtol", "x").returncode == 2


def test_diff_imports_no_torch_or_qt(pair):
    before, after, _ = pair
    code = ("import sys; from inspector.cli import main; main(['diff', '--json', *sys.argv[1:]]);"
            "heavy = [m for m in ('torch', 'PySide6', 'pyqtgraph', 'superqt') if m in sys.modules];"
            "sys.stderr.write(repr(heavy))")
    result = subprocess.run([sys.executable, "-c", code, before, after], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "[]"
