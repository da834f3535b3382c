"""Checkpoint series against torch: order, recorded metrics, skipped files and every layer's
numbers, on runs written by torch as Lightning, plain scripts, timm and the HF Trainer write them."""

from __future__ import annotations

import math
import os

import pytest

from inspector.core import series_dynamics
from inspector.core.errors import CheckpointError
from inspector.core.progress import Partial, run_job
from inspector.core.series import series_job

torch = pytest.importorskip("torch")

REL = 1e-9


def summarise(paths):
    return run_job(series_job(paths)).to_json()


def oracle(tensors: list) -> dict:
    """What the contract says, computed by torch in float64 over finite elements (pairs: where
    both are finite)."""
    values = [tensor.double() for tensor in tensors]
    expected = {name: [] for name in ("norm", "rel_step", "cos_prev", "dist_from_first", "nan", "inf")}
    for index, current in enumerate(values):
        finite = current.isfinite()
        expected["norm"].append(current[finite].norm().item())
        expected["nan"].append(int(current.isnan().sum()))
        expected["inf"].append(int(current.isinf().sum()))
        rel, cosine = _pair(values[index - 1], current) if index else (None, None)
        expected["rel_step"].append(rel)
        expected["cos_prev"].append(cosine)
        expected["dist_from_first"].append(_pair(values[0], current)[0])
    return expected


def _pair(a, b):
    both = a.isfinite() & b.isfinite()
    a, b = a[both], b[both]
    norm_a, norm_b = a.norm().item(), b.norm().item()
    rel = (b - a).norm().item() / norm_a if norm_a else None
    cosine = ((a * b).sum() / (a.norm() * b.norm())).item() if norm_a and norm_b else None
    return rel, cosine


def same_numbers(got: list, wanted: list, rel: float = REL) -> bool:
    """Equal None positions, numbers equal within ``rel`` (float64 rounding)."""
    return len(got) == len(wanted) and all(
        (x is None) == (y is None) and (x is None or x == pytest.approx(y, rel=rel, abs=1e-15))
        for x, y in zip(got, wanted))


def assert_layers_match_torch(document, run):
    assert set(document["layers"]) == set(document["keys"])
    for key in document["keys"]:
        plain = key.removeprefix("model.")
        expected = oracle([weights[plain] for weights in run.weights])
        for name, wanted in expected.items():
            got = document["layers"][key][name]
            assert same_numbers(got, wanted), (key, name, got, wanted)


def names(paths):
    return [os.path.basename(os.path.dirname(path)) if path.endswith("model.safetensors") else os.path.basename(path)
            for path in paths]


@pytest.mark.parametrize("run_name", ["lightning", "plain", "frozen", "nan", "ddp", "trainer", "timm"])
def test_every_layer_of_every_run_matches_torch(series_runs, run_name):
    run = series_runs[run_name]
    document = summarise([run.folder])
    assert [entry["path"] for entry in document["checkpoints"]] == run.paths
    assert_layers_match_torch(document, run)


