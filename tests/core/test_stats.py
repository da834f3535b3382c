"""stats.py against torch computing the same statistics on the same values."""

from __future__ import annotations

import json
import math
import os

import pytest
import torch

from inspector.core.errors import Cancelled
from inspector.core.model import Checkpoint, TensorRef
from inspector.core.progress import run_job
from inspector.core import all_stats
from inspector.core.all_stats import compute_all_stats
from inspector.core.stats import TensorStats
from tests.core.values_helpers import tensor_stats
from tests.core.test_values import make_ref, random_tensor
from tests.core.test_values import saved_checkpoint  # noqa: F401 (a fixture, asked for by name)

FLOATS = ["float32", "float64", "float16", "bfloat16", "float8_e4m3fn", "float8_e5m2"]
INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return str(tmp_path_factory.mktemp("stats"))


def expected_float_stats(x: torch.Tensor) -> dict:
    """torch's answer: NaN/Inf counted apart, the rest described in float64."""
    wide = x.double() if not x.dtype.is_complex else x.to(torch.complex128)
    nan = torch.isnan(wide)
    inf = torch.isinf(wide) & ~nan
    finite = wide[~(nan | inf)]
    if x.dtype.is_complex:
        finite = finite.abs()
    # random float64 bits reach 1e308, where torch's own sum would overflow: scale by 2**k
    scale = math.ldexp(1.0, math.frexp(finite.abs().max().item())[1] - 1) if finite.numel() else 1.0
    scaled = finite / scale
    return {
        "count": x.numel(), "nan": int(nan.sum()), "inf": int(inf.sum()),
        "zeros": int((wide == 0).sum()),
        "min": finite.min().item() if finite.numel() else None,
        "max": finite.max().item() if finite.numel() else None,
        "mean": scaled.mean().item() * scale if finite.numel() else None,
        "std": scaled.std().item() * scale if finite.numel() > 1 else None,
    }


def assert_stats_match(stats: TensorStats, expected: dict, rel: float = 1e-9,
                       exact_extremes: bool = True) -> None:
    """Counts exactly; min/max exactly unless computed (|z| may differ by an ulp)."""
    exact = ("count", "nan", "inf", "zeros") + (("min", "max") if exact_extremes else ())
    for key in exact:
        assert getattr(stats, key) == expected[key], key
    for key in ("mean", "std") + (() if exact_extremes else ("min", "max")):
        if expected[key] is None:
            assert getattr(stats, key) is None, key
        else:
            assert getattr(stats, key) == pytest.approx(expected[key], rel=rel, abs=1e-300), key


@pytest.mark.parametrize("name", FLOATS + ["complex64", "complex128"])
def test_float_and_complex_stats_match_torch(folder, name):
    base = random_tensor(name, (30, 41), seed=11)  # random bits: NaN, Inf, -0.0, subnormals
    for view in (base, base.t()[3:20], base[::2, ::3]):
        stats = tensor_stats(make_ref(folder, base, view), max_elements=97)
        assert_stats_match(stats, expected_float_stats(view),
                           exact_extremes=not name.startswith("complex"))


@pytest.mark.parametrize("chunk", [10_000, 1 << 22])  # many chunks; one chunk of cache blocks
def test_float32_normal_values_match_torch_std(folder, chunk):
    base = torch.randn(1000, 300) * 3 + 1.5
    base[0, :5] = torch.tensor([float("nan"), float("inf"), -float("inf"), -0.0, 0.0])
    stats = tensor_stats(make_ref(folder, base), max_elements=chunk)
    finite = base[torch.isfinite(base)]
    assert_stats_match(stats, expected_float_stats(base))
    assert stats.std == pytest.approx(torch.std(finite).item(), rel=1e-6)
    assert stats.mean == pytest.approx(finite.mean().item(), rel=1e-5)
    assert (stats.nan, stats.inf, stats.zeros) == (1, 2, int((base == 0).sum()))


