"""The value diff against torch: pairs of files written by torch, metrics computed by torch in float64."""

from __future__ import annotations

import math

import pytest

from inspector.core.diff import DiffOptions, diff_job
from inspector.core.errors import CheckpointError
from inspector.core.progress import Progress, run_job
from tests.core.hostile import rewrite_zip

torch = pytest.importorskip("torch")
nn = torch.nn
from torch.testing._comparison import default_tolerances  # noqa: E402  (the oracle for our table)

METRICS = ("max_abs", "mean_abs", "rms", "rel_l2", "cosine")


class Net(nn.Module):
    def __init__(self, num_classes: int = 5) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))


def torch_metrics(a: torch.Tensor, b: torch.Tensor, rtol: float | None = None, atol: float | None = None) -> dict:
    """What the contract says each number is, computed by torch in float64."""
    if rtol is None:
        rtol, atol = default_tolerances(a, b)
    first, second = a.double().flatten(), b.double().flatten()
    both = first.isfinite() & second.isfinite()
    delta = (second - first)[both]
    first, second = first[both], second[both]
    norm_a, norm_b = first.norm().item(), second.norm().item()
    return {
        "max_abs": delta.abs().max().item() if delta.numel() else None,
        "mean_abs": delta.abs().mean().item() if delta.numel() else None,
        "rms": delta.pow(2).mean().sqrt().item() if delta.numel() else None,
        "rel_l2": delta.norm().item() / norm_a if norm_a else None,
        "cosine": (first * second).sum().item() / (norm_a * norm_b) if norm_a and norm_b else None,
        "mismatched": int((~torch.isclose(b.double(), a.double(), rtol=rtol, atol=atol, equal_nan=True)).sum()),
    }


def assert_matches_torch(entry: dict, a: torch.Tensor, b: torch.Tensor, rtol=None, atol=None) -> None:
    expected = torch_metrics(a, b, rtol, atol)
    assert entry["mismatched"] == expected["mismatched"], entry["key"]
    for name in METRICS:
        if expected[name] is None:
            assert entry[name] is None, (entry["key"], name)
        else:
            assert entry[name] == pytest.approx(expected[name], rel=1e-10, abs=1e-300), (entry["key"], name)


def expected_status(a: torch.Tensor, b: torch.Tensor, rtol=None, atol=None) -> str:
    if a.shape != b.shape:
        return "shape"
    if a.dtype != b.dtype:
        return "dtype"
    if torch.equal(_bits(a), _bits(b)):
        return "equal"
    return "changed" if torch_metrics(a, b, rtol, atol)["mismatched"] else "close"


def _bits(t: torch.Tensor) -> torch.Tensor:
    t = t.contiguous()
    return t.view(torch.uint8) if t.element_size() == 1 else t.view({2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()])


def run_diff(path_a, path_b, **options) -> dict:
    return run_job(diff_job(str(path_a), str(path_b), DiffOptions(**options))).to_json()


def by_key(document: dict) -> dict[str, dict]:
    return {entry["key"]: entry for entry in document["tensors"]}


def assert_diff_matches_torch(document: dict, state_a: dict, state_b: dict, rtol=None, atol=None) -> None:
    entries = by_key(document)
    assert set(entries) == set(state_a) | set(state_b)
    for key, entry in entries.items():
        if key not in state_b:
            assert entry["status"] == "only_a"
            continue
        if key not in state_a:
            assert entry["status"] == "only_b"
            continue
        a, b = state_a[key], state_b[key]
        assert entry["status"] == expected_status(a, b, rtol, atol), key
        assert (entry["shape_a"], entry["shape_b"]) == (list(a.shape), list(b.shape))
        assert (entry["dtype_a"], entry["dtype_b"]) == (str(a.dtype)[6:], str(b.dtype)[6:])
        if entry["status"] == "shape":
            assert [entry[name] for name in (*METRICS, "mismatched", "numel")] == [None] * 7
        elif entry["status"] == "equal":
            zero = not torch.any(a.double().nan_to_num(0, 0, 0) != 0)
            assert [entry[name] for name in METRICS] == [0.0, 0.0, 0.0, None if zero else 0.0, None if zero else 1.0]
            assert entry["mismatched"] == 0 and entry["numel"] == a.numel()
        else:
            assert entry["numel"] == a.numel()
            assert_matches_torch(entry, a, b, rtol, atol)
    summary = {status: sum(entry["status"] == status for entry in entries.values()) for status in document["summary"]}
    assert document["summary"] == summary


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("diff")