@pytest.mark.parametrize("run_name", ["lightning", "plain", "trainer", "timm", "ddp"])
def test_order_epoch_step_and_metrics_come_from_the_files(series_runs, run_name):
    run = series_runs[run_name]
    document = summarise([run.folder])
    checkpoints = document["checkpoints"]
    assert [entry["epoch"] for entry in checkpoints] == run.epochs
    assert [entry["step"] for entry in checkpoints] == run.steps
    for entry, expected in zip(checkpoints, run.metrics):
        assert entry["metrics"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("run_name", ["lightning", "plain", "timm"])
def test_files_of_other_models_copies_and_broken_files_are_skipped_with_the_reason(series_runs, run_name):
    run = series_runs[run_name]
    skipped = {os.path.basename(entry["path"]): entry["reason"] for entry in summarise([run.folder])["skipped"]}
    assert set(skipped) == set(run.skipped)
    for name, word in run.skipped.items():
        assert word.lower() in skipped[name].lower(), skipped[name]


def test_plain_files_are_ordered_by_their_recorded_epoch_not_their_names(series_runs):
    run = series_runs["plain"]
    document = summarise(sorted(run.paths))  # given in name order
    assert names(entry["path"] for entry in document["checkpoints"]) == ["zeta.pt", "alpha.pt", "model_10.pt",
                                                                       "model_9.pt"]


def test_a_frozen_backbone_shows_zero_steps_and_the_head_moves(series_runs):
    layers = summarise([series_runs["frozen"].folder])["layers"]
    for key in ("0.weight", "0.bias", "2.weight", "2.bias"):
        assert layers[key]["rel_step"][1:] == [0.0, 0.0] and layers[key]["dist_from_first"] == [0.0, 0.0, 0.0]
    assert all(step > 0 for step in layers["4.weight"]["rel_step"][1:])


def test_a_layer_going_non_finite_is_counted_and_the_others_stay_clean(series_runs):
    layers = summarise([series_runs["nan"].folder])["layers"]
    assert layers["2.weight"]["nan"] == [0, 0, 2, 3] and layers["2.weight"]["inf"] == [0, 0, 1, 1]
    assert all(count == 0 for key, layer in layers.items() if key != "2.weight" for count in layer["nan"] + layer["inf"])


def test_a_run_that_switched_to_ddp_lines_up_and_names_the_rule(series_runs):
    document = summarise([series_runs["ddp"].folder])
    assert document["keys"][0] == "0.weight"
    assert [entry["rules"] for entry in document["checkpoints"]] == [[], [], ["strip 'module.'"], ["strip 'module.'"]]
    assert all(value is not None for layer in document["layers"].values() for value in layer["rel_step"][1:])


def test_parts_smaller_than_a_tensor_give_the_same_numbers(series_runs, monkeypatch):
    monkeypatch.setattr(series_dynamics, "PART_ELEMENTS", 7)
    run = series_runs["ddp"]  # holds a transposed view: its parts are cut by shape, read by stride
    assert_layers_match_torch(summarise([run.folder]), run)


def test_files_given_one_by_one_and_as_a_glob_make_the_same_series(series_runs):
    run = series_runs["timm"]
    by_folder = summarise([run.folder])
    assert summarise(list(reversed(run.paths))) == {**by_folder, "skipped": []}
    assert summarise([os.path.join(run.folder, "checkpoint-*.pth.tar")]) == {**by_folder, "skipped": []}


def test_checkpoints_and_keys_come_first_then_each_layer_as_it_is_done(series_runs):
    run = series_runs["lightning"]
    parts = [report.items for report in _reports(series_job([run.folder])) if isinstance(report, Partial)]
    assert set(parts[0]) == {"checkpoints", "keys", "skipped"}
    assert [part["key"] for part in parts[1:]] == parts[0]["keys"]
    document = summarise([run.folder])
    assert all(part["layer"] == document["layers"][part["key"]] for part in parts[1:])


def _reports(job):
    reports = []
    run_job(job, reports.append)
    return reports


def test_nothing_to_summarise_says_why(bad_files, tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint to summarise.*HTML"):
        summarise([bad_files["page.pt"]])
    with pytest.raises(CheckpointError, match="matches no file"):
        summarise([str(tmp_path / "*.ckpt")])
    with pytest.raises(CheckpointError, match="no such file"):
        summarise([str(tmp_path / "missing.pt")])


def test_names_order_a_series_that_records_nothing(tmp_path):
    torch.manual_seed(0)
    weights = [torch.randn(5, 4) for _ in range(3)]
    for name, tensor in zip(("w_e2.pt", "w_e10.pt", "w_e1.pt"), weights):
        torch.save({"fc.weight": tensor}, tmp_path / name)
    document = summarise([str(tmp_path)])
    assert names(entry["path"] for entry in document["checkpoints"]) == ["w_e1.pt", "w_e2.pt", "w_e10.pt"]
    assert [entry["epoch"] for entry in document["checkpoints"]] == [1, 2, 10]
    expected = oracle([weights[2], weights[0], weights[1]])
    assert same_numbers(document["layers"]["fc.weight"]["rel_step"], expected["rel_step"])


def test_one_tensor_over_the_series_has_exact_extremes_and_bands_within_a_bin(series_runs):
    from inspector.core.series_histograms import BAND_PROBABILITIES, FINE_BINS, series_histograms_job

    run = series_runs["ddp"]
    keys = summarise([run.folder])["keys"]
    result = run_job(series_histograms_job(run.paths, keys, "2.weight", bins=32))
    assert result["key"] == "2.weight" and len(result["checkpoints"]) == len(run.paths)
    for entry, weights in zip(result["checkpoints"], run.weights):
        values = weights["2.weight"].double().flatten()
        low, high = values.min().item(), values.max().item()
        assert entry["bands"][0] == low and entry["bands"][-1] == high
        width = (high - low) / FINE_BINS
        ordered = values.sort().values
        for got, probability in zip(entry["bands"][1:-1], BAND_PROBABILITIES):
            crossing = ordered[math.ceil(probability * values.numel()) - 1].item()  # where the CDF reaches it
            assert abs(got - crossing) <= width * (1 + 1e-9)
        assert entry["mean"] == pytest.approx(values.mean().item(), rel=1e-12)
        assert len(entry["counts"]) == 32 and sum(entry["counts"]) == values.numel()
        expected, _ = torch.histogram(values, bins=torch.tensor(entry["edges"], dtype=torch.float64))
        assert entry["counts"] == expected.long().tolist()


def test_a_checkpoint_without_the_tensor_has_no_entry_and_a_broken_one_says_why(series_runs, bad_files):
    from inspector.core.series_histograms import series_histograms_job

    run = series_runs["plain"]
    keys = summarise([run.folder])["keys"]
    result = run_job(series_histograms_job([run.paths[0], bad_files["page.pt"]], keys, "0.weight"))
    assert result["checkpoints"][0]["count"] == 72 and "HTML" in result["checkpoints"][1]["error"]
    assert run_job(series_histograms_job([run.paths[0]], [*keys, "9.weight"], "9.weight"))["checkpoints"] == [None]


FORKED_SERIES_SCRIPT = """
import json, sys
from inspector.core import series_dynamics, series_runner
from inspector.core.forked import can_fork
from inspector.core.progress import run_job
from inspector.core.series import series_job
assert can_fork()
used = []
in_processes = series_runner._in_processes
series_runner._in_processes = lambda *args: used.append(True) or in_processes(*args)
series_runner.PARALLEL_FROM_BYTES = 0
series_runner.default_workers = lambda: 2
series_dynamics.PART_ELEMENTS = 50  # several columns per key
document = run_job(series_job([sys.argv[1]])).to_json()
print(json.dumps({"document": document, "used": bool(used)}))
"""


def test_worker_processes_give_the_same_numbers_as_one_process(series_runs):
    """The forked path runs in a fresh process (forking is refused where threads run)."""
    import json
    import subprocess
    import sys

    run = series_runs["nan"]
    done = subprocess.run([sys.executable, "-c", FORKED_SERIES_SCRIPT, str(run.folder)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["used"] is True
    assert_layers_match_torch(report["document"], run)