@pytest.mark.parametrize("name", INTS)
def test_integer_stats_are_exact(folder, name):
    base = random_tensor(name, (17, 23), seed=5)
    for view in (base, base.t()[:, 2:9]):
        stats = tensor_stats(make_ref(folder, base, view), max_elements=50)
        values = view.reshape(-1).tolist()
        assert stats.min == int(min(values)) and type(stats.min) is int
        assert stats.max == int(max(values))
        assert stats.zeros == sum(1 for value in values if value == 0)
        assert (stats.count, stats.nan, stats.inf) == (len(values), 0, 0)
        wide = view.double()
        assert stats.mean == pytest.approx(wide.mean().item(), rel=1e-9)
        assert stats.std == pytest.approx(wide.std().item(), rel=1e-9)


def test_chunked_combination_equals_single_pass(folder):
    # a large mean: a naive sum of squares would drift
    base = torch.randn(3000, dtype=torch.float64) * 1e4 + 1e6
    ref = make_ref(folder, base)
    whole = tensor_stats(ref)
    for chunk in (1, 7, 1000):
        part = tensor_stats(ref, max_elements=chunk)
        assert part.mean == pytest.approx(whole.mean, rel=1e-13)
        assert part.std == pytest.approx(whole.std, rel=1e-9)
    assert whole.std == pytest.approx(base.std().item(), rel=1e-12)


def test_edge_cases_single_all_nan_and_empty(folder):
    single = tensor_stats(make_ref(folder, torch.tensor([2.5])))
    assert (single.min, single.max, single.mean, single.std) == (2.5, 2.5, 2.5, None)
    all_nan = tensor_stats(make_ref(folder, torch.full((4,), float("nan"))))
    assert (all_nan.nan, all_nan.min, all_nan.mean, all_nan.std) == (4, None, None, None)
    empty = tensor_stats(make_ref(folder, torch.empty(0, 5)))
    assert (empty.count, empty.min, empty.std) == (0, None, None)
    assert json.loads(json.dumps(all_nan.as_dict(), allow_nan=False))["nan"] == 4


def test_as_dict_is_json_safe(folder):
    stats = tensor_stats(make_ref(folder, torch.tensor([1.0, float("inf"), -0.0])))
    data = json.loads(json.dumps(stats.as_dict(), allow_nan=False))
    assert data == {"count": 3, "min": -0.0, "max": 1.0, "mean": 0.5,
                    "std": pytest.approx(math.sqrt(0.5)), "nan": 0, "inf": 1, "zeros": 1}
    assert TensorStats(error="x", mean=float("nan")).as_dict()["mean"] is None


def _checkpoint(folder) -> tuple[Checkpoint, dict]:
    weight = torch.randn(64, 33)
    tensors = {"w": make_ref(folder, weight), "wt": make_ref(folder, weight, weight.t()[1:]),
               "steps": make_ref(folder, torch.arange(10, dtype=torch.int64))}
    meta = TensorRef("float32", (3,), (1,), None, layout="meta")
    root = {"state_dict": {"w": tensors["w"], "wt": tensors["wt"]},
            "extra": [tensors["steps"], meta]}
    return Checkpoint(path="mem", format="pickle", root=root), {"w": weight, "wt": weight.t()[1:]}


def test_compute_all_stats_reports_progress_and_errors(folder):
    checkpoint, tensors = _checkpoint(folder)
    reports = []
    results = run_job(compute_all_stats(checkpoint, max_elements=500), reports.append)
    assert set(results) == {("state_dict", "w"), ("state_dict", "wt"), ("extra", 0), ("extra", 1)}
    assert_stats_match(results[("state_dict", "wt")], expected_float_stats(tensors["wt"]))
    assert results[("extra", 0)].max == 9
    assert results[("extra", 1)].error and results[("extra", 1)].count == 0
    done = [report.done for report in reports]
    assert done == sorted(done) and done[-1] == reports[-1].total > 0