def save(folder, name: str, value) -> str:
    path = str(folder / name)
    torch.save(value, path)
    return path


@pytest.fixture(scope="module")
def fine_tune(folder):
    """A checkpoint before and after two SGD steps (momentum): what fine-tuning leaves behind."""
    torch.manual_seed(0)
    net = Net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    before = {"epoch": 1, "model_state_dict": {k: v.clone() for k, v in net.state_dict().items()},
              "optimizer_state_dict": optimizer.state_dict(), "loss": 1.5}
    for _ in range(2):
        loss = net(torch.randn(4, 3, 6, 6)).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = {"epoch": 3, "model_state_dict": net.state_dict(), "optimizer_state_dict": optimizer.state_dict(),
             "loss": 0.25}
    return save(folder, "before.pt", before), save(folder, "after.pt", after)


def test_fine_tune_steps_against_torch(fine_tune):
    path_a, path_b = fine_tune
    document = run_diff(path_a, path_b)
    state_a, state_b = (torch.load(path, weights_only=True)["model_state_dict"] for path in fine_tune)
    assert_diff_matches_torch(document, state_a, state_b)
    assert document["summary"]["changed"] >= 4  # the weights really moved
    assert document["alignment"] == {"rules": [], "matched": len(state_a), "only_a": 0, "only_b": 0}
    assert document["a"] == {"path": path_a, "format": "torch-zip"}
    entry = by_key(document)["fc.weight"]
    assert entry["path_a"] == ["model_state_dict", "fc.weight"] == entry["path_b"]


def test_non_tensor_values_are_diffed(fine_tune):
    document = run_diff(*fine_tune)
    objects = {tuple(item["path"]): item for item in document["objects"]}
    assert objects[("epoch",)] == {"path": ["epoch"], "a": 1, "b": 3}
    assert objects[("loss",)] == {"path": ["loss"], "a": 1.5, "b": 0.25}
    assert ("optimizer_state_dict", "param_groups", 0, "lr") not in objects  # equal values are not listed
    assert all(path[0] != "model_state_dict" for path in objects)


def test_tolerances_decide_close_or_changed(fine_tune):
    loose = run_diff(*fine_tune, rtol=0.0, atol=10.0)
    state_a, state_b = (torch.load(path, weights_only=True)["model_state_dict"] for path in fine_tune)
    assert_diff_matches_torch(loose, state_a, state_b, rtol=0.0, atol=10.0)
    assert loose["summary"]["changed"] == 0  # given tolerances apply to integers too (2 steps apart)
    assert by_key(loose)["features.1.num_batches_tracked"]["status"] == "close"
    strict = run_diff(*fine_tune, rtol=0.0, atol=0.0)
    assert_diff_matches_torch(strict, state_a, state_b, rtol=0.0, atol=0.0)
    assert strict["summary"]["close"] == 0

def test_data_parallel_prefix_is_aligned_and_values_equal(folder):
    torch.manual_seed(2)
    net = Net()
    path_a = save(folder, "dp.pt", nn.DataParallel(net).state_dict())
    path_b = save(folder, "plain.pt", net.state_dict())
    document = run_diff(path_a, path_b)
    assert document["alignment"]["rules"] == ["strip 'module.' from A"]
    assert document["summary"]["equal"] == len(net.state_dict())
    assert by_key(document)["fc.weight"]["path_a"] == ["module.fc.weight"]


