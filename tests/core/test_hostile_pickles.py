"""Hostile files: nothing from them runs, they are still shown, and every bomb stays cheap."""

from __future__ import annotations

import os
import pickle
import random
import resource
import tracemalloc
from collections import OrderedDict

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.formats import plain_pickle, torch_legacy, torch_zip
from inspector.core.model import PickledObject, Truncated, iter_tensors
from inspector.core.progress import run_job
from inspector.core.safety import safety_warnings
from inspector.core.sanitize import sanitize
from inspector.core.unpickler import restricted_load
from tests.core import hostile

torch = pytest.importorskip("torch")

FORMATS = {
    "torch-zip": (lambda obj, path: torch.save(obj, path), torch_zip),
    "torch-legacy": (lambda obj, path: torch.save(obj, path, _use_new_zipfile_serialization=False), torch_legacy),
    "pickle": (lambda obj, path: open(path, "wb").write(pickle.dumps(obj, protocol=4)), plain_pickle),
}


@pytest.mark.parametrize("payload", sorted(hostile.PAYLOADS))
def test_payloads_are_potent(payload, tmp_path):
    """The fixtures really run code when loaded unsafely (in a child process)."""
    marker = str(tmp_path / "MARKER")
    assert hostile.marker_would_be_created(pickle.dumps(hostile.PAYLOADS[payload](marker)), marker)


def test_the_code_watch_sees_a_payload_run(tmp_path):
    """Proof the watch can fail: the unsafe loader, run here, is seen starting a process."""
    marker = str(tmp_path / "MARKER")
    with hostile.watching_code() as ran:
        pickle.loads(pickle.dumps(hostile.SystemPayload(marker)))
    assert ran == ["os.system"] and os.path.exists(marker)


@pytest.mark.parametrize("where", ["root", "nested"])
@pytest.mark.parametrize("format_name", sorted(FORMATS))
@pytest.mark.parametrize("payload", sorted(hostile.PAYLOADS))
def test_payload_never_runs_and_is_named(payload, format_name, where, tmp_path):
    marker = str(tmp_path / "MARKER")
    evil = hostile.PAYLOADS[payload](marker)
    weights = {"layer.weight": torch.ones(2, 3), "layer.bias": torch.zeros(2)}
    obj = evil if where == "root" else {"state_dict": weights, "extra": {"hook": evil}}
    save, reader = FORMATS[format_name]
    path = str(tmp_path / "evil.bin")
    save(obj, path)
    with hostile.watching_code() as ran:
        checkpoint = run_job(reader.read(path))
    assert ran == [] and not os.path.exists(marker)
    assert payload in checkpoint.globals
    warning = safety_warnings(checkpoint.globals)[0]
    assert warning.startswith("would run code") and payload in warning
    if where == "nested":
        tensors = {path[-1]: tensor.shape for path, tensor in checkpoint.iter_tensors()}
        assert tensors == {"layer.weight": (2, 3), "layer.bias": (2,)}
        assert isinstance(checkpoint.root["extra"]["hook"], PickledObject)
    else:
        assert isinstance(checkpoint.root, PickledObject)


def test_loader_reports_the_payload(tmp_path):
    loader = pytest.importorskip("inspector.core.loader")
    marker = str(tmp_path / "MARKER")
    path = str(tmp_path / "evil.pt")
    torch.save({"w": torch.ones(3), "evil": hostile.SystemPayload(marker)}, path)
    with hostile.watching_code() as ran:
        checkpoint = loader.open_checkpoint(path)
    assert ran == [] and not os.path.exists(marker)
    assert any("posix.system" in warning for warning in checkpoint.warnings)
    assert [path for path, _ in checkpoint.iter_tensors()] == [("w",)]


def test_build_cannot_set_class(tmp_path):
    marker = str(tmp_path / "MARKER")
    with hostile.watching_code() as ran:
        loaded = restricted_load(hostile.build_sets_class(marker))
    assert ran == [] and not os.path.exists(marker)
    ordered = loaded.value["a"]
    assert type(ordered) is OrderedDict and "__class__" not in vars(ordered)
    stub = loaded.value["b"]
    assert type(stub) is PickledObject and stub.class_name == "__main__.Thing"
    assert stub.state[1]["__class__"].class_name == "posix.system"  # kept as data only
    call = loaded.value["c"]
    assert call.class_name == "posix.system" and call.args == (f"touch {marker}",)
    assert "posix.system" in loaded.globals


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _bounded(action, megabytes: int = 64):
    """Run ``action`` and check what it allocated (time is bounded by the suite's timeout)."""
    tracemalloc.start()
    try:
        result = action()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peak < megabytes << 20, f"allocated {peak >> 20} MB"
    return result


