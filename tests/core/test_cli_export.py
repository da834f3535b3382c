"""`inspector export` as a user runs it: written files checked with torch, plans from files
and options, --json, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import inspector as package
from tests.core.export_sources import assert_same_tensor

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(package.__file__)))


@pytest.fixture(scope="module")
def training_file(tmp_path_factory):
    torch.manual_seed(2)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.BatchNorm2d(8), torch.nn.Flatten(),
                                torch.nn.Linear(8, 4))
    wrapped = torch.nn.DataParallel(model)
    path = tmp_path_factory.mktemp("cli_export") / "train.pt"
    torch.save({"epoch": 4, "model_state_dict": wrapped.state_dict()}, path)
    return str(path), model.state_dict()


def inspector(*args: str, cwd: str | None = None) -> subprocess.CompletedProcess:
    """The command of this source tree, whatever the working directory."""
    environment = {**os.environ, "PYTHONPATH": PROJECT_ROOT}
    return subprocess.run([sys.executable, "-m", "inspector", "export", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env=environment)


def test_export_with_options_then_the_same_plan_from_a_file(training_file, tmp_path):
    path, state = training_file
    out = str(tmp_path / "head.safetensors")
    plan = str(tmp_path / "plan.json")
    done = inspector(path, "-o", out, "--strip-prefix", "module.", "--include", "1", "3",
                     "--exclude", "*.num_batches_tracked", "--freeze", "1", "--dtype", "bfloat16",
                     "--save-plan", plan)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out}" in done.stdout and "rules: strip 'module.'" in done.stdout
    expected = {key: value for key, value in state.items()
                if key.split(".")[0] in ("1", "3") and "num_batches" not in key}
    loaded = load_file(out)
    assert set(loaded) == set(expected)
    for key, value in expected.items():
        assert_same_tensor(loaded[key], value.to(torch.bfloat16))
    with open(plan) as file:
        assert json.load(file) == {"version": 1, "subdict": None, "include": ["1", "3"],
                                   "exclude": ["*.num_batches_tracked"], "freeze": ["1"],
                                   "rename": [{"from": "module.", "to": ""}], "dtype": "bfloat16"}
    again = str(tmp_path / "again.safetensors")
    assert inspector(path, "-o", again, "--plan", plan).returncode == 0
    assert load_file(again).keys() == loaded.keys()
    with open(str(tmp_path / "again.json")) as file:
        assert json.load(file)["frozen"] == ["1.weight", "1.bias"]


def test_json_prints_the_sidecar(training_file, tmp_path):
    path, state = training_file
    out = str(tmp_path / "full.pt")
    done = inspector(path, "-o", out, "--strip-prefix", "module", "--rename", "0=stem", "--json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    with open(str(tmp_path / "full.json")) as file:
        assert json.load(file) == document
    renamed = [key.replace("0.", "stem.", 1) if key.startswith("0.") else key for key in state]
    assert document["keys"] == renamed
    loaded = torch.load(out, weights_only=True)
    assert_same_tensor(loaded["stem.weight"], state["0.weight"])


def test_export_never_imports_torch_and_warns_about_unused_globs(training_file, tmp_path):
    path, _ = training_file
    out = str(tmp_path / "out.pt")
    script = ("import sys\nfrom inspector.cli import main\n"
              f"code = main(['export', {path!r}, '-o', {out!r}, '--freeze', 'module.9'])\n"
              "print('torch' in sys.modules, code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": PROJECT_ROOT})
    assert done.stdout.splitlines()[-1] == "False 0", done.stderr
    assert "warning: --freeze 'module.9' matched no key" in done.stderr


@pytest.mark.parametrize("args, message", [
    (["-o", "out.npz"], "must end in"),
    (["--dtype", "int8", "-o", "out.pt"], "invalid choice"),
    (["--rename", "nothing", "-o", "out.pt"], "OLD=NEW"),
    ([], "nothing to do"),
    (["--plan", "missing.json", "-o", "out.pt"], "cannot read the plan"),
])
def test_bad_usage_exits_2(training_file, tmp_path, args, message):
    path, _ = training_file
    done = inspector(path, *args, cwd=str(tmp_path))
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("case", ["source", "unreadable", "missing folder", "no such subdict", "nothing left"])
def test_not_written_exits_1_with_one_line(training_file, tmp_path, case):
    path, _ = training_file
    source, out, extra = path, str(tmp_path / "out.pt"), []
    if case == "source":
        out = path
    elif case == "unreadable":
        source = str(tmp_path / "page.pt")
        with open(source, "w") as file:
            file.write("<html>404</html>")
    elif case == "missing folder":
        out = str(tmp_path / "no" / "out.pt")
    elif case == "no such subdict":
        extra = ["--subdict", "ema"]
    else:
        extra = ["--exclude", "module"]
    done = inspector(source, "-o", out, *extra)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not os.path.exists(str(tmp_path / "out.pt"))


def test_no_plan_or_sidecar_is_written_over_an_input(tmp_path):
    source = tmp_path / "victim.pt"
    torch.save({"w": torch.ones(3)}, source)
    before = source.read_bytes()
    result = inspector(str(source), "--save-plan", str(source))
    assert result.returncode == 1 and "refusing to overwrite" in result.stderr
    assert source.read_bytes() == before
    plan = tmp_path / "cut.json"
    plan.write_text(json.dumps({"version": 1, "include": ["w"]}))
    result = inspector(str(source), "--plan", str(plan), "-o", str(tmp_path / "cut.pt"))
    assert result.returncode == 1 and "refusing to overwrite" in result.stderr
    assert json.loads(plan.read_text()) == {"version": 1, "include": ["w"]}
    assert sorted(os.listdir(tmp_path)) == ["cut.json", "victim.pt"]