def test_float32_against_its_float16_export(folder):
    torch.manual_seed(3)
    state = Net().state_dict()
    half = {key: value.half() if value.is_floating_point() else value for key, value in state.items()}
    document = run_diff(save(folder, "fp32.pt", state), save(folder, "fp16.pt", half))
    assert_diff_matches_torch(document, state, half)
    assert by_key(document)["fc.weight"]["status"] == "dtype"
    assert by_key(document)["features.1.num_batches_tracked"]["status"] == "equal"


def test_head_replaced_with_another_number_of_classes(folder):
    torch.manual_seed(4)
    base = Net(num_classes=1000).state_dict()
    torch.manual_seed(4)
    tuned = Net(num_classes=10).state_dict()
    document = run_diff(save(folder, "c1000.pt", base), save(folder, "c10.pt", tuned))
    assert_diff_matches_torch(document, base, tuned)
    assert {key for key, entry in by_key(document).items() if entry["status"] == "shape"} == {"fc.weight", "fc.bias"}
    assert document["summary"]["equal"] == len(base) - 2


def test_safetensors_against_pt_of_the_same_weights(folder):
    from safetensors.torch import save_file

    torch.manual_seed(5)
    state = {key: value.contiguous() for key, value in Net().state_dict().items()}
    safetensors_path = str(folder / "weights.safetensors")
    save_file(state, safetensors_path)
    document = run_diff(save(folder, "weights.pt", state), safetensors_path)
    assert document["b"]["format"] == "safetensors"
    assert document["summary"]["equal"] == len(state)
    assert by_key(document)["fc.weight"]["path_b"] == ["fc.weight"]


def test_nans_and_infs_on_one_or_both_sides(folder):
    torch.manual_seed(6)
    a = torch.randn(40, 30)
    b = a + 1e-3 * torch.randn(40, 30)
    a[0, :5] = b[0, :5] = float("nan")       # same places: agree
    b[1, :3] = float("nan")                  # B only
    a[2, 0] = float("nan")                   # A only
    a[3, :2] = b[3, :2] = float("inf")       # equal infinities agree
    a[4, 0], b[4, 0] = float("inf"), float("-inf")
    a[5, 0], b[5, 0] = float("inf"), 1.0
    all_nan = torch.full((3,), float("nan"))
    state_a = {"w": a, "same_nan": a.clone(), "all_nan": all_nan, "nan_vs_zero": torch.zeros(4)}
    state_b = {"w": b, "same_nan": a.clone(), "all_nan": all_nan.clone(), "nan_vs_zero": torch.full((4,), float("nan"))}
    document = run_diff(save(folder, "nan_a.pt", state_a), save(folder, "nan_b.pt", state_b))
    assert_diff_matches_torch(document, state_a, state_b)
    entries = by_key(document)
    assert entries["w"]["mismatched"] >= 3 + 1 + 1 + 1 and entries["w"]["status"] == "changed"
    assert entries["same_nan"]["status"] == "equal"
    assert entries["all_nan"]["status"] == "equal" and entries["all_nan"]["rel_l2"] is None
    assert entries["nan_vs_zero"]["max_abs"] is None and entries["nan_vs_zero"]["mismatched"] == 4


def test_nan_payloads_differ_but_agree(folder):
    a = torch.tensor([float("nan"), 1.0, 2.0])
    b = a.clone()
    b.view(torch.int32)[0] ^= 1  # another NaN bit pattern at the same place
    assert torch.isnan(b[0]) and not torch.equal(a.view(torch.int32), b.view(torch.int32))
    entry = by_key(run_diff(save(folder, "payload_a.pt", {"x": a}), save(folder, "payload_b.pt", {"x": b})))["x"]
    assert entry["status"] == "close" and entry["mismatched"] == 0 and entry["max_abs"] == 0.0