@pytest.mark.parametrize("part_elements", [1, 97, 1 << 23])
def test_parts_merge_to_the_same_stats(folder, monkeypatch, part_elements):
    """A tensor cut into parts (each reduced apart, then merged) gives torch's stats, whatever the cut."""
    monkeypatch.setattr(all_stats, "PART_ELEMENTS", part_elements)
    checkpoint, tensors = _checkpoint(folder)
    results = run_job(compute_all_stats(checkpoint, max_elements=50, workers=1))
    for key in ("w", "wt"):
        assert_stats_match(results[("state_dict", key)], expected_float_stats(tensors[key]))


WORKER_SCRIPT = """
import json, multiprocessing, sys
from inspector.core import all_stats
from inspector.core.loader import open_checkpoint
from inspector.core.progress import run_job
all_stats.PARALLEL_FROM_BYTES = 0
all_stats.PART_ELEMENTS = 97
assert all_stats.can_fork()
checkpoint = open_checkpoint(sys.argv[1])
job = all_stats.compute_all_stats(checkpoint, max_elements=50, workers=3)
next(job)
job.close()  # cancelled at its first report: no worker may be left
left = len(multiprocessing.active_children())
results = run_job(all_stats.compute_all_stats(checkpoint, max_elements=50, workers=3))
print(json.dumps({"left": left, "stats": {path[-1]: stats.as_dict() for path, stats in results.items()}}))
"""


def test_worker_processes_give_torchs_stats_and_stop_when_cancelled(tmp_path):
    """The parallel path runs in a fresh process (forking is refused where threads run)."""
    import subprocess
    import sys

    tensors = {"w": torch.randn(300, 70), "t": torch.randn(90, 40).t(), "e": torch.arange(6.0).expand(50, 6),
               "i": torch.arange(-5, 400)}
    torch.save(tensors, tmp_path / "many.pt")
    done = subprocess.run([sys.executable, "-c", WORKER_SCRIPT, str(tmp_path / "many.pt")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["left"] == 0
    for name in ("w", "t", "e"):
        assert_stats_match(TensorStats(**report["stats"][name]), expected_float_stats(tensors[name]))
    ints = report["stats"]["i"]
    assert (ints["min"], ints["max"], ints["count"]) == (-5, 399, 405)


def test_tied_views_are_read_once(folder, monkeypatch):
    weight = torch.randn(50, 40)
    tied = make_ref(folder, weight)
    checkpoint = Checkpoint(path="mem", format="pickle", root={"emb.weight": tied, "head.weight": tied,
                                                               "copy": TensorRef(tied.dtype, tied.shape,
                                                                                 tied.stride, tied.storage)})
    read = []
    original = os.preadv
    monkeypatch.setattr(os, "preadv", lambda fd, buffers, offset: read.append(1) or original(fd, buffers, offset))
    results = run_job(compute_all_stats(checkpoint))
    assert results[("emb.weight",)] == results[("head.weight",)] == results[("copy",)]
    assert len(read) == 1


def test_compute_all_stats_cancels_and_closes_files(folder):
    checkpoint, _ = _checkpoint(folder)
    open_before = len(os.listdir("/proc/self/fd"))

    def cancel(report):
        raise Cancelled()

    with pytest.raises(Cancelled):
        run_job(compute_all_stats(checkpoint, max_elements=100), cancel)
    assert len(os.listdir("/proc/self/fd")) == open_before


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_stats_of_a_torch_save_file_match_torch(saved_checkpoint):  # noqa: F811 (the fixture)
    checkpoint, oracle = saved_checkpoint
    results = run_job(compute_all_stats(checkpoint))
    assert len(results) == len(oracle)
    for path, stats in results.items():
        tensor = oracle[path[-1]].detach()
        assert stats.error is None and stats.count == tensor.numel()
        if tensor.dtype.is_floating_point or tensor.dtype.is_complex:
            assert_stats_match(stats, expected_float_stats(tensor),
                               exact_extremes=not tensor.dtype.is_complex)
        elif tensor.numel():
            values = tensor.reshape(-1).tolist()
            assert (stats.min, stats.max) == (min(values), max(values))
            assert stats.mean == pytest.approx(tensor.double().mean().item(), rel=1e-9)
