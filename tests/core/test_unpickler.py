"""The restricted unpickler against the real ``pickle`` module as the oracle (on data we write)."""

from __future__ import annotations

import collections
import io
import pickle
from collections import OrderedDict

import pytest

from inspector.core.errors import CheckpointError
from inspector.core.model import PickledObject, Truncated
from inspector.core.rebuilders import DtypeName, GlobalReference
from inspector.core.safety import code_running, foreign_modules, safety_warnings
from inspector.core.sanitize import sanitize
from inspector.core.unpickler import restricted_load


class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a, self.b = 1, [2]


class Bag(list):
    pass


PLAIN_VALUES = {
    "ints": [0, -1, 255, 65536, 2**31, -2**63, 2**100, -(2**200)],
    "floats": [0.0, -1.5, float("inf"), 1e-300],
    "text": ["", "ascii", "ünïcödé", "x" * 300],
    "bytes": [b"", b"\x00\xff" * 10, bytearray(b"abc")],
    "containers": [(), (1,), (1, 2), (1, 2, 3), [], {}, {1: "a", (1, 2): [3]}, {4, 5}, frozenset({6})],
    "misc": [None, True, False, complex(1, -2), range(1, 10, 2), slice(1, None, 2)],
    "ordered": collections.OrderedDict(b=1, a=2),
}


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_plain_values_match_pickle(protocol):
    data = pickle.dumps(PLAIN_VALUES, protocol=protocol)
    loaded = restricted_load(data)
    assert loaded.value == pickle.loads(data)
    assert list(loaded.value["ordered"]) == ["b", "a"]
    assert loaded.end == len(data)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_shared_references_stay_shared(protocol):
    shared = [1, 2]
    loaded = restricted_load(pickle.dumps({"a": shared, "b": shared}, protocol=protocol)).value
    assert loaded["a"] is loaded["b"]


def _globals_in(data: bytes) -> set[str]:
    """What the real unpickler looks up (safe: the test wrote ``data`` itself)."""
    names = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module, name):
            names.add(f"{module}.{name}".replace("__builtin__.", "builtins.").replace("copy_reg.", "copyreg."))
            return super().find_class(module, name)

    Recording(io.BytesIO(data)).load()
    return names


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_user_classes_become_inert_objects(protocol):
    objects = {"p": Point(1, [2]), "bag": Bag([7, 8])}
    if protocol >= 2:  # slotted classes cannot be pickled below protocol 2
        objects["s"] = Slotted()
    data = pickle.dumps(objects, protocol=protocol)
    loaded = restricted_load(data)
    point, bag = loaded.value["p"], loaded.value["bag"]
    assert isinstance(point, PickledObject) and point.class_name == f"{__name__}.Point"
    assert point.state == {"x": 1, "y": [2]}
    assert bag.items == [7, 8]
    if protocol >= 2:
        assert loaded.value["s"].state[1] == {"a": 1, "b": [2]}
    assert set(loaded.globals) == _globals_in(data)
    assert loaded.globals == sorted(set(loaded.globals))


def test_protocol_2_builtin_names_are_mapped():
    loaded = restricted_load(pickle.dumps({1, 2}, protocol=2))
    assert loaded.globals == ["builtins.set"]
    assert loaded.value == {1, 2}


def test_globals_as_values_are_references_not_imports():
    loaded = restricted_load(pickle.dumps({"f": pickle.loads, "cls": Point}, protocol=4))
    assert isinstance(loaded.value["f"], GlobalReference)
    assert loaded.value["f"].class_name == "_pickle.loads"
    assert loaded.value["cls"].class_name == f"{__name__}.Point"


def test_torch_dtype_and_size_are_plain_values():
    torch = pytest.importorskip("torch")
    data = pickle.dumps({"dtype": torch.bfloat16, "size": torch.Size([2, 3]), "dev": torch.device("cuda", 1)})
    value = restricted_load(data).value
    assert isinstance(value["dtype"], DtypeName) and value["dtype"] == str(torch.bfloat16)
    assert value["dtype"].dtype == "bfloat16"
    assert value["size"] == (2, 3)
    assert value["dev"] == str(torch.device("cuda", 1))


def test_state_dict_metadata_survives_loading_and_sanitizing():
    torch = pytest.importorskip("torch")
    state = torch.nn.Sequential(torch.nn.Linear(2, 2)).state_dict()
    data = pickle.dumps(state, protocol=2)
    loaded = restricted_load(data).value
    assert dict(loaded._metadata) == dict(state._metadata)
    assert list(loaded) == list(state)
    assert dict(sanitize(loaded)[0]._metadata) == dict(state._metadata)


class MethodShadowingState:
    """Pickles as an OrderedDict whose BUILD state names the mapping's own methods."""

    def __reduce__(self):
        return OrderedDict, (), {"items": 1, "get": 2}, None, iter([("a", 3)])


def test_build_cannot_hide_a_mappings_methods():
    """An OrderedDict whose BUILD names ``items`` or ``get`` keeps working as a mapping."""
    value = restricted_load(pickle.dumps(MethodShadowingState(), protocol=2)).value
    assert list(value.items()) == [("a", 3)] and value.get("a") == 3
    assert "items" not in vars(value) and "get" not in vars(value)