def test_views_transposed_and_sliced_against_contiguous_copies(folder):
    torch.manual_seed(7)
    base = torch.randn(64, 48)
    state_a = {"t": base.t(), "slice": base[::3, 5:40], "expanded": torch.randn(1, 16).expand(8, 16)}
    state_b = {"t": base.t().contiguous() * 1.001, "slice": base[::3, 5:40].contiguous(),
               "expanded": state_a["expanded"].contiguous() + 0.5}
    document = run_diff(save(folder, "views.pt", state_a), save(folder, "copies.pt", state_b))
    assert_diff_matches_torch(document, state_a, state_b)
    assert by_key(document)["slice"]["status"] == "equal"


def _swap_record(data: bytes, size: int) -> bytes:
    return b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))


def test_big_endian_file_against_little_endian(folder):
    torch.manual_seed(8)
    state = {"w": torch.randn(20, 7), "h": torch.randn(9).half(), "i": torch.arange(6)}
    little = save(folder, "little.pt", state)
    itemsizes = {str(index): value.element_size() for index, value in enumerate(state.values())}
    big = str(folder / "big.pt")

    def to_big_endian(name: str, data: bytes) -> bytes:
        if name.endswith("/byteorder"):
            return b"big"
        return _swap_record(data, itemsizes[name.rsplit("/", 1)[-1]]) if "/data/" in name else data

    rewrite_zip(little, big, to_big_endian)
    reloaded = torch.load(big, weights_only=True)
    assert all(torch.equal(reloaded[key], value) for key, value in state.items())
    assert run_diff(little, big)["summary"]["equal"] == 3
    changed = {key: value + 1 for key, value in state.items()}
    document = run_diff(big, save(folder, "changed.pt", changed))
    assert_diff_matches_torch(document, reloaded, changed)


def test_bfloat16_and_float8(folder):
    torch.manual_seed(9)
    w = torch.randn(30, 20)
    state_a = {"bf": w.bfloat16(), "f8": w.to(torch.float8_e4m3fn), "fp32_vs_bf": w}
    state_b = {"bf": (w * 1.01).bfloat16(), "f8": (w * 1.1).to(torch.float8_e4m3fn), "fp32_vs_bf": w.bfloat16()}
    document = run_diff(save(folder, "bf_a.pt", state_a), save(folder, "bf_b.pt", state_b))
    assert_diff_matches_torch(document, state_a, state_b)
    assert by_key(document)["fp32_vs_bf"]["status"] == "dtype"


def test_integers_are_compared_exactly_and_bools_counted(folder):
    big = 2 ** 60
    state_a = {"ids": torch.tensor([big, 5, 7]), "mask": torch.tensor([True, False, True])}
    state_b = {"ids": torch.tensor([big + 1, 5, 7]), "mask": torch.tensor([True, True, True])}
    entries = by_key(run_diff(save(folder, "int_a.pt", state_a), save(folder, "int_b.pt", state_b)))
    assert entries["ids"]["status"] == "changed" and entries["ids"]["mismatched"] == 1
    assert_matches_torch(entries["mask"], state_a["mask"], state_b["mask"])


def test_complex_tensors(folder):
    torch.manual_seed(10)
    a = torch.randn(50, dtype=torch.complex64)
    b = a * (1 + 0.01j)
    entry = by_key(run_diff(save(folder, "c_a.pt", {"z": a}), save(folder, "c_b.pt", {"z": b})))["z"]
    first, second = a.to(torch.complex128), b.to(torch.complex128)
    delta = second - first
    assert entry["max_abs"] == pytest.approx(delta.abs().max().item(), rel=1e-12)
    assert entry["rel_l2"] == pytest.approx((delta.norm() / first.norm()).item(), rel=1e-12)
    expected_cosine = (torch.vdot(first, second).real / (first.norm() * second.norm())).item()
    assert entry["cosine"] == pytest.approx(expected_cosine, rel=1e-12)


