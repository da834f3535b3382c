"""`inspector series` on the command line: the JSON contract, the text view and exit codes."""

from __future__ import annotations

import json
import os

import pytest

from inspector.core.progress import run_job
from inspector.core.series import series_job
from tests.core.test_cli import inspector

CONTRACT_FIELDS = {"norm", "rel_step", "cos_prev", "dist_from_first", "nan", "inf"}


def test_json_is_the_core_result_in_the_contract_shape(series_runs):
    run = series_runs["lightning"]
    result = inspector("series", "--json", run.folder)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = json.loads(result.stdout)
    assert document == run_job(series_job([run.folder])).to_json()
    assert list(document)[:3] == ["checkpoints", "keys", "layers"]
    assert set(document["checkpoints"][0]) >= {"path", "epoch", "step", "metrics"}
    assert all(CONTRACT_FIELDS <= set(layer) for layer in document["layers"].values())
    assert all(len(values) == len(run.paths) for layer in document["layers"].values()
               for name, values in layer.items() if name in CONTRACT_FIELDS)
    checkpoint_lines = [line for line in result.stdout.splitlines() if line.startswith('  {"path": ')]
    assert len(checkpoint_lines) == len(document["checkpoints"])


def test_text_lists_checkpoints_metrics_and_what_stands_out(series_runs):
    result = inspector("series", series_runs["nan"].folder)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("4 checkpoints of one model, 6 tensors each")
    assert "moved most" in text and "went non-finite" in text
    line = next(line for line in text.splitlines() if line.strip().startswith("2.weight") and "NaN" in line)
    assert "from epoch 2: 2 NaN, 1 Inf" in line and "at the last: 3 NaN, 1 Inf" in line


def test_text_names_frozen_layers_and_skipped_files(series_runs):
    frozen = inspector("series", series_runs["frozen"].folder).stdout
    stopped = frozen[frozen.index("stopped moving"):]
    assert [line.split()[0] for line in stopped.splitlines()[1:5]] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert "frozen: never moved" in stopped
    plain = series_runs["plain"]
    text = inspector("series", plain.folder).stdout
    assert "loss" in text.splitlines()[2] and "best_acc1" in text.splitlines()[2]
    assert "other.pt: not the same model" in text and "notes.pt:" in text


def test_files_and_globs_on_the_command_line(series_runs):
    run = series_runs["timm"]
    pattern = os.path.join(run.folder, "checkpoint-*.pth.tar")
    by_glob = json.loads(inspector("series", "--json", pattern).stdout)
    by_files = json.loads(inspector("series", "--json", *reversed(run.paths)).stdout)
    assert by_glob == by_files and [entry["path"] for entry in by_files["checkpoints"]] == run.paths


def test_nothing_to_summarise_is_one_line_and_exit_1(bad_files, tmp_path):
    result = inspector("series", bad_files["page.pt"])
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "no checkpoint to summarise" in result.stderr
    missing = inspector("series", str(tmp_path / "nothing-*.ckpt"))
    assert missing.returncode == 1 and "matches no file" in missing.stderr


def test_usage_errors_exit_2():
    assert inspector("series").returncode == 2


@pytest.mark.parametrize("run_name", ["trainer"])
def test_trainer_metrics_are_named_as_logged(series_runs, run_name):
    document = json.loads(inspector("series", "--json", series_runs[run_name].folder).stdout)
    assert list(document["checkpoints"][-1]["metrics"]) == ["grad_norm", "learning_rate", "loss", "eval_loss",
                                                            "eval_runtime"]