def test_a_second_build_of_a_numpy_array_is_ignored():
    import numpy as np

    data = pickle.dumps(np.arange(3, dtype=np.int64), protocol=2)
    assert data.endswith(b"b.")  # ... the state tuple, BINPUT m, BUILD, STOP: BUILD again from the memo
    memo = data[data.rindex(b"tq") + 2]
    twice = data[:-1] + b"h" + bytes([memo]) + b"b."
    assert list(restricted_load(data).value) == [0, 1, 2]
    assert list(restricted_load(twice).value) == [0, 1, 2]


def test_build_cannot_add_dunder_attributes():
    od = collections.OrderedDict(a=1)
    od.__dict__["__weird__"] = 1
    loaded = restricted_load(pickle.dumps(od, protocol=2))
    assert "__weird__" not in vars(loaded.value)
    assert any("__weird__" in note for note in loaded.warnings)


@pytest.mark.parametrize("cut", [1, 5, 17, -2, -1])
def test_truncated_pickles_are_reported(cut):
    data = pickle.dumps({"a": [1, 2, "three"], "b": b"x" * 40}, protocol=4)
    with pytest.raises(CheckpointError, match="truncated"):
        restricted_load(data[:cut])


@pytest.mark.parametrize("data", [b"", b"\x80\x02\xff.", b"\x80\x02)\x85\x85\x85t.", b"\x80\x09N.", b"0."])
def test_garbage_is_a_checkpoint_error(data):
    with pytest.raises(CheckpointError):
        restricted_load(data)


def test_persistent_ids_go_to_the_callback():
    class Saver(pickle.Pickler):
        def persistent_id(self, obj):
            return ("storage", obj[1:]) if isinstance(obj, str) and obj.startswith("@") else None

    buffer = io.BytesIO()
    Saver(buffer, protocol=2).dump({"x": "@key", "y": 3})
    seen = []
    value = restricted_load(buffer.getvalue(), lambda pid: seen.append(pid) or "resolved").value
    assert value == {"x": "resolved", "y": 3} and seen == [("storage", "key")]
    unresolved = restricted_load(buffer.getvalue()).value
    assert isinstance(unresolved["x"], Truncated)


def test_huge_integers_are_not_decoded():
    loaded = restricted_load(b"\x80\x02\x8b" + (5000).to_bytes(4, "little") + b"\x01" * 5000 + b".")
    assert isinstance(loaded.value, Truncated)
    assert restricted_load(pickle.dumps(2**8000, protocol=2)).value == 2**8000


def test_safety_classification():
    names = ["posix.system", "builtins.exec", "collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
             "_codecs.encode", "mypkg.models.Net", "functools.partial", "operator.itemgetter",
             "torch.storage._load_from_bytes", "numpy.core.multiarray._reconstruct"]
    assert code_running(names) == ["builtins.exec", "functools.partial", "operator.itemgetter",
                                   "posix.system", "torch.storage._load_from_bytes"]
    assert foreign_modules(names) == ["mypkg"]
    warnings = safety_warnings(names)
    assert "posix.system" in warnings[0] and "weights_only=False" in warnings[0]
    assert "mypkg" in warnings[1]
    assert safety_warnings(["collections.OrderedDict", "torch.FloatStorage"]) == []


def _torch_data_pkl() -> bytes:
    import zipfile

    import torch

    buffer = io.BytesIO()
    state = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(3, dtype=torch.int64),
             "n": torch.tensor(7), "t": torch.zeros(70000, dtype=torch.uint8)[::2]}
    torch.save({"state": state, "tied": state["w"], "step": 70000, "lr": -3}, buffer)
    with zipfile.ZipFile(buffer) as archive:
        return archive.read(next(name for name in archive.namelist() if name.endswith("/data.pkl")))


def test_every_cut_of_a_torch_pickle_is_reported_as_truncated():
    data = _torch_data_pkl()
    for cut in range(len(data)):
        with pytest.raises(CheckpointError, match="truncated"):
            restricted_load(data[:cut], lambda pid: pid)


def test_in_memory_and_streamed_pickles_read_the_same():
    from inspector.core.unpickler import load_pickle

    data = _torch_data_pkl()
    in_memory = restricted_load(data, lambda pid: pid)
    streamed = load_pickle(lambda offset, size: data[offset:offset + size], 0, len(data), lambda pid: pid)
    assert in_memory.end == streamed.end == len(data)
    assert repr(in_memory.value) == repr(streamed.value)
    assert in_memory.globals == streamed.globals


@pytest.mark.parametrize("data", [b"\x80\x02\x85N.", b"\x80\x02t" + b"N" * 12 + b".", b"\x80\x02q\x00N."])
def test_an_empty_stack_is_damage_not_truncation(data):
    with pytest.raises(CheckpointError, match="damaged"):
        restricted_load(data)


@pytest.mark.parametrize("zipfile_format", [True, False], ids=["zip", "legacy"])
def test_version_table_is_kept_through_the_whole_reader(tmp_path, zipfile_format):
    """torch's BatchNorm and torchvision's loaders decide what they accept by these versions."""
    torch = pytest.importorskip("torch")
    from inspector.core.loader import open_checkpoint
    from inspector.core.model import version_table

    state = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2)).state_dict()
    path = tmp_path / "versions.pt"
    torch.save({"state_dict": state, "epoch": 1}, path, _use_new_zipfile_serialization=zipfile_format)
    read = open_checkpoint(str(path)).root
    assert version_table(read["state_dict"]) == {key: dict(value) for key, value in state._metadata.items()}
    assert version_table(read) is None
