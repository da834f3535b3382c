"""The command line: `inspector info` text/JSON/stats against torch, GUI dispatch, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
import types

import pytest

from inspector import __version__, cli

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    torch.manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 2))
    value = {"state_dict": model.state_dict(), "epoch": 9, "note": "fine-tuned"}
    path = tmp_path_factory.mktemp("cli") / "run.pt"
    torch.save(value, path)
    return str(path), value


def inspector(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_info_json_matches_torch(checkpoint_file):
    path, value = checkpoint_file
    result = inspector("info", "--json", path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document["format"] == "torch-zip"
    got = {tuple(entry["path"]): (entry["shape"], entry["dtype"]) for entry in document["tensors"]}
    expected = {("state_dict", key): (list(t.shape), str(t.dtype).removeprefix("torch."))
                for key, t in value["state_dict"].items()}
    assert got == expected
    assert document["objects"]["epoch"] == value["epoch"]
    assert document["objects"]["note"] == value["note"]
    assert "collections.OrderedDict" in document["globals"]


def test_info_stats_match_torch(checkpoint_file):
    path, value = checkpoint_file
    result = inspector("info", "--json", "--stats", path)
    assert result.returncode == 0, result.stderr
    for entry in json.loads(result.stdout)["tensors"]:
        tensor = value["state_dict"][entry["path"][1]]
        assert entry["stats"]["count"] == tensor.numel()
        assert entry["stats"]["min"] == pytest.approx(tensor.min().item())
        assert entry["stats"]["max"] == pytest.approx(tensor.max().item())
        assert entry["stats"]["mean"] == pytest.approx(tensor.mean().item(), abs=1e-6)


def test_info_text_shows_hierarchy_totals_and_values(checkpoint_file):
    path, value = checkpoint_file
    result = inspector("info", path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    total = sum(t.numel() * t.element_size() for t in value["state_dict"].values())
    assert f"{len(value['state_dict'])} tensors" in lines[0] and f"{total} B" in lines[0]
    weight = next(line for line in lines if line.strip().startswith("weight"))
    assert "float32" in weight and "[5, 6]" in weight and "parameter" in weight
    assert any(line.strip() == "0" or line.strip().startswith("0 ") for line in lines)
    assert "epoch = 9" in result.stdout and "note = 'fine-tuned'" in result.stdout


def test_info_text_depth_limit(checkpoint_file):
    path, _ = checkpoint_file
    result = inspector("info", "--depth", "1", path)
    assert result.returncode == 0
    assert "weight" not in result.stdout and "state_dict" in result.stdout


def test_version_and_usage_errors():
    version = inspector("--version")
    assert version.returncode == 0 and __version__ in version.stdout
    assert inspector("info").returncode == 2
    assert inspector("info", "x.pt", "--bogus").returncode == 2


def test_default_starts_the_gui_with_files(monkeypatch):
    calls = []
    fake = types.ModuleType("inspector.gui.window.app")
    fake.run = lambda files, demo=False, screenshot=None, compare=None: calls.append((files, demo, screenshot, compare)) or 0
    monkeypatch.setitem(sys.modules, "inspector.gui.window.app", fake)
    assert cli.main(["a.pt", "b.safetensors", "--screenshot", "out.png"]) == 0
    assert cli.main(["--demo"]) == 0
    assert cli.main(["--compare", "a.pt", "b.pt"]) == 0
    assert calls == [(["a.pt", "b.safetensors"], False, "out.png", None), ([], True, None, None),
                     ([], False, None, ["a.pt", "b.pt"])]


def test_info_json_imports_no_numpy_torch_or_qt(checkpoint_file):
    path, _ = checkpoint_file
    code = ("import sys; from inspector.cli import main; main(['info', '--json', sys.argv[1]]);"
            "heavy = [m for m in ('numpy', 'torch', 'PySide6', 'pyqtgraph', 'superqt') if m in sys.modules];"
            "sys.stderr.write(repr(heavy))")
    result = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stderr == "[]"


def test_text_helpers_are_bounded_and_readable():
    from inspector.core.text_tree import short_repr
    from inspector.core.units import human_size, short_count

    assert [human_size(n) for n in (0, 1023, 1536, 3 * 1024**3)] == ["0 B", "1023 B", "1.5 KiB", "3.0 GiB"]
    assert short_count(11_689_512, "") == "11.7M"
    assert short_count(11_689_512) == "11.7 M"
    assert len(short_repr("x" * 10_000)) < 120
    assert short_repr(b"\x00" * 5) == "<5 bytes>"
    assert short_repr(1 << 10_000) == "<10001-bit integer>"


@pytest.fixture(scope="module")
def many_tensors_file(tmp_path_factory):
    state = {f"blocks.{index}.weight": torch.full((2,), float(index)) for index in range(3000)}
    path = tmp_path_factory.mktemp("cli") / "many.pt"
    torch.save(state, path)
    return str(path), state


def test_large_output_is_complete_when_the_command_ends(many_tensors_file):
    path, state = many_tensors_file
    result = inspector("info", "--json", path)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)  # the last line arrives: the output was flushed before exit
    assert [entry["path"][0] for entry in document["tensors"]] == list(state)


def test_a_reader_that_stops_early_is_not_an_error(many_tensors_file):
    path, _ = many_tensors_file
    command = [sys.executable, "-m", "inspector", "info", "--json", path]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 0
    assert first == b"{\n" and stderr == b""


def test_json_lists_one_tensor_per_line_whatever_the_keys(tmp_path):
    keys = ['plain', 'a}, {"path": "b', 'line\nbreak', '{"path": ["x"]}']
    path = tmp_path / "keys.pt"
    torch.save({key: torch.zeros(index + 1) for index, key in enumerate(keys)}, path)
    result = inspector("info", "--json", str(path))
    assert result.returncode == 0, result.stderr
    assert [entry["path"] for entry in json.loads(result.stdout)["tensors"]] == [[key] for key in keys]
    tensor_lines = [line for line in result.stdout.splitlines() if line.startswith('  {"path": ')]
    assert [json.loads(line.rstrip(","))["shape"] for line in tensor_lines] == [[1], [2], [3], [4]]


def test_info_text_prints_tuples_and_short_lists_on_one_line(tmp_path):
    path = tmp_path / "opt.pt"
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), betas=(0.8, 0.99))
    torch.save({"optimizer": optimizer.state_dict(), "milestones": [30, 60, 90]}, path)
    lines = inspector("info", str(path)).stdout.splitlines()
    assert "      betas = (0.8, 0.99)" in lines and "milestones = [30, 60, 90]" in lines
    assert "      params = [0, 1]" in lines


def test_info_stats_ends_with_a_summary_of_nan_inf_and_zero_tensors(tmp_path):
    path = tmp_path / "bad.pt"
    weight = torch.randn(4, 5)
    weight.view(-1)[:3] = float("nan")
    weight.view(-1)[3:5] = float("inf")
    torch.save({"net.weight": weight, "net.bias": torch.zeros(4), "ok": torch.ones(2)}, path)
    last = inspector("info", "--stats", str(path)).stdout.splitlines()[-1]
    assert last == ("summary: NaN in 1 tensor: net.weight (3); Inf in 1 tensor: net.weight (2); "
                    "all zeros in 1 tensor: net.bias")


def test_info_lists_every_shard_in_order(tmp_path):
    import json

    from safetensors.torch import save_file

    folder = tmp_path / "sharded"
    folder.mkdir()
    names = [f"model-{index:05d}-of-00012.safetensors" for index in (10, 2, 12, 1, 11, 3)]
    weight_map = {}
    for position, name in enumerate(names):
        save_file({f"layer{position}.weight": torch.ones(2)}, folder / name)
        weight_map[f"layer{position}.weight"] = name
    (folder / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    lines = inspector("info", str(folder)).stdout.splitlines()
    expected = sorted(names, key=lambda name: int(name.split("-")[1]))
    assert f"shards (6): {', '.join(expected)}" in lines


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04" + bytes(40), b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\": 1}"])
def test_every_error_line_names_the_full_path(tmp_path, monkeypatch, content):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "model.pt").write_bytes(content)
    monkeypatch.chdir(tmp_path)
    result = subprocess.run([sys.executable, "-m", "inspector", "info", "sub/model.pt"], capture_output=True,
                            text=True, timeout=60, env={**__import__("os").environ, "PYTHONPATH": _source_root()})
    assert result.returncode == 1
    assert result.stderr.startswith(f"inspector: error: {tmp_path / 'sub' / 'model.pt'}: "), result.stderr
    assert result.stderr.count("model.pt") == 1


def _source_root() -> str:
    import os

    import inspector as package

    return os.path.dirname(os.path.dirname(package.__file__))
