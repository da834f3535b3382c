"""The reader process's messages: everything a reader produces survives the trip, and a
stream naming any other global is refused."""

from __future__ import annotations

import collections
import pickle

import pytest

from inspector.core.loader import open_checkpoint
from inspector.core.model import Checkpoint, ModuleObject, PickledObject, Storage, TensorRef, Truncated
from inspector.gui.workers.transfer import TransferError, decode, encode


def test_a_read_checkpoint_survives_the_trip(checkpoint_files):
    checkpoint = open_checkpoint(checkpoint_files["general.pt"])
    copy = decode(encode(checkpoint))
    assert isinstance(copy, Checkpoint)
    assert (copy.path, copy.format, copy.globals, copy.warnings) == \
        (checkpoint.path, checkpoint.format, checkpoint.globals, checkpoint.warnings)
    original = list(checkpoint.iter_tensors())
    copied = list(copy.iter_tensors())
    assert [path for path, _ in copied] == [path for path, _ in original]
    for (_, left), (_, right) in zip(original, copied):
        assert (left.dtype, left.shape, left.stride, left.storage, left.storage_offset, left.role) == \
            (right.dtype, right.shape, right.stride, right.storage, right.storage_offset, right.role)
    assert copy.root["epoch"] == checkpoint.root["epoch"]


def test_model_objects_and_odd_values_survive():
    storage = Storage("/x.pt", 64, 16, "float32", "0", "cuda:0")
    tensor = TensorRef("float32", (2, 2), (2, 1), storage, role="buffer", extra={"scale": 0.5})
    module = ModuleObject("net.Net", {"fc.weight": tensor}, {"": "net.Net"}, {"training": True})
    value = collections.OrderedDict(a=PickledObject("x.Y", (1,), {"k": {1, 2}}, [3], [("z", 4)]),
                                    b=module, c=Truncated("too deep"), d=(1.5, None, b"raw", 2**80, 1j))
    copy = decode(encode(value))
    assert list(copy) == ["a", "b", "c", "d"]
    assert copy["a"].class_name == "x.Y" and copy["a"].state == {"k": {1, 2}} and copy["a"].dict_items == [("z", 4)]
    copied_tensor = copy["b"].state_dict["fc.weight"]
    assert copied_tensor.storage == storage and copied_tensor.extra == {"scale": 0.5} and copied_tensor.role == "buffer"
    assert copy["c"] == Truncated("too deep") and copy["d"] == value["d"]


def test_foreign_objects_travel_as_inert_names():
    copy = decode(encode({"when": pytest}))  # a module object is not data
    assert isinstance(copy["when"], PickledObject) and copy["when"].class_name == "builtins.module"


@pytest.mark.parametrize("name", ["os.system", "builtins.eval", "inspector.core.model.TensorRef"])
def test_streams_naming_other_globals_are_refused(name):
    module, _, attribute = name.rpartition(".")
    payload = b"\x80\x02c" + f"{module}\n{attribute}\n".encode() + b"X\x04\x00\x00\x00echoq\x00\x85q\x01Rq\x02."
    with pytest.raises(TransferError, match="forbidden global"):
        decode(payload)


def test_garbage_is_a_transfer_error():
    with pytest.raises(TransferError):
        decode(pickle.dumps([1, 2])[:-3])


def test_a_zip_storage_travels_without_reading_its_local_header(checkpoint_files):
    checkpoint = open_checkpoint(checkpoint_files["general.pt"])
    storages = [tensor.storage for _, tensor in checkpoint.iter_tensors() if tensor.storage is not None]
    assert storages and all(storage.resolved_offset is None for storage in storages)
    copies = [tensor.storage for _, tensor in decode(encode(checkpoint)).iter_tensors()
              if tensor.storage is not None]
    assert copies == storages and all(copy.resolved_offset is None for copy in copies)
    assert [copy.offset for copy in copies] == [storage.offset for storage in storages]