def test_keys_only_on_one_side_and_empty_tensors(folder):
    state_a = {"shared": torch.ones(3), "gone": torch.zeros(2), "empty": torch.zeros(0, 4)}
    state_b = {"shared": torch.ones(3), "new": torch.ones(5), "empty": torch.zeros(0, 4)}
    document = run_diff(save(folder, "keys_a.pt", state_a), save(folder, "keys_b.pt", state_b))
    assert_diff_matches_torch(document, state_a, state_b)
    assert [entry["key"] for entry in document["tensors"]] == ["shared", "gone", "empty", "new"]
    assert by_key(document)["new"]["path_a"] is None and by_key(document)["new"]["numel"] == 5


def test_unreadable_values_are_reported_on_their_row(folder):
    state_a = {"meta": torch.empty(3, device="meta"), "w": torch.ones(2)}
    state_b = {"meta": torch.empty(3, device="meta"), "w": torch.ones(2)}
    entries = by_key(run_diff(save(folder, "meta_a.pt", state_a), save(folder, "meta_b.pt", state_b)))
    assert entries["w"]["status"] == "equal"
    assert entries["meta"]["status"] == "changed" and "no data" in entries["meta"]["error"]


def test_unreadable_file_and_missing_subdict_raise(folder, fine_tune):
    broken = folder / "broken.pt"
    broken.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError):
        run_diff(fine_tune[0], broken)
    with pytest.raises(CheckpointError, match="no 'generator'"):
        run_diff(fine_tune[0], fine_tune[1], subdict_b="generator")


def test_progress_counts_bytes_and_closing_stops_the_job(fine_tune):
    job = diff_job(*fine_tune)
    reports = []
    for report in job:
        assert isinstance(report, Progress)
        reports.append(report)
    byte_reports = [report for report in reports if report.total]
    state = torch.load(fine_tune[0], weights_only=True)["model_state_dict"]
    total = 2 * sum(t.numel() * t.element_size() for t in state.values())
    assert byte_reports[-1] == Progress(total, total, "compared")
    assert all(0 <= report.done <= report.total for report in byte_reports)
    cancelled = diff_job(*fine_tune)
    next(cancelled)
    cancelled.close()
    with pytest.raises(StopIteration):
        next(cancelled)


def test_rows_arrive_as_they_are_computed(fine_tune):
    seen = []
    result = run_job(diff_job(*fine_tune, on_entry=seen.append))
    assert seen == result.tensors
    assert result.differs and math.isclose(sum(result.summary.values()), len(seen))


def test_sharded_folder_and_distributed_checkpoint_against_plain_files(folder):
    import warnings

    from torch.distributed import checkpoint as distributed_checkpoint

    from tests.core.test_hf_sharded import write_safetensors_folder

    torch.manual_seed(11)
    state = {key: value.contiguous() for key, value in Net().state_dict().items()}
    plain = save(folder, "for_folders.pt", state)
    sharded = folder / "hf"
    sharded.mkdir()
    write_safetensors_folder(sharded, state)
    assert run_diff(plain, sharded)["summary"]["equal"] == len(state)
    dcp = folder / "dcp"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "assuming the intent is to save in a single process"
        distributed_checkpoint.save({"model": state, "epoch": 3}, checkpoint_id=str(dcp))
    document = run_diff(dcp, plain)
    assert document["a"]["format"] == "dcp" and document["summary"]["equal"] == len(state)
    assert by_key(document)["fc.weight"]["path_a"] == ["model", "fc.weight"]
    assert document["objects"] == [{"path": ["epoch"], "a": 3}]


def test_result_crosses_a_process_boundary(fine_tune):
    import pickle

    result = run_job(diff_job(*fine_tune, DiffOptions(rtol=1e-3, disabled=("strip 'x.' from A",))))
    assert pickle.loads(pickle.dumps(result)).to_json() == result.to_json()
    assert pickle.loads(pickle.dumps(DiffOptions(rtol=1e-3))) == DiffOptions(rtol=1e-3)