@pytest.mark.parametrize("opcode", [b"\x8e", b"\x96"])  # BINBYTES8, BYTEARRAY8
def test_length_bombs_allocate_nothing(opcode):
    def attempt():
        with pytest.raises(CheckpointError, match="truncated"):
            restricted_load(hostile.length_bomb(opcode, 1 << 40))
    _bounded(attempt, megabytes=8)


def test_length_bomb_inside_a_torch_zip(tmp_path):
    plain = str(tmp_path / "plain.pt")
    torch.save({"w": torch.ones(2)}, plain)
    bomb = str(tmp_path / "bomb.pt")
    hostile.replace_data_pkl(plain, bomb, hostile.length_bomb())
    with pytest.raises(CheckpointError, match="truncated"):
        _bounded(lambda: run_job(torch_zip.read(bomb)), megabytes=16)


def test_billion_laughs_stays_cheap():
    loaded = _bounded(lambda: restricted_load(hostile.billion_laughs(30, 10)))
    peak_before = _peak_rss_mb()
    tree, warnings = sanitize(loaded.value)  # measured without tracing: tracing slows it tenfold
    assert _peak_rss_mb() - peak_before < 300
    assert any("more than" in warning for warning in warnings)
    assert list(iter_tensors(tree)) == []


def test_200k_deep_lists_are_cut_at_256_levels():
    loaded = _bounded(lambda: restricted_load(hostile.deep_lists(200_000)), megabytes=200)
    tree, warnings = _bounded(lambda: sanitize(loaded.value))
    depth, node = 0, tree
    while isinstance(node, list) and node:
        depth, node = depth + 1, node[0]
    assert depth == 256 and node == Truncated("nested deeper than 256 levels")
    assert warnings == ["part of the file's object tree was cut: nested deeper than 256 levels"]


@pytest.mark.parametrize("build", [hostile.deep_objects, hostile.deep_dicts])
def test_200k_deep_objects_and_dicts_are_cut(build):
    loaded = restricted_load(build(200_000))
    tree, warnings = _bounded(lambda: sanitize(loaded.value), megabytes=200)
    assert warnings == ["part of the file's object tree was cut: nested deeper than 256 levels"]
    assert list(iter_tensors(tree)) == []


@pytest.mark.parametrize("kind", ["set-call", "frozenset-call", "ordereddict-call", "frozenset-opcode",
                                  "additems-opcode", "dict-key"])
def test_deep_tuples_are_never_hashed(kind):
    """Hashing a 200k-deep tuple overflows the C stack (a crash, not an exception)."""
    value = restricted_load(hostile.deep_tuple_hashed_by(kind)).value
    members = list(value) if not isinstance(value, dict) else list(value.keys())
    assert len(members) == 1 and isinstance(members[0], str) and "unhashable" in members[0]


def test_cycles_are_cut():
    cyclic = pickle.dumps(_self_containing(), protocol=2)
    tree, warnings = sanitize(restricted_load(cyclic).value)
    assert tree["self"] == Truncated("refers back to a value that contains it")


def _self_containing() -> dict:
    value: dict = {"x": 1}
    value["self"] = value
    return value


@pytest.mark.parametrize("data", [hostile.huge_long4(10_000_000), hostile.huge_text_int(1_000_000, b"L"),
                                  hostile.huge_text_int(1_000_000, b"I")])
def test_huge_integers_stay_cheap(data):
    value = _bounded(lambda: restricted_load(data).value, megabytes=48)
    assert isinstance(value, Truncated)


def _flip_bytes(raw: bytes, rng: random.Random) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


@pytest.mark.parametrize("format_name", sorted(FORMATS))
def test_bit_flips_give_a_result_or_a_checkpoint_error(format_name, tmp_path):
    save, reader = FORMATS[format_name]
    original = str(tmp_path / "original.bin")
    save({"a": torch.arange(6.0).reshape(2, 3), "b": [1, "two", {"c": torch.ones(2, dtype=torch.int8)}]}, original)
    raw = open(original, "rb").read()
    rng = random.Random(format_name)
    path = str(tmp_path / "flipped.bin")
    outcomes = {"read": 0, "refused": 0}
    for _ in range(150):
        open(path, "wb").write(_flip_bytes(raw, rng))
        try:
            checkpoint = run_job(reader.read(path))
            sanitize(checkpoint.root)
            outcomes["read"] += 1
        except CheckpointError as error:
            assert str(error) and "\n" not in str(error)
            outcomes["refused"] += 1
    assert outcomes["read"] + outcomes["refused"] == 150
