"""Demo checkpoints: built locally from torchvision's ResNet-18, deterministic, cached."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from inspector import demo
from inspector.core.progress import run_job


@pytest.fixture(scope="module")
def demo_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("cache") / "checkpoint-inspector" / "demo"
    return str(cache), run_job(demo.build_demo_job(str(cache)))


def test_demo_files_match_torchvision(demo_cache):
    import torch
    from torchvision.models import resnet18

    _cache, paths = demo_cache
    plain, training, finetuned = (torch.load(path, weights_only=True) for path in paths)
    torch.manual_seed(0)
    reference = resnet18(weights=None).state_dict()
    assert list(plain) == list(reference)
    assert all(torch.equal(plain[key], reference[key]) for key in reference)  # deterministic
    assert set(training) == {"epoch", "model_state_dict", "optimizer_state_dict", "loss"}
    state = training["optimizer_state_dict"]["state"]
    assert len(state) == len(list(resnet18().parameters())) and {"exp_avg", "exp_avg_sq", "step"} <= set(state[0])
    assert not torch.equal(training["model_state_dict"]["conv1.weight"], plain["conv1.weight"])  # it stepped
    assert finetuned["fc.weight"].shape == (demo.FINETUNED_CLASSES, 512)
    trained, tuned = training["model_state_dict"]["layer1.0.conv1.weight"], finetuned["layer1.0.conv1.weight"]
    assert not torch.equal(trained, tuned) and torch.allclose(trained, tuned, atol=0.05 * float(trained.std()))


def test_the_cache_is_reused(demo_cache):
    cache, paths = demo_cache
    stamps = [os.stat(path).st_mtime_ns for path in paths]
    assert demo.cached_demo_files(cache) == paths
    assert run_job(demo.build_demo_job(cache)) == paths
    assert [os.stat(path).st_mtime_ns for path in paths] == stamps


def test_demo_flag_opens_the_cached_demo_files(demo_cache, tmp_path):
    cache, _paths = demo_cache
    out = tmp_path / "demo.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_CACHE_HOME": os.path.dirname(os.path.dirname(cache))}
    result = subprocess.run([sys.executable, "-m", "inspector", "--demo", "--screenshot", str(out)], env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0
