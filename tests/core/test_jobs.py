"""The job table: jobs by name with plain-data keyword arguments, driven like any job."""

from __future__ import annotations

import pytest

from inspector.core import jobs
from inspector.core.loader import open_checkpoint
from inspector.core.progress import run_job


def test_every_registered_job_names_an_importable_function():
    import importlib

    for name, target in jobs.JOBS.items():
        module_name, _, function_name = target.partition(":")
        assert callable(getattr(importlib.import_module(module_name), function_name)), name


def test_the_load_job_reads_like_the_loader(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "small.pt"
    torch.save({"weight": torch.ones(2, 3), "epoch": 4}, path)
    checkpoint = run_job(jobs.make_job("load", {"path": str(path)}))
    expected = open_checkpoint(str(path))
    assert checkpoint.format == expected.format and checkpoint.root["epoch"] == 4
    assert [p for p, _ in checkpoint.iter_tensors()] == [p for p, _ in expected.iter_tensors()]


def test_unknown_jobs_and_foreign_arguments_are_refused():
    with pytest.raises(ValueError, match="no job named 'nothing'"):
        jobs.make_job("nothing", {})
    with pytest.raises(ValueError, match="plain data, not object"):
        jobs.make_job("load", {"path": object()})
    with pytest.raises(ValueError, match="plain data"):
        jobs.check_plain({"plan": {1: "int keys do not survive JSON"}})
    jobs.check_plain({"paths": ["a", "b"], "plan": {"include": ["layer4.*"], "dtype": None, "strict": False}})


def test_the_export_job_takes_the_plans_json_and_returns_plain_data(tmp_path):
    torch = pytest.importorskip("torch")
    source, destination = tmp_path / "net.pt", tmp_path / "out.pt"
    network = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Linear(4, 2))
    torch.save(network.state_dict(), source)
    plan = {"version": 1, "exclude": ["head.1"], "freeze": ["head.0.weight"], "rename": [{"from": "", "to": "head."}]}
    result = run_job(jobs.make_job("export", {"source": str(source), "destination": str(destination), "plan": plan}))
    jobs.check_plain(result)
    written = torch.load(destination, weights_only=True)
    assert list(written) == ["head.0.weight", "head.0.bias"]
    assert all(torch.equal(written["head.0." + key], value) for key, value in network[0].state_dict().items())
    assert result["destination"] == str(destination) and result["document"]["frozen"] == ["head.0.weight"]
